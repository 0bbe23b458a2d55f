"""Alert rules of the demo organisation (documents of organizations/{org}/alert_rules)."""

from __future__ import annotations

from typing import Any


def demo_alert_rules() -> list[dict[str, Any]]:
    """The demo org's rules; the alert engine validates them with the core's rule models."""
    return []
