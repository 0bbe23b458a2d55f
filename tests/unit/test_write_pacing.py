"""Documents dashboards listen to are rewritten at most once per interval: the hold and its retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from adapters.errors import TransientError
from adapters.retry import MAX_HOLDS, WriteHeld, compare_and_set
from finance_core.debounce import hold_seconds

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HALF_SECOND = timedelta(milliseconds=500)


def test_a_document_written_long_enough_ago_is_written_at_once():
    assert hold_seconds(T0, T0 + HALF_SECOND, HALF_SECOND) == 0.0
    assert hold_seconds(T0, T0 + timedelta(seconds=3), HALF_SECOND) == 0.0


def test_a_document_written_recently_waits_for_the_rest_of_the_interval():
    assert hold_seconds(T0, T0 + timedelta(milliseconds=200), HALF_SECOND) == pytest.approx(0.3)
    assert hold_seconds(T0, T0, HALF_SECOND) == pytest.approx(0.5)


def test_a_new_document_or_no_interval_is_never_held():
    assert hold_seconds(None, T0, HALF_SECOND) == 0.0
    assert hold_seconds(T0, None, HALF_SECOND) == 0.0
    assert hold_seconds(T0, T0, timedelta(0)) == 0.0


def test_a_held_attempt_runs_again_after_the_hold_without_counting_as_contention():
    sleeps: list[float] = []
    calls = iter([WriteHeld(0.4, "folding x"), WriteHeld(0.1, "folding x"), "written"])

    def attempt() -> str:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert compare_and_set(attempt, what="folding x", sleep=sleeps.append) == "written"
    assert len(sleeps) == 2
    assert 0.4 <= sleeps[0] < 0.45 and 0.1 <= sleeps[1] < 0.15


def test_a_writer_held_without_end_gives_up_to_the_platform_redelivery():
    def attempt() -> str:
        raise WriteHeld(0.5, "folding x")

    sleeps: list[float] = []
    with pytest.raises(TransientError, match="held 40 times"):
        compare_and_set(attempt, what="folding x", sleep=sleeps.append)
    assert len(sleeps) == MAX_HOLDS
