"""Turns a decoded change message into its `financial_facts` row (account type from the org's chart)."""

from __future__ import annotations

from typing import Any

from adapters.errors import PermanentError
from finance_core.analytics_rows import FinancialFact
from finance_core.changes import ChangeMessage, RecordChange
from finance_core.facts import FactError, fact_row, parse_timestamp
from finance_core.money import MoneyError
from finance_core.reference import OrgReference
from pydantic import BaseModel, ValidationError


def fact_from_change(change: RecordChange, message: ChangeMessage, reference: OrgReference | None) -> FinancialFact:
    """The row of one record change; PermanentError (with the reason) when it cannot become one.

    An upsert row carries the record after the change; a delete row the record it removed, with
    the delete's version and event id, so `financial_records_latest` can rank the two.
    """
    org_id = message.org_id
    if reference is None:
        raise PermanentError(f"organization {org_id!r} does not exist: no chart to read the account type from")
    state = change.fact_state
    if state is None:
        raise PermanentError(
            f"change {message.change_id} of record {change.record_id} ({change.op}) has no record state"
        )
    if state.account_id is None or state.account_id not in reference.chart:
        raise PermanentError(
            f"account {state.account_id!r} of record {state.record_id} is not in the chart of accounts of {org_id} "
            "(no account type); restore the account, then replay the dead letters"
        )
    try:
        ingested_at = parse_timestamp(message.changed_at)
        return fact_row(
            state,
            op=change.op,
            version=change.version,
            event_id=change.event_id,
            account_type=reference.chart.type_of(state.account_id).value,
            reporting_currency=message.reporting_currency or reference.reporting_currency,
            ingested_at=ingested_at,
            # The delete's source time is on its tombstone; when it was applied is the fallback.
            occurred_at=(change.after.occurred_at and parse_timestamp(change.after.occurred_at)) or ingested_at
            if change.op == "delete"
            else None,
        )
    except (FactError, MoneyError, ValidationError, KeyError, TypeError, ValueError) as exc:
        raise PermanentError(
            f"change {message.change_id} of record {change.record_id} cannot become a fact row: {exc}"
        ) from exc


def row_json(row: BaseModel) -> dict[str, Any]:
    """JSON body of a row for the streaming API: NUMERIC as decimal strings, DATE/TIMESTAMP as ISO."""
    return row.model_dump(mode="json")
