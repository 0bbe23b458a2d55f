"""Ingestion triggers: the financial-events topic, manual entries written by editors, and CSV/XLSX uploads."""

from __future__ import annotations

import base64
import functools
import json

from firebase_functions import firestore_fn, https_fn, options, pubsub_fn

from adapters import deployment
from adapters.clients import firestore_client
from adapters.firestore_codec import utc_now
from adapters.identity import verify_id_token
from adapters.runtime import reference_store
from ingestion.service import IngestionService
from ingestion.store import IngestionStore, ManualEntryStatus
from ingestion.upload_service import UploadEndpoint, UploadRequest


@functools.cache
def ingestion_service() -> IngestionService:
    """The instance's ingestion service."""
    return IngestionService(IngestionStore(firestore_client()), reference_store())


@pubsub_fn.on_message_published(topic="financial-events", retry=True, **deployment.hot_path("ingestion"))
def ingest_financial_event(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Validate and store one financial event (contract v1); rejected ones land in ingestion_errors."""
    raw = base64.b64decode(event.data.message.data or b"")
    ingestion_service().ingest(raw)


@pubsub_fn.on_message_published(topic="financial-event-batches", retry=True,
                                 **deployment.hot_path("ingestion", timeout_sec=300, memory=1024, concurrency=8))
def ingest_financial_event_batch(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Validate and store a records.batch message (up to 1,000 lines), a few hundred lines per commit."""
    ingestion_service().ingest_batch(base64.b64decode(event.data.message.data or b""))


@firestore_fn.on_document_created(document="organizations/{org_id}/manual_entries/{entry_id}",
                                  **deployment.background("ingestion"))
def ingest_manual_entry(event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None]) -> None:
    """Turn an editor's manual entry into an event on the same path as Pub/Sub, then mark the entry."""
    snapshot = event.data
    if snapshot is None:
        return
    entry = snapshot.to_dict() or {}
    if entry.get("status") in {"accepted", "rejected"}:
        return
    raw = manual_entry_event(event.params["org_id"], event.params["entry_id"], entry)
    # The entry's status is written in the commit that stores its line; a message rejected before
    # any commit (a malformed entry) gets its status here.
    status = ManualEntryStatus(snapshot.reference)
    result = ingestion_service().ingest(raw, next_version=True, manual_entry=status)
    if not status.written:
        snapshot.reference.update(status.body(result))


def manual_entry_event(org_id: str, entry_id: str, entry: dict) -> bytes:
    """The contract-v1 event of a manual entry; its version is assigned when stored (current + 1)."""
    created = entry.get("created_at")
    occurred = created.isoformat() if hasattr(created, "isoformat") else utc_now().isoformat()
    record = {k: entry.get(k) for k in ("entity_id", "account_id", "period", "scenario", "amount", "currency")}
    for optional in ("memo", "source", "dimensions"):
        if entry.get(optional) is not None:
            record[optional] = entry[optional]
    record.setdefault("source", "manual")
    body = {
        "event_id": f"manual-{entry_id}",
        "type": "record.upserted",
        "org_id": org_id,
        "record_id": entry.get("record_id"),
        "version": 1,
        "occurred_at": occurred.replace("+00:00", "Z"),
        "record": record,
    }
    return json.dumps(body).encode()


@functools.cache
def upload_endpoint() -> UploadEndpoint:
    """The instance's upload endpoint."""
    db = firestore_client()
    return UploadEndpoint(db, ingestion_service(), IngestionStore(db), verify_id_token)


# Callers authenticate with a Firebase ID token in the Authorization header (not a cookie), so
# any origin may call it: a page of another origin cannot borrow the user's credentials. Rows are
# stored a few hundred per commit (a 20,000-row file in well under a minute locally); the long
# timeout is for a slow day, and a client that gives up re-sends the same file at no risk.
@https_fn.on_request(cors=options.CorsOptions(cors_origins="*", cors_methods=["post"]),
                     **deployment.background("ingestion", timeout_sec=1800, concurrency=4))
def ingest_upload(request: https_fn.Request) -> https_fn.Response:
    """CSV/XLSX upload by an editor or admin: every row becomes a contract-v1 event; replies with per-row outcomes."""
    reply = upload_endpoint().handle(
        UploadRequest(
            method=request.method,
            org_id=request.args.get("org_id"),
            authorization=request.headers.get("Authorization"),
            content_type=request.headers.get("Content-Type"),
            content_length=request.content_length,
            read_body=request.stream.read,
        )
    )
    return https_fn.Response(json.dumps(reply.body), status=reply.status, headers=reply.headers,
                             mimetype="application/json")
