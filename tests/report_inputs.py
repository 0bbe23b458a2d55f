"""Pack inputs built from the demo data set without the pipeline (for the report tests that need no emulator)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.metrics import MetricGraph, totals_by_type

from tools.stack.seed import demo_records, demo_reference


def demo_aggregates() -> tuple[dict[tuple[str, str, str], dict[str, Any]], ChartOfAccounts, dict[str, Any]]:
    """Readable-aggregate-shaped documents of the demo org: leaf accounts, roll-ups, metrics, record counts."""
    reference = demo_reference()
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in reference["accounts"]})
    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in demo_records():
        rate = (
            Decimal(1) if row["currency"] == "USD" else Decimal(reference["fx_rates"][row["period"]][row["currency"]])
        )
        minor = int((Decimal(row["amount"]) * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        for entity in (row["entity_id"], "_all"):
            key = (entity, row["period"], row["scenario"])
            sums[key][row["account_id"]] += minor
            counts[key] += 1
    docs = {}
    for key, accounts in sums.items():
        leaves = dict(accounts)
        metrics = MetricGraph().evaluate(totals_by_type(leaves, {a: chart.type_of(a) for a in leaves}))
        docs[key] = {
            "entity_id": key[0],
            "period": key[1],
            "scenario": key[2],
            "accounts": leaves,
            "rollups": chart.rollups(leaves),
            "metrics": {k: (float(v) if isinstance(v, Decimal) else v) for k, v in metrics.items()},
            "record_count": counts[key],
            "currency": "USD",
        }
    return docs, chart, reference


def demo_inputs(period: str = "2026-10", **overrides: Any):
    """PackInputs of the demo org for a period."""
    from reports.pack import PackInputs

    docs, chart, reference = demo_aggregates()
    body = dict(
        org_id="northwind",
        org_name=reference["org"]["name"],
        period=period,
        currency="USD",
        chart=chart,
        entities={e["entity_id"]: e["name"] for e in reference["entities"]},
        period_status={p: d["status"] for p, d in reference["periods"].items()},
        aggregates=docs,
        generated_at=datetime(2026, 11, 29, 10, 0, tzinfo=UTC),
        data_quality={
            "counts": {"applied": 1521, "duplicate": 3, "stale": 1, "rejected": 2},
            "rejected_by_reason": {"unknown_account": 2},
        },
    )
    body.update(overrides)
    return PackInputs(**body)
