"""Ingestion triggers: the financial-events topic, manual entries written by editors, and CSV/XLSX uploads."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import firestore_client
from adapters.http_endpoint import serve
from adapters.identity import verify_id_token
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.rate_limits import RateLimiter
from adapters.runtime import reference_store
from adapters.settings import MANUAL_ENTRIES_PER_MINUTE
from adapters.topics import EVENT_BATCHES_TOPIC, EVENTS_TOPIC
from firebase_functions import firestore_fn, https_fn, options, pubsub_fn, scheduler_fn
from realtime_processor.triggers import apply_stored_changes

from ingestion.manual_entries import ManualEntries
from ingestion.service import IngestionService
from ingestion.store import IngestionStore
from ingestion.upload_service import UploadEndpoint


@functools.cache
def ingestion_service() -> IngestionService:
    """The instance's ingestion service."""
    return IngestionService(IngestionStore(firestore_client()), reference_store(), apply_stored_changes)


@pubsub_fn.on_message_published(topic=EVENTS_TOPIC, retry=True, **deployment.hot_path("ingestion"))
@observed("ingest_financial_event")
def ingest_financial_event(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Validate and store one financial event (contract v1); rejected ones land in ingestion_errors."""
    raw, origin = pubsub_message(event)
    ingestion_service().ingest(raw, origin=origin)


@pubsub_fn.on_message_published(
    topic=EVENT_BATCHES_TOPIC,
    retry=True,
    **deployment.hot_path("ingestion", timeout_sec=300, memory=1024, concurrency=8),
)
@observed("ingest_financial_event_batch")
def ingest_financial_event_batch(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Validate and store a records.batch message (up to 1,000 lines), a few hundred lines per commit."""
    raw, origin = pubsub_message(event)
    ingestion_service().ingest_batch(raw, origin=origin)


@functools.cache
def manual_entries() -> ManualEntries:
    """The instance's manual-entry processor."""
    db = firestore_client()
    return ManualEntries(db, ingestion_service(), RateLimiter(db), lambda: MANUAL_ENTRIES_PER_MINUTE.value)


# Firestore triggers are deployed without retry by the SDK; the post-deploy step turns retry on
# (infra/terraform/scripts/apply_trigger_policies.py) and sweep_manual_entries finishes an entry
# whose invocation was lost anyway.
@firestore_fn.on_document_created(
    document="organizations/{org_id}/manual_entries/{entry_id}", **deployment.background("ingestion")
)
@observed("ingest_manual_entry")
def ingest_manual_entry(event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None]) -> None:
    """Turn an editor's manual entry into an event on the same path as Pub/Sub, then mark the entry."""
    snapshot = event.data
    if snapshot is None:
        return
    manual_entries().process(
        event.params["org_id"], event.params["entry_id"], snapshot.reference, snapshot.to_dict() or {}
    )


@scheduler_fn.on_schedule(schedule="every 1 minutes", **deployment.scheduled("ingestion"))
@observed("sweep_manual_entries")
def sweep_manual_entries(event: scheduler_fn.ScheduledEvent) -> None:
    """Process manual entries left without a status (a lost or failed trigger invocation); per org, isolated."""
    manual_entries().sweep().finish()


@functools.cache
def upload_endpoint() -> UploadEndpoint:
    """The instance's upload endpoint."""
    db = firestore_client()
    return UploadEndpoint(db, ingestion_service(), IngestionStore(db), verify_id_token)


# Callers authenticate with a Firebase ID token in the Authorization header (not a cookie), so
# any origin may call it: a page of another origin cannot borrow the user's credentials. Rows are
# stored a few hundred per commit (a 20,000-row file in well under a minute locally); the long
# timeout is for a slow day, and a client that gives up re-sends the same file at no risk.
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["post"]),
    **deployment.background("ingestion", timeout_sec=1800, concurrency=4),
)
@observed("ingest_upload")
def ingest_upload(request: https_fn.Request) -> https_fn.Response:
    """CSV/XLSX upload by an editor or admin: every row becomes a contract-v1 event; replies with per-row outcomes."""
    return serve(request, upload_endpoint().handle)
