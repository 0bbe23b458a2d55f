"""Metric definitions on the emulators: an admin defines KPIs, the series and kpis/current follow the ledger
exactly (windows, balances, tags), a broken definition is answered with its error and changes nothing, and an
alert rule on a defined KPI fires and resolves."""

from __future__ import annotations

import pytest
from finance_core.periods import add_months, year_to_date

from tests.bigquery_checks import metric_cell_mismatches, metrics_view_cells, series_cells
from tests.support import event, publish, seed_org, wait_until
from tools.stack.provision import bigquery_client

pytestmark = pytest.mark.emulators

PERIOD = "2026-11"  # the demo reference's current period: what kpis/current describes
DEFINITIONS = {
    "revenue_ytd": {"label": "Revenue YTD", "expression": "ytd(revenue)", "unit": "money"},
    "cash_position": {"label": "Cash", "expression": 'closing(tagged("cash"))', "unit": "money"},
    "current_ratio": {
        "label": "Current ratio",
        "unit": "ratio",
        "expression": 'closing(tagged("current_asset")) / closing(tagged("current_liability"))',
    },
    "mrr": {"label": "MRR", "expression": 'tagged("recurring")'},
    "arr": {"label": "ARR", "expression": "12 * mrr"},
    "broken": {"label": "Broken", "expression": "ytd(revenue"},
}


def _org(db, org_id):
    seed_org(db, org_id, all_periods_open=True)
    org = db.collection("organizations").document(org_id)
    batch = db.batch()
    batch.set(
        org.collection("accounts").document("1000"),
        {"name": "Cash", "type": "asset", "tags": ["cash", "current_asset"]},
    )
    batch.set(
        org.collection("accounts").document("1200"), {"name": "Receivables", "type": "asset", "tags": ["current_asset"]}
    )
    batch.set(
        org.collection("accounts").document("2100"),
        {"name": "Payables", "type": "liability", "tags": ["current_liability"]},
    )
    batch.set(
        org.collection("accounts").document("4200"),
        {"name": "Subscription revenue", "type": "revenue", "parent_id": "4000", "tags": ["recurring"]},
    )
    batch.commit()
    return org


def _kpis(db, org_id):
    snap = db.document(f"organizations/{org_id}/kpis/current").get()
    return snap.to_dict() if snap.exists else None


def test_defined_kpis_follow_the_ledger_and_broken_definitions_change_nothing(stack, db, org_id):
    org = _org(db, org_id)
    for metric_id, body in DEFINITIONS.items():
        org.collection("metric_definitions").document(metric_id).set(body)
    # Lines in 2025 (before the fiscal year) and 2026, actuals, across entities and currencies.
    lines = []
    for n, period in enumerate(["2025-12", "2026-01", "2026-06", "2026-11"]):
        lines += [
            event(org_id, f"p-{n}", 1, account="4100", period=period, amount=f"{1000 + n}.25"),
            event(org_id, f"s-{n}", 1, account="4200", period=period, amount="500.00", entity="us-west"),
            event(org_id, f"c-{n}", 1, account="1000", period=period, amount=f"{300 * (n + 1)}.10"),
            event(org_id, f"r-{n}", 1, account="1200", period=period, amount="100.00"),
            event(org_id, f"l-{n}", 1, account="2100", period=period, amount="150.00"),
        ]
    lines.append(event(org_id, "c-out", 1, account="1000", period="2026-06", amount="-250.00"))
    publish(stack, lines)

    revenue = {"2025-12": 150025, "2026-01": 150125, "2026-06": 150225, "2026-11": 150325}
    expected_ytd = sum(revenue.get(p, 0) for p in year_to_date(PERIOD))
    expected_cash = 30010 + 60010 + 90010 - 25000 + 120010
    positions = {"1000": expected_cash, "1200": 40000, "2100": 60000}

    def settled():
        kpis = _kpis(db, org_id)
        found = (kpis or {}).get("kpis", {})
        # Each event is a change message of its own: the us-west series is folded by the messages of
        # its lines, which may finish after a later message completed the consolidated figures.
        entity = db.document(f"organizations/{org_id}/metric_series/us-west__actual").get().to_dict() or {}
        at = (entity.get("periods") or []).index(PERIOD) if PERIOD in (entity.get("periods") or []) else None
        return (
            kpis
            if found.get("revenue_ytd", {}).get("value") == expected_ytd
            and found.get("cash_position", {}).get("value") == expected_cash
            and at is not None
            and ((entity.get("metrics") or {}).get("mrr") or [None] * (at + 1))[at] == 50000
            else None
        )

    kpis = wait_until(settled, timeout=90, what="defined KPIs in kpis/current")
    found = kpis["kpis"]
    assert found["current_ratio"]["value"] == pytest.approx(float((expected_cash + 40000) / 60000), abs=1e-4)
    assert str(found["current_ratio"]["value"]) == str(round((expected_cash + 40000) / 60000, 4))
    assert found["mrr"]["value"] == 50000 and found["arr"]["value"] == 600000
    assert found["revenue_ytd"]["previous"] == expected_ytd - revenue["2026-11"]
    assert [p["period"] for p in found["revenue_ytd"]["series"]][-1] == PERIOD
    assert kpis["definitions"]["current_ratio"] == {
        "label": "Current ratio",
        "unit": "ratio",
        "direction": "higher_is_better",
        "decimals": 2,
        "expression": DEFINITIONS["current_ratio"]["expression"],
        # The leaf accounts its selections resolve to: its records are theirs (the drill-down).
        "accounts": ["1000", "1200", "2100"],
    }
    assert "broken" not in found and found["revenue"]["value"] == revenue["2026-11"]  # the headline set is intact

    # The consolidated series: balances per balance-sheet account, every period.
    series = db.document(f"organizations/{org_id}/metric_series/_all__actual").get().to_dict()
    at = series["periods"].index(PERIOD)
    assert {a: series["balances"][a][at] for a in positions} == positions
    assert series["balances"]["1000"][series["periods"].index("2026-05")] == 30010 + 60010
    entity = db.document(f"organizations/{org_id}/metric_series/us-west__actual").get().to_dict()
    assert entity["metrics"]["mrr"][at] == 50000 and entity["metrics"]["cash_position"][at] == 0

    # The broken definition is answered on its document; the status lists the active set.
    broken = wait_until(
        lambda: (
            (org.collection("metric_definitions").document("broken").get().to_dict() or {}).get("status") == "invalid"
            and org.collection("metric_definitions").document("broken").get().to_dict()
        ),
        what="the answer to the broken definition",
    )
    assert broken["error"]["path"] == "broken.expression"
    assert "the expression ends too early" in broken["error"]["message"]
    status = db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict()
    assert set(status["active"]) == set(DEFINITIONS) - {"broken"}
    revision = status["revision"]

    # An admin breaks a working definition: it is refused, and its last valid version still counts.
    org.collection("metric_definitions").document("revenue_ytd").update({"expression": "ytd(revnue)"})
    answered = wait_until(
        lambda: (
            (org.collection("metric_definitions").document("revenue_ytd").get().to_dict() or {}).get("status")
            == "invalid"
            and org.collection("metric_definitions").document("revenue_ytd").get().to_dict()
        ),
        what="the answer to the edited definition",
    )
    assert "unknown metric 'revnue' (did you mean 'revenue'?)" in answered["error"]["message"]
    assert answered["active_expression"] == "ytd(revenue)"
    status = wait_until(
        lambda: (
            (db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict() or {}).get("revision", 0)
            > revision
            and db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict()
        ),
        what="the new revision",
    )
    assert status["active"]["revenue_ytd"]["expression"] == "ytd(revenue)"
    publish(stack, [event(org_id, "p-late", 1, account="4100", period="2026-02", amount="10.00")])
    wait_until(
        lambda: (_kpis(db, org_id) or {}).get("kpis", {}).get("revenue_ytd", {}).get("value") == expected_ytd + 1000,
        what="the year to date with the old definition",
    )

    # BigQuery's metrics_latest equals every cell of every series (built-in and defined, per entity and
    # consolidated, every scenario and period) to the cent, and kpis/current at the current period.
    client = bigquery_client(stack.config)
    _assert_view_equals_series(client, db, org_id)
    view = metrics_view_cells(client, org_id)
    for metric_id in ("revenue_ytd", "cash_position", "mrr", "revenue"):
        assert round(view[("_all", "actual", metric_id, PERIOD)] * 100) == _kpis(db, org_id)["kpis"][metric_id]["value"]
    assert view[("us-west", "actual", "current_ratio", PERIOD)] is None  # no liabilities there: undefined is NULL

    # A definition edit (MRR now counts services too: ARR, which reads it, moves as well) and a disabled
    # metric: the rebuilt series reach BigQuery, and the disabled metric leaves the view.
    revision = db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict()["revision"]
    org.collection("metric_definitions").document("mrr").update({"expression": 'tagged("recurring") + account("4100")'})
    org.collection("metric_definitions").document("current_ratio").update({"enabled": False})
    expected_mrr = revenue[PERIOD]  # 4100 and 4200: all the revenue of the month
    wait_until(
        lambda: (
            (_kpis(db, org_id) or {}).get("kpis", {}).get("arr", {}).get("value") == 12 * expected_mrr
            and "current_ratio" not in _kpis(db, org_id)["kpis"]
        ),
        timeout=90,
        what="the edited definitions in kpis/current",
    )
    wait_until(
        lambda: (
            (db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict() or {}).get("revision", 0)
            > revision
        ),
        what="the new revision",
    )
    view = _assert_view_equals_series(client, db, org_id)
    assert view[("_all", "actual", "arr", PERIOD)] * 100 == 12 * expected_mrr
    assert not any(key[2] == "current_ratio" for key in view)


def _assert_view_equals_series(client, db, org_id):
    """Wait until metrics_latest holds exactly the cells of the series documents; fail with the differences."""
    last: list[str] = []

    def equal():
        nonlocal last
        series = series_cells(db, org_id)
        money = {
            m
            for s in db.collection(f"organizations/{org_id}/metric_series").stream()
            for m, d in ((s.to_dict() or {}).get("definitions") or {}).items()
            if d.get("unit") == "money"
        }
        view = metrics_view_cells(client, org_id)
        last = metric_cell_mismatches(view, series, money)
        return view if series and not last else None

    try:
        return wait_until(equal, timeout=60, interval=1.0, what="metrics_latest equal to the metric series")
    except AssertionError:
        raise AssertionError(f"{len(last)} cell(s) differ: {last[:20]}") from None


def test_an_alert_on_a_defined_kpi_fires_and_resolves(stack, db, org_id):
    org = _org(db, org_id)
    org.collection("metric_definitions").document("cash_position").set(DEFINITIONS["cash_position"])
    org.collection("metric_definitions").document("current_ratio").set(DEFINITIONS["current_ratio"])
    # A rule in the ratio's own unit: an exact decimal string, not minor units.
    org.collection("alert_rules").document("thin-liquidity").set(
        {
            "name": "Current ratio below 1.5",
            "type": "absolute",
            "target": {"entity_id": "_all", "metric": "current_ratio"},
            "direction": "below",
            "threshold": "1.5",
            "cooldown_seconds": 0,
        }
    )
    org.collection("alert_rules").document("low-cash").set(
        {
            "name": "Cash below 1,000.00",
            "type": "absolute",
            "severity": "critical",
            "target": {"entity_id": "_all", "metric": "cash_position"},
            "direction": "below",
            "threshold_minor": 100000,
            "cooldown_seconds": 0,
            "channels": [],
        }
    )
    wait_until(
        lambda: (
            (db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict() or {}).get("state") == "done"
        ),
        what="the definitions validated",
    )
    # Cash of 1,500.00 earlier in the year, then 800.00 spent in an older month: below 1,000.00 now.
    publish(
        stack,
        [
            event(org_id, "cash-in", 1, account="1000", period="2026-03", amount="1500.00"),
            event(org_id, "payables", 1, account="2100", period="2026-03", amount="500.00"),
            # The plan for November: 1,000.00 of cash against 400.00 of payables (a ratio of 2.5).
            event(org_id, "plan-cash", 1, account="1000", period=PERIOD, amount="1000.00", scenario="budget"),
            event(org_id, "plan-payables", 1, account="2100", period=PERIOD, amount="400.00", scenario="budget"),
        ],
    )
    wait_until(
        lambda: (_kpis(db, org_id) or {}).get("kpis", {}).get("cash_position", {}).get("value") == 150000,
        what="the cash position",
    )
    publish(stack, [event(org_id, "cash-out", 1, account="1000", period="2026-05", amount="-800.00")])

    def alert(status, rule_id="low-cash"):
        docs = [d.to_dict() for d in org.collection("alerts").stream()]
        return next(
            (
                d
                for d in docs
                if d.get("rule_id") == rule_id and d.get("status") == status and d.get("period") == PERIOD
            ),
            None,
        )

    fired = wait_until(lambda: alert("active"), timeout=90, what="the low-cash alert")
    assert fired["current_value"] == 70000 and fired["threshold"] == 100000
    # 700.00 of current assets against 500.00 of payables: 1.4, below 1.5.
    thin = wait_until(lambda: alert("active", "thin-liquidity"), timeout=30, what="the current-ratio alert")
    assert (thin["current_value"], thin["threshold"]) == (1.4, 1.5)
    assert "Current ratio for all entities in 2026-11 is 1.4x, below the threshold of 1.5x" in thin["description"]
    publish(stack, [event(org_id, "cash-out", 2, account="1000", period="2026-05", amount="-100.00")])
    resolved = wait_until(lambda: alert("resolved"), timeout=90, what="the low-cash alert resolved")
    assert resolved["count"] >= 1
    assert add_months(PERIOD, 0) == resolved["period"]
    # 1,400.00 against 500.00: 2.8, the ratio alert resolves too.
    wait_until(lambda: alert("resolved", "thin-liquidity"), timeout=30, what="the current-ratio alert resolved")

    # Budget vs actual of the defined metrics at November, moved by the correction of May.
    def variance():
        body = (db.document(f"organizations/{org_id}/variance/_all__{PERIOD}").get().to_dict() or {}).get("vs_budget")
        metrics = (body or {}).get("metrics") or {}
        cash = metrics.get("cash_position") or {}
        return metrics if (cash.get("actual"), cash.get("comparison")) == (140000, 100000) else None

    metrics = wait_until(variance, timeout=30, what="the defined metrics in the November variance")
    assert metrics["cash_position"] == {
        "label": "Cash",
        "unit": "minor",
        "actual": 140000,
        "comparison": 100000,
        "variance": 40000,
        "variance_pct": 40.0,
        "favourable": True,
        "defined": True,
    }
    ratio = metrics["current_ratio"]
    assert (ratio["unit"], ratio["actual"], ratio["comparison"], ratio["variance"]) == ("ratio", 2.8, 2.5, 0.3)
    assert ratio["variance_pct"] == 12.0 and ratio["favourable"] is True
