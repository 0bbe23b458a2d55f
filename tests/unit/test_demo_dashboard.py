"""The demo dashboard renders KPIs, the P&L, variances and alerts from listener documents."""

from __future__ import annotations

from rich.console import Console

from tools.demo.dashboard import DashboardState, money, render, sparkline
from tools.demo.stream import DemoFeed, FeedStats


def test_render_shows_the_numbers_of_the_documents():
    state = DashboardState(FeedStats(sent=42))
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
    state.lags.extend([80.0, 120.0, 95.0])
    console = Console(record=True, width=200)
    console.print(render(state, "Northwind Trading Group", "2026-11", 12.0, "streaming"))
    text = console.export_text()
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
        "+4.2%",
        "Unusual Marketing (eu-central) in 2026-03 · likelihood 0.99999",
    ):
        assert expected in text, expected


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
