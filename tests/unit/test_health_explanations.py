"""A degraded pipeline health is explained in words a newcomer can act on (finance_core.health.explanations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from finance_core.health import OrgHealth

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_backlog_says_how_many_since_when_and_whether_it_shrinks():
    health = OrgHealth(
        "acme", unfinished_changes=12, oldest_unfinished_at=NOW - timedelta(seconds=300), previous_unfinished_changes=40
    )
    [said] = health.explanations(NOW, 300)
    assert "12 record change(s) have not reached the aggregates yet" in said
    assert "since 11:55:00 UTC (300 s)" in said
    assert "catching up: 40 were waiting" in said
    assert "apply_record_changes in .stack/logs/firebase.log" in said
    health.previous_unfinished_changes = 3
    assert "falling behind" in health.explanations(NOW, 300)[0]


def test_a_slow_lag_says_whether_it_recovered_and_when_samples_are_too_few():
    health = OrgHealth("acme", lag_samples=[35_000.0, 57_000.0, 900.0, 800.0], recent_lag_samples=[900.0, 800.0])
    [said] = health.explanations(NOW, 300)
    assert "median" in said and "p99 57.0 s" in said and "the limit is 2 s" in said
    assert "It has recovered" in said
    assert "Only 4 message(s)" in said and "too few to call it a trend" in said
    health.recent_lag_samples = [5_000.0]
    assert "It is still slow" in health.explanations(NOW, 300)[0]


def test_dead_letters_and_rejections_name_what_to_do_and_a_healthy_org_says_nothing():
    health = OrgHealth("acme", dead_letters_waiting=2, counts={"applied": 10, "rejected": 10})
    said = health.explanations(NOW, 300)
    assert any("./dev replay --dead-letters" in line for line in said)
    assert any("organizations/acme/ingestion_errors" in line for line in said)
    assert OrgHealth("quiet").explanations(NOW, 300) == []
    assert health.document(NOW, 300)["explanations"] == said
