"""Process-wide singletons the triggers share (clients and stores are built once per instance)."""

from __future__ import annotations

import functools

from adapters.clients import firestore_client
from adapters.logs import configure_logging
from adapters.reference_store import ReferenceStore

__all__ = ["configure_logging", "reference_store"]


@functools.cache
def reference_store() -> ReferenceStore:
    """The instance's cached reference data."""
    return ReferenceStore(firestore_client())
