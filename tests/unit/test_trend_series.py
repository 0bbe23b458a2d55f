"""Consolidated trend series (windows, zero months, roll-ups, money metrics) and the debounce decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.debounce import CLOCK_MARGIN, DebounceState, Decision, decide, wait_before_computing
from finance_core.trend_series import consolidated_series, metric_doc_id, trend_documents
from finance_core.trends import analyze_trend, trend_document

CHART = ChartOfAccounts(
    [
        Account("4000", "Revenue", AccountType.REVENUE),
        Account("4100", "Product", AccountType.REVENUE, "4000"),
        Account("4200", "Services", AccountType.REVENUE, "4000"),
        Account("5100", "Materials", AccountType.COGS),
        Account("6100", "Payroll", AccountType.OPEX),
    ]
)


def test_series_run_from_the_first_posting_to_the_last_actual_month_with_zeros_inside():
    totals = {
        "2026-01": {"4100": 100},
        "2026-02": {"4100": 120, "4200": 50},
        "2026-03": {"5100": 30},  # no product revenue booked in March: a real zero
        "2026-04": {"4100": 150, "4200": 60},
        "2026-05": {},
    }
    counts = {"2026-01": 1, "2026-02": 2, "2026-03": 1, "2026-04": 2, "2026-05": 0}
    accounts, metrics = consolidated_series(totals, counts, CHART)
    assert accounts["4100"] == [("2026-01", 100), ("2026-02", 120), ("2026-03", 0), ("2026-04", 150)]
    assert accounts["4200"] == [("2026-02", 50), ("2026-03", 0), ("2026-04", 60)]
    assert accounts["4000"] == [("2026-01", 100), ("2026-02", 170), ("2026-03", 0), ("2026-04", 210)]
    assert accounts["5100"] == [("2026-03", 30), ("2026-04", 0)]
    assert metrics["gross_profit"] == [("2026-01", 100), ("2026-02", 170), ("2026-03", -30), ("2026-04", 210)]
    assert "gross_margin_pct" not in metrics and "opex" not in metrics


def test_accounts_outside_the_chart_are_left_out_and_no_actuals_means_no_trends():
    accounts, _ = consolidated_series({"2026-01": {"4100": 5, "7777": 9}}, {"2026-01": 2}, CHART)
    assert set(accounts) == {"4100", "4000"}
    assert consolidated_series({"2026-01": {}}, {"2026-01": 0}, CHART) == ({}, {})


def test_documents_carry_the_core_trend_the_series_and_the_contract_slope():
    totals = {f"2026-{m:02d}": {"4100": 1000 * m, "6100": 400} for m in range(1, 7)}
    docs = trend_documents(totals, {p: 2 for p in totals}, CHART, "USD")
    product = docs["4100"]
    series = [(p, 1000 * m) for m, p in enumerate(sorted(totals), 1)]
    expected = trend_document(analyze_trend(series))
    assert {k: product[k] for k in expected} == expected
    assert product["slope"] == product["slope_minor_per_period"] == 1000.0
    assert product["pattern"] == "increasing" and len(product["forecast"]) == 3
    assert product["series"][0] == {"period": "2026-01", "value_minor": 1000}
    assert product["kind"] == "account" and product["is_summary"] is False and docs["4000"]["is_summary"] is True
    assert docs[metric_doc_id("ebitda")]["kind"] == "metric" and metric_doc_id("ebitda") == "metric__ebitda"
    assert docs["6100"]["pattern"] == "stable"


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_a_change_is_covered_only_by_a_computation_started_after_its_data():
    committed = NOW
    assert decide(DebounceState(computed_at=NOW + CLOCK_MARGIN), committed) is Decision.COVERED
    assert decide(DebounceState(computed_at=NOW), committed) is Decision.REQUEST
    pending = DebounceState(requested_at=NOW + timedelta(seconds=1), computed_at=NOW - timedelta(seconds=3))
    assert decide(pending, committed) is Decision.QUEUED
    # A pending request written before this change's data does not cover it.
    older = DebounceState(requested_at=NOW - timedelta(seconds=1), computed_at=NOW - timedelta(seconds=3))
    assert decide(older, committed) is Decision.REQUEST
    assert decide(DebounceState(), committed) is Decision.REQUEST
    assert decide(DebounceState(computed_at=NOW + timedelta(hours=1)), None) is Decision.REQUEST


def test_pending_leases_and_waits():
    assert DebounceState(requested_at=NOW).pending
    assert not DebounceState(requested_at=NOW, computed_at=NOW + timedelta(seconds=1)).pending
    assert DebounceState(lease_until=NOW + timedelta(seconds=1)).leased(NOW)
    assert not DebounceState(lease_until=NOW).leased(NOW)
    window = timedelta(seconds=5)
    assert wait_before_computing(DebounceState(), NOW, window) == 0.0
    assert wait_before_computing(DebounceState(computed_at=NOW - timedelta(seconds=2)), NOW, window) == 3.0
    assert wait_before_computing(DebounceState(computed_at=NOW - timedelta(seconds=9)), NOW, window) == 0.0
