"""Checking a metric definition as an admin types it: the answer saving it would get, without saving it.

POST /api/metric-definitions/check  {"org_id", "metric_id", "label", "expression", "unit"?, "direction"?, ...}
-> 200 {"metric_id", "status": "active" | "invalid" | "disabled", "error": {path, message} | null,
        "warnings": [...], "active_expression"}
Admins of the org only (`Authorization: Bearer <ID token>`); errors are JSON {error, message}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, json_object, refused
from adapters.identity import Refusal, bearer_caller
from finance_core.identifiers import identifier_problem
from finance_core.reference import OrgReference
from google.cloud import firestore

from aggregations.definitions import DEFINITION_FIELDS, DEFINITIONS, STATUS_PATH, check_draft

MAX_BODY_BYTES = 16_384


class DefinitionCheckEndpoint:
    """Validates a draft against the org's chart and its other definitions, as the definition trigger would."""

    def __init__(
        self,
        db: firestore.Client,
        references: Callable[[str], OrgReference | None],
        verify_token: Callable[[str], Mapping[str, Any]],
    ):
        self._db = db
        self._references = references
        self._verify = verify_token

    @EndpointGuard("definition check", "POST", interrupted="the check", retry_after_seconds=2)
    def handle(self, request: HttpRequest) -> HttpReply:
        """The full response; never raises for the caller's mistakes."""
        caller = bearer_caller(request.authorization, self._verify, "metric-definitions", "check metric definitions")
        if isinstance(caller, Refusal):
            return refused(caller)
        body = json_object(request.body, MAX_BODY_BYTES)
        if isinstance(body, HttpReply):
            return body
        problem = identifier_problem(body.get("org_id"), "org_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        org_id, metric_id = str(body["org_id"]), str(body.get("metric_id") or "")
        org = self._db.document(org_path(org_id))
        with map_exceptions(f"reading the membership of {caller} in {org_id}"):
            member = org.collection("members").document(caller).get()
        if not member.exists or (member.to_dict() or {}).get("role") != "admin":
            return error_reply(403, "permission_denied", f"only admins of {org_id!r} define its metrics")
        reference = self._references(org_id)
        if reference is None:
            return error_reply(404, "not_found", f"organization {org_id!r} does not exist")
        with map_exceptions(f"reading the metric definitions of {org_id}"):
            documents = {s.id: s.to_dict() or {} for s in org.collection(DEFINITIONS).stream()}
            status = self._db.document(f"{org_path(org_id)}/{STATUS_PATH}").get()
        previous = dict(((status.to_dict() or {}) if status.exists else {}).get("active") or {})
        draft = {k: body[k] for k in DEFINITION_FIELDS if k in body}
        return HttpReply(200, check_draft(documents, previous, reference, metric_id, draft))
