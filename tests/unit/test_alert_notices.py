"""Notification settings (per-severity timing) and notification content (Slack JSON, e-mail text and HTML)."""

from __future__ import annotations

import json

import pytest
from finance_core.alert_notices import (
    DEFAULT_POLICY,
    MAX_LISTED_ALERTS,
    Notice,
    NoticeAlert,
    SettingsError,
    email_content,
    settings_from_document,
    slack_payload,
)
from finance_core.alert_policy import AlertState, AlertStatus, group_key
from finance_core.alert_rules import Severity


def _alert(alert_id="a1", severity="warning", title="Opex over budget", description="Opex is 10% over."):
    return NoticeAlert(alert_id, "rule-1", severity, "active", title, description, "_all", "2026-10", 2)


def test_defaults_group_by_rule_wait_ten_seconds_and_send_critical_at_once():
    settings = settings_from_document(None)
    warning, critical = settings.for_severity("warning"), settings.for_severity("critical")
    assert warning.group_wait_seconds == 10 and critical.group_wait_seconds == 0
    assert warning.group_by == critical.group_by == ("rule_id", "severity")
    assert warning.max_notifications_per_hour == DEFAULT_POLICY.max_notifications_per_hour == 20


def test_a_policy_document_sets_timings_and_replaces_the_overrides():
    settings = settings_from_document(
        {
            "group_by": ["entity_id"],
            "group_wait_seconds": 2,
            "max_notifications_per_hour": 5,
            "severity_overrides": {"info": {"repeat_interval_seconds": 86400}},
        }
    )
    assert settings.for_severity("critical").group_wait_seconds == 2
    info = settings.for_severity("info")
    assert (info.group_by, info.repeat_interval_seconds, info.max_notifications_per_hour) == (
        ("entity_id", "severity"),
        86400,
        5,
    )


@pytest.mark.parametrize(
    "document, message",
    [
        ({"group_wait": 3}, "group_wait: not a field"),
        ({"group_wait_seconds": -1}, "group_wait_seconds: must be a whole number"),
        ({"group_wait_seconds": 1.5}, "must be a whole number"),
        ({"group_by": ["colour"]}, "cannot group alerts by ['colour']"),
        ({"severity_overrides": {"critical": {"max_notifications_per_hour": 1}}}, "cannot vary by severity"),
        ({"severity_overrides": {"urgent": {}}}, "severity_overrides.urgent"),
    ],
)
def test_a_broken_policy_document_is_refused_with_the_field(document, message):
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        settings_from_document(document)


def test_alerts_of_different_severities_never_share_a_group():
    from datetime import UTC, datetime

    settings = settings_from_document({"group_by": ["entity_id"]})
    now = datetime(2026, 10, 5, tzinfo=UTC)

    def state(severity):
        return AlertState(
            "f-" + severity,
            "r",
            "absolute",
            "_all",
            "2026-10",
            Severity(severity),
            AlertStatus.ACTIVE,
            "t",
            "d",
            1,
            now,
            now,
            now,
        )

    keys = {group_key("org", state(s), settings.for_severity(s)) for s in ("info", "warning", "critical")}
    assert len(keys) == 3


def test_the_slack_payload_has_text_blocks_and_new_alerts_first():
    notice = Notice(
        "acme",
        "update",
        [_alert("old", title="Old"), _alert("new", "critical", "New <b>&")],
        new_alert_ids=["new"],
        dashboard_url="https://dash.example/alerts",
    )
    payload = slack_payload(notice)
    json.dumps(payload)  # plain JSON
    assert payload["text"] == "[CRITICAL] 2 alerts open, new ones first in acme"
    assert payload["alert_ids"] == ["new", "old"]
    assert payload["blocks"][0]["type"] == "header"
    assert "*New &lt;b&gt;&amp;*" in payload["blocks"][1]["text"]["text"]
    assert payload["blocks"][-1]["elements"][0]["url"] == "https://dash.example/alerts"


def test_a_long_group_lists_the_first_alerts_and_a_count():
    alerts = [_alert(f"a{i}") for i in range(MAX_LISTED_ALERTS + 5)]
    blocks = slack_payload(Notice("acme", "initial", alerts))["blocks"]
    assert len(blocks) == 1 + 2 * MAX_LISTED_ALERTS + 1 and "5 more" in blocks[-1]["elements"][0]["text"]


def test_an_escalation_says_the_level_and_that_nobody_acknowledged():
    notice = Notice("acme", "escalation", [_alert(severity="critical", title="Margin below 60%")], escalation_level=2)
    assert slack_payload(notice)["text"] == "[CRITICAL] Escalation level 2: Margin below 60% (unacknowledged)"


def test_the_email_has_a_subject_a_text_body_and_an_escaped_html_body():
    subject, text, html = email_content(Notice("acme", "initial", [_alert(description="a < b & c")]))
    assert subject == "[WARNING] Opex over budget"
    assert "a < b & c" in text and "Acknowledge the alert" in text
    assert "a &lt; b &amp; c" in html and html.startswith("<!DOCTYPE html>")
