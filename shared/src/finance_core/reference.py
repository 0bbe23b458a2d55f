"""An org's reference data and the checks an event must pass against it before it becomes a record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from finance_core.accounts import ChartOfAccounts
from finance_core.dimensions import Dimension, check_record_dimensions
from finance_core.events import EventRejected, FinancialEvent
from finance_core.money import MoneyError, convert_to_reporting_minor, parse_rate, to_minor
from finance_core.records import RecordState


@dataclass(frozen=True)
class OrgReference:
    """What ingestion needs to know about an org: its chart, entities, periods and FX rates."""

    org_id: str
    reporting_currency: str
    chart: ChartOfAccounts
    entity_currencies: Mapping[str, str]
    period_status: Mapping[str, str]
    fx_rates: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    fiscal_year_start_month: int = 1
    current_period: str | None = None
    # Declared record dimensions by name (the org document's `dimensions`); none by default.
    dimensions: Mapping[str, Dimension] = field(default_factory=dict)

    def rate(self, period: str, currency: str) -> Decimal | None:
        """Units of reporting currency per unit of `currency` in `period`, if known."""
        if currency == self.reporting_currency:
            return Decimal(1)
        return self.fx_rates.get(period, {}).get(currency)

    def is_closed(self, period: str) -> bool:
        """True if the period is locked against changes."""
        return self.period_status.get(period) == "closed"

    @staticmethod
    def parse_rates(documents: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, Decimal]]:
        """Rates from `fx_rates/{period}` documents `{"rates": {"EUR": "1.08"}}` (or flat maps)."""
        parsed: dict[str, dict[str, Decimal]] = {}
        for period, doc in documents.items():
            rates = doc.get("rates", doc)
            parsed[period] = {
                str(code): parse_rate(str(value))
                for code, value in dict(rates).items()  # type: ignore[call-overload]
                if isinstance(code, str) and len(code) == 3 and code.isupper()
            }
        return parsed


def check_event(event: FinancialEvent, reference: OrgReference) -> None:
    """Raise EventRejected (with a reason a person understands) if the event does not fit the org."""
    record = event.record
    if record is None:
        return
    where = f"organizations/{reference.org_id}"

    def reject(code: str, reason: str) -> EventRejected:
        return EventRejected(code, reason, event.org_id, event.event_id)

    if record.account_id not in reference.chart:
        raise reject(
            "unknown_account", f"account {record.account_id!r} is not in the chart of accounts ({where}/accounts)"
        )
    if not reference.chart.is_leaf(record.account_id):
        children = ", ".join(reference.chart.children(record.account_id))
        raise reject(
            "summary_account",
            f"account {record.account_id!r} is a summary account (its total rolls up from {children}); "
            "post to one of those",
        )
    if record.entity_id not in reference.entity_currencies:
        raise reject("unknown_entity", f"entity {record.entity_id!r} does not exist ({where}/entities)")
    check_period_open(event, reference)
    dimension_problem = check_record_dimensions(record.dimensions, reference.dimensions)
    if dimension_problem:
        raise reject(*dimension_problem)
    try:
        to_minor(record.decimal_amount, record.currency)
    except MoneyError as exc:
        raise reject("invalid_amount", str(exc)) from None
    if reference.rate(record.period, record.currency) is None:
        raise reject(
            "missing_fx_rate",
            f"no FX rate from {record.currency} to {reference.reporting_currency} for {record.period} "
            f"({where}/fx_rates/{record.period})",
        )


def check_period_open(event: FinancialEvent, reference: OrgReference) -> None:
    """Reject an upsert into a period that is closed or not set up (the period lock)."""
    if event.record is None:
        return
    period = event.record.period
    status = reference.period_status.get(period)
    if status is None:
        raise EventRejected(
            "unknown_period",
            f"period {period} is not set up (organizations/{reference.org_id}/periods/{period}); "
            "an admin opens it with status 'open'",
            event.org_id,
            event.event_id,
        )
    if status == "closed":
        raise EventRejected(
            "period_closed",
            f"period {period} is closed: changes to a closed period are not accepted",
            event.org_id,
            event.event_id,
        )


def check_existing_record(event: FinancialEvent, current: RecordState | None, reference: OrgReference) -> None:
    """Reject changes that would move or delete a record out of a closed period."""
    if current is None or current.deleted or current.period is None:
        return
    if reference.is_closed(current.period):
        action = "delete" if event.is_delete else "change"
        raise EventRejected(
            "period_closed",
            f"record {event.record_id} belongs to closed period {current.period}: cannot {action} it",
            event.org_id,
            event.event_id,
        )


def record_state(event: FinancialEvent, reference: OrgReference) -> RecordState:
    """The stored state an (already checked) upsert event produces, amounts converted exactly."""
    record = event.record
    if record is None:
        raise ValueError("a delete has no record state")
    amount = record.decimal_amount
    rate = reference.rate(record.period, record.currency)
    return RecordState(
        org_id=event.org_id,
        record_id=event.record_id,
        version=event.version,
        event_id=event.event_id,
        entity_id=record.entity_id,
        account_id=record.account_id,
        period=record.period,
        scenario=record.scenario.value,
        amount=amount,
        currency=record.currency,
        amount_minor=to_minor(amount, record.currency),
        reporting_amount_minor=convert_to_reporting_minor(amount, record.currency, reference.reporting_currency, rate),
        occurred_at=event.occurred_at.isoformat(),
        source=record.source,
        memo=record.memo,
        dimensions=dict(sorted(record.dimensions.items())) if record.dimensions else None,
        date=record.date,
    )
