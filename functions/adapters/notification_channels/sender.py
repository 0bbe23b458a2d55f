"""Sends one notice to a set of channels of an org: each channel on its own, failures recorded, never raised."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from finance_core.alert_notices import Notice, email_content, slack_payload

from adapters.notification_channels.config import (
    ChannelError,
    EmailChannel,
    check_webhook_url,
    parse_channel,
    smtp_settings,
    webhook_url,
)
from adapters.notification_channels.delivery import DeliveryOutcome, deliver_with_retry
from adapters.notification_channels.smtp import build_message, send_email
from adapters.notification_channels.webhook import post_json

log = logging.getLogger(__name__)

ChannelLoader = Callable[[str, Iterable[str]], Mapping[str, Mapping[str, Any] | None]]


class ChannelSender:
    """Delivers notices through the channels configured in `notification_channels`.

    `load(org_id, channel_ids)` returns the channel documents (None for a missing one); `secrets`
    resolves a secret param by name; `smtp_defaults` are the SMTP_* params.
    """

    def __init__(
        self,
        load: ChannelLoader,
        secrets: Callable[[str], str],
        smtp_defaults: Callable[[], Mapping[str, str]],
        sleep: Callable[[float], None] | None = None,
    ):
        self._load = load
        self._secrets = secrets
        self._smtp_defaults = smtp_defaults
        self._retry: dict[str, Any] = {} if sleep is None else {"sleep": sleep}

    def send(self, org_id: str, channel_ids: Iterable[str], notice: Notice) -> list[DeliveryOutcome]:
        """One outcome per channel; a broken or disabled channel gives a failed outcome, never an exception."""
        channel_ids = sorted(set(channel_ids))
        if not channel_ids:
            return []
        documents = self._load(org_id, channel_ids)
        outcomes = []
        for channel_id in channel_ids:
            try:
                send = self._prepare(channel_id, documents.get(channel_id), notice)
            except ChannelError as exc:
                log.warning("org %s: channel %s not used: %s", org_id, channel_id, exc)
                outcome = DeliveryOutcome(channel_id, errors=[str(exc)])
                outcomes.append(outcome)
                continue
            if send is None:
                continue
            outcomes.append(deliver_with_retry(channel_id, send, **self._retry))
        return outcomes

    def _prepare(
        self, channel_id: str, document: Mapping[str, Any] | None, notice: Notice
    ) -> Callable[[], None] | None:
        channel = parse_channel(channel_id, document)
        if not channel.enabled:
            return None
        if isinstance(channel, EmailChannel):
            settings = smtp_settings(channel, self._smtp_defaults(), self._secrets)
            subject, text, html = email_content(notice)
            message = build_message(settings, subject, text, html)
            return lambda: send_email(settings, message)
        url = check_webhook_url(webhook_url(channel, self._secrets), self._smtp_defaults())
        payload = slack_payload(notice)
        return lambda: post_json(url, payload, channel.timeout_seconds)
