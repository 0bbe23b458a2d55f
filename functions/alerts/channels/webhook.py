"""Webhook channel: POST a Slack-compatible JSON payload with requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from alerts.channels.delivery import DeliveryError


def post_json(url: str, payload: Mapping[str, Any], timeout: float) -> None:
    """POST `payload`; DeliveryError on failure (retryable for network errors, 429 and 5xx)."""
    try:
        response = requests.post(url, json=dict(payload), timeout=timeout,
                                 headers={"User-Agent": "finance-live-alerts/1"})
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
    if response.status_code >= 300:
        body = response.text[:200].strip()
        retryable = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(f"HTTP {response.status_code} from the webhook: {body}", retryable=retryable)
