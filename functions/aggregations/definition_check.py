"""Checking a metric definition as an admin types it: the answer saving it would get, without saving it.

POST /api/metric-definitions/check  {"org_id", "metric_id", "label", "expression", "unit"?, "direction"?, ...}
-> 200 {"metric_id", "status": "active" | "invalid" | "disabled", "error": {path, message} | null,
        "warnings": [...], "active_expression"}
Admins of the org only (`Authorization: Bearer <ID token>`); errors are JSON {error, message}.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.errors import TransientError, map_exceptions
from adapters.firestore_codec import org_path
from adapters.identity import Refusal, bearer_caller
from finance_core.identifiers import identifier_problem
from finance_core.reference import OrgReference
from google.cloud import firestore

from aggregations.definitions import DEFINITION_FIELDS, DEFINITIONS, STATUS_PATH, check_draft

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16_384


@dataclass(frozen=True)
class CheckRequest:
    """What the endpoint needs of an HTTP request."""

    method: str
    authorization: str | None
    body: bytes


@dataclass(frozen=True)
class CheckReply:
    """Status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> CheckReply:
    return CheckReply(status, {"error": code, "message": message}, headers or {})


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

    def handle(self, request: CheckRequest) -> CheckReply:
        """The full response; never raises for the caller's mistakes."""
        try:
            return self._handle(request)
        except TransientError as exc:
            log.warning("definition check interrupted by a transient failure: %s", exc)
            return _error(
                503, "unavailable", "a temporary failure interrupted the check: try again", {"Retry-After": "2"}
            )

    def _handle(self, request: CheckRequest) -> CheckReply:
        if request.method.upper() != "POST":
            return _error(405, "method_not_allowed", "use POST", {"Allow": "POST"})
        caller = bearer_caller(request.authorization, self._verify, "metric-definitions", "check metric definitions")
        if isinstance(caller, Refusal):
            return _error(caller.status, caller.code, caller.message, caller.headers)
        if len(request.body) > MAX_BODY_BYTES:
            return _error(413, "too_large", f"the request body is over {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "invalid_request", "the body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "the body must be a JSON object")
        problem = identifier_problem(body.get("org_id"), "org_id")
        if problem:
            return _error(400, "invalid_request", problem)
        org_id, metric_id = str(body["org_id"]), str(body.get("metric_id") or "")
        org = self._db.document(org_path(org_id))
        with map_exceptions(f"reading the membership of {caller} in {org_id}"):
            member = org.collection("members").document(caller).get()
        if not member.exists or (member.to_dict() or {}).get("role") != "admin":
            return _error(403, "permission_denied", f"only admins of {org_id!r} define its metrics")
        reference = self._references(org_id)
        if reference is None:
            return _error(404, "not_found", f"organization {org_id!r} does not exist")
        with map_exceptions(f"reading the metric definitions of {org_id}"):
            documents = {s.id: s.to_dict() or {} for s in org.collection(DEFINITIONS).stream()}
            status = self._db.document(f"{org_path(org_id)}/{STATUS_PATH}").get()
        previous = dict(((status.to_dict() or {}) if status.exists else {}).get("active") or {})
        draft = {k: body[k] for k in DEFINITION_FIELDS if k in body}
        return CheckReply(200, check_draft(documents, previous, reference, metric_id, draft))
