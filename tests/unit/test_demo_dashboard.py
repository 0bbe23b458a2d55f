"""The demo dashboard renders KPIs, the P&L, variances and alerts from listener documents."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from rich.console import Console

from tools.demo.dashboard import DashboardState, money, render, sparkline
from tools.demo.stream import DemoFeed, FeedStats


def _state(in_progress: bool) -> DashboardState:
    state = DashboardState(FeedStats(sent=42), "2026-11", in_progress=in_progress, today=date(2026, 11, 12))
    state.kpis = {
        "kpis": {
            "revenue": {
                "value": 123_456_700,
                "change_pct": 4.2,
                "vs_budget_pct": -1.5,
                "series": [{"period": "2026-10", "value": 100}, {"period": "2026-11", "value": 200}],
            }
        }
    }
    state.actual = {"metrics": {"revenue": 123_456_700, "cogs": 50_000_000, "gross_margin_pct": 59.4999}}
    state.budget = {"metrics": {"revenue": 120_000_000, "cogs": 48_000_000, "gross_margin_pct": 60.0}}
    state.variance = {
        "top": [
            {
                "account_id": "6200",
                "account_name": "Marketing",
                "actual_minor": 900_000,
                "comparison_minor": 600_000,
                "variance_pct": 50.0,
                "favourable": False,
            }
        ]
    }
    state.alerts = [
        {"severity": "critical", "title": "Gross margin below 40%", "count": 3},
        {
            "severity": "warning",
            "title": "Unusual Marketing (eu-central) in 2026-03",
            "count": 1,
            "details": {"likelihood": 0.9999871, "expected": 600_000, "episode": "surprise"},
        },
    ]
    state.health = {"counts": {"applied": 40, "duplicate": 2, "stale": 0, "rejected": 0}}
    applied_at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for number, lag in enumerate((0.080, 0.120, 0.095)):
        event_id = f"e{number}"
        state.visibility.on_published(event_id, at=100.0)
        state.visibility.applied[event_id] = applied_at + timedelta(milliseconds=number)
        state.visibility.on_aggregate_snapshot(
            {"shards_read_at": applied_at + timedelta(milliseconds=number)}, arrived=100.0 + lag
        )
    return state


def _text(state: DashboardState) -> str:
    console = Console(record=True, width=200)
    console.print(render(state, "Northwind Trading Group", "2026-11", 12.0, "streaming"))
    return console.export_text()


def test_render_shows_the_numbers_of_the_documents():
    text = _text(_state(in_progress=False))
    for expected in (
        "Northwind Trading Group",
        "1,234.6k",
        "1,200.0k",
        "6200 Marketing",
        "▼ bad",
        "Gross margin below 40%",
        "critical",
        "applied 40",
        "p50 95 ms",
        "(3 of 3 applied events)",
        "+4.2%",
        "Unusual Marketing (eu-central) in 2026-03 · likelihood 0.99999",
    ):
        assert expected in text, expected


def test_the_month_in_progress_is_judged_against_its_budget_to_date_never_a_verdict_on_the_month():
    text = _text(_state(in_progress=True))
    # Day 12 of 30: 40% of each budget is due. 1,234.6k of revenue against 40% of 1,200.0k is
    # +157.2% to date; the 9.0k marketing line has booked 150% of its 6.0k month, +275.0% to date.
    for expected in ("month in progress: day 12 of 30", "+157.2% to date", "150% of budget", "+275.0% to date"):
        assert expected in text, expected
    for verdict in ("▼ bad", "▲ good", "Var %"):
        assert verdict not in text, verdict


def test_money_and_sparkline_helpers():
    assert money(123456789) == "1,234.6k"
    assert money(None) == "–"
    assert sparkline([1, 2, 3, None]) == "▁▄█ "


def test_the_feed_mixes_new_lines_corrections_duplicates_late_and_invalid_messages():
    feed = DemoFeed("northwind", "2026-11", seed=3, duplicates=0.1, late=0.1, invalid=0.1)
    kinds = [feed.next_message()[0] for _ in range(400)]
    for kind in ("new", "correction", "duplicate", "late", "invalid"):
        assert kind in kinds, kind
    assert 20 <= kinds.count("duplicate") <= 60


def test_burn_and_runway_are_the_cash_forecasts_and_a_company_not_burning_shows_no_months():
    state = _state(in_progress=False)
    state.kpis["cash"] = {
        "status": "burning",
        "as_of": "2026-11-20",
        "burn_monthly_minor": 4333_34,
        "runway_months": "2.8",
    }
    text = _text(state)
    assert "Net burn" in text and "4.3k a month" in text and "2.8 months" in text and "as of 2026-11-20" in text
    state.kpis["cash"] = {
        "status": "not_burning",
        "as_of": "2026-11-20",
        "burn_monthly_minor": 0,
        "runway_months": None,
    }
    text = _text(state)
    assert "not burning" in text and "months" not in text.split("Runway")[1].split("\n")[0]


def test_the_feed_sends_bank_lines_dated_in_the_month_in_progress_up_to_today_both_ways():
    feed = DemoFeed("northwind", "2026-11", seed=5, duplicates=0, late=0, invalid=0, today=lambda: date(2026, 11, 12))
    for _ in range(400):
        feed.next_message()
    cash = [line for line in feed.lines.values() if line["record"]["account_id"] == "1000"]
    assert len(cash) >= 20
    days = {line["record"]["date"] for line in cash}
    assert all("2026-11-01" <= day <= "2026-11-12" for day in days) and len(days) > 5
    signs = {line["record"]["amount"].startswith("-") for line in cash}
    assert signs == {True, False}, "receipts and payments"
    # A correction of a payment is still a payment; every other line has no date.
    for line in cash:
        for _, before in line["history"]:
            assert before["amount"].startswith("-") == line["record"]["amount"].startswith("-")
    assert all("date" not in line["record"] for line in feed.lines.values() if line["record"]["account_id"] != "1000")
    # Read after the month: every day of it; read before it starts: no date (never a day the month has not had).
    later = DemoFeed("northwind", "2026-11", seed=5, duplicates=0, late=0, invalid=0, today=lambda: date(2026, 12, 7))
    assert later._cleared_on() is not None and later._cleared_on() <= "2026-11-30"
    early = DemoFeed("northwind", "2026-11", seed=5, duplicates=0, late=0, invalid=0, today=lambda: date(2026, 10, 31))
    assert early._cleared_on() is None
