"""The bundled demo data set is what its generator produces, and it is the realistic group the docs describe."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

from finance_core.accounts import ChartOfAccounts
from finance_core.days import iso_week
from finance_core.periods import period_range

from tools.generate_demo_data import OUT, generate


def _csv_rows(rows: list[dict]) -> list[dict]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return list(csv.DictReader(io.StringIO(buffer.getvalue())))


def test_checked_in_files_equal_a_fresh_generation():
    data = generate()
    reference = json.loads(json.dumps({k: v for k, v in data.items() if k not in ("records", "balance_sheet")}))
    assert json.loads((OUT / "reference.json").read_text()) == reference, "run ./dev generate"
    for name, key in (("records.csv", "records"), ("balance_sheet.csv", "balance_sheet")):
        with (OUT / name).open(newline="") as handle:
            assert list(csv.DictReader(handle)) == _csv_rows(data[key]), f"{name}: run ./dev generate"


def test_the_balance_sheet_carries_the_tags_the_library_kpis_read():
    data = generate()
    tags = {tag for a in data["accounts"] for tag in a.get("tags", [])}
    assert {"cash", "receivable", "payable", "current_asset", "current_liability", "debt", "recurring"} <= tags
    accounts = {a["account_id"]: a for a in data["accounts"]}
    assert {accounts[r["account_id"]]["type"] for r in data["balance_sheet"]} == {"asset", "liability", "equity"}
    # The cash of the group falls month after month (a burn, so the runway is defined).
    cash = [
        Decimal(r["amount"]) for r in data["balance_sheet"] if r["account_id"] == "1000" and r["entity_id"] == "us-east"
    ]
    assert cash[0] > 0 and sum(cash[1:]) < 0


def test_the_group_has_three_entities_two_currencies_24_months_of_actuals_budget_and_forecast():
    data = generate()
    assert {e["currency"] for e in data["entities"]} == {"USD", "EUR"}
    assert len(data["entities"]) == 3
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in data["accounts"]})
    leaves = [a.account_id for a in chart if chart.is_leaf(a.account_id)]
    by_scenario: dict[str, set[str]] = {}
    for row in data["records"]:
        by_scenario.setdefault(row["scenario"], set()).add(row["period"])
        assert row["account_id"] in leaves
    assert sorted(by_scenario["actual"]) == period_range("2024-11", "2026-10")
    assert sorted(by_scenario["budget"]) == period_range("2026-01", "2026-12")
    assert sorted(by_scenario["forecast"]) == period_range("2026-11", "2027-01")
    assert all(data["fx_rates"][p]["EUR"] for p in by_scenario["actual"])
    assert data["periods"]["2026-08"]["status"] == "closed" and data["periods"]["2026-11"]["status"] == "open"


def test_the_demo_kpi_definitions_compile_on_the_demo_chart_and_read_its_ledger():
    from finance_core.metric_series import Calendar, compile_definitions

    from tools.demo.metrics import CUSTOM, demo_metric_alert_rules, demo_metric_definitions

    data = generate()
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in data["accounts"]})
    definitions = demo_metric_definitions()
    metric_set, errors = compile_definitions(definitions, chart, Calendar.spanning(data["periods"]))
    assert errors == {} and set(CUSTOM) <= set(definitions) and "net_burn" in definitions  # runway reads it
    assert {r["target"]["metric"] for r in demo_metric_alert_rules()} <= set(definitions)
    # us-east alone (USD, no conversion): positions and recurring revenue from the ledger lines.
    inputs: dict[str, dict[str, int]] = {}
    for row in data["records"] + data["balance_sheet"]:
        if row["entity_id"] == "us-east" and row["scenario"] == "actual":
            accounts = inputs.setdefault(row["period"], {})
            accounts[row["account_id"]] = accounts.get(row["account_id"], 0) + int(Decimal(row["amount"]) * 100)
    values = metric_set.full(inputs)
    at = metric_set.calendar.index["2026-10"]
    cash = sum(a.get("1000", 0) for p, a in inputs.items() if p <= "2026-10")
    assert metric_set.metric_values(values, "cash_position")[at] == cash
    assert metric_set.metric_values(values, "mrr")[at] == inputs["2026-10"]["4200"]
    assert metric_set.metric_values(values, "arr")[at] == 12 * inputs["2026-10"]["4200"]
    assert metric_set.metric_values(values, "runway_months")[at] > 0


def test_the_cash_account_is_the_bank_feed_dated_inside_each_month_and_adds_up_to_the_monthly_movement():
    import numpy as np

    from tools.generate_demo_data import BALANCE_ACCOUNTS, CASH_ACCOUNT, CURRENT_PERIOD, ENTITIES, FIRST_ACTUAL, SEED

    data = generate()
    cash = [r for r in data["balance_sheet"] if r["account_id"] == CASH_ACCOUNT]
    # The opening balances are positions brought forward: undated. Every other cash line has a day of its month.
    assert {(r["entity_id"], r["period"]) for r in cash if not r["date"]} == {
        (e["entity_id"], FIRST_ACTUAL) for e in ENTITIES
    }
    dated = [r for r in cash if r["date"]]
    assert all(r["date"][:7] == r["period"] and r["source"] == "demo-bank" for r in dated)
    assert len({r["record_id"] for r in cash}) == len(cash)
    months = {(r["entity_id"], r["period"]) for r in dated}
    assert max(p for _, p in months) == CURRENT_PERIOD  # the bank feed holds the month in progress
    for entity_id, period in months:
        days = [date.fromisoformat(r["date"]) for r in dated if (r["entity_id"], r["period"]) == (entity_id, period)]
        assert all(d.weekday() < 5 for d in days) and len({iso_week(d) for d in days}) >= 4
    # The monthly movements are the draws they were before the lines had dates: the same random stream.
    rng = np.random.default_rng(SEED + 1)
    _, _, _, _, _, drift, noise = BALANCE_ACCOUNTS[0]
    first = rng.normal(0, noise)  # us-east, cash, the second month
    month = [Decimal(r["amount"]) for r in dated if r["entity_id"] == "us-east" and r["period"] == "2024-12"]
    assert sum(month) == Decimal(repr((drift + first) * 1000)).quantize(Decimal("0.01"))


def test_the_demo_group_burns_cash_and_its_runway_is_under_the_critical_six_months():
    from tests.demo_cash import demo_cash_forecast

    # As of any day after November 2026 (the demo's month in progress), the same forecast: as of its last day.
    forecast = demo_cash_forecast(date(2026, 12, 7))
    assert forecast == demo_cash_forecast(date(2027, 9, 1))
    runway = forecast.runway
    assert runway.status == "burning" and runway.as_of == date(2026, 11, 30)
    assert len(forecast.history) == 26 and forecast.stdev_weekly_flow_minor is not None
    # The story docs/kpis.md tells: November's tax instalment pulls the runway under six months (the demo's
    # critical rule fires), with a margin the live stream's bank lines (a few thousand either way) never cross.
    assert Decimal(3) < runway.runway_months < Decimal(5)
    assert 400_000_00 < runway.burn_monthly_minor < 700_000_00
