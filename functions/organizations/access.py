"""The membership endpoint: an invitee accepts an invitation; an admin changes a member's role or removes them.

POST /api/access/accept  {"token": "..."}                         -> {"org_id", "role"}
POST /api/access/role    {"org_id", "uid", "role"}                -> {"org_id", "uid", "role"}
POST /api/access/remove  {"org_id", "uid"}                        -> {"org_id", "uid", "removed": true}

Always with `Authorization: Bearer <Firebase ID token>`. Errors are JSON {error, message}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, json_object, refused
from adapters.identity import Refusal, bearer_claims
from finance_core.identifiers import identifier_problem
from finance_core.memberships import MembershipError

from organizations.service import Caller, OrganizationService

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


class AccessEndpoint:
    """Routes a request to the organisation service after checking the caller's ID token."""

    def __init__(self, organizations: OrganizationService, verify_token: VerifyToken):
        self._organizations = organizations
        self._verify = verify_token

    @EndpointGuard("membership request", "POST")
    def handle(self, request: HttpRequest) -> HttpReply:
        """The full response; never raises for the caller's mistakes."""
        try:
            return self._handle(request)
        except MembershipError as exc:
            return error_reply(STATUS.get(exc.code, 400), exc.code, exc.message)

    def _handle(self, request: HttpRequest) -> HttpReply:
        action = request.path.rstrip("/").rsplit("/", 1)[-1]
        if action not in {"accept", "role", "remove"}:
            return error_reply(404, "not_found", f"no such action {action!r}: use /api/access/accept, /role or /remove")
        claims = bearer_claims(request.authorization, self._verify, "access", "join or manage organisations")
        if isinstance(claims, Refusal):
            return refused(claims)
        caller = Caller(str(claims["uid"]), claims.get("email"), claims.get("name"))
        body = json_object(request.body, MAX_BODY_BYTES)
        if isinstance(body, HttpReply):
            return body
        if action == "accept":
            accepted = self._organizations.accept(str(body.get("token") or ""), caller)
            return HttpReply(200, {"org_id": accepted.org_id, "role": accepted.role.value})
        problem = identifier_problem(body.get("org_id"), "org_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        uid = body.get("uid")
        # A Firebase uid is 1-128 characters; it is a document id, so never a path.
        if not isinstance(uid, str) or not 0 < len(uid) <= 128 or "/" in uid:
            return error_reply(400, "invalid_request", "uid must be the member's user id (1-128 characters, no '/')")
        org_id = str(body["org_id"])
        if action == "role":
            self._organizations.change_role(org_id, caller.uid, uid, str(body.get("role")))
            return HttpReply(200, {"org_id": org_id, "uid": uid, "role": str(body.get("role"))})
        self._organizations.remove_member(org_id, caller.uid, uid)
        return HttpReply(200, {"org_id": org_id, "uid": uid, "removed": True})
