"""The notifier's in-process waiting, on an in-memory store and a fake clock (no emulator)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alerts.notifier import Notifier
from alerts.store import FlushClaim
from finance_core.alert_policy import (
    AlertState,
    AlertStatus,
    GroupState,
    OrgBudget,
    enqueue,
    group_key,
    plan_flush,
)
from finance_core.alert_rules import Severity

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


class MemoryStore:
    """The part of AlertStore the notifier uses, in memory, with the same pure decisions."""

    def __init__(self, policy_document=None):
        self.groups: dict[str, GroupState] = {}
        self.budget = OrgBudget()
        self.policy_document_ = policy_document
        self.sent: list[tuple[datetime, tuple[str, ...]]] = []
        self.history = type("History", (), {"push": staticmethod(lambda org, rows: True)})()

    def policy_document(self, org_id):
        return self.policy_document_

    def flush(self, org_id, key, policy, now, add=(), labels=None):
        group = self.groups.get(key, GroupState(key))
        was_waiting = bool(group.pending)
        for fingerprint in add:
            group = enqueue(group, fingerprint, now)
        decision = plan_flush(
            group, open_alerts=set(group.pending) | set(group.notified), budget=self.budget, policy=policy, now=now
        )
        self.groups[key], self.budget = decision.group, decision.budget
        notification = None
        if decision.send:
            self.sent.append((now, decision.fingerprints))
            notification = {
                "notification_id": f"n{len(self.sent)}",
                "kind": decision.kind.value,
                "alert_ids": list(decision.fingerprints),
                "channels": [],
            }
        return FlushClaim(decision, bool(add) and not was_waiting and bool(group.pending), notification, {})


def _alert(fingerprint: str, rule_id: str, severity: str) -> AlertState:
    return AlertState(
        fingerprint,
        rule_id,
        "absolute",
        "_all",
        "2026-10",
        Severity(severity),
        AlertStatus.ACTIVE,
        "t",
        "d",
        1,
        T0,
        T0,
        T0,
    )


def _notifier(store: MemoryStore, clock: Clock, inline_wait: float = 10.0) -> Notifier:
    return Notifier(store, sender=None, inline_wait=lambda: inline_wait, clock=clock, sleep=clock.sleep)


def test_a_critical_alert_goes_out_at_once_and_groups_waiting_together_cost_one_wait():
    store, clock = MemoryStore(), Clock()
    sent = _notifier(store, clock).enqueue(
        "acme",
        [_alert("w1", "opex", "warning"), _alert("c1", "margin", "critical"), _alert("w2", "revenue", "warning")],
    )
    assert store.sent[0] == (T0, ("c1",))
    # Two warning groups opened together are both sent after one wait of 10 s, not 20.
    assert clock.slept == [10.0, 0.0]
    assert sorted(fps for _, fps in store.sent[1:]) == [("w1",), ("w2",)]
    assert {at for at, _ in store.sent[1:]} == {T0 + timedelta(seconds=10)}
    assert [n.alert_ids for n in sent][0] == ("c1",)


def test_a_group_due_later_than_the_inline_wait_is_left_to_the_sweep():
    store, clock = MemoryStore({"group_wait_seconds": 30}), Clock()
    assert _notifier(store, clock).enqueue("acme", [_alert("w1", "opex", "warning")]) == []
    assert clock.slept == [] and store.sent == []
    [group] = store.groups.values()
    assert group.pending == ("w1",)


def test_only_the_invocation_that_opened_the_group_waits_for_it():
    store, clock = MemoryStore(), Clock()
    notifier = _notifier(store, clock)
    key_state = _alert("w1", "opex", "warning")
    # Another invocation opened the group a moment ago: this one only adds its alert.
    settings = notifier.settings("acme").for_severity("warning")
    key = group_key("acme", key_state, settings)
    store.groups[key] = replace(GroupState(key), pending=("w0",), pending_since=T0)
    clock.now = T0 + timedelta(seconds=3)
    assert notifier.enqueue("acme", [key_state]) == []
    assert clock.slept == [] and store.groups[key].pending == ("w0", "w1")
