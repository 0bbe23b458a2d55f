"""Process-wide singletons the triggers share (clients and stores are built once per instance)."""

from __future__ import annotations

import functools
import logging
import os

from adapters.clients import firestore_client
from adapters.reference_store import ReferenceStore


@functools.cache
def reference_store() -> ReferenceStore:
    """The instance's cached reference data."""
    return ReferenceStore(firestore_client())


def configure_logging() -> None:
    """Plain INFO logging; Cloud Logging picks up stdout/stderr lines of the function."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # The client libraries are chatty at INFO; their warnings still show.
    for noisy in ("google", "urllib3", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
