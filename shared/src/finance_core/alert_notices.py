"""An org's notification settings and the content of notifications (Slack-compatible JSON, e-mail text and HTML)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from finance_core.alert_policy import NotificationPolicy

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
SEVERITY_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
SEVERITY_COLOUR = {"critical": "#b91c1c", "warning": "#c2410c", "info": "#1d4ed8"}
# Slack refuses messages of more than 50 blocks; a long group lists the first alerts and a count.
MAX_LISTED_ALERTS = 20

# The project's defaults: alerts of a rule that fire together wait 10 s to share one message, a
# critical one goes out at once; reminders every 4 h while alerts stay open; 20 messages per org
# and hour at most.
DEFAULT_POLICY = NotificationPolicy(
    group_by=("rule_id",),
    group_wait_seconds=10,
    group_interval_seconds=300,
    repeat_interval_seconds=4 * 3600,
    max_notifications_per_hour=20,
)
DEFAULT_SEVERITY_OVERRIDES: Mapping[str, Mapping[str, int]] = {"critical": {"group_wait_seconds": 0}}
_OVERRIDABLE = ("group_wait_seconds", "group_interval_seconds", "repeat_interval_seconds")


class SettingsError(ValueError):
    """A notification policy document that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class NotificationSettings:
    """An org's notification policy, with timing overrides per severity (a critical alert should not wait)."""

    policy: NotificationPolicy = DEFAULT_POLICY
    severity_overrides: Mapping[str, Mapping[str, int]] = field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_OVERRIDES)
    )

    def for_severity(self, severity: str) -> NotificationPolicy:
        """The policy of alerts of this severity.

        Groups always include the severity among their labels, so alerts with different timings
        never share a group (grouping by rule_id already implies it: a rule has one severity).
        """
        group_by = tuple(sorted({*self.policy.group_by, "severity"}))
        return replace(self.policy, group_by=group_by, **dict(self.severity_overrides.get(severity, {})))


def settings_from_document(document: Mapping[str, Any] | None) -> NotificationSettings:
    """Settings from `alert_settings/notification_policy` (absent fields keep the defaults)."""
    if not document:
        return NotificationSettings()
    known = {
        "group_by",
        "group_wait_seconds",
        "group_interval_seconds",
        "repeat_interval_seconds",
        "max_notifications_per_hour",
        "severity_overrides",
    }
    unknown = sorted(set(document) - known - {"updated_at", "updated_by"})
    if unknown:
        raise SettingsError(f"{', '.join(unknown)}: not a field of the notification policy (check the spelling)")
    values: dict[str, Any] = {}
    for name in (*_OVERRIDABLE, "max_notifications_per_hour"):
        if name in document:
            values[name] = _whole(document[name], name)
    if "group_by" in document:
        group_by = document["group_by"]
        if not isinstance(group_by, (list, tuple)) or not all(isinstance(item, str) for item in group_by):
            raise SettingsError("group_by: must be a list of alert fields")
        values["group_by"] = tuple(group_by)
    try:
        policy = replace(DEFAULT_POLICY, **values)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    overrides = dict(DEFAULT_SEVERITY_OVERRIDES)
    raw = document.get("severity_overrides")
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise SettingsError("severity_overrides: must map a severity to timing fields")
        overrides = {}
        for severity, fields in raw.items():
            if severity not in SEVERITY_ORDER or not isinstance(fields, Mapping):
                raise SettingsError(f"severity_overrides.{severity}: must be one of info, warning, critical with a map")
            bad = sorted(set(fields) - set(_OVERRIDABLE))
            if bad:
                raise SettingsError(f"severity_overrides.{severity}: {', '.join(bad)} cannot vary by severity")
            overrides[severity] = {
                name: _whole(value, f"severity_overrides.{severity}.{name}") for name, value in fields.items()
            }
    return NotificationSettings(policy, overrides)


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SettingsError(f"{name}: must be a whole number >= 0")
    return value


@dataclass(frozen=True)
class NoticeAlert:
    """What a notification says about one alert."""

    alert_id: str
    rule_id: str
    severity: str
    status: str
    title: str
    description: str
    entity_id: str
    period: str
    count: int
    escalation_level: int = 0


@dataclass(frozen=True)
class Notice:
    """One notification: a group's alerts (initial, update, repeat) or one escalated alert."""

    org_id: str
    kind: str
    """initial | update | repeat | escalation."""
    alerts: Sequence[NoticeAlert]
    new_alert_ids: Sequence[str] = ()
    escalation_level: int = 0
    dashboard_url: str | None = None

    @property
    def top_severity(self) -> str:
        """The most severe severity among the alerts."""
        return min((a.severity for a in self.alerts), key=lambda s: SEVERITY_ORDER.get(s, 9), default="info")

    @property
    def headline(self) -> str:
        """One line: what happened, for the message preview and the e-mail subject."""
        severity = self.top_severity.upper()
        if self.kind == "escalation":
            alert = self.alerts[0]
            return f"[{severity}] Escalation level {self.escalation_level}: {alert.title} (unacknowledged)"
        count = len(self.alerts)
        if count == 1:
            prefix = {"repeat": "Still open: ", "update": "New: "}.get(self.kind, "")
            return f"[{severity}] {prefix}{self.alerts[0].title}"
        verb = {"repeat": "still open", "update": "open, new ones first"}.get(self.kind, "firing")
        return f"[{severity}] {count} alerts {verb} in {self.org_id}"


def _ordered(notice: Notice) -> list[NoticeAlert]:
    new = set(notice.new_alert_ids)
    return sorted(notice.alerts, key=lambda a: (a.alert_id not in new, SEVERITY_ORDER.get(a.severity, 9), a.title))


def _where(alert: NoticeAlert) -> str:
    entity = "all entities" if alert.entity_id == "_all" else alert.entity_id
    return f"{entity}, {alert.period}"


def slack_payload(notice: Notice) -> dict[str, Any]:
    """Slack-compatible incoming-webhook JSON: `text` (fallback and preview) and `blocks`.

    Also accepted by Mattermost, Rocket.Chat and most chat webhooks that read `text`. Fields the
    receiver may use to de-duplicate or link back: `alert_ids`, `org_id`, `kind`.
    """
    alerts = _ordered(notice)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": notice.headline[:150], "emoji": True}}
    ]
    for alert in alerts[:MAX_LISTED_ALERTS]:
        emoji = SEVERITY_EMOJI.get(alert.severity, "")
        repeat = f" · seen {alert.count}×" if alert.count > 1 else ""
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{emoji} *{_mrkdwn(alert.title)}*\n{_mrkdwn(alert.description)}"},
            }
        )
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": (
                            f"{alert.severity} · {_where(alert)} · "
                            f"rule `{alert.rule_id}` · alert `{alert.alert_id}`{repeat}"
                        ),
                    }
                ],
            }
        )
    if len(alerts) > MAX_LISTED_ALERTS:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"… and {len(alerts) - MAX_LISTED_ALERTS} more"}],
            }
        )
    if notice.dashboard_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the dashboard"},
                        "url": notice.dashboard_url,
                    }
                ],
            }
        )
    return {
        "text": notice.headline,
        "blocks": blocks,
        "org_id": notice.org_id,
        "kind": notice.kind,
        "alert_ids": [a.alert_id for a in alerts],
    }


def _mrkdwn(text: str) -> str:
    # Slack mrkdwn needs only these three escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_content(notice: Notice) -> tuple[str, str, str]:
    """(subject, plain text body, HTML body) of the e-mail for a notice."""
    alerts = _ordered(notice)
    lines = [notice.headline, ""]
    for alert in alerts:
        lines += [
            f"* {alert.title}",
            f"  {alert.description}",
            f"  severity {alert.severity}, {_where(alert)}, seen {alert.count} time(s), "
            f"rule {alert.rule_id}, alert {alert.alert_id}",
            "",
        ]
    if notice.dashboard_url:
        lines.append(f"Dashboard: {notice.dashboard_url}")
    lines.append("Acknowledge the alert in the dashboard to stop escalation.")
    text = "\n".join(lines) + "\n"
    items = "".join(
        f'<li style="margin-bottom:12px"><strong style="color:{SEVERITY_COLOUR.get(a.severity, "#111")}">'
        f"{html.escape(a.severity.upper())}</strong> {html.escape(a.title)}<br>"
        f"{html.escape(a.description)}<br><small>{html.escape(_where(a))} · seen {a.count}× · "
        f"rule {html.escape(a.rule_id)} · alert {html.escape(a.alert_id)}</small></li>"
        for a in alerts
    )
    link = (
        f'<p><a href="{html.escape(notice.dashboard_url, quote=True)}">Open the dashboard</a></p>'
        if notice.dashboard_url
        else ""
    )
    body = (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f"<h2>{html.escape(notice.headline)}</h2><ul>{items}</ul>{link}"
        "<p><small>Acknowledge the alert in the dashboard to stop escalation.</small></p></body></html>"
    )
    return notice.headline, text, body
