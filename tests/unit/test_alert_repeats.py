"""Repeat firings of an open alert: held beside it and written at most once per REPEAT_WRITE_INTERVAL, count exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from finance_core.alert_policy import (
    REPEAT_WRITE_INTERVAL,
    AlertState,
    HeldRepeats,
    Transition,
    acknowledge,
    apply_evaluation,
    held_document,
    held_from_document,
    hold,
    holds_repeat,
    with_held,
)
from finance_core.alert_rules import RuleContext, evaluate, parse_rule
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


def _rule(severity: str = "warning"):
    return parse_rule(
        {
            "type": "absolute",
            "rule_id": "cash-low",
            "name": "Cash below 50,000",
            "severity": severity,
            "target": {"account_id": "1000", "entity_id": "_all"},
            "direction": "below",
            "threshold_minor": 5_000_000,
        }
    )


def _evaluation(firing: bool, severity: str = "warning", value: int | None = None):
    current = value if value is not None else (4_000_000 if firing else 6_000_000)
    return evaluate(_rule(severity), RuleContext(period="2026-10", current_value=current))


class Store:
    """The alert document and its held repeats as the Firestore store keeps them (alerts/store.py)."""

    def __init__(self) -> None:
        self.written: AlertState | None = None
        self.held: HeldRepeats | None = None
        self.writes: list[tuple[float, Transition]] = []

    def apply(self, firing: bool, change_id: str, seconds: float, severity: str = "warning", value: int | None = None):
        now = T0 + timedelta(seconds=seconds)
        current = with_held(self.written, self.held)
        decision = apply_evaluation(
            current, _evaluation(firing, severity, value), change_id=change_id, now=now, cooldown_seconds=3600
        )
        if decision.transition is Transition.UNCHANGED or decision.state is None:
            return decision
        if self.written is not None and holds_repeat(self.written, decision, now):
            self.held = hold(self.written, decision.state)
        else:
            self.written, self.held = decision.state, HeldRepeats(base_count=decision.state.count)
            self.writes.append((seconds, decision.transition))
        return decision

    def sweep(self, seconds: float) -> None:
        """The trailing write: held repeats whose due time passed reach the alert document."""
        now = T0 + timedelta(seconds=seconds)
        if self.held and self.held.applies_to(self.written) and self.held.due_at and self.held.due_at <= now:
            self.written = with_held(self.written, self.held)
            self.held = HeldRepeats(base_count=self.written.count)
            self.writes.append((seconds, Transition.UPDATED))

    @property
    def exact(self) -> AlertState | None:
        return with_held(self.written, self.held)


def test_repeats_within_the_interval_are_held_and_the_next_write_takes_them_all():
    store = Store()
    store.apply(True, "c0", 0)
    for n in range(1, 30):
        decision = store.apply(True, f"c{n}", n * 2)  # every 2 s, for 58 s
        assert decision.transition is Transition.UPDATED
    assert store.writes == [(0, Transition.FIRED)]
    assert store.written.count == 1 and store.exact.count == 30
    assert store.held.due_at == T0 + REPEAT_WRITE_INTERVAL
    store.apply(True, "c30", 60)
    assert store.writes == [(0, Transition.FIRED), (60, Transition.UPDATED)]
    assert store.written.count == 31 and store.written.last_seen == T0 + timedelta(seconds=60)
    assert store.held.repeats == 0 and held_document(store.held)["due_at"] is None


def test_a_redelivered_held_repeat_counts_once():
    store = Store()
    store.apply(True, "c0", 0)
    store.apply(True, "c1", 5)
    again = store.apply(True, "c1", 6)
    assert again.transition is Transition.UNCHANGED
    assert store.exact.count == 2


def test_a_change_of_severity_and_a_resolution_are_written_at_once_with_the_held_repeats():
    store = Store()
    store.apply(True, "c0", 0)
    store.apply(True, "c1", 5)
    store.apply(True, "c2", 10, severity="critical")
    assert store.writes[-1] == (10, Transition.UPDATED)
    assert store.written.count == 3 and store.written.severity.value == "critical"
    store.apply(True, "c3", 15, severity="critical")
    store.apply(False, "c4", 20, severity="critical")
    assert store.writes[-1] == (20, Transition.RESOLVED)
    assert store.written.count == 4 and store.written.status.value == "resolved"
    assert not store.held.applies_to(store.written)


def test_a_repeat_keeps_an_acknowledgement_made_while_it_was_held():
    store = Store()
    store.apply(True, "c0", 0)
    store.apply(True, "c1", 5)
    store.written = acknowledge(store.written, T0 + timedelta(seconds=6))  # a person, on the alert document
    store.apply(True, "c2", 61)
    assert store.written.status.value == "acknowledged" and store.written.count == 3


def test_the_sweep_writes_held_repeats_when_no_evaluation_comes():
    store = Store()
    store.apply(True, "c0", 0)
    store.apply(True, "c1", 30, value=3_000_000)
    store.sweep(59)
    assert store.written.count == 1
    store.sweep(61)
    assert store.written.count == 2 and store.written.last_seen == T0 + timedelta(seconds=30)
    assert "30,000.00" in store.written.description
    store.sweep(200)
    assert len(store.writes) == 2


def test_held_repeats_of_another_count_do_not_apply():
    store = Store()
    store.apply(True, "c0", 0)
    store.apply(True, "c1", 5)
    stale = HeldRepeats(**{**store.held.__dict__, "base_count": 7})
    assert with_held(store.written, stale) == store.written
    assert held_from_document({"repeats": "x"}) is None and held_from_document(None) is None
    assert held_from_document(held_document(store.held)) == store.held


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 40), st.sampled_from(["warning", "critical"]), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_count_is_exact_and_repeats_move_the_document_at_most_once_per_interval(steps):
    """Whatever the order of firings, severities, gaps and redeliveries: the held state plus the document
    equals applying every evaluation to the document directly, and the document never moves for a
    repeat sooner than REPEAT_WRITE_INTERVAL after its previous count move."""
    store, direct = Store(), None
    seconds = 0
    for index, (firing, gap, severity, redeliver) in enumerate(steps):
        seconds += gap
        change = f"c{index - 1}" if redeliver and index else f"c{index}"
        now = T0 + timedelta(seconds=seconds)
        before = store.written
        store.apply(firing, change, seconds, severity)
        expected = apply_evaluation(
            direct, _evaluation(firing, severity), change_id=change, now=now, cooldown_seconds=3600
        )
        if expected.transition is not Transition.UNCHANGED:  # the store writes nothing for those
            direct = expected.state
        assert store.exact == direct
        if before is not None and store.written is not before and store.written.count != before.count:
            severity_moved = store.written.severity is not before.severity
            status_moved = store.written.status is not before.status
            if not severity_moved and not status_moved:
                assert now - before.last_seen >= REPEAT_WRITE_INTERVAL
        if index % 7 == 0:
            store.sweep(seconds)
            assert store.exact == direct
