"""Presence cleanup: deletes heartbeats whose expires_at has passed (fallback of the Firestore TTL policy)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from adapters.errors import FAILED_PRECONDITION_CODE, TransientError, is_transient_code, map_exceptions
from adapters.retry import BULK_WRITE
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.bulk_writer import BulkWriteFailure, BulkWriter

log = logging.getLogger(__name__)

PAGE_SIZE = 500


@dataclass(frozen=True)
class PresenceSweep:
    """What one run did."""

    deleted: int
    renewed: int
    """Expired when read but renewed by a heartbeat before the delete: kept."""


def is_org_presence(path: str) -> bool:
    """True for organizations/{org}/presence/{uid} (the collection group could match other paths)."""
    parts = path.split("/")
    return len(parts) == 4 and parts[0] == "organizations" and parts[2] == "presence"


def expired_presence(db: firestore.Client, now: datetime, page_size: int = PAGE_SIZE) -> Iterator:
    """Snapshots of every org's presence documents whose expires_at is before `now`, page by page.

    One collection-group query, served by the COLLECTION_GROUP index on presence.expires_at
    (firestore.indexes.json).
    """
    query = (
        db.collection_group("presence")
        .where(filter=FieldFilter("expires_at", "<", now))
        .order_by("expires_at")
        .limit(page_size)
    )
    last = None
    while True:
        with map_exceptions("querying expired presence"):
            page = list((query.start_after(last) if last is not None else query).stream())
        yield from (snap for snap in page if is_org_presence(snap.reference.path))
        if len(page) < page_size:
            return
        last = page[-1]


def delete_unless_renewed(db: firestore.Client, snapshots: Iterable) -> PresenceSweep:
    """Delete each document unless it changed since it was read (a heartbeat in between wins)."""
    counts = {"deleted": 0, "renewed": 0, "failed": 0}
    lock = threading.Lock()

    def on_result(reference, result, writer) -> None:
        with lock:
            counts["deleted"] += 1

    # BulkWriter retries a failed write itself (with its own backoff) when on_error says so; what
    # is worth retrying and how often is the shared policy. FAILED_PRECONDITION means the user sent
    # a heartbeat after the query read the document, so it must stay.
    def on_error(failure: BulkWriteFailure, writer: BulkWriter) -> bool:
        if is_transient_code(failure.code) and failure.attempts < BULK_WRITE.attempts:
            return True
        with lock:
            counts["renewed" if failure.code == FAILED_PRECONDITION_CODE else "failed"] += 1
        if failure.code != FAILED_PRECONDITION_CODE:
            log.warning("presence delete failed: %s", failure.message)
        return False

    writer = db.bulk_writer()
    writer.on_write_result(on_result)
    writer.on_write_error(on_error)
    try:
        for snapshot in snapshots:
            writer.delete(snapshot.reference, option=db.write_option(last_update_time=snapshot.update_time))
    finally:
        writer.close()
    if counts["failed"]:
        raise TransientError(
            f"{counts['failed']} expired presence documents could not be deleted; the next run retries"
        )
    return PresenceSweep(counts["deleted"], counts["renewed"])


def expire_presence(db: firestore.Client, now: datetime, page_size: int = PAGE_SIZE) -> PresenceSweep:
    """Delete every org's presence documents that expired before `now`.

    The Firestore TTL policy deletes them too, but only within about a day; this keeps the
    collection small and "who is here" queries cheap. Dashboards filter on expires_at anyway.
    """
    sweep = delete_unless_renewed(db, expired_presence(db, now, page_size))
    if sweep.deleted or sweep.renewed:
        log.info("presence sweep deleted %d expired documents (%d renewed meanwhile)", sweep.deleted, sweep.renewed)
    return sweep
