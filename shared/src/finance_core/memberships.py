"""Who belongs to an organisation: roles, invitations by e-mail, and the rule that an org always keeps an admin.

Pure decisions only: the backend (functions/organizations) reads the documents, asks these
functions, and writes what they decide in one transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    """A member's role: viewers read, editors also change numbers, admins also manage the org."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


ROLES = tuple(role.value for role in Role)

# An invitation is valid for 7 days unless the admin chooses otherwise, and never for more than
# 30 (firestore.rules enforces the same bound on the documents admins write).
DEFAULT_INVITATION_LIFETIME = timedelta(days=7)
MAX_INVITATION_LIFETIME = timedelta(days=30)

# Deliberately simple: one @, no spaces, a dot in the domain, at most 254 characters (RFC 5321's
# path limit). Whether the mailbox exists is proven by the invitee opening the e-mailed link.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254
MAX_DISPLAY_NAME_LENGTH = 100


class MembershipError(ValueError):
    """A membership change or an acceptance that is refused; `code` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def normalize_email(value: object) -> str:
    """The address in the form invitations are matched on (trimmed, lower case); MembershipError if it is not one."""
    if not isinstance(value, str):
        raise MembershipError("invalid_email", "the e-mail address must be text")
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise MembershipError(
            "invalid_email",
            f"{value.strip()[:80]!r} is not an e-mail address (name@example.com, at most 254 characters)",
        )
    return email


def parse_role(value: object) -> Role:
    """The role named by `value`; MembershipError naming the three roles otherwise."""
    try:
        return Role(str(value))
    except ValueError:
        raise MembershipError("invalid_role", f"role {value!r} is not one of {', '.join(ROLES)}") from None


def new_invitation_token() -> str:
    """A fresh secret for an invitation link: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored of a token (its SHA-256): a leaked database never yields a usable link."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_link(dashboard_url: str, token: str) -> str:
    """The link an invitee opens. The token is in the fragment, which browsers never send to a server."""
    return f"{dashboard_url.rstrip('/')}/#/invitation/{token}"


@dataclass(frozen=True)
class Invitation:
    """An invitation as stored: to whom, which role, until when, and what became of it."""

    org_id: str
    invitation_id: str
    email: str
    role: Role
    expires_at: datetime
    accepted_by: str | None = None

    @classmethod
    def from_document(cls, org_id: str, invitation_id: str, document: Mapping[str, object]) -> Invitation:
        """From the Firestore document; MembershipError when it is malformed (the rules make that unlikely)."""
        expires_at = document.get("expires_at")
        if not isinstance(expires_at, datetime):
            raise MembershipError("invalid_invitation", f"invitation {invitation_id} has no expiry time")
        accepted_by = document.get("accepted_by")
        return cls(
            org_id=org_id,
            invitation_id=invitation_id,
            email=normalize_email(document.get("email")),
            role=parse_role(document.get("role")),
            expires_at=expires_at,
            accepted_by=str(accepted_by) if accepted_by else None,
        )


def check_acceptance(
    invitation: Invitation, *, org_id: str, caller_uid: str, caller_email: str | None, now: datetime
) -> None:
    """Raise MembershipError unless the signed-in caller may accept this invitation now.

    Single use (an accepted invitation is spent, even for the same person), expiring, bound to its
    org (a token of one org never admits to another), and bound to its address: the token proves
    the e-mail was received, the matching sign-in that the person who uses it owns the address.
    """
    if invitation.org_id != org_id:
        raise MembershipError("wrong_organization", "this invitation is for another organisation")
    if invitation.accepted_by is not None:
        raise MembershipError("already_used", "this invitation has already been used: ask an admin for a new one")
    if now >= invitation.expires_at:
        raise MembershipError(
            "expired",
            f"this invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC: ask an admin for a new one",
        )
    if not caller_email or normalize_email(caller_email) != invitation.email:
        signed_in = f" you are signed in as {caller_email};" if caller_email else ""
        raise MembershipError(
            "email_mismatch",
            f"this invitation was sent to {invitation.email};{signed_in} sign in with that address to accept it",
        )
    if not caller_uid:
        raise MembershipError("unauthenticated", "sign in to accept an invitation")


def admins(roles: Mapping[str, str]) -> set[str]:
    """The uids whose role is admin."""
    return {uid for uid, role in roles.items() if role == Role.ADMIN}


def check_role_change(roles: Mapping[str, str], uid: str, new_role: Role | None) -> None:
    """Raise MembershipError if giving `uid` the role `new_role` (None: removing them) is refused.

    `roles` are the org's members (uid -> role) as read in the same transaction as the write, so
    two admins demoting each other at the same moment cannot both succeed: the second one reads
    the first one's change, or its transaction is retried and then does.
    """
    if uid not in roles:
        raise MembershipError("not_a_member", f"user {uid} is not a member of this organisation")
    if roles[uid] == Role.ADMIN and new_role != Role.ADMIN and admins(roles) == {uid}:
        action = "removed" if new_role is None else f"made {new_role.value}"
        raise MembershipError(
            "last_admin",
            f"{uid} is the organisation's only admin and cannot be {action}: make another member admin first",
        )
