"""The local scheduler's reading of schedules and its ticks (tools/stack/schedules.py), on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.stack.schedules import LocalScheduler, ScheduledFunction, ScheduleError, next_run, scheduled_functions

AT = datetime(2026, 12, 7, 3, 58, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("every 1 minutes", datetime(2026, 12, 7, 3, 59, tzinfo=UTC)),
        ("every 5 minutes", datetime(2026, 12, 7, 4, 0, tzinfo=UTC)),
        ("every 60 minutes", datetime(2026, 12, 7, 4, 0, tzinfo=UTC)),
        ("every 2 hours", datetime(2026, 12, 7, 4, 0, tzinfo=UTC)),
        ("every day 03:00", datetime(2026, 12, 8, 3, 0, tzinfo=UTC)),
        ("every day 04:15", datetime(2026, 12, 7, 4, 15, tzinfo=UTC)),
        ("* * * * *", datetime(2026, 12, 7, 3, 59, tzinfo=UTC)),
        ("0 9 * * 1", datetime(2026, 12, 7, 9, 0, tzinfo=UTC)),
    ],
)
def test_the_next_tick_of_each_schedule_form(schedule, expected):
    assert next_run(schedule, AT) == expected


def test_a_tick_is_strictly_after_the_time_given():
    on_the_minute = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    assert next_run("every 5 minutes", on_the_minute) == datetime(2026, 12, 7, 4, 5, tzinfo=UTC)
    assert next_run("every day 04:00", on_the_minute) == datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


def test_a_declared_time_zone_moves_the_daily_tick():
    # 03:00 in Paris is 02:00 UTC in winter.
    assert next_run("every day 03:00", AT, "Europe/Paris") == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("schedule", ["every 0 minutes", "every day 25:00", "sometimes", "every fortnight"])
def test_an_unreadable_schedule_is_refused_by_name(schedule):
    with pytest.raises(ScheduleError, match="schedule"):
        next_run(schedule, AT)


def test_scheduled_functions_are_read_from_the_emulators_backends():
    backends = {
        "backends": [
            {
                "functionTriggers": [
                    {"entryPoint": "ingest", "id": "us-central1-ingest", "eventTrigger": {"eventType": "pubsub"}},
                    {
                        "entryPoint": "sweep",
                        "id": "us-central1-sweep",
                        "schedule": {"schedule": "every 5 minutes", "timeZone": None},
                    },
                ]
            }
        ]
    }
    assert scheduled_functions(backends) == [ScheduledFunction("sweep", "us-central1-sweep", "every 5 minutes")]


def test_a_function_runs_once_per_tick_and_never_twice_at_once():
    scheduler = LocalScheduler("127.0.0.1:1", "demo-x", clock=lambda: AT)
    sweep = ScheduledFunction("sweep", "us-central1-sweep", "every 1 minutes")
    scheduler.functions = [sweep]
    scheduler._due = {"sweep": next_run(sweep.schedule, AT)}
    assert scheduler.due(AT) == []  # not yet
    tick = datetime(2026, 12, 7, 3, 59, 0, 100, tzinfo=UTC)
    assert scheduler.due(tick) == [sweep]
    assert scheduler.due(tick) == []  # the next tick is a minute later
    # Still running when its next tick comes: that tick is skipped, not queued.
    assert scheduler.due(datetime(2026, 12, 7, 4, 0, 1, tzinfo=UTC)) == []
    scheduler._running.discard("sweep")
    assert scheduler.due(datetime(2026, 12, 7, 4, 1, 1, tzinfo=UTC)) == [sweep]


def test_the_newest_trigger_key_is_read_from_the_emulators_404_answer():
    from tools.stack.trigger_keys import latest_trigger_key

    answer = "No trigger found. Valid triggers: us-central1-sweep-0, us-central1-sweep_all-3, us-central1-sweep-2"
    assert latest_trigger_key("us-central1-sweep", answer) == "us-central1-sweep-2"
    assert latest_trigger_key("us-central1-other", answer) is None
