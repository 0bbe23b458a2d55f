"""The demo data set's readable aggregates, computed with the core as the pipeline stores them (for alert tests)."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateKey, FoldedTotals, aggregates_from_records, build_view
from finance_core.events import parse_event
from finance_core.metrics import MetricGraph
from finance_core.reference import OrgReference, record_state

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def demo_reference() -> dict[str, Any]:
    """demo_data/reference.json."""
    return json.loads((ROOT / "demo_data" / "reference.json").read_text())


@functools.cache
def demo_org() -> OrgReference:
    """The demo org's reference data as ingestion sees it."""
    raw = demo_reference()
    return OrgReference(
        org_id="northwind",
        reporting_currency=raw["org"]["reporting_currency"],
        chart=ChartOfAccounts.from_documents({a["account_id"]: a for a in raw["accounts"]}),
        entity_currencies={e["entity_id"]: e["currency"] for e in raw["entities"]},
        period_status={p: "open" for p in raw["periods"]},
        fx_rates=OrgReference.parse_rates(raw["fx_rates"]),
        current_period=raw["current_period"],
    )


@functools.cache
def demo_aggregates() -> dict[AggregateKey, dict[str, Any]]:
    """Every readable aggregate document of the seeded demo org (metrics as Firestore stores them)."""
    from tools.stack.seed import demo_records, record_event

    org = demo_org()
    states = [record_state(parse_event(record_event("northwind", row)), org) for row in demo_records()]
    graph = MetricGraph()
    documents = {}
    for key, delta in aggregates_from_records(states).items():
        view = build_view(FoldedTotals(dict(delta.accounts), delta.record_count, {}), org.chart, graph)
        documents[key] = {
            "accounts": view.accounts,
            "rollups": view.rollups,
            "metrics": {k: float(v) if isinstance(v, Decimal) else v for k, v in view.metrics.items()},
            "record_count": view.record_count,
        }
    return documents
