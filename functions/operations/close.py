"""The close checklist endpoint: how a month's close stands (finance_core.period_close), for an org's admins.

GET /api/periods/close-status?org_id=ORG&period=YYYY-MM
-> 200 {"org_id", "period", "status": "open" | "closed" | null, "items": [{key, label, state, detail}, ...]}
`Authorization: Bearer <ID token>` of an admin of the org; errors are JSON {error, message}.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, refused
from adapters.identity import Refusal, bearer_caller
from finance_core.identifiers import identifier_problem, is_identifier
from finance_core.period_close import close_checklist, rejection_of
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
# The latest rejections looked at: a month's close is about recent loads.
REJECTIONS_READ = 500


class CloseStatusEndpoint:
    """Reads what the checklist needs (a handful of queries) and answers it."""

    def __init__(self, db: firestore.Client, verify_token: Callable[[str], Mapping[str, Any]]):
        self._db = db
        self._verify = verify_token

    @EndpointGuard("close status", "GET", interrupted="the check")
    def handle(self, request: HttpRequest) -> HttpReply:
        """The full response; never raises for the caller's mistakes."""
        caller = bearer_caller(request.authorization, self._verify, "periods", "read the close of a period")
        if isinstance(caller, Refusal):
            return refused(caller)
        org_id, period = request.arg("org_id"), request.arg("period")
        problem = identifier_problem(org_id, "org_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        if not PERIOD.match(period):
            return error_reply(400, "invalid_request", f"period {period!r} must be a fiscal month YYYY-MM")
        org = self._db.document(org_path(org_id))
        with map_exceptions(f"reading the membership of {caller} in {org_id}"):
            member = org.collection("members").document(caller).get()
        if not member.exists or (member.to_dict() or {}).get("role") != "admin":
            return error_reply(403, "permission_denied", f"only admins of {org_id!r} close its periods")
        return HttpReply(200, self.status(org, org_id, period))

    def status(self, org: firestore.DocumentReference, org_id: str, period: str) -> dict[str, Any]:
        """The checklist of one period of one org."""
        with map_exceptions(f"reading the close of {period} in {org_id}"):
            pending = (
                org.collection("record_changes")
                .where(filter=FieldFilter("state", "in", ["pending", "applied"]))
                .count()
                .get()[0][0]
                .value
            )
            errors = (
                org.collection("ingestion_errors")
                .order_by("received_at", direction=firestore.Query.DESCENDING)
                .limit(REJECTIONS_READ)
                .stream()
            )
            rejections = [rejection_of(s.to_dict() or {}) for s in errors]
            ids = sorted(
                {r.record_id for r in rejections if r.period == period and r.record_id and is_identifier(r.record_id)}
            )
            refs = [org.collection("financial_records").document(i) for i in ids]
            stored: dict[str, datetime | None] = (
                {s.id: (s.to_dict() or {}).get("updated_at") if s.exists else None for s in self._db.get_all(refs)}
                if refs
                else {}
            )
            reconciliation = org.collection("data_quality").document("reconciliation").get()
            period_doc = org.collection("periods").document(period).get()

            def exists(collection: str, status: str) -> bool:
                query = (
                    org.collection(collection)
                    .where(filter=FieldFilter("period", "==", period))
                    .where(filter=FieldFilter("status", "==", status))
                    .limit(1)
                )
                return any(True for _ in query.stream())

            delivered, made = exists("report_deliveries", "delivered"), exists("reports", "succeeded")
        items = close_checklist(
            period,
            changes_pending=int(pending),
            rejections=rejections,
            stored_since=stored,
            reconciliation=reconciliation.to_dict() if reconciliation.exists else None,
            pack_delivered=delivered,
            pack_made=made,
        )
        return {
            "org_id": org_id,
            "period": period,
            "status": (period_doc.to_dict() or {}).get("status") if period_doc.exists else None,
            "items": [item.as_dict() for item in items],
        }
