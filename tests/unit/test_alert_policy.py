"""Alert policy: lifecycle, idempotency, cooldown, grouping, the org cap and escalation, on plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from finance_core.alert_policy import (
    AlertState,
    AlertStatus,
    GroupState,
    NotificationKind,
    NotificationPolicy,
    OrgBudget,
    Transition,
    acknowledge,
    alert_document,
    alert_state_from_document,
    apply_evaluation,
    enqueue,
    group_key,
    mark_notified,
    plan_escalation,
    plan_flush,
)
from finance_core.alert_rules import Escalation, RuleContext, Severity, evaluate, parse_rule
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
COOLDOWN = 3600


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _rule(rule_id: str = "cash-low", severity: str = "warning", entity_id: str = "_all"):
    return parse_rule(
        {
            "type": "absolute",
            "rule_id": rule_id,
            "name": "Cash below 50,000",
            "severity": severity,
            "target": {"account_id": "1000", "entity_id": entity_id},
            "direction": "below",
            "threshold_minor": 5_000_000,
            "escalation": {"channels": ["pager-controller", "pager-cfo"], "escalate_after_seconds": 900},
        }
    )


def _evaluation(firing: bool, rule=None, period: str = "2026-10"):
    return evaluate(rule or _rule(), RuleContext(period=period, current_value=4_000_000 if firing else 6_000_000))


def _apply(state, firing: bool, change_id: str, seconds: float, rule=None):
    return apply_evaluation(
        state, _evaluation(firing, rule), change_id=change_id, now=_at(seconds), cooldown_seconds=COOLDOWN
    )


# --- lifecycle ----------------------------------------------------------------------------------


def test_a_persisting_condition_is_one_alert_whose_count_grows():
    fired = _apply(None, True, "e1", 0)
    assert fired.transition is Transition.FIRED and fired.notify
    state = fired.state
    assert (state.status, state.count, state.first_seen, state.last_seen) == (AlertStatus.ACTIVE, 1, T0, T0)
    assert state.title == "Account 1000 (all entities) below 50,000.00 USD"
    for n, change in enumerate(["e2", "e3", "e4"], start=2):
        decision = _apply(state, True, change, 60 * n)
        assert decision.transition is Transition.UPDATED and not decision.notify
        assert decision.state.fingerprint == fired.state.fingerprint
        state = decision.state
        assert state.count == n and state.last_seen == _at(60 * n) and state.first_seen == T0
    assert state.last_change_id == "e4"


def test_a_cleared_condition_resolves_and_a_new_breach_refires():
    state = _apply(None, True, "e1", 0).state
    resolved = _apply(state, False, "e2", 100)
    assert resolved.transition is Transition.RESOLVED and resolved.state.status is AlertStatus.RESOLVED
    assert resolved.state.resolved_at == _at(100) and not resolved.notify
    still = _apply(resolved.state, False, "e3", 200)
    assert still.transition is Transition.UNCHANGED and still.state.status is AlertStatus.RESOLVED
    refired = _apply(still.state, True, "e4", 300)
    assert refired.transition is Transition.REFIRED and refired.state.status is AlertStatus.ACTIVE
    assert refired.state.count == 2 and refired.state.fired_at == _at(300) and refired.state.first_seen == T0
    assert refired.state.resolved_at is None


def test_no_alert_and_no_condition_changes_nothing():
    decision = _apply(None, False, "e1", 0)
    assert decision.transition is Transition.UNCHANGED and decision.state is None and not decision.notify


def test_an_undecidable_evaluation_neither_fires_nor_resolves():
    state = _apply(None, True, "e1", 0).state
    blind = evaluate(_rule(), RuleContext(period="2026-10", current_value=None))
    decision = apply_evaluation(state, blind, change_id="e2", now=_at(10), cooldown_seconds=COOLDOWN)
    assert decision.transition is Transition.UNCHANGED and decision.state == state


def test_resolution_can_notify_when_asked():
    state = _apply(None, True, "e1", 0).state
    decision = apply_evaluation(
        state, _evaluation(False), change_id="e2", now=_at(5), cooldown_seconds=COOLDOWN, notify_on_resolve=True
    )
    assert decision.transition is Transition.RESOLVED and decision.notify


def test_an_acknowledged_alert_stays_acknowledged_while_the_condition_persists():
    state = acknowledge(_apply(None, True, "e1", 0).state, _at(30))
    assert state.status is AlertStatus.ACKNOWLEDGED and state.acknowledged_at == _at(30)
    decision = _apply(state, True, "e2", 60)
    assert decision.state.status is AlertStatus.ACKNOWLEDGED and decision.state.count == 2
    assert acknowledge(_apply(state, False, "e3", 90).state, _at(100)).status is AlertStatus.RESOLVED


def test_an_evaluation_of_another_alert_is_refused():
    state = _apply(None, True, "e1", 0).state
    other = _evaluation(True, _rule("other-rule"))
    with pytest.raises(ValueError, match="does not belong"):
        apply_evaluation(state, other, change_id="e2", now=_at(1), cooldown_seconds=COOLDOWN)


def test_times_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_evaluation(None, _evaluation(True), change_id="e1", now=datetime(2026, 10, 5), cooldown_seconds=0)


# --- idempotency --------------------------------------------------------------------------------


def test_a_stale_evaluation_cannot_undo_a_newer_one():
    state = apply_evaluation(
        None, _evaluation(True), change_id="e2", now=_at(10), cooldown_seconds=COOLDOWN, observed_at=_at(9)
    ).state
    stale = apply_evaluation(
        state, _evaluation(False), change_id="e1", now=_at(20), cooldown_seconds=COOLDOWN, observed_at=_at(5)
    )
    assert stale.transition is Transition.UNCHANGED and stale.state.status is AlertStatus.ACTIVE
    fresh = apply_evaluation(
        state, _evaluation(False), change_id="e3", now=_at(30), cooldown_seconds=COOLDOWN, observed_at=_at(25)
    )
    assert fresh.transition is Transition.RESOLVED and fresh.state.last_observed_at == _at(25)


def test_the_same_change_applied_twice_counts_once():
    state = _apply(None, True, "e1", 0).state
    again = _apply(state, True, "e1", 5)
    assert again.transition is Transition.UNCHANGED and again.state == state and not again.notify
    state = _apply(state, True, "e2", 10).state
    late_redelivery = _apply(state, True, "e1", 20)  # after a newer change
    assert late_redelivery.transition is Transition.UNCHANGED and late_redelivery.state.count == 2


_changes = st.lists(st.tuples(st.text("abcdef", min_size=1, max_size=3), st.booleans()), min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(_changes, st.randoms(use_true_random=False))
def test_redelivered_changes_never_change_the_outcome(changes, rnd):
    # Keep the first occurrence of each id: a change id names one evaluation.
    unique = list({change_id: firing for change_id, firing in reversed(changes)}.items())[::-1]
    delivered = []
    for item in unique:
        delivered.append(item)
        if rnd.random() < 0.5:
            delivered.append(rnd.choice(delivered))  # redelivery of something already applied

    # A change carries the time of the data it was evaluated on; a redelivery carries it too.
    observed = {change_id: _at(position) for position, (change_id, _) in enumerate(unique)}

    def run(sequence):
        state = None
        for step, (change_id, firing) in enumerate(sequence):
            state = apply_evaluation(
                state,
                _evaluation(firing),
                change_id=change_id,
                now=_at(100 + step),
                cooldown_seconds=COOLDOWN,
                observed_at=observed[change_id],
            ).state
        return state

    once, with_duplicates = run(unique), run(delivered)
    if once is None:
        assert with_duplicates is None
    else:
        assert (once.count, once.status) == (with_duplicates.count, with_duplicates.status)
        assert once.applied_change_ids == with_duplicates.applied_change_ids


# --- cooldown -----------------------------------------------------------------------------------


def test_cooldown_suppresses_renotification_of_a_flapping_alert():
    state = _apply(None, True, "e1", 0).state
    state = mark_notified(state, _at(30))
    state = _apply(state, False, "e2", 600).state
    quick = _apply(state, True, "e3", 1_200)
    assert quick.transition is Transition.REFIRED and not quick.notify
    assert "cooldown" in quick.reason
    state = _apply(quick.state, False, "e4", 1_800).state
    later = _apply(state, True, "e5", 30 + COOLDOWN)
    assert later.transition is Transition.REFIRED and later.notify


# --- grouping -----------------------------------------------------------------------------------

POLICY = NotificationPolicy(
    group_wait_seconds=30, group_interval_seconds=300, repeat_interval_seconds=4 * 3600, max_notifications_per_hour=20
)


def _flush(group, open_alerts, seconds, budget=None, policy=POLICY):
    return plan_flush(
        group, open_alerts=set(open_alerts), budget=budget or OrgBudget(), policy=policy, now=_at(seconds)
    )


def test_alerts_firing_within_group_wait_merge_into_one_notification():
    group = enqueue(GroupState("g"), "a", _at(0))
    group = enqueue(group, "b", _at(10))
    group = enqueue(group, "a", _at(12))  # enqueued twice, listed once
    early = _flush(group, {"a", "b"}, 20)
    assert not early.send and early.next_check_at == _at(30)
    first = _flush(group, {"a", "b"}, 30)
    assert first.send and first.kind is NotificationKind.INITIAL and first.fingerprints == ("a", "b")
    assert first.budget.sent_at == (_at(30),) and first.group.pending == ()

    group = enqueue(first.group, "c", _at(60))
    waiting = _flush(group, {"a", "b", "c"}, 100)
    assert not waiting.send and waiting.next_check_at == _at(330)  # group_interval after the last send
    update = _flush(group, {"a", "b", "c"}, 330, first.budget)
    assert update.send and update.kind is NotificationKind.UPDATE
    assert update.new_fingerprints == ("c",) and update.fingerprints == ("c", "a", "b")


def test_an_unchanged_group_is_repeated_after_repeat_interval_and_only_while_open():
    sent = _flush(enqueue(GroupState("g"), "a", _at(0)), {"a"}, 30)
    quiet = _flush(sent.group, {"a"}, 3_600)
    assert not quiet.send and quiet.next_check_at == _at(30 + 4 * 3600)
    repeat = _flush(sent.group, {"a"}, 30 + 4 * 3600)
    assert repeat.send and repeat.kind is NotificationKind.REPEAT and repeat.fingerprints == ("a",)
    closed = _flush(sent.group, set(), 30 + 4 * 3600)
    assert not closed.send and closed.next_check_at is None


def test_an_alert_that_resolved_before_its_notification_is_dropped():
    group = enqueue(GroupState("g"), "a", _at(0))
    decision = _flush(group, set(), 30)
    assert not decision.send and decision.group.pending == () and decision.next_check_at is None


def test_a_group_whose_alerts_all_closed_waits_group_wait_again():
    sent = _flush(enqueue(GroupState("g"), "a", _at(0)), {"a"}, 30)
    group = enqueue(sent.group, "b", _at(10_000))
    decision = _flush(group, {"b"}, 10_000)
    assert not decision.send and decision.next_check_at == _at(10_030)
    assert _flush(group, {"b"}, 10_030).kind is NotificationKind.INITIAL


def test_the_org_cap_holds_across_groups():
    budget = OrgBudget()
    sent = []
    for index in range(25):
        group = enqueue(GroupState(f"g{index}"), f"alert-{index}", _at(index))
        decision = _flush(group, {f"alert-{index}"}, 60 + index, budget)
        budget = decision.budget
        if decision.send:
            sent.append(index)
        else:
            blocked = decision
    assert len(sent) == 20 and sent == list(range(20))
    assert "20 notifications" in blocked.reason
    assert blocked.next_check_at == _at(60) + timedelta(hours=1)  # when the oldest send leaves the hour
    later = _flush(blocked.group, {"alert-24"}, 60 + 3_600 + 60, budget)
    assert later.send and len(later.budget.recent(_at(60 + 3_600 + 60))) <= 20


def test_group_key_follows_the_policy_and_rejects_unknown_fields():
    one = _apply(None, True, "e1", 0, _rule("cash-low", entity_id="us-east")).state
    two = _apply(None, True, "e1", 0, _rule("cash-low", entity_id="eu-west")).state
    three = _apply(None, True, "e1", 0, _rule("opex-high")).state
    assert group_key("acme", one, POLICY) == group_key("acme", two, POLICY) != group_key("acme", three, POLICY)
    assert group_key("acme", one, POLICY) != group_key("other", one, POLICY)
    by_entity = NotificationPolicy(group_by=("rule_id", "entity_id"))
    assert group_key("acme", one, by_entity) != group_key("acme", two, by_entity)
    with pytest.raises(ValueError, match="cannot group"):
        NotificationPolicy(group_by=("colour",))


# --- escalation ---------------------------------------------------------------------------------

ESCALATION = Escalation(channels=("pager-controller", "pager-cfo"), escalate_after_seconds=900)


def _critical() -> AlertState:
    return _apply(None, True, "e1", 0, _rule(severity="critical")).state


def test_an_unacknowledged_critical_alert_escalates_one_level_per_interval():
    state = _critical()
    assert not plan_escalation(state, ESCALATION, now=_at(899)).escalate
    first = plan_escalation(state, ESCALATION, now=_at(900))
    assert first.escalate and first.level == 1 and first.channel_id == "pager-controller"
    assert first.state.last_escalated_at == _at(900)
    assert not plan_escalation(first.state, ESCALATION, now=_at(1_500)).escalate
    second = plan_escalation(first.state, ESCALATION, now=_at(1_800))
    assert second.escalate and second.level == 2 and second.channel_id == "pager-cfo"
    done = plan_escalation(second.state, ESCALATION, now=_at(100_000))
    assert not done.escalate and done.level == 2 and "every escalation level" in done.reason


def test_an_acknowledged_alert_never_escalates():
    state = acknowledge(_critical(), _at(60))
    for seconds in (900, 10_000, 10**7):
        decision = plan_escalation(state, ESCALATION, now=_at(seconds))
        assert not decision.escalate and decision.state == state and "acknowledged" in decision.reason


def test_resolved_warning_or_unconfigured_alerts_never_escalate():
    resolved = _apply(_critical(), False, "e2", 10, _rule(severity="critical")).state
    assert not plan_escalation(resolved, ESCALATION, now=_at(10_000)).escalate
    warning = _apply(None, True, "e1", 0).state
    assert warning.severity is Severity.WARNING
    assert not plan_escalation(warning, ESCALATION, now=_at(10_000)).escalate
    assert not plan_escalation(_critical(), None, now=_at(10_000)).escalate


def test_a_refired_alert_starts_its_escalation_afresh():
    rule = _rule(severity="critical")
    state = plan_escalation(_critical(), ESCALATION, now=_at(900)).state
    state = _apply(state, False, "e2", 1_000, rule).state
    refired = _apply(state, True, "e3", 50_000, rule).state
    assert refired.escalation_level == 0 and refired.last_escalated_at is None
    assert not plan_escalation(refired, ESCALATION, now=_at(50_000 + 899)).escalate
    assert plan_escalation(refired, ESCALATION, now=_at(50_000 + 900)).level == 1


# --- storage ------------------------------------------------------------------------------------


def test_alert_document_round_trips():
    state = mark_notified(acknowledge(_critical(), _at(5)), _at(6))
    state = replace(state, escalation_level=1, last_escalated_at=_at(7))
    document = alert_document(state)
    assert document["status"] == "acknowledged" and document["severity"] == "critical" and document["count"] == 1
    assert document["applied_change_ids"] == ["e1"] and document["first_seen"] == T0
    assert alert_state_from_document(document) == state
