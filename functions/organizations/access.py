"""The membership endpoint: an invitee accepts an invitation; an admin changes a member's role or removes them.

POST /api/access/accept  {"token": "..."}                         -> {"org_id", "role"}
POST /api/access/role    {"org_id", "uid", "role"}                -> {"org_id", "uid", "role"}
POST /api/access/remove  {"org_id", "uid"}                        -> {"org_id", "uid", "removed": true}

Always with `Authorization: Bearer <Firebase ID token>`. Errors are JSON {error, message}.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.errors import TransientError
from adapters.identity import Refusal, bearer_claims
from finance_core.identifiers import identifier_problem
from finance_core.memberships import MembershipError

from organizations.service import Caller, OrganizationService

log = logging.getLogger(__name__)

VerifyToken = Callable[[str], Mapping[str, Any]]
MAX_BODY_BYTES = 4096

# HTTP status of each refusal of the core and the service.
STATUS = {
    "invalid_request": 400,
    "invalid_email": 400,
    "invalid_role": 400,
    "invalid_invitation": 400,
    "permission_denied": 403,
    "email_mismatch": 403,
    "wrong_organization": 403,
    "not_found": 404,
    "not_a_member": 404,
    "revoked": 410,
    "expired": 410,
    "already_used": 409,
    "already_member": 409,
    "last_admin": 409,
}


@dataclass(frozen=True)
class AccessRequest:
    """What the endpoint needs of an HTTP request."""

    method: str
    path: str
    authorization: str | None
    body: bytes


@dataclass(frozen=True)
class AccessReply:
    """Status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> AccessReply:
    return AccessReply(status, {"error": code, "message": message}, headers or {})


class AccessEndpoint:
    """Routes a request to the organisation service after checking the caller's ID token."""

    def __init__(self, organizations: OrganizationService, verify_token: VerifyToken):
        self._organizations = organizations
        self._verify = verify_token

    def handle(self, request: AccessRequest) -> AccessReply:
        """The full response; never raises for the caller's mistakes."""
        try:
            return self._handle(request)
        except MembershipError as exc:
            return _error(STATUS.get(exc.code, 400), exc.code, exc.message)
        except TransientError as exc:
            log.warning("membership request interrupted by a transient failure: %s", exc)
            return _error(
                503, "unavailable", "a temporary failure interrupted the request: try again", {"Retry-After": "5"}
            )

    def _handle(self, request: AccessRequest) -> AccessReply:
        if request.method.upper() != "POST":
            return _error(405, "method_not_allowed", "use POST", {"Allow": "POST"})
        action = request.path.rstrip("/").rsplit("/", 1)[-1]
        if action not in {"accept", "role", "remove"}:
            return _error(404, "not_found", f"no such action {action!r}: use /api/access/accept, /role or /remove")
        claims = bearer_claims(request.authorization, self._verify, "access", "join or manage organisations")
        if isinstance(claims, Refusal):
            return _error(claims.status, claims.code, claims.message, claims.headers)
        caller = Caller(str(claims["uid"]), claims.get("email"), claims.get("name"))
        if len(request.body) > MAX_BODY_BYTES:
            return _error(413, "too_large", f"the request body is over {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "invalid_request", "the body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "the body must be a JSON object")
        if action == "accept":
            accepted = self._organizations.accept(str(body.get("token") or ""), caller)
            return AccessReply(200, {"org_id": accepted.org_id, "role": accepted.role.value})
        problem = identifier_problem(body.get("org_id"), "org_id")
        if problem:
            return _error(400, "invalid_request", problem)
        uid = body.get("uid")
        # A Firebase uid is 1-128 characters; it is a document id, so never a path.
        if not isinstance(uid, str) or not 0 < len(uid) <= 128 or "/" in uid:
            return _error(400, "invalid_request", "uid must be the member's user id (1-128 characters, no '/')")
        org_id = str(body["org_id"])
        if action == "role":
            self._organizations.change_role(org_id, caller.uid, uid, str(body.get("role")))
            return AccessReply(200, {"org_id": org_id, "uid": uid, "role": str(body.get("role"))})
        self._organizations.remove_member(org_id, caller.uid, uid)
        return AccessReply(200, {"org_id": org_id, "uid": uid, "removed": True})
