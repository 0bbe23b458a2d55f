"""Reference checks an event must pass (chart, entity, period lock, FX, decimals) and exact record states."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.events import EventRejected, FinancialEvent, parse_event
from finance_core.money import MoneyError
from finance_core.records import RecordState
from finance_core.reference import (
    OrgReference,
    check_event,
    check_existing_record,
    check_period_open,
    record_state,
)

ROOT = Path(__file__).resolve().parents[2]

CHART = ChartOfAccounts(
    [
        Account("4000", "Revenue", AccountType.REVENUE),
        Account("4100", "Product revenue", AccountType.REVENUE, "4000"),
        Account("4200", "Subscription revenue", AccountType.REVENUE, "4000"),
        Account("5100", "Materials", AccountType.COGS),
    ]
)
RATES = OrgReference.parse_rates(
    {
        "2026-09": {"EUR": "1.157688", "updated_at": "2026-10-01T00:00:00Z"},  # a flat map with another field
        "2026-10": {"rates": {"EUR": "1.137201", "BHD": "2.65", "JPY": "0.0067", "GBP": "0.5"}},
    }
)
REFERENCE = OrgReference(
    org_id="acme",
    reporting_currency="USD",
    chart=CHART,
    entity_currencies={"us-east": "USD", "eu-central": "EUR", "bahrain": "BHD"},
    period_status={"2026-08": "closed", "2026-09": "closed", "2026-10": "open", "2026-11": "open"},
    fx_rates=RATES,
)


def event(version: int = 1, *, delete: bool = False, **record: Any) -> FinancialEvent:
    body: dict[str, Any] = {
        "event_id": f"e-{version}",
        "type": "record.deleted" if delete else "record.upserted",
        "org_id": "acme",
        "record_id": "JE-1",
        "version": version,
        "occurred_at": "2026-10-05T12:00:00Z",
    }
    if not delete:
        body["record"] = {
            "entity_id": "us-east",
            "account_id": "4100",
            "period": "2026-10",
            "scenario": "actual",
            "amount": "100.00",
            "currency": "USD",
            **record,
        }
    return parse_event(body)


def rejected(e: FinancialEvent, reference: OrgReference = REFERENCE) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        check_event(e, reference)
    assert (info.value.org_id, info.value.event_id) == ("acme", e.event_id), "kept for the dead letter"
    return info.value


def stored(period: str, *, deleted: bool = False) -> RecordState:
    if deleted:
        return RecordState("acme", "JE-1", 1, "e-0", deleted=True)
    return RecordState(
        "acme",
        "JE-1",
        1,
        "e-0",
        entity_id="us-east",
        account_id="4100",
        period=period,
        scenario="actual",
        amount=Decimal("1.00"),
        currency="USD",
        amount_minor=100,
        reporting_amount_minor=100,
    )


# --- check_event -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"currency": "EUR", "entity_id": "eu-central"},
        {"currency": "BHD", "amount": "1.234"},
        {"currency": "JPY", "amount": "1500"},
        {"account_id": "5100", "scenario": "budget"},
    ],
)
def test_a_valid_event_passes(record):
    assert check_event(event(**record), REFERENCE) is None


def test_an_unknown_account_is_rejected():
    problem = rejected(event(account_id="4999"))
    assert problem.code == "unknown_account"
    assert problem.reason == "account '4999' is not in the chart of accounts (organizations/acme/accounts)"


def test_a_summary_account_rejects_postings_and_names_its_children():
    problem = rejected(event(account_id="4000"))
    assert problem.code == "summary_account"
    assert "account '4000' is a summary account" in problem.reason
    assert "rolls up from 4100, 4200" in problem.reason and "post to one of those" in problem.reason


def test_an_unknown_entity_is_rejected():
    problem = rejected(event(entity_id="mars"))
    assert problem.code == "unknown_entity"
    assert problem.reason == "entity 'mars' does not exist (organizations/acme/entities)"


def test_a_period_that_is_not_set_up_is_rejected():
    problem = rejected(event(period="2027-01"))
    assert problem.code == "unknown_period"
    assert "period 2027-01 is not set up (organizations/acme/periods/2027-01)" in problem.reason
    assert "status 'open'" in problem.reason


def test_a_closed_period_rejects_changes():
    problem = rejected(event(period="2026-09", currency="USD"))
    assert problem.code == "period_closed"
    assert problem.reason == "period 2026-09 is closed: changes to a closed period are not accepted"


def test_a_missing_fx_rate_is_rejected_with_the_document_to_fill():
    problem = rejected(event(period="2026-11", currency="EUR", entity_id="eu-central"))
    assert problem.code == "missing_fx_rate"
    assert problem.reason == "no FX rate from EUR to USD for 2026-11 (organizations/acme/fx_rates/2026-11)"


def test_the_reporting_currency_needs_no_rate():
    assert check_event(event(period="2026-11"), REFERENCE) is None, "2026-11 has no rates at all"


@pytest.mark.parametrize(
    ("amount", "currency", "allowed"),
    [("1.5", "JPY", 0), ("0.125", "USD", 2), ("1.2345", "BHD", 3)],
)
def test_too_many_decimals_for_the_currency_are_rejected(amount, currency, allowed):
    problem = rejected(event(amount=amount, currency=currency))
    assert problem.code == "invalid_amount"
    assert problem.reason == f"amount {amount} has more decimals than {currency} allows ({allowed})"


def test_a_delete_carries_nothing_to_check():
    assert check_event(event(2, delete=True), REFERENCE) is None
    assert check_period_open(event(2, delete=True), REFERENCE) is None


def test_check_period_open_alone():
    assert check_period_open(event(period="2026-10"), REFERENCE) is None
    with pytest.raises(EventRejected) as info:
        check_period_open(event(period="2026-08"), REFERENCE)
    assert info.value.code == "period_closed"


def test_the_demo_org_accepts_a_line_of_its_current_period():
    raw = json.loads((ROOT / "demo_data" / "reference.json").read_text())
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in raw["accounts"]})
    demo = OrgReference(
        org_id="northwind",
        reporting_currency=raw["org"]["reporting_currency"],
        chart=chart,
        entity_currencies={e["entity_id"]: e["currency"] for e in raw["entities"]},
        period_status={p: doc["status"] for p, doc in raw["periods"].items()},
        fx_rates=OrgReference.parse_rates(raw["fx_rates"]),
    )
    current = raw["current_period"]
    line = parse_event(
        {
            "event_id": "d1",
            "type": "record.upserted",
            "org_id": "northwind",
            "record_id": "d1",
            "version": 1,
            "occurred_at": "2026-11-02T08:00:00Z",
            "record": {
                "entity_id": "eu-central",
                "account_id": "6100",
                "period": current,
                "scenario": "actual",
                "amount": "1000.00",
                "currency": "EUR",
            },
        }
    )
    check_event(line, demo)
    assert record_state(line, demo).reporting_amount_minor == round(1000_00 * Decimal(raw["fx_rates"][current]["EUR"]))


# --- check_existing_record ---------------------------------------------------------------------


def test_a_record_in_a_closed_period_cannot_be_changed_or_moved_out():
    with pytest.raises(EventRejected) as info:
        check_existing_record(event(2, period="2026-10"), stored("2026-09"), REFERENCE)
    assert info.value.code == "period_closed"
    assert info.value.reason == "record JE-1 belongs to closed period 2026-09: cannot change it"


def test_a_record_in_a_closed_period_cannot_be_deleted():
    with pytest.raises(EventRejected, match="belongs to closed period 2026-09: cannot delete it"):
        check_existing_record(event(2, delete=True), stored("2026-09"), REFERENCE)


@pytest.mark.parametrize("current", [None, stored("2026-10"), stored("2026-09", deleted=True)])
def test_records_in_open_periods_new_records_and_tombstones_may_change(current):
    assert check_existing_record(event(2), current, REFERENCE) is None
    assert check_existing_record(event(2, delete=True), current, REFERENCE) is None


# --- record_state ------------------------------------------------------------------------------


def test_a_record_in_the_reporting_currency():
    state = record_state(event(3, amount="12345.67", memo="note", source="netsuite"), REFERENCE)
    assert state == RecordState(
        org_id="acme",
        record_id="JE-1",
        version=3,
        event_id="e-3",
        entity_id="us-east",
        account_id="4100",
        period="2026-10",
        scenario="actual",
        amount=Decimal("12345.67"),
        currency="USD",
        amount_minor=1234567,
        reporting_amount_minor=1234567,
        occurred_at="2026-10-05T12:00:00+00:00",
        source="netsuite",
        memo="note",
    )
    assert state.is_live


def test_a_euro_record_is_converted_at_the_rate_of_its_period():
    state = record_state(event(amount="100.00", currency="EUR", entity_id="eu-central"), REFERENCE)
    assert state.amount_minor == 100_00 and state.currency == "EUR"
    assert state.reporting_amount_minor == 113_72  # 100.00 x 1.137201 = 113.7201 USD


def test_fx_conversion_rounds_half_even_once():
    # GBP at 0.5 USD/GBP: 0.25 GBP -> 0.125 USD -> 0.12; 0.27 GBP -> 0.135 USD -> 0.14.
    assert record_state(event(amount="0.25", currency="GBP"), REFERENCE).reporting_amount_minor == 12
    assert record_state(event(amount="0.27", currency="GBP"), REFERENCE).reporting_amount_minor == 14


def test_three_and_zero_decimal_currencies():
    bhd = record_state(event(amount="1.234", currency="BHD"), REFERENCE)
    assert bhd.amount_minor == 1234  # fils
    assert bhd.reporting_amount_minor == 327  # 1.234 x 2.65 = 3.2701 USD
    jpy = record_state(event(amount="1500", currency="JPY"), REFERENCE)
    assert jpy.amount_minor == 1500
    assert jpy.reporting_amount_minor == 10_05  # 1500 x 0.0067 = 10.05 USD


def test_a_delete_has_no_record_state():
    with pytest.raises(ValueError, match="a delete has no record state"):
        record_state(event(2, delete=True), REFERENCE)


# --- reference data ----------------------------------------------------------------------------


def test_rates_periods_and_lock():
    assert REFERENCE.rate("2026-10", "EUR") == Decimal("1.137201")
    assert REFERENCE.rate("2026-09", "EUR") == Decimal("1.157688")
    assert REFERENCE.rate("2026-11", "EUR") is None
    assert REFERENCE.rate("1999-01", "USD") == Decimal(1)
    assert REFERENCE.is_closed("2026-09") and not REFERENCE.is_closed("2026-10") and not REFERENCE.is_closed("2030-01")


def test_parse_rates_reads_nested_and_flat_documents():
    assert RATES == {
        "2026-09": {"EUR": Decimal("1.157688")},
        "2026-10": {
            "EUR": Decimal("1.137201"),
            "BHD": Decimal("2.65"),
            "JPY": Decimal("0.0067"),
            "GBP": Decimal("0.5"),
        },
    }


@pytest.mark.parametrize("rate", ["0", "-1.1", "n/a"])
def test_parse_rates_refuses_a_bad_rate(rate):
    with pytest.raises(MoneyError, match="FX rate"):
        OrgReference.parse_rates({"2026-10": {"rates": {"EUR": rate}}})
