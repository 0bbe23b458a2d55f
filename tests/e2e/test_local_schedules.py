"""The local stack's scheduler runs a scheduled function as Cloud Scheduler does (tools/stack/schedules.py).

`./dev up` runs every scheduled function on its schedule; the tests' own stack leaves them to the
tests (tests/conftest.py). Here the scheduler of `./dev up` is pointed at the shared stack, limited
to the pipeline health refresh, and its tick is given instead of waited for: the function must be
found with its declared schedule, run through the Functions emulator, and write the health.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import wait_until
from tools.stack.schedules import LocalScheduler

pytestmark = pytest.mark.emulators

HEALTH = "pipeline_health/global"


def test_the_scheduler_finds_a_scheduled_function_and_runs_it_on_its_tick(stack, db):
    scheduler = LocalScheduler(
        stack.config.address("functions"), stack.config.project_id, only={"refresh_pipeline_health"}
    )
    (health,) = wait_until(scheduler.load, 60, 0.5, "the Functions emulator to list refresh_pipeline_health")
    assert health.schedule == "every 1 minutes"
    before = (db.document(HEALTH).get().to_dict() or {}).get("computed_at")
    started = datetime.now(UTC)

    assert scheduler.tick(started) == []  # its tick has not come
    threads = scheduler.tick(started + timedelta(minutes=1))
    assert [t.name for t in threads] == ["schedule-refresh_pipeline_health"]
    for thread in threads:
        thread.join(timeout=300)
    assert scheduler.runs == {"refresh_pipeline_health": 1}
    assert scheduler.failures == {}, "the scheduled run failed: see .stack/logs/firebase.log"
    after = (db.document(HEALTH).get().to_dict() or {}).get("computed_at")
    assert after is not None and after != before
    assert after >= started - timedelta(seconds=5)
