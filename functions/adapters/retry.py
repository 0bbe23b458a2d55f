"""The one retry helper of the backend (tenacity): bounded attempts, jittered exponential backoff.

Every in-process retry loop goes through `call_with_retry` with a named `Backoff`, and every
optimistic writer (read, plan, commit with a precondition) through `compare_and_set`. What is
worth retrying is decided by adapters/errors.py alone. A loop that gives up raises: the platform's
own redelivery (Pub/Sub retry policy, Firestore trigger retry, the sweeps) takes over from there.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from adapters.errors import TransientError, is_lost_race, is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently one kind of operation is tried.

    Attempt n+1 waits a random time up to min(most, first * 2^n) seconds ("full jitter"), so
    writers that collided spread out instead of colliding again in step.
    """

    attempts: int
    first: float
    most: float

    def wait(self) -> tenacity.wait.wait_base:
        """The tenacity wait strategy of this policy."""
        return tenacity.wait_random_exponential(multiplier=self.first, max=self.most)


# Policies by kind of operation (one place to tune them).
# Optimistic writers of one document set (folds, derived documents, ingestion chunks of one line).
# 25 attempts: eight writers folding one hot key on a loaded 2-core machine outlast 12
# (tests/integration/test_aggregates_store.py); a fold that still loses becomes a redelivery.
CONTENDED_WRITE = Backoff(attempts=25, first=0.01, most=0.64)
# A chunk of many lines: one more try from fresh reads, then the caller splits it.
CONTENDED_CHUNK = Backoff(attempts=2, first=0.01, most=0.02)
# A call to another Google service inside a handler (BigQuery insert, reference data read).
SERVICE_CALL = Backoff(attempts=4, first=0.5, most=4.0)
# A notification to a receiver outside Google (webhook, SMTP): a dead receiver costs ~1.5 s.
EXTERNAL_SEND = Backoff(attempts=3, first=0.5, most=2.0)
# Firestore BulkWriter deletes of a sweep.
BULK_WRITE = Backoff(attempts=5, first=0.2, most=2.0)


def call_with_retry(
    call: Callable[[], T],
    policy: Backoff,
    *,
    retry_on: Callable[[BaseException], bool] = is_transient,
    what: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `call` until it returns, at most `policy.attempts` times; the last error is re-raised."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info(
            "%s: attempt %d of %d failed, trying again: %s",
            what or getattr(call, "__name__", "call"),
            state.attempt_number,
            policy.attempts,
            error,
        )

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
        wait=policy.wait(),
        retry=tenacity.retry_if_exception(retry_on),
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )
    return retrying(call)


class WriteHeld(Exception):
    """An optimistic writer must not write yet: the document it would rewrite was written too recently.

    Raised by an `attempt` of `compare_and_set`, which waits `seconds` (plus a little jitter, so
    writers held by the same write do not all read again at once) and runs it again from fresh reads:
    by then another writer may have written everything this one would have (the attempt then writes
    nothing), or the interval has passed.
    """

    def __init__(self, seconds: float, what: str = ""):
        super().__init__(f"{what or 'write'} held for {seconds:.3f} s")
        self.seconds = seconds


# Spreads the writers one write held: the first to read again writes, the others find it done.
HOLD_JITTER_SECONDS = 0.03
# A writer is held at most this many times in a row (each hold ends when the interval since the
# document's last write has passed, so a writer held this often is starved by others who keep
# writing its data too; the platform's redelivery takes over).
MAX_HOLDS = 40


def compare_and_set(
    attempt: Callable[[], T],
    policy: Backoff = CONTENDED_WRITE,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run one read-plan-commit `attempt` until it commits; a lost race reads and plans again.

    `attempt` raises LostRace (or lets a failed precondition through) when another writer changed
    what it read. Contention that outlasts the policy becomes a TransientError, so the delivery is
    retried later by the platform. An attempt that raises WriteHeld is run again after the hold,
    without counting against the policy (a hold is a planned wait, not contention).
    """

    def lost(exc: BaseException) -> bool:
        return is_lost_race(exc) or isinstance(exc, TransientError)

    for _ in range(MAX_HOLDS):
        try:
            return call_with_retry(attempt, policy, retry_on=lost, what=what, sleep=sleep)
        except WriteHeld as held:
            sleep(held.seconds + random.uniform(0.0, HOLD_JITTER_SECONDS))
        except Exception as exc:
            if lost(exc):
                raise TransientError(f"{what}: still contended after {policy.attempts} attempts ({exc})") from exc
            raise
    raise TransientError(f"{what}: held {MAX_HOLDS} times in a row by other writers of the same documents")
