"""Organisation triggers: the membership endpoint, and the e-mail of each invitation an admin writes."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import firestore_client
from adapters.firestore_codec import utc_now
from adapters.http_endpoint import serve
from adapters.identity import verify_id_token
from adapters.logs import bind, observed
from adapters.rate_limits import RateLimiter
from adapters.settings import DASHBOARD_URL, INVITATION_EMAILS_PER_HOUR, SMTP_PASSWORD, channel_settings
from firebase_functions import firestore_fn, https_fn, options

from organizations.access import MAX_BODY_BYTES, AccessEndpoint
from organizations.imports import SheetEndpoint
from organizations.invitations import InvitationSender
from organizations.service import OrganizationService

# Bound to the function that e-mails invitations (and only to it).
SECRETS = [SMTP_PASSWORD]


@functools.cache
def organization_service() -> OrganizationService:
    """The instance's organisation service."""
    return OrganizationService(firestore_client())


@functools.cache
def access_endpoint() -> AccessEndpoint:
    """The instance's membership endpoint."""
    return AccessEndpoint(organization_service(), verify_id_token)


@functools.cache
def invitation_sender() -> InvitationSender:
    """The instance's invitation mailer (SMTP settings and secret as for alert e-mails)."""
    return InvitationSender(
        firestore_client(),
        organization_service(),
        lambda: DASHBOARD_URL.value or None,
        channel_settings,
        lambda name: SMTP_PASSWORD.value,
        utc_now,
        limiter=RateLimiter(firestore_client()),
        per_hour=lambda: INVITATION_EMAILS_PER_HOUR.value,
    )


# The ID token travels in the Authorization header (never a cookie), so any origin may call it;
# the dashboard reaches it on its own origin through the Hosting rewrite of /api/access/**.
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["post"]), **deployment.background("access", concurrency=20)
)
@observed("manage_access")
def manage_access(request: https_fn.Request) -> https_fn.Response:
    """Accept an invitation (invitee), change a member's role or remove a member (admins): organizations/access.py."""
    return serve(request, access_endpoint().handle, body_limit=MAX_BODY_BYTES)


@firestore_fn.on_document_written(
    document="organizations/{org_id}/invitations/{invitation_id}",
    **deployment.background("access", timeout_sec=120, secrets=SECRETS),
)
@observed("send_invitation")
def send_invitation(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """An admin invited someone (or asked to send again): e-mail a fresh link, record the outcome on the invitation."""
    before = event.data.before.to_dict() if event.data.before is not None and event.data.before.exists else None
    after = event.data.after.to_dict() if event.data.after is not None and event.data.after.exists else None
    if after is None:
        return
    created = before is None and not after.get("status")
    resend = before is not None and after.get("resend_requested_at") != before.get("resend_requested_at")
    if not (created or resend) or after.get("status") == "accepted":
        return
    bind(org_id=event.params["org_id"], invitation_id=event.params["invitation_id"])
    invitation_sender().send(event.params["org_id"], event.params["invitation_id"])


@functools.cache
def sheet_endpoint() -> SheetEndpoint:
    """The instance's reader of reference-data files."""
    return SheetEndpoint(firestore_client(), verify_id_token)


# Same origin as the console (Hosting rewrite of /api/sheets/read); the body is the file.
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["post"]),
    **deployment.background("access", concurrency=4, memory=1024, timeout_sec=120),
)
@observed("read_sheet")
def read_sheet(request: https_fn.Request) -> https_fn.Response:
    """An admin's CSV or XLSX file of accounts, entities or FX rates as rows (organizations/imports.py)."""
    return serve(request, sheet_endpoint().handle)
