"""The admin console's alert endpoint: preview a rule on current data, set a channel's secret, send a test.

POST /api/alerts/preview  {"org_id", "rule_id"?, "rule": {...}}     -> what the rule says now (evaluator.preview)
POST /api/alerts/secret   {"org_id", "channel_id", "secret"}        -> {"channel_id", "secret_hint"}
POST /api/alerts/test     {"org_id", "channel_id"}                  -> {"channel_id", "delivered", "attempts", "error"}

Admins of the org only (`Authorization: Bearer <ID token>`); errors are JSON {error, message}. A
secret is write-only: it is kept where no client reads it (adapters/notification_channels/documents.py) and only a
masked hint comes back, here and on the channel document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, json_object, refused
from adapters.identity import Refusal, bearer_caller
from adapters.notification_channels.config import ChannelError, check_webhook_url
from adapters.notification_channels.documents import CHANNELS, store_secret
from adapters.notification_channels.sender import ChannelSender
from finance_core.alert_notices import Notice, NoticeAlert
from finance_core.identifiers import identifier_problem
from google.cloud import firestore

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16_384
MAX_SECRET_LENGTH = 2_048


def test_notice(org_id: str, channel_id: str, by: str, period: str) -> Notice:
    """The message a "send test" delivers: an info notice that says who sent it and why."""
    return Notice(
        org_id=org_id,
        kind="initial",
        alerts=[
            NoticeAlert(
                alert_id="test",
                rule_id="test",
                severity="info",
                status="active",
                title=f"Test notification of channel {channel_id}",
                description=f"Sent from the admin console of {org_id} by {by}: this channel delivers alerts.",
                entity_id="_all",
                period=period,
                count=1,
            )
        ],
    )


class AlertConsole:
    """Routes the console's alert requests after checking that the caller is an admin of the org."""

    def __init__(
        self,
        db: firestore.Client,
        preview: Callable[[str, str, Mapping[str, Any]], dict[str, Any]],
        sender: Callable[[], ChannelSender],
        settings: Callable[[], Mapping[str, str]],
        verify_token: Callable[[str], Mapping[str, Any]],
        clock: Callable[[], datetime],
    ):
        self._db = db
        self._preview = preview
        self._sender = sender
        self._settings = settings
        self._verify = verify_token
        self._clock = clock

    @EndpointGuard("alert console request", "POST")
    def handle(self, request: HttpRequest) -> HttpReply:
        """The full response; never raises for the caller's mistakes."""
        action = request.path.rstrip("/").rsplit("/", 1)[-1]
        if action not in {"preview", "secret", "test"}:
            return error_reply(
                404, "not_found", f"no such action {action!r}: use /api/alerts/preview, /secret or /test"
            )
        caller = bearer_caller(request.authorization, self._verify, "alerts", "manage alert rules and channels")
        if isinstance(caller, Refusal):
            return refused(caller)
        body = json_object(request.body, MAX_BODY_BYTES)
        if isinstance(body, HttpReply):
            return body
        problem = identifier_problem(body.get("org_id"), "org_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        org_id = str(body["org_id"])
        with map_exceptions(f"reading the membership of {caller} in {org_id}"):
            member = self._db.document(f"{org_path(org_id)}/members/{caller}").get()
        if not member.exists or (member.to_dict() or {}).get("role") != "admin":
            return error_reply(
                403, "permission_denied", f"only admins of {org_id!r} manage its alert rules and channels"
            )
        if action == "preview":
            rule = body.get("rule")
            if not isinstance(rule, dict):
                return error_reply(400, "invalid_request", 'give the rule as a JSON object: {"rule": {...}}')
            rule_id = str(body.get("rule_id") or "preview")
            if identifier_problem(rule_id, "rule_id"):
                return error_reply(400, "invalid_request", str(identifier_problem(rule_id, "rule_id")))
            return HttpReply(200, self._preview(org_id, rule_id, rule))
        problem = identifier_problem(body.get("channel_id"), "channel_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        channel_id = str(body["channel_id"])
        channel_ref = self._db.document(f"{org_path(org_id)}/{CHANNELS}/{channel_id}")
        with map_exceptions(f"reading channel {channel_id} of {org_id}"):
            channel = channel_ref.get()
        if not channel.exists:
            return error_reply(404, "not_found", f"channel {channel_id!r} does not exist: save the channel first")
        kind = (channel.to_dict() or {}).get("type")
        if action == "secret":
            return self._set_secret(org_id, channel_id, str(kind), body.get("secret"), caller)
        return self._test(org_id, channel_id, channel_ref, caller, str((member.to_dict() or {}).get("email") or caller))

    def _set_secret(self, org_id: str, channel_id: str, kind: str, secret: Any, by: str) -> HttpReply:
        if not isinstance(secret, str) or not secret.strip() or len(secret) > MAX_SECRET_LENGTH:
            return error_reply(400, "invalid_request", f"the secret is text of 1-{MAX_SECRET_LENGTH} characters")
        secret = secret.strip()
        if kind == "webhook":
            try:
                check_webhook_url(secret, self._settings())
            except ChannelError as exc:
                return error_reply(400, "invalid_secret", str(exc))
        elif kind != "email":
            return error_reply(
                400, "invalid_request", f"channel {channel_id!r} is a {kind!r} channel: it has no secret"
            )
        hint = store_secret(self._db, org_id, channel_id, secret, by)
        log.info("channel secret set", extra={"json_fields": {"org_id": org_id, "channel_id": channel_id, "by": by}})
        return HttpReply(200, {"channel_id": channel_id, "secret_hint": hint})

    def _test(self, org_id: str, channel_id: str, ref: firestore.DocumentReference, uid: str, who: str) -> HttpReply:
        now = self._clock()
        notice = test_notice(org_id, channel_id, who, f"{now:%Y-%m}")
        # A disabled channel is skipped by the sender: a test of it says so rather than nothing.
        outcomes = self._sender().send(org_id, [channel_id], notice)
        if not outcomes:
            result = {"channel_id": channel_id, "delivered": False, "attempts": 0, "error": "the channel is disabled"}
        else:
            outcome = outcomes[0]
            result = {
                "channel_id": channel_id,
                "delivered": outcome.delivered,
                "attempts": outcome.attempts,
                "error": outcome.last_error if not outcome.delivered else None,
            }
        with map_exceptions(f"recording the test of channel {channel_id} of {org_id}"):
            ref.update({"last_test": {**result, "at": firestore.SERVER_TIMESTAMP, "by": uid}})
        return HttpReply(200, result)
