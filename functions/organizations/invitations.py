"""Invitation e-mails: a fresh link per send, through the same SMTP code and retry policy as alert e-mails."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import PermanentError, is_lost_race, map_exceptions
from adapters.notification_channels.config import ChannelError, EmailChannel, smtp_settings
from adapters.notification_channels.delivery import DeliveryOutcome, deliver_with_retry
from adapters.notification_channels.smtp import build_message, send_email
from adapters.rate_limits import Limit, RateLimiter
from finance_core.memberships import invitation_link
from google.cloud import firestore

from organizations.service import INVITATIONS, IssuedToken, OrganizationService

log = logging.getLogger(__name__)


def invitation_email(org_name: str, inviter: str | None, issued: IssuedToken, link: str) -> tuple[str, str, str]:
    """Subject, text and HTML of an invitation."""
    subject = f"You are invited to {org_name} on Finance Live"
    by = f"{inviter} invited you" if inviter else "You are invited"
    expires = f"{issued.expires_at:%Y-%m-%d %H:%M} UTC"
    text = "\n".join(
        [
            f"{by} to join {org_name} on Finance Live as {issued.role.value}.",
            "",
            f"Open this link and sign in with {issued.email} to accept: {link}",
            "",
            f"The invitation works once and expires on {expires}. If you did not expect it, ignore this e-mail.",
        ]
    )
    e = html.escape
    body = (
        f"<p>{e(by)} to join <strong>{e(org_name)}</strong> on Finance Live "
        f"as <strong>{e(issued.role.value)}</strong>.</p>"
        f'<p><a href="{e(link)}">Accept the invitation</a> and sign in with {e(issued.email)}.</p>'
        f"<p>The invitation works once and expires on {e(expires)}. "
        "If you did not expect it, ignore this e-mail.</p>"
    )
    return subject, text, f"<html><body>{body}</body></html>"


class InvitationSender:
    """E-mails the link of a new (or re-sent) invitation and records the outcome on the invitation."""

    def __init__(
        self,
        db: firestore.Client,
        organizations: OrganizationService,
        dashboard_url: Callable[[], str | None],
        smtp_defaults: Callable[[], Mapping[str, str]],
        secrets: Callable[[str], str],
        now: Callable[[], datetime],
        limiter: RateLimiter | None = None,
        per_hour: Callable[[], int] = lambda: 30,
        sleep: Callable[[float], None] | None = None,
    ):
        self._limiter = limiter
        self._per_hour = per_hour
        self._db = db
        self._organizations = organizations
        self._dashboard_url = dashboard_url
        self._smtp_defaults = smtp_defaults
        self._secrets = secrets
        self._now = now
        self._retry: dict[str, Any] = {} if sleep is None else {"sleep": sleep}

    def send(self, org_id: str, invitation_id: str) -> DeliveryOutcome | None:
        """Issue a link and e-mail it; None when there is nothing to send (gone, accepted, expired)."""
        invitation_ref = self._organizations.org_ref(org_id).collection(INVITATIONS).document(invitation_id)
        with map_exceptions(f"reading organization {org_id}"):
            org = self._organizations.org_ref(org_id).get().to_dict() or {}
        dashboard = (self._dashboard_url() or "").strip()
        if not dashboard:
            self._record(
                invitation_ref,
                DeliveryOutcome("email", errors=["no DASHBOARD_URL is set: the e-mail would have no link to open"]),
            )
            return None
        with map_exceptions(f"reading invitation {invitation_id} of {org_id}"):
            document = invitation_ref.get().to_dict() or {}
        invited_by = document.get("invited_by")
        if self._limiter is not None and invited_by:
            # Rules cannot count: an admin's invitations (and re-sends) are limited here, so the
            # product never becomes a way to mail strangers in bulk.
            limit = Limit("invitation_emails", max(1, self._per_hour()), timedelta(hours=1))
            key = f"{invitation_id}@{document.get('resend_requested_at') or 'created'}"
            verdict = self._limiter.take(org_id, str(invited_by), limit, key)
            if not verdict.allowed:
                self._record(invitation_ref, DeliveryOutcome("email", errors=[verdict.reason]))
                return None
        issued = self._organizations.issue_token(org_id, invitation_id)
        if issued is None or issued.expires_at <= self._now():
            return None
        inviter = None
        with map_exceptions(f"reading invitation {invitation_id} of {org_id}"):
            if invited_by:
                member = self._organizations.org_ref(org_id).collection("members").document(str(invited_by)).get()
                inviter = (member.to_dict() or {}).get("display_name") or (member.to_dict() or {}).get("email")
        subject, text, body = invitation_email(
            str(org.get("name") or org_id), inviter, issued, invitation_link(dashboard, issued.token)
        )
        defaults = self._smtp_defaults()
        try:
            channel = EmailChannel(
                type="email",
                recipients=(issued.email,),
                password_secret="SMTP_PASSWORD" if defaults.get("SMTP_USER") else None,
            )
            settings = smtp_settings(channel, defaults, self._secrets)
        except ChannelError as exc:
            outcome = DeliveryOutcome("email", errors=[str(exc)])
        else:
            message = build_message(settings, subject, text, body)
            outcome = deliver_with_retry("email", lambda: send_email(settings, message), **self._retry)
        self._record(invitation_ref, outcome)
        return outcome

    def _record(self, invitation_ref: firestore.DocumentReference, outcome: DeliveryOutcome) -> None:
        status = "sent" if outcome.delivered else "send_failed"
        body = {
            "status": status,
            "delivery": {
                "attempts": outcome.attempts,
                "delivered_at": outcome.delivered_at,
                "last_error": outcome.last_error,
            },
        }
        log.info(
            "invitation e-mail %s",
            status,
            extra={"json_fields": {"invitation": invitation_ref.path, "error": outcome.last_error}},
        )
        try:
            with map_exceptions(f"recording the e-mail of {invitation_ref.path}"):
                # Not over an acceptance that happened meanwhile (the invitee was quick).
                snap = invitation_ref.get()
                if snap.exists and (snap.to_dict() or {}).get("status") != "accepted":
                    invitation_ref.update(body, option=self._db.write_option(last_update_time=snap.update_time))
        except PermanentError as exc:
            if not is_lost_race(exc):
                raise
            # Changed since the read: accepted, revoked or re-sent meanwhile; that write tells the story.
