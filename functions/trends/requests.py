"""Debounced trend computation per org: a request document, a lease taken by compare-and-set, one computer at a time.

`organizations/{org}/trend_requests/consolidated` holds:
- `requested_at`: commit time of the latest request (blind merge writes, so a burst never contends);
- `computed_at`: start of the latest finished computation (it reflects every change committed before);
- `lease_until` / `lease_owner`: the one invocation computing now;
- `requests`, `computations`: counters (how well the debounce folds bursts).

A change already covered by a computation that started after its data was committed, or by a
pending request newer than it, costs one document read. Otherwise the invocation writes a request
and computes only if nobody holds the lease and the last computation started at least the
debounce window ago (the leading edge). Taking or releasing the lease is an update with the
document's last update time as precondition, never a transaction: a failed precondition means
someone wrote after our read, and that later writer is responsible for the change. After each
computation the holder looks for requests newer than the computation's start and computes again
if the window allows it within a short wait; otherwise it leaves the request pending: the next
change, or the scheduled sweep (`sweep_trend_requests`, every minute), computes it. No invocation
sleeps for a whole window: on the local Functions emulator, whose invocations share a few
workers, a sleeping one would slow every other function down.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.sweeps import OrgSweep
from finance_core.debounce import DebounceState, Decision, decide, wait_before_computing
from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

log = logging.getLogger(__name__)

REQUEST_COLLECTION = "trend_requests"
REQUEST_DOC_ID = "consolidated"
LEASE = timedelta(seconds=120)
# The longest an invocation waits for the debounce window to pass before computing itself.
MAX_INLINE_WAIT_SECONDS = 1.0
# How long one invocation keeps computing while requests keep coming; then the lease is released
# and the next request (or the sweep) takes over. Well below the function's timeout.
HOLD_BUDGET_SECONDS = 60.0
RELEASE_ATTEMPTS = 20
SWEEP_BUDGET_SECONDS = 180.0


def _state(snapshot: firestore.DocumentSnapshot) -> DebounceState:
    doc = (snapshot.to_dict() or {}) if snapshot.exists else {}
    return DebounceState(doc.get("requested_at"), doc.get("computed_at"), doc.get("lease_until"))


class TrendRequests:
    """Turns a stream of change notifications into few trend computations per org."""

    def __init__(
        self,
        db: firestore.Client,
        compute: Callable[[str], Any],
        window: timedelta,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._db = db
        self._compute = compute
        self._window = window
        self._sleep = sleep
        self._clock = clock

    def ref(self, org_id: str) -> firestore.DocumentReference:
        """The org's request document."""
        return self._db.document(f"{org_path(org_id)}/{REQUEST_COLLECTION}/{REQUEST_DOC_ID}")

    def on_change(self, org_id: str, committed_at: datetime | None) -> str:
        """Handle one change whose aggregate data was committed by `committed_at` (e.g. its publish time)."""
        ref = self.ref(org_id)
        with map_exceptions(f"reading the trend request of {org_id}"):
            decision = decide(_state(ref.get()), committed_at)
            if decision is not Decision.REQUEST:
                return decision.value
            ref.set({"requested_at": firestore.SERVER_TIMESTAMP, "requests": firestore.Increment(1)}, merge=True)
        return self.try_compute(org_id)

    def try_compute(self, org_id: str, *, max_wait: float = MAX_INLINE_WAIT_SECONDS) -> str:
        """Take the lease if free and compute until nothing is pending.

        'delegated': someone computes now and will see this request; 'deferred': the window has
        not passed, the request stays pending for a later change or the sweep.
        """
        ref = self.ref(org_id)
        with map_exceptions(f"reading the trend request of {org_id}"):
            snapshot = ref.get()
        state = _state(snapshot)
        if not snapshot.exists or state.leased(self._clock()):
            return "delegated"
        if wait_before_computing(state, self._clock(), self._window) > max_wait:
            return "deferred"
        owner = uuid.uuid4().hex
        try:
            ref.update(
                {"lease_until": self._clock() + LEASE, "lease_owner": owner},
                option=self._db.write_option(last_update_time=snapshot.update_time),
            )
        except (google_exceptions.FailedPrecondition, google_exceptions.Aborted):
            return "delegated"
        return self._hold(org_id, ref, state, max_wait)

    def _hold(self, org_id: str, ref: firestore.DocumentReference, state: DebounceState, max_wait: float) -> str:
        deadline = time.monotonic() + HOLD_BUDGET_SECONDS
        computations = 0
        try:
            while True:
                self._sleep(wait_before_computing(state, self._clock(), self._window))
                # The commit time of this write is the computation's start: everything committed
                # before it is in the shards this computation reads.
                start = ref.update(
                    {"lease_until": self._clock() + LEASE, "started_at": firestore.SERVER_TIMESTAMP}
                ).update_time
                began = time.monotonic()
                changed = self._compute(org_id)
                computations += 1
                ref.update(
                    {
                        "computed_at": start,
                        "computations": firestore.Increment(1),
                        "last_duration_ms": round((time.monotonic() - began) * 1000),
                        "last_changed_documents": changed if isinstance(changed, int) else None,
                    }
                )
                again = self._release_unless_pending(ref, deadline, max_wait)
                if again is None:
                    return f"computed {computations}x"
                state = again
        except BaseException:
            # Leave the request pending for the next change or the sweep; never keep a dead lease.
            try:
                ref.update({"lease_until": None, "lease_owner": None})
            except Exception as exc:  # noqa: BLE001 - the lease also expires by itself
                log.warning("could not release the trend lease of %s: %s", org_id, exc)
            raise

    def _release_unless_pending(
        self, ref: firestore.DocumentReference, deadline: float, max_wait: float
    ) -> DebounceState | None:
        """None once the lease is released; the state to compute again from if a newer request can be served now."""
        for _ in range(RELEASE_ATTEMPTS):
            snapshot = ref.get()
            state = _state(snapshot)
            if (
                state.pending
                and time.monotonic() < deadline
                and wait_before_computing(state, self._clock(), self._window) <= max_wait
            ):
                return state
            try:
                ref.update(
                    {"lease_until": None, "lease_owner": None},
                    option=self._db.write_option(last_update_time=snapshot.update_time),
                )
                return None
            except (google_exceptions.FailedPrecondition, google_exceptions.Aborted):
                continue  # a request landed since the read: look again
        ref.update({"lease_until": None, "lease_owner": None})
        return None

    def sweep_org(self, org_id: str, snapshot: firestore.DocumentSnapshot | None = None) -> str | None:
        """The sweep's step for one org: compute if a request is pending, unleased and out of its window."""
        if snapshot is None:
            with map_exceptions(f"reading the trend request of {org_id}"):
                snapshot = self.ref(org_id).get()
        state = _state(snapshot)
        if not state.pending or state.leased(self._clock()):
            return None
        # No waiting here: an org still inside its window is taken by the next sweep, so one sweep
        # over many orgs never adds up their windows.
        return self.try_compute(org_id, max_wait=0.0)

    def sweep(self, report: OrgSweep | None = None) -> dict[str, str]:
        """Compute for every org whose request is still pending and unleased (the trailing edge of last resort).

        Each org is isolated: a failure is recorded in `report` (and logged) and the others go on."""
        report = report if report is not None else OrgSweep("trend_requests")
        outcomes = {}
        deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
        with map_exceptions("listing trend requests"):
            snapshots = list(self._db.collection_group(REQUEST_COLLECTION).stream())
        for snapshot in snapshots:
            org = snapshot.reference.parent.parent
            if snapshot.id != REQUEST_DOC_ID or org is None:
                continue
            if time.monotonic() > deadline:
                break  # the next sweep, a minute later, carries on
            outcome = report.run(org.id, functools.partial(self.sweep_org, org.id, snapshot))
            if outcome is not None:
                outcomes[org.id] = outcome
        return outcomes
