"""BigQuery rows of a metric series write: changed cells only, exact values, deletes, and order independence."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

from finance_core.metric_rows import metric_value_rows

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DEFINITIONS = {
    "revenue": {"label": "Revenue", "unit": "money", "direction": "higher_is_better", "decimals": 2},
    "gross_margin_pct": {"label": "Gross margin %", "unit": "percent", "direction": "higher_is_better", "decimals": 1},
    "runway_months": {"label": "Runway", "unit": "months", "direction": "higher_is_better", "decimals": 1},
}


def series(version, metrics, periods=("2026-10", "2026-11"), definitions=None, currency="USD"):
    return {
        "entity_id": "_all",
        "scenario": "actual",
        "currency": currency,
        "periods": list(periods),
        "metrics": metrics,
        "definitions": definitions or DEFINITIONS,
        "version": version,
        "revision": 3,
    }


def by_cell(rows):
    return {(r.metric_id, r.period.isoformat()[:7]): r for r in rows}


def test_a_new_series_gives_every_cell_with_exact_values():
    doc = series(1, {"revenue": [123456, 1000001], "gross_margin_pct": [41.2346, None], "runway_months": [0.1, 12.35]})
    rows = by_cell(metric_value_rows("org", None, doc, AT))
    assert len(rows) == 6
    assert rows[("revenue", "2026-10")].value == Decimal("1234.56")
    assert rows[("revenue", "2026-11")].value == Decimal("10000.01")
    # Floats in the document come back at the unit's quantum, never with binary noise.
    assert str(rows[("gross_margin_pct", "2026-10")].value) == "41.2346"
    assert str(rows[("runway_months", "2026-10")].value) == "0.10"
    assert rows[("gross_margin_pct", "2026-11")].value is None  # undefined stays NULL
    row = rows[("revenue", "2026-10")]
    assert (row.period, row.op, row.series_version, row.revision, row.defined, row.currency) == (
        date(2026, 10, 1),
        "set",
        1,
        3,
        False,
        "USD",
    )
    assert rows[("runway_months", "2026-11")].defined is True
    assert row.row_id == "org___all__actual__1__revenue__2026-10"


def test_a_zero_decimal_currency_and_only_changed_cells():
    before = series(4, {"revenue": [5000, 7000]}, currency="JPY", definitions={"revenue": DEFINITIONS["revenue"]})
    after = series(5, {"revenue": [5000, 7500]}, currency="JPY", definitions={"revenue": DEFINITIONS["revenue"]})
    [row] = metric_value_rows("org", before, after, AT)
    assert (row.metric_id, row.period, row.value, row.series_version) == (
        "revenue",
        date(2026, 11, 1),
        Decimal("7500"),
        5,
    )


def test_a_removed_metric_is_deleted_and_a_relabelled_one_rewritten():
    before = series(2, {"revenue": [1, 2], "runway_months": [3.5, 4.0]})
    relabelled = dict(DEFINITIONS, revenue=dict(DEFINITIONS["revenue"], label="Sales"))
    after = series(3, {"revenue": [1, 2]}, definitions=relabelled)
    rows = by_cell(metric_value_rows("org", before, after, AT))
    assert {k: r.op for k, r in rows.items()} == {
        ("revenue", "2026-10"): "set",
        ("revenue", "2026-11"): "set",
        ("runway_months", "2026-10"): "delete",
        ("runway_months", "2026-11"): "delete",
    }
    assert rows[("revenue", "2026-10")].label == "Sales"
    assert rows[("runway_months", "2026-10")].value is None
    assert metric_value_rows("org", after, after, AT) == []


def test_the_newest_row_per_cell_equals_the_last_document_whatever_the_delivery_order():
    rng = random.Random(15)
    docs = [None]
    for version in range(1, 30):
        metrics = {"revenue": [rng.choice([0, 100, 250]) for _ in range(3)]}
        if rng.random() < 0.7:
            metrics["gross_margin_pct"] = [rng.choice([None, 12.5, 33.3333]) for _ in range(3)]
        docs.append(series(version, metrics, periods=("2026-09", "2026-10", "2026-11")))
    writes = [(docs[i], docs[i + 1]) for i in range(len(docs) - 1)]
    rng.shuffle(writes)
    newest = {}
    for before, after in writes:
        for row in metric_value_rows("org", before, after, AT):
            key = (row.metric_id, row.period)
            if key not in newest or row.series_version > newest[key].series_version:
                newest[key] = row
    latest = {k: r.value for k, r in newest.items() if r.op == "set"}
    want = {(r.metric_id, r.period): r.value for r in metric_value_rows("org", None, docs[-1], AT)}
    assert latest == want
