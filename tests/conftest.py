"""Shared test fixtures: the local stack (started once per session) and per-test organisations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class FirestoreEmulator:
    """Where the Firestore emulator of the session listens."""

    host: str
    project_id: str


@pytest.fixture(scope="session")
def stack() -> Iterator:
    """The whole local stack, shared by every test that needs it.

    Reuses a stack started with `./dev up` if one runs; otherwise starts one and stops it at the
    end. A stack that cannot start fails the tests with the service's log, it never skips them.
    """
    from tools.stack.emulators import LocalStack, StackError
    from tools.stack.provision import provision

    running = LocalStack.attach()
    if running is not None:
        running.config.apply_client_env()
        provision(running.config, progress=lambda _: None)
        yield running
        return
    # The tests fire the scheduled functions themselves when they assert on a sweep, so that a sweep
    # never runs between an action and its assertion; tests/e2e/test_local_schedules.py runs the
    # scheduler of `./dev up` against this stack.
    os.environ.setdefault("FINANCE_LOCAL_SCHEDULES", "0")
    started = LocalStack()
    try:
        started.start(progress=lambda line: print(f"[stack] {line}", flush=True))
    except StackError as exc:
        pytest.fail(
            f"the local stack could not start: {exc}\nRun ./dev setup, then ./dev up to see it start.", pytrace=False
        )
    try:
        started.config.apply_client_env()
        provision(started.config, progress=lambda _: None)
        yield started
    finally:
        if not os.environ.get("FINANCE_KEEP_STACK"):
            started.stop(quiet=True)


@pytest.fixture(scope="session")
def firestore_emulator(stack) -> FirestoreEmulator:
    """Host and project of the session's Firestore emulator (for the Node rules tests)."""
    return FirestoreEmulator(stack.config.address("firestore"), stack.config.project_id)


@pytest.fixture(scope="session")
def db(stack):
    """Admin Firestore client on the emulator (bypasses security rules, like the functions)."""
    from tools.stack.seed import firestore_client

    return firestore_client(stack.config)


@pytest.fixture
def org_id() -> str:
    """A fresh organisation id per test, so tests never see each other's data."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def integrator_scenario(stack, db):
    """The integrator scenario (2,000+ messages, a mix of batches and single events) published once per session.

    Shared by the pipeline's exactness test and the analytics tests that compare BigQuery with
    the Firestore aggregates after the same feed.
    """
    from tests.scenario import build_scenario
    from tests.support import publish, seed_org, wait_for_events
    from tools.stack.seed import publish_batches

    org = f"scn-{uuid.uuid4().hex[:10]}"
    reference = seed_org(db, org)
    scenario = build_scenario(org)
    # The same deliveries, some as records.batch messages and the rest as single events.
    batches, singles = scenario.as_batches_and_singles()
    publish_batches(stack.config, batches)
    publish(stack, singles)
    wait_for_events(db, org, scenario.org_deliveries, timeout=900)
    return scenario, reference
