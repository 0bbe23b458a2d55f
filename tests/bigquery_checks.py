"""Checks of BigQuery view rows against the core's own computations, shared by the view and pipeline tests."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateKey
from finance_core.metrics import MetricGraph, totals_by_type
from google.cloud import bigquery

DATASET = "finance"
Totals = dict[tuple[str, str, str], dict[str, Any]]

PNL_MONEY_COLUMNS = (
    "revenue",
    "cogs",
    "opex",
    "other_income",
    "other_expense",
    "tax",
    "gross_profit",
    "ebitda",
    "net_income",
)
PNL_PERCENT_COLUMNS = ("gross_margin_pct", "ebitda_margin_pct", "net_margin_pct")


def cents(value: Any) -> int:
    """A NUMERIC amount of a 2-decimal currency as integer cents (a sub-cent value fails the test)."""
    scaled = Decimal(value) * 100
    assert scaled == scaled.to_integral_value(), value
    return int(scaled)


def assert_pnl_row_equals_core(
    row: dict[str, Any],
    key: tuple,
    accounts: dict[str, int],
    record_count: int,
    chart: ChartOfAccounts,
    graph: MetricGraph,
) -> None:
    """A `pnl_monthly` row equals the core's metrics of the same account totals, to the cent."""
    metrics = graph.evaluate(totals_by_type(accounts, {a: chart.type_of(a) for a in accounts}))
    for name in PNL_MONEY_COLUMNS:
        assert cents(row[name]) == metrics[name], (key, name)
    for name in PNL_PERCENT_COLUMNS:
        want = metrics[name]
        assert (None if row[name] is None else Decimal(row[name])) == want, (key, name, row[name], want)
    assert row["record_count"] == record_count, key


# --- both sides in one shape: (entity incl. '_all', period, scenario) -> accounts and record count ---


def rows(client: bigquery.Client, sql: str, org_id: str) -> list[dict[str, Any]]:
    config = bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("org", "STRING", org_id)])
    return [dict(r.items()) for r in client.query(sql.replace("{ds}", DATASET), job_config=config).result()]


def latest_totals(client: bigquery.Client, org_id: str) -> Totals:
    """(entity incl. '_all', period, scenario) -> accounts in minor units and record count, from the latest view."""
    totals: Totals = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
    for r in rows(
        client,
        "SELECT entity_id, period, scenario, account_id, reporting_amount FROM "
        "`{ds}.financial_records_latest` WHERE org_id = @org",
        org_id,
    ):
        for entity in (r["entity_id"], "_all"):
            key = (entity, r["period"].strftime("%Y-%m"), r["scenario"])
            totals[key]["accounts"][r["account_id"]] += cents(r["reporting_amount"])
            totals[key]["record_count"] += 1
    return clean_totals(totals)


def clean_totals(totals: Totals) -> Totals:
    return {
        k: {"accounts": {a: v for a, v in t["accounts"].items() if v != 0}, "record_count": t["record_count"]}
        for k, t in totals.items()
        if t["record_count"] or any(t["accounts"].values())
    }


def firestore_aggregates(db, org_id: str) -> Totals:
    """The readable aggregate documents dashboards read, in the same shape."""
    found: Totals = {}
    for snap in db.collection(f"organizations/{org_id}/aggregates").stream():
        doc = snap.to_dict() or {}
        key = AggregateKey.from_doc_id(snap.id)
        found[(key.entity_id, key.period, key.scenario)] = {
            "accounts": {a: int(v) for a, v in (doc.get("accounts") or {}).items()},
            "record_count": int(doc.get("record_count") or 0),
        }
    return clean_totals(found)


# --- metrics_latest against the metric series documents ------------------------------------------

Cells = dict[tuple[str, str, str, str], Any]


def metrics_view_cells(client: bigquery.Client, org_id: str) -> Cells:
    """(entity, scenario, metric, 'YYYY-MM') -> value (Decimal or None) of every row of `metrics_latest`."""
    return {
        (r["entity_id"], r["scenario"], r["metric_id"], r["period"].strftime("%Y-%m")): r["value"]
        for r in rows(
            client,
            "SELECT entity_id, scenario, metric_id, period, value FROM `{ds}.metrics_latest` WHERE org_id = @org",
            org_id,
        )
    }


def series_cells(db, org_id: str) -> Cells:
    """The same cells read from the metric series documents: money as integer minor units, other units as
    exact decimals of the stored numbers."""
    found: Cells = {}
    for snap in db.collection(f"organizations/{org_id}/metric_series").stream():
        doc = snap.to_dict() or {}
        for metric_id, row in (doc.get("metrics") or {}).items():
            for period, value in zip(doc["periods"], row, strict=True):
                found[(doc["entity_id"], doc["scenario"], metric_id, period)] = (
                    None if value is None else value if isinstance(value, int) else Decimal(str(value))
                )
    return found


def metric_cell_mismatches(view: Cells, series: Cells, money: set[str]) -> list[str]:
    """Cells where the view and the documents differ (money compared in cents), in a readable list."""
    problems = [f"{key}: only in the series ({value})" for key, value in series.items() if key not in view]
    problems += [f"{key}: only in BigQuery ({value})" for key, value in view.items() if key not in series]
    for key in series.keys() & view.keys():
        want, got = series[key], view[key]
        if got is not None and key[2] in money:
            got = cents(got)
        if (want is None) != (got is None) or (want is not None and Decimal(got) != Decimal(want)):
            problems.append(f"{key}: series {want!r}, BigQuery {got!r}")
    return sorted(problems)
