"""Burn and runway on the emulators: kpis/current carries the 13-week cash forecast's, for the headline and the
library's `net_burn` / `runway_months` alike, and a company whose cash grows shows no runway in months; an alert
rule on `runway_months` judges that same figure when the forecast is written.

The expected figures are computed here from the events (weekly flows, cash on hand) with the definition of
docs/kpis.md, not with the backend's code.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import pytest
from finance_core.metric_library import library, with_requirements
from finance_core.periods import add_months

from tests.firestore_events import FirestoreEvent, deliver, new_state, state_of, wait_for_trends
from tests.integration.test_alerts import exact_count
from tests.support import event, publish, wait_for_events, wait_until
from tools.stack.seed import demo_reference, write_reference

pytestmark = pytest.mark.emulators

WEEKLY_OUTFLOWS = [1000_00 + 100_00 * week for week in range(8)]  # 1,000.00 .. 1,700.00 a week
OPENING = 50_000_00


def dated(body: dict, day: date) -> dict:
    body["record"]["date"] = day.isoformat()
    return body


def _org(db, org_id: str, today: date) -> None:
    reference = dict(demo_reference(), members=[])
    first = add_months(today.isoformat()[:7], -4)
    months = [add_months(first, i) for i in range(6)]
    periods = {p: {"status": "open"} for p in sorted(set(reference["periods"]) | set(months))}
    # The month of today is the one in progress: the cash on hand counts every movement up to it.
    write_reference(db, org_id, dict(reference, periods=periods, current_period=today.isoformat()[:7]))
    org = db.collection("organizations").document(org_id)
    entries = library()
    for metric_id in with_requirements(["net_burn", "runway_months"], entries):
        org.collection("metric_definitions").document(metric_id).set(dict(entries[metric_id]))


def _expected(flows: list[int], cash: int) -> dict:
    """Burn and runway as docs/kpis.md defines them, from the weekly flows (minor units) and the cash."""
    mean = Decimal(sum(flows)) / len(flows)
    if mean >= 0:
        return {"status": "not_burning", "burn_monthly_minor": 0, "runway_months": None, "cash_minor": cash}
    monthly = -mean * 13 / 3
    return {
        "status": "burning",
        "burn_monthly_minor": int(monthly.quantize(Decimal(1), ROUND_HALF_EVEN)),
        "runway_months": str((Decimal(cash) / monthly).quantize(Decimal("0.1"), ROUND_FLOOR)),
        "cash_minor": cash,
    }


def _settle(stack, db, org_id: str, expected: dict) -> tuple[dict, dict]:
    forecast_ref = db.document(f"organizations/{org_id}/trends/cash__forecast")
    kpis_ref = db.document(f"organizations/{org_id}/kpis/current")

    def agreed():
        forecast = (forecast_ref.get().to_dict() or {}).get("runway") or {}
        kpis = kpis_ref.get().to_dict() or {}
        if any(forecast.get(k) != v for k, v in expected.items()) or kpis.get("cash") != forecast:
            return None
        entries = kpis.get("kpis") or {}
        if not {"net_burn", "runway_months"} <= set(entries):
            return None
        return forecast, kpis

    return wait_for_trends(stack, agreed, what="the cash forecast and kpis/current")


def test_kpis_current_shows_the_cash_forecasts_burn_and_runway_and_none_when_cash_grows(stack, db, org_id):
    today = date.today()
    _org(db, org_id, today)
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=8 - week) + timedelta(days=2) for week in range(8)]
    events = [
        dated(
            event(org_id, f"out-{n}", 1, account="1000", period=day.isoformat()[:7], amount=f"-{flow / 100:.2f}"), day
        )
        for n, (day, flow) in enumerate(zip(days, WEEKLY_OUTFLOWS, strict=True))
    ]
    events.append(event(org_id, "opening", 1, account="1000", period=days[0].isoformat()[:7], amount="50000.00"))
    # Revenue in the month in progress: the headline KPIs exist (kpis/current is written).
    events.append(event(org_id, "sale", 1, period=today.isoformat()[:7], amount="10.00"))
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=240)

    cash = OPENING - sum(WEEKLY_OUTFLOWS)
    expected = _expected([-flow for flow in WEEKLY_OUTFLOWS], cash)
    assert expected["status"] == "burning" and expected["runway_months"] == "6.7"  # 39,200.00 / 5,850.00
    forecast, kpis = _settle(stack, db, org_id, expected)
    assert kpis["cash"] == forecast
    entries = kpis["kpis"]
    assert entries["net_burn"]["value"] == forecast["burn_monthly_minor"] == 5850_00
    assert entries["runway_months"]["value"] == float(Decimal(forecast["runway_months"])) == 6.7
    assert entries["runway_months"]["basis"] == "cash_forecast" and entries["runway_months"]["previous"] is None
    # The library's monthly series still exists (trends, alerts, BigQuery); kpis/current does not show it.
    assert entries["cash_position"]["value"] == cash

    # An inflow in the last complete week: the forecast is net positive, not burning, no runway in months.
    inflow = dated(
        event(org_id, "inflow", 1, account="1000", period=days[-1].isoformat()[:7], amount="20000.00"), days[-1]
    )
    publish(stack, [inflow])
    wait_for_events(db, org_id, len(events) + 1, timeout=240)
    flows = [-flow for flow in WEEKLY_OUTFLOWS]
    flows[-1] += 20_000_00
    expected = _expected(flows, cash + 20_000_00)
    assert expected["status"] == "not_burning"
    forecast, kpis = _settle(stack, db, org_id, expected)
    assert kpis["kpis"]["runway_months"]["value"] is None and kpis["kpis"]["runway_months"]["status"] == "not_burning"
    assert kpis["kpis"]["net_burn"]["value"] == 0 and kpis["cash"]["runway_weeks"] is None


BELOW = "runway-below-6"
ABOVE = "runway-above-24"


def _runway_rule(rule_id: str, direction: str, months: str) -> dict:
    return {
        "name": f"Runway {direction} {months} months",
        "type": "absolute",
        "direction": direction,
        "threshold": months,
        "severity": "critical",
        "target": {"metric": "runway_months"},
        "channels": [],
    }


def _alert(db, org_id: str, rule_id: str) -> dict | None:
    alerts = [s.to_dict() or {} for s in db.collection(f"organizations/{org_id}/alerts").stream()]
    return next((alert for alert in alerts if alert.get("rule_id") == rule_id), None)


def _wait_alert(db, org_id: str, rule_id: str, status: str) -> dict:
    return wait_until(
        lambda: (alert := _alert(db, org_id, rule_id)) and alert.get("status") == status and alert,
        timeout=300,
        what=f"the alert of {rule_id} {status}",
    )


def test_a_runway_rule_judges_the_cash_forecast_not_burning_never_fires_it_and_a_burn_does(stack, db, org_id):
    today = date.today()
    _org(db, org_id, today)
    rules = db.collection(f"organizations/{org_id}/alert_rules")
    rules.document(BELOW).set(_runway_rule(BELOW, "below", "6"))
    # Fires while cash is not burning (cash that never runs out lasts longer than 24 months): the sign
    # that the forecast was judged, beside which "runway below 6" must have no alert.
    rules.document(ABOVE).set(_runway_rule(ABOVE, "above", "24"))
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=8 - week) + timedelta(days=2) for week in range(8)]
    opening = 30_000_00
    events = [event(org_id, "opening", 1, account="1000", period=days[0].isoformat()[:7], amount="30000.00")]
    events += [
        dated(event(org_id, f"in-{n}", 1, account="1000", period=day.isoformat()[:7], amount="100.00"), day)
        for n, day in enumerate(days)
    ]
    events.append(event(org_id, "sale", 1, period=today.isoformat()[:7], amount="10.00"))
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=240)
    flows = [100_00] * 8
    _settle(stack, db, org_id, _expected(flows, opening + sum(flows)))
    signal = _wait_alert(db, org_id, ABOVE, "active")
    assert "not burning" in signal["description"]
    assert _alert(db, org_id, BELOW) is None, "a forecast that is not burning fired 'runway below 6 months'"

    # Outflows in the same weeks: the forecast burns, 3.6 months of runway, and the rule fires with that figure.
    outflows = [
        dated(
            event(org_id, f"out-{n}", 1, account="1000", period=day.isoformat()[:7], amount=f"-{flow / 100:.2f}"), day
        )
        for n, (day, flow) in enumerate(zip(days, WEEKLY_OUTFLOWS, strict=True))
    ]
    publish(stack, outflows)
    wait_for_events(db, org_id, len(events) + len(outflows), timeout=240)
    flows = [100_00 - flow for flow in WEEKLY_OUTFLOWS]
    expected = _expected(flows, opening + sum(flows))
    assert expected["runway_months"] == "3.6"  # 20,000.00 / (1,250.00 x 13 / 3)
    forecast, _ = _settle(stack, db, org_id, expected)
    fired = _wait_alert(db, org_id, BELOW, "active")
    assert Decimal(str(fired["current_value"])) == Decimal(forecast["runway_months"])
    assert (
        f"now is {forecast['runway_months']} months (13-week cash forecast of {forecast['as_of']})"
        in (fired["description"])
    )
    assert fired["period"] == today.isoformat()[:7]
    _wait_alert(db, org_id, ABOVE, "resolved")

    # The forecast's write delivered again (the same event id): the alert counts it once.
    snapshot = db.document(f"organizations/{org_id}/trends/cash__forecast").get()
    before = new_state({**(snapshot.to_dict() or {}), "runway": {"status": "no_history"}})
    again = FirestoreEvent(snapshot.reference.path, before, state_of(snapshot))
    counted = exact_count(db, org_id, _alert(db, org_id, BELOW))
    for _ in range(2):
        assert deliver(stack, "evaluate_runway_alerts", again).status_code == 200
    assert exact_count(db, org_id, _alert(db, org_id, BELOW)) == counted + 1
