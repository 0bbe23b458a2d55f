"""The bundled demo data set is what its generator produces, and it is the realistic group the docs describe."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from finance_core.accounts import ChartOfAccounts
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
