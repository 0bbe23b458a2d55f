"""Organisations and their people: create an org, invite by e-mail, accept, change roles, remove members.

Every membership change is one Firestore transaction that reads what the decision needs (the
invitation, the token, every member's role) and writes the outcome, so concurrent requests are
serialised by Firestore: two admins demoting each other at the same moment cannot leave an org
without an admin, and an invitation is used once. The decisions are the core's
(finance_core.memberships).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import PermanentError, is_lost_race, map_exceptions
from adapters.firestore_codec import org_path, utc_now
from finance_core.identifiers import identifier_problem
from finance_core.memberships import (
    DEFAULT_INVITATION_LIFETIME,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_INVITATION_LIFETIME,
    Invitation,
    MembershipError,
    Role,
    check_acceptance,
    check_role_change,
    new_invitation_token,
    normalize_email,
    parse_role,
    token_digest,
)
from google.cloud import firestore

log = logging.getLogger(__name__)

INVITATIONS = "invitations"
MEMBERS = "members"
# Top-level and server-only (no rule matches it): token digest -> the invitation it opens.
INVITATION_TOKENS = "invitation_tokens"


@dataclass(frozen=True)
class Caller:
    """A signed-in, non-anonymous user as the ID token describes them."""

    uid: str
    email: str | None
    name: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The outcome of an accepted invitation."""

    org_id: str
    role: Role


@dataclass(frozen=True)
class IssuedToken:
    """A new secret for an invitation; only its digest is stored."""

    token: str
    email: str
    role: Role
    expires_at: datetime


class OrganizationService:
    """Membership of organisations in Firestore (Admin SDK: the rules do not apply, this class checks)."""

    def __init__(self, db: firestore.Client, now: Callable[[], datetime] = utc_now):
        self._db = db
        self._now = now

    def org_ref(self, org_id: str) -> firestore.DocumentReference:
        """The org document."""
        return self._db.document(org_path(org_id))

    # --- operators ----------------------------------------------------------------------------

    def create_organization(
        self, org_id: str, name: str, reporting_currency: str, fiscal_year_start_month: int = 1
    ) -> None:
        """Create the org document; MembershipError if the id is unusable or the org exists already."""
        problem = identifier_problem(org_id, "org id")
        if problem:
            raise MembershipError("invalid_org", problem)
        if not name.strip() or len(name) > 200:
            raise MembershipError("invalid_org", "the organisation's name must be 1-200 characters")
        currency = reporting_currency.strip().upper()
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            raise MembershipError("invalid_org", f"{reporting_currency!r} is not an ISO 4217 currency code (e.g. USD)")
        if not 1 <= fiscal_year_start_month <= 12:
            raise MembershipError("invalid_org", "the fiscal year starts in a month from 1 to 12")
        body = {
            "name": name.strip(),
            "reporting_currency": currency,
            "fiscal_year_start_month": fiscal_year_start_month,
            "created_at": firestore.SERVER_TIMESTAMP,
        }
        try:
            with map_exceptions(f"creating organization {org_id}"):
                self.org_ref(org_id).create(body)
        except PermanentError as exc:
            if is_lost_race(exc):  # the document exists already
                raise MembershipError("org_exists", f"organization {org_id!r} already exists") from None
            raise

    def invite(
        self,
        org_id: str,
        email: str,
        role: str,
        invited_by: str,
        lifetime: timedelta = DEFAULT_INVITATION_LIFETIME,
        display_name: str | None = None,
        status: str | None = None,
    ) -> str:
        """Write an invitation as an admin's dashboard would (the trigger then e-mails it); returns its id.

        `status` "issued" marks an invitation whose link the caller hands out itself (the operator
        command prints it), so no e-mail is sent.
        """
        if not timedelta(0) < lifetime <= MAX_INVITATION_LIFETIME:
            raise MembershipError("invalid_invitation", "an invitation lasts between a minute and 30 days")
        with map_exceptions(f"reading organization {org_id}"):
            if not self.org_ref(org_id).get().exists:
                raise MembershipError("unknown_org", f"organization {org_id!r} does not exist")
        invitation_id = f"inv-{uuid.uuid4().hex[:16]}"
        body: dict[str, Any] = {
            "email": normalize_email(email),
            "role": parse_role(role).value,
            "invited_by": invited_by,
            "created_at": firestore.SERVER_TIMESTAMP,
            "expires_at": self._now() + lifetime,
        }
        if display_name:
            body["display_name"] = display_name.strip()[:MAX_DISPLAY_NAME_LENGTH]
        if status:
            body["status"] = status
        with map_exceptions(f"inviting {email} to {org_id}"):
            self.org_ref(org_id).collection(INVITATIONS).document(invitation_id).create(body)
        return invitation_id

    # --- links ----------------------------------------------------------------------------------

    def issue_token(self, org_id: str, invitation_id: str) -> IssuedToken | None:
        """A new link secret for a pending invitation (None when it is gone or already accepted).

        Each issue adds a token: a link e-mailed twice (a resend, a redelivered trigger) works
        either way, and the invitation itself is what is spent on acceptance.
        """
        invitation_ref = self.org_ref(org_id).collection(INVITATIONS).document(invitation_id)
        with map_exceptions(f"reading invitation {invitation_id} of {org_id}"):
            snap = invitation_ref.get()
        if not snap.exists:
            return None
        invitation = Invitation.from_document(org_id, invitation_id, snap.to_dict() or {})
        if invitation.accepted_by is not None:
            return None
        token = new_invitation_token()
        batch = self._db.batch()
        batch.create(
            self._db.collection(INVITATION_TOKENS).document(token_digest(token)),
            {
                "org_id": org_id,
                "invitation_id": invitation_id,
                "email": invitation.email,
                "created_at": firestore.SERVER_TIMESTAMP,
                # TTL field (infra/resources.json): spent and expired tokens disappear by themselves.
                "expires_at": invitation.expires_at,
            },
        )
        batch.update(invitation_ref, {"token_issued_at": firestore.SERVER_TIMESTAMP})
        with map_exceptions(f"issuing a link for invitation {invitation_id} of {org_id}"):
            batch.commit()
        return IssuedToken(token, invitation.email, invitation.role, invitation.expires_at)

    # --- invitees -------------------------------------------------------------------------------

    def accept(self, token: str, caller: Caller) -> Accepted:
        """Make the caller a member through the invitation the token opens; MembershipError says why not."""
        if not token or len(token) > 200:
            raise MembershipError("not_found", "this invitation link is not valid: open the link from the e-mail")
        token_ref = self._db.collection(INVITATION_TOKENS).document(token_digest(token))

        @firestore.transactional
        def attempt(transaction: firestore.Transaction) -> Accepted:
            token_snap = token_ref.get(transaction=transaction)
            if not token_snap.exists:
                raise MembershipError(
                    "not_found", "this invitation link is not valid (mistyped, or revoked): ask an admin for a new one"
                )
            found = token_snap.to_dict() or {}
            org_id, invitation_id = str(found.get("org_id")), str(found.get("invitation_id"))
            invitation_ref = self.org_ref(org_id).collection(INVITATIONS).document(invitation_id)
            member_ref = self.org_ref(org_id).collection(MEMBERS).document(caller.uid)
            invitation_snap = invitation_ref.get(transaction=transaction)
            if not invitation_snap.exists:
                raise MembershipError("revoked", "this invitation was withdrawn by an admin of the organisation")
            document = invitation_snap.to_dict() or {}
            invitation = Invitation.from_document(org_id, invitation_id, document)
            check_acceptance(
                invitation, org_id=org_id, caller_uid=caller.uid, caller_email=caller.email, now=self._now()
            )
            member_snap = member_ref.get(transaction=transaction)
            if member_snap.exists:
                role = (member_snap.to_dict() or {}).get("role")
                raise MembershipError(
                    "already_member",
                    f"you are already a member of this organisation ({role}); an admin changes roles in the console",
                )
            member: dict[str, Any] = {
                "uid": caller.uid,
                "role": invitation.role.value,
                "email": invitation.email,
                "joined_at": firestore.SERVER_TIMESTAMP,
                "invitation_id": invitation_id,
                "invited_by": document.get("invited_by"),
            }
            name = document.get("display_name") or caller.name
            if name:
                member["display_name"] = str(name)[:MAX_DISPLAY_NAME_LENGTH]
            transaction.create(member_ref, member)
            transaction.update(
                invitation_ref,
                {"status": "accepted", "accepted_by": caller.uid, "accepted_at": firestore.SERVER_TIMESTAMP},
            )
            transaction.delete(token_ref)
            return Accepted(org_id, invitation.role)

        with map_exceptions(f"accepting an invitation for {caller.uid}"):
            accepted = attempt(self._db.transaction())
        log.info(
            "invitation accepted",
            extra={"json_fields": {"org_id": accepted.org_id, "uid": caller.uid, "role": accepted.role.value}},
        )
        return accepted

    # --- admins ---------------------------------------------------------------------------------

    def change_role(self, org_id: str, actor_uid: str, uid: str, role: str) -> None:
        """An admin gives a member another role; never leaves the org without an admin."""
        self._change(org_id, actor_uid, uid, parse_role(role))

    def remove_member(self, org_id: str, actor_uid: str, uid: str) -> None:
        """An admin removes a member (themselves included); never the last admin."""
        self._change(org_id, actor_uid, uid, None)

    def _change(self, org_id: str, actor_uid: str, uid: str, new_role: Role | None) -> None:
        members = self.org_ref(org_id).collection(MEMBERS)

        @firestore.transactional
        def attempt(transaction: firestore.Transaction) -> None:
            # Every member's role, read in the transaction: a concurrent change of any of them
            # makes this one retry with fresh roles (that is what keeps the last admin).
            roles = {
                snap.id: str((snap.to_dict() or {}).get("role"))
                for snap in transaction.get(members.select(["role"]).limit(10_000))
            }
            if roles.get(actor_uid) != Role.ADMIN:
                raise MembershipError("permission_denied", "only an admin of the organisation manages its members")
            check_role_change(roles, uid, new_role)
            if new_role is None:
                transaction.delete(members.document(uid))
            elif roles[uid] != new_role:
                transaction.update(
                    members.document(uid),
                    {
                        "role": new_role.value,
                        "role_changed_by": actor_uid,
                        "role_changed_at": firestore.SERVER_TIMESTAMP,
                    },
                )

        with map_exceptions(f"changing the membership of {uid} in {org_id}"):
            attempt(self._db.transaction())
        log.info(
            "membership changed",
            extra={
                "json_fields": {
                    "org_id": org_id,
                    "uid": uid,
                    "by": actor_uid,
                    "role": new_role.value if new_role else "removed",
                }
            },
        )
