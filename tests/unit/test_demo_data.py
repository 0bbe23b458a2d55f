"""The bundled demo data set is what its generator produces, and it is the realistic group the docs describe."""

from __future__ import annotations

import csv
import io
import json

from finance_core.accounts import ChartOfAccounts
from finance_core.periods import period_range

from tools.generate_demo_data import OUT, generate


def _files_of(data: dict) -> tuple[dict, list[dict]]:
    reference = json.loads(json.dumps({k: v for k, v in data.items() if k != "records"}))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(data["records"][0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(data["records"])
    return reference, list(csv.DictReader(io.StringIO(buffer.getvalue())))


def test_checked_in_files_equal_a_fresh_generation():
    reference, records = _files_of(generate())
    assert json.loads((OUT / "reference.json").read_text()) == reference, "run ./dev generate"
    with (OUT / "records.csv").open(newline="") as handle:
        assert list(csv.DictReader(handle)) == records, "run ./dev generate"


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
