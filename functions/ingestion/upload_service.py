"""The upload endpoint: who may upload, the file limits, one ingestion per row and the per-row report."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, refused
from adapters.identity import Refusal, bearer_caller
from finance_core.batches import IngestLine
from finance_core.events import EventRejected, parse_event
from finance_core.identifiers import identifier_problem
from finance_core.records import Outcome
from google.cloud import firestore

from ingestion.service import IngestionService
from ingestion.store import Entry, IngestionStore, IngestResult, Parsed, Rejected
from ingestion.uploads import (
    MAX_UPLOAD_BYTES,
    RowEvent,
    RowProblem,
    UploadRejected,
    UploadTable,
    read_upload,
    row_events,
)

log = logging.getLogger(__name__)

UPLOAD_ROLES = ("editor", "admin")
# The report lists at most this many rows per list; the counts are always complete.
MAX_LISTED_ROWS = 1000

VerifyToken = Callable[[str], Mapping[str, Any]]


class UploadEndpoint:
    """Checks the caller and the file, then ingests every row exactly like a Pub/Sub event."""

    def __init__(
        self,
        db: firestore.Client,
        service: IngestionService,
        store: IngestionStore,
        verify_token: VerifyToken,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._db = db
        self._service = service
        self._store = store
        self._verify = verify_token
        self._clock = clock

    @EndpointGuard(
        "upload",
        "POST",
        interrupted="the upload",
        retry_hint="send the same file again; rows already stored are recognised and not applied twice",
        method_hint="use POST with the file as the body",
    )
    def handle(self, request: HttpRequest) -> HttpReply:
        """The full response to one request; never raises for the caller's mistakes.

        What is left of a refused body is dropped by the trigger (adapters.http_endpoint.serve).
        """
        try:
            return self._handle(request)
        except UploadRejected as exc:
            code = {413: "too_large", 415: "unsupported_media_type"}.get(exc.status, "invalid_file")
            return error_reply(exc.status, code, exc.message)

    def _handle(self, request: HttpRequest) -> HttpReply:
        uid_or_reply = self._caller(request)
        if isinstance(uid_or_reply, HttpReply):
            return uid_or_reply
        uid = uid_or_reply
        org_id = request.arg("org_id")
        if not org_id:
            return error_reply(400, "invalid_request", "the org_id query parameter is required: ?org_id=<your org>")
        problem = identifier_problem(org_id, "org_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        denied = self._check_role(org_id, uid)
        if denied is not None:
            return denied
        if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
            raise UploadRejected(
                413,
                f"the file is {request.content_length} bytes; the limit is {MAX_UPLOAD_BYTES} bytes (5 MB): split it",
            )
        body = request.read_body(MAX_UPLOAD_BYTES + 1)
        if len(body) > MAX_UPLOAD_BYTES:  # a body sent without a length (chunked)
            raise UploadRejected(413, f"the file is larger than the limit of {MAX_UPLOAD_BYTES} bytes (5 MB): split it")
        table = read_upload(body, request.content_type)
        return HttpReply(200, self._ingest(org_id, uid, table))

    def _caller(self, request: HttpRequest) -> str | HttpReply:
        """The verified uid of the caller, or the 401/403 reply."""
        caller = bearer_caller(request.authorization, self._verify, "ingest_upload", "upload")
        if isinstance(caller, Refusal):
            return refused(caller)
        return caller

    def _check_role(self, org_id: str, uid: str) -> HttpReply | None:
        org_ref = self._db.document(org_path(org_id))
        member_ref = org_ref.collection("members").document(uid)
        with map_exceptions(f"reading the membership of {uid} in {org_id}"):
            snaps = {s.reference.path: s for s in self._db.get_all([org_ref, member_ref])}
        member = snaps[member_ref.path]
        role = (member.to_dict() or {}).get("role") if member.exists else None
        if not role:
            # The same answer whether or not the org exists: a non-member learns nothing about it.
            return error_reply(
                403,
                "permission_denied",
                f"user {uid} is not a member of organization {org_id!r}; uploads need the editor or admin role",
            )
        if not snaps[org_ref.path].exists:
            return error_reply(404, "not_found", f"organization {org_id!r} does not exist")
        if role in UPLOAD_ROLES:
            return None
        return error_reply(
            403, "permission_denied", f"user {uid} is a {role} of {org_id!r}; uploads need the editor or admin role"
        )

    def _ingest(self, org_id: str, uid: str, table: UploadTable) -> dict[str, Any]:
        received_at = self._clock().isoformat().replace("+00:00", "Z")
        items = row_events(table, org_id, received_at)
        # Rows are stored in file order, a few hundred per commit, so without a version column the
        # last row of a record wins.
        stored = self._service.ingest_entries(
            org_id, [_entry(org_id, item) for item in items], source=f"upload {table.sha256[:12]}"
        )
        results = {item.number: result for item, result in zip(items, stored, strict=True)}
        report = _report(org_id, table, items, results)
        log.info(
            "upload ingested",
            extra={
                "json_fields": {
                    "org_id": org_id,
                    "uid": uid,
                    "sha256": table.sha256,
                    "rows": len(items),
                    "counts": report["counts"],
                }
            },
        )
        return report


def _entry(org_id: str, item: RowEvent | RowProblem) -> Entry:
    """A row as an ingestion entry: its event, or the reason it cannot be one."""
    if isinstance(item, RowProblem):
        return Rejected(item.raw, EventRejected(item.code, item.reason, org_id, item.event_id))
    try:
        event = parse_event(item.raw)
    except EventRejected as rejection:
        return Rejected(item.raw, EventRejected(rejection.code, rejection.reason, org_id, item.event_id))
    return Parsed(IngestLine(event, item.next_version), item.raw)


def _report(
    org_id: str, table: UploadTable, items: list[RowEvent | RowProblem], results: Mapping[int, IngestResult]
) -> dict[str, Any]:
    counts = {o.value: 0 for o in (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.STALE, Outcome.REJECTED)}
    errors: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    for item in items:
        result = results[item.number]
        counts[result.outcome.value] += 1
        line = {"row": item.number, "record_id": item.record_id, "outcome": result.outcome.value}
        # A duplicate with a code is a row rejected by an earlier upload of the same file.
        if result.outcome is Outcome.REJECTED or result.code:
            errors.append({**line, "code": result.code, "reason": result.reason})
        elif result.outcome is Outcome.STALE:
            stale.append({**line, "reason": result.reason})
    return {
        "org_id": org_id,
        "file": {"format": table.file_format, "sha256": table.sha256, "bytes": table.size},
        "rows": len(items),
        "blank_rows": table.blank_rows,
        "counts": counts,
        "errors": errors[:MAX_LISTED_ROWS],
        "errors_truncated": len(errors) > MAX_LISTED_ROWS,
        "stale": stale[:MAX_LISTED_ROWS],
        "stale_truncated": len(stale) > MAX_LISTED_ROWS,
    }
