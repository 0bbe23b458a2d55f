"""Notification groups: alerts join a group, the group is sent when due (in-process or by the sweep), outcomes kept."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.firestore_codec import utc_now
from adapters.notification_channels.sender import ChannelSender
from adapters.sweeps import OrgSweep
from finance_core.alert_notices import (
    Notice,
    NoticeAlert,
    NotificationSettings,
    SettingsError,
    settings_from_document,
)
from finance_core.alert_policy import AlertState, NotificationPolicy, group_key

from alerts.store import AlertStore, FlushClaim, readable_state

log = logging.getLogger(__name__)

# An alert that decided to notify this long ago and is still not in its group was left behind
# by a crashed invocation; the sweep enqueues it.
UNQUEUED_GRACE = timedelta(seconds=60)
MAX_INLINE_ROUNDS = 3


@dataclass(frozen=True)
class SentNotification:
    """A notification that went out (or was attempted), for logs and tests."""

    notification_id: str
    kind: str
    alert_ids: tuple[str, ...]
    status: str


def _notice_alert(alert_id: str, document: Mapping[str, Any]) -> NoticeAlert:
    return NoticeAlert(
        alert_id=alert_id,
        rule_id=str(document.get("rule_id", "")),
        severity=str(document.get("severity", "info")),
        status=str(document.get("status", "active")),
        title=str(document.get("title", alert_id)),
        description=str(document.get("description", "")),
        entity_id=str(document.get("entity_id", "")),
        period=str(document.get("period", "")),
        count=int(document.get("count", 1)),
        escalation_level=int(document.get("escalation_level", 0)),
    )


class Notifier:
    """Groups alerts into notifications (Grafana-like group_wait / group_interval / repeat_interval).

    Delivery design: the invocation that raises an alert puts it into its group and tries to send
    the group in the same transaction. If the group is not due yet and will be due within
    `inline_wait()` seconds, the invocation that opened the group waits for it and sends it itself
    (a critical alert with group_wait 0 is sent at once; alerts raised together within a short
    group_wait share one message). Anything due later, reminders, capped groups and deliveries of
    crashed invocations are left to the scheduled sweep (`flush_alert_notifications`, every minute).
    """

    def __init__(
        self,
        store: AlertStore,
        sender: ChannelSender,
        *,
        inline_wait: Callable[[], float] = lambda: 10.0,
        dashboard_url: Callable[[], str | None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._store = store
        self._sender = sender
        self._inline_wait = inline_wait
        self._dashboard_url = dashboard_url
        self._clock = clock
        self._sleep = sleep

    def settings(self, org_id: str) -> NotificationSettings:
        """The org's notification settings; a broken policy document falls back to the defaults (and is logged)."""
        try:
            return settings_from_document(self._store.policy_document(org_id))
        except SettingsError as exc:
            log.warning("org %s: notification policy ignored, defaults used: %s", org_id, exc)
            return NotificationSettings()

    def enqueue(self, org_id: str, alerts: Iterable[AlertState], *, wait_inline: bool = True) -> list[SentNotification]:
        """Put alerts that want a notification into their groups and send the groups that are due."""
        settings = self.settings(org_id)
        groups: dict[str, tuple[NotificationPolicy, list[str], dict[str, str]]] = {}
        for state in alerts:
            policy = settings.for_severity(state.severity.value)
            key = group_key(org_id, state, policy)
            labels = {name: str(getattr(state, name)) for name in policy.group_by}
            groups.setdefault(key, (policy, [], labels))[1].append(state.fingerprint)
        sent: list[SentNotification] = []
        waiting: dict[str, tuple[NotificationPolicy, datetime]] = {}
        # Every group first gets its alerts (and sends if due): a group that waits never delays
        # another group's alerts or a critical message.
        for key, (policy, fingerprints, labels) in groups.items():
            claim = self._store.flush(org_id, key, policy, self._clock(), add=fingerprints, labels=labels)
            sent += self._deliver_claim(org_id, claim)
            due = claim.decision.next_check_at
            # Only the invocation that opened the group waits for it; alerts raised meanwhile join.
            if claim.notification is None and claim.started_group and wait_inline and due is not None:
                waiting[key] = (policy, due)
        # Then the groups due soon enough, in the order they fall due: the invocation waits for
        # the latest of them, not for the sum.
        rounds = 0
        while waiting and rounds < MAX_INLINE_ROUNDS * len(groups):
            key, (policy, due) = min(waiting.items(), key=lambda item: item[1][1])
            delay = (due - self._clock()).total_seconds()
            if delay > self._inline_wait():
                break
            self._sleep(max(0.0, delay))
            claim = self._store.flush(org_id, key, policy, self._clock())
            sent += self._deliver_claim(org_id, claim)
            rounds += 1
            if (
                claim.notification is None
                and claim.decision.next_check_at is not None
                and claim.decision.next_check_at > due
            ):
                waiting[key] = (policy, claim.decision.next_check_at)
            else:
                del waiting[key]
        return sent

    def _flush(self, org_id: str, key: str, policy: NotificationPolicy) -> list[SentNotification]:
        return self._deliver_claim(org_id, self._store.flush(org_id, key, policy, self._clock()))

    def _deliver_claim(self, org_id: str, claim: FlushClaim) -> list[SentNotification]:
        if claim.notification is None:
            return []
        status = self.deliver(org_id, claim.notification, claim.alerts)
        self._store.history.push(org_id, claim.rows)
        notification = claim.notification
        return [
            SentNotification(
                notification["notification_id"], notification["kind"], tuple(notification["alert_ids"]), status
            )
        ]

    def deliver(self, org_id: str, notification: Mapping[str, Any], alerts: Mapping[str, Mapping[str, Any]]) -> str:
        """Send a claimed notification to its channels (those not yet delivered) and record the outcomes."""
        channels = [
            c
            for c in notification.get("channels") or ()
            if not ((notification.get("deliveries") or {}).get(c) or {}).get("delivered")
        ]
        if not notification.get("channels"):
            return "no_channels"
        notice = Notice(
            org_id=org_id,
            kind=str(notification.get("kind", "initial")),
            alerts=[
                _notice_alert(alert_id, alerts[alert_id])
                for alert_id in notification["alert_ids"]
                if alert_id in alerts
            ],
            new_alert_ids=tuple(notification.get("new_alert_ids") or ()),
            escalation_level=int(notification.get("escalation_level", 0)),
            dashboard_url=self._dashboard_url() or None,
        )
        outcomes = self._sender.send(org_id, channels, notice)
        status = self._store.record_delivery(org_id, notification, outcomes, self._clock())
        if status != "delivered":
            log.warning(
                "org %s: notification %s %s: %s",
                org_id,
                notification["notification_id"],
                status,
                "; ".join(f"{o.channel_id}: {o.last_error}" for o in outcomes if not o.delivered),
            )
        return status

    def sweep(self, org_id: str | None = None, fail_on_error: bool = False) -> list[SentNotification]:
        """Scheduled work, of every org (or one): alerts left out of their group, groups that are due,
        held repeat firings that are due, stuck deliveries, the history outbox. One org's failure is
        logged and never stops the others; with `fail_on_error` the run raises SweepFailed at the end
        when any org failed."""
        report = OrgSweep("alert_notifications", skip_failed_orgs=False)
        now = self._clock()
        sent: list[SentNotification] = []
        settings: dict[str, NotificationSettings] = {}

        def settings_of(org: str) -> NotificationSettings:
            if org not in settings:
                settings[org] = self.settings(org)
            return settings[org]

        left_behind: dict[str, list[AlertState]] = {}
        for org, document in self._store.unqueued_alerts(now - UNQUEUED_GRACE, org_id):
            state = readable_state(document)
            if state is not None and state.is_open:
                left_behind.setdefault(org, []).append(state)
        for org, states in left_behind.items():
            sent += self._isolated(report, org, "enqueueing left-behind alerts", self._enqueue_later, org, states)
        for org, key, labels in self._store.due_groups(self._clock(), org_id):
            policy = settings_of(org).for_severity(labels.get("severity", "warning"))
            sent += self._isolated(report, org, f"flushing group {key}", self._flush, org, key, policy)
        # The trailing write of repeat firings held beside their alerts (alert_policy.REPEAT_WRITE_INTERVAL):
        # a rule that stopped being evaluated still shows its exact count within a sweep.
        for org, alert_id in self._store.due_repeats(now, org_id):
            self._isolated(
                report,
                org,
                f"writing the held repeats of alert {alert_id}",
                self._store.write_held_repeats,
                org,
                alert_id,
                now,
            )
        for org, notification in self._store.stuck_notifications(self._clock(), org_id):
            sent += self._isolated(report, org, "re-sending a notification", self._resend, org, notification)
        for org in self._store.orgs_with_unsent_history(self._clock(), org_id):
            self._isolated(report, org, "pushing the alert history", self._store.history.sweep, org)
        if fail_on_error:
            report.finish()
        return sent

    def _resend(self, org_id: str, notification: Mapping[str, Any]) -> list[SentNotification]:
        claimed = self._store.reclaim(org_id, notification["notification_id"], self._clock())
        if claimed is None:
            return []
        alerts = self._store.existing_alerts(org_id, claimed.get("alert_ids") or ())
        status = self.deliver(org_id, claimed, alerts)
        return [
            SentNotification(
                claimed["notification_id"], claimed.get("kind", ""), tuple(claimed.get("alert_ids") or ()), status
            )
        ]

    def _enqueue_later(self, org_id: str, states: list[AlertState]) -> list[SentNotification]:
        return self.enqueue(org_id, states, wait_inline=False)

    @staticmethod
    def _isolated(report: OrgSweep, org_id: str, what: str, work: Callable[..., Any], *args: Any) -> Any:
        result = report.run(org_id, lambda: work(*args), what)
        return result if isinstance(result, list) else []
