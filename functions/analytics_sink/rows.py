"""Turns a decoded change message into its `financial_facts` row (account type from the org's chart)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.errors import PermanentError
from finance_core.analytics_rows import FinancialFact
from finance_core.facts import FactError, fact_row, parse_timestamp
from finance_core.money import MoneyError
from finance_core.reference import OrgReference
from pydantic import ValidationError


def fact_from_change(change: Mapping[str, Any], reference: OrgReference | None) -> FinancialFact:
    """The row of one change; PermanentError (with the reason) when the change cannot become one.

    An upsert row carries the record after the change; a delete row the record it removed, with
    the delete's version and event id, so `financial_records_latest` can rank the two.
    """
    org_id = change.get("org_id")
    if reference is None:
        raise PermanentError(f"organization {org_id!r} does not exist: no chart to read the account type from")
    op = change.get("op")
    if op not in ("upsert", "delete"):
        raise PermanentError(f"change {change.get('change_id')} has op {op!r}; expected upsert or delete")
    state = change.get("after") if op == "upsert" else change.get("before")
    if state is None:
        side = "after" if op == "upsert" else "before"
        raise PermanentError(f"change {change.get('change_id')} ({op}) has no '{side}' record state")
    if state.account_id not in reference.chart:
        raise PermanentError(
            f"account {state.account_id!r} of record {state.record_id} is not in the chart of accounts of {org_id} "
            "(no account type); restore the account, then replay the dead letters"
        )
    try:
        ingested_at = parse_timestamp(str(change["changed_at"]))
        return fact_row(
            state,
            op=op,
            version=int(change["version"]),
            event_id=str(change["event_id"]),
            account_type=reference.chart.type_of(state.account_id).value,
            reporting_currency=change.get("reporting_currency") or reference.reporting_currency,
            ingested_at=ingested_at,
            # The message does not carry the source time of a delete; when it was applied is the
            # closest honest value.
            occurred_at=ingested_at if op == "delete" else None,
        )
    except (FactError, MoneyError, ValidationError, KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"change {change.get('change_id')} cannot become a fact row: {exc}") from exc


def row_json(row: FinancialFact) -> dict[str, Any]:
    """JSON body of a row for the streaming API: NUMERIC as decimal strings, DATE/TIMESTAMP as ISO."""
    return row.model_dump(mode="json")
