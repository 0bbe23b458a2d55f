"""Webhook channel: POST a Slack-compatible JSON payload with requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from adapters.notification_channels.delivery import DeliveryError, redact


def post_json(url: str, payload: Mapping[str, Any], timeout: float) -> None:
    """POST `payload`; DeliveryError on failure (retryable for network errors, 429 and 5xx).

    The error never repeats the URL: for a Slack-style webhook its path is the secret. A network
    error says only what kind it was; a refusal keeps the status and a redacted start of the body.
    """
    try:
        response = requests.post(
            url,
            json=dict(payload),
            timeout=timeout,
            allow_redirects=False,
            headers={"User-Agent": "finance-live-alerts/1"},
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: the webhook could not be reached", retryable=True) from None
    if response.status_code >= 300:
        body = redact(response.text[:200].strip(), [url])
        retryable = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(f"HTTP {response.status_code} from the webhook: {body}", retryable=retryable)
