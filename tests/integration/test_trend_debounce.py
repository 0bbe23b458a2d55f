"""The trend debounce on the Firestore emulator, called directly: concurrent changes, one computer, no lost change."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from trends.requests import TrendRequests

pytestmark = pytest.mark.emulators

WINDOW = timedelta(seconds=2)


class CountingComputer:
    """Stands in for the trend computation: counts calls and checks two never overlap."""

    def __init__(self, seconds: float = 0.3):
        self.seconds = seconds
        self.calls: list[float] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, org_id: str) -> int:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
            self.calls.append(time.monotonic())
        return 0


def _state(db, org_id: str) -> dict:
    return db.document(f"organizations/{org_id}/trend_requests/consolidated").get().to_dict() or {}


def test_a_burst_of_concurrent_changes_computes_once_at_a_time_and_rarely(stack, db, org_id):
    computer = CountingComputer()
    debounce = TrendRequests(db, computer, WINDOW)
    # The changes' data was committed a moment before their messages arrive.
    committed = datetime.now(UTC) - timedelta(seconds=1)
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda _: debounce.on_change(org_id, committed), range(24)))
    assert computer.most_at_once == 1, "two invocations computed at the same time"
    assert 1 <= len(computer.calls) <= 2, outcomes
    assert sum(o.startswith("computed") for o in outcomes) == 1, outcomes
    state = _state(db, org_id)
    assert state["lease_until"] is None and state["computations"] == len(computer.calls)
    assert state["requests"] <= 24

    # The same changes delivered again: already covered by the computation, one read each.
    assert {debounce.on_change(org_id, committed) for _ in range(5)} == {"covered"}
    assert len(computer.calls) == state["computations"]


def test_a_change_inside_the_window_waits_for_the_sweep_and_is_never_lost(stack, db, org_id):
    computer = CountingComputer(seconds=0.05)
    debounce = TrendRequests(db, computer, WINDOW)
    assert debounce.on_change(org_id, datetime.now(UTC)).startswith("computed")
    first = _state(db, org_id)["computed_at"]

    late = datetime.now(UTC)  # right after the computation: inside the debounce window
    assert debounce.on_change(org_id, late) == "deferred"
    state = _state(db, org_id)
    assert state["requested_at"] > state["computed_at"], "the late change is left pending, not dropped"
    assert len(computer.calls) == 1

    # The trailing edge: a later attempt (the next change, or the sweep) once the window allows it.
    started = time.monotonic()
    assert debounce.try_compute(org_id, max_wait=WINDOW.total_seconds()).startswith("computed")
    state = _state(db, org_id)
    assert state["computed_at"] >= first + WINDOW and state["computed_at"] > state["requested_at"]
    assert len(computer.calls) == 2 and time.monotonic() - started < WINDOW.total_seconds() + 5
    assert debounce.on_change(org_id, late) == "covered"


def test_a_held_lease_delegates_and_a_crashed_computation_releases_it(stack, db, org_id):
    def crash(_org: str) -> int:
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        TrendRequests(db, crash, WINDOW).on_change(org_id, datetime.now(UTC))
    state = _state(db, org_id)
    assert state["lease_until"] is None and state["requested_at"] > state.get(
        "computed_at", state["requested_at"] - timedelta(seconds=1)
    )
    # The next change (or the sweep) computes what the crash left pending.
    computer = CountingComputer(seconds=0.01)
    assert TrendRequests(db, computer, WINDOW).try_compute(org_id).startswith("computed")
    assert len(computer.calls) == 1

    # While a lease is held, others only leave their request.
    db.document(f"organizations/{org_id}/trend_requests/consolidated").update(
        {"lease_until": datetime.now(UTC) + timedelta(minutes=1)}
    )
    assert (
        TrendRequests(db, computer, WINDOW).on_change(org_id, datetime.now(UTC) + timedelta(seconds=1)) == "delegated"
    )
    assert len(computer.calls) == 1
