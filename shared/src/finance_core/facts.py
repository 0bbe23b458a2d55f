"""Rows of `financial_facts` from record states, the latest-state rule its view applies, and replay plans."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from finance_core.analytics_rows import FactDimension, FinancialFact
from finance_core.money import from_minor
from finance_core.periods import first_day
from finance_core.records import RecordState

FactOp = Literal["upsert", "delete"]


class FactError(ValueError):
    """A record state that cannot become a fact row (missing fields, account not in the chart)."""


def parse_timestamp(text: str) -> datetime:
    """Aware datetime of an RFC 3339 / ISO 8601 string ('Z' or an offset; naive means UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fact_row(
    state: RecordState,
    *,
    op: FactOp,
    version: int,
    event_id: str,
    account_type: str,
    reporting_currency: str,
    ingested_at: datetime,
    occurred_at: datetime | None = None,
) -> FinancialFact:
    """The `financial_facts` row of one change.

    For an upsert `state` is the record after the change; for a delete it is the record that was
    removed (the row keeps its entity, account, period and amounts so the changelog reads on its
    own), with the delete's version and event id. `occurred_at` defaults to the state's own.
    """
    missing = [
        name
        for name in ("entity_id", "account_id", "period", "scenario", "amount", "currency", "reporting_amount_minor")
        if getattr(state, name) is None
    ]
    if missing:
        raise FactError(f"record {state.record_id} of {state.org_id} lacks {', '.join(missing)}")
    if occurred_at is None:
        occurred_at = parse_timestamp(state.occurred_at) if state.occurred_at else ingested_at
    return FinancialFact(
        event_id=event_id,
        org_id=state.org_id,
        record_id=state.record_id,
        version=version,
        op=op,
        entity_id=str(state.entity_id),
        account_id=str(state.account_id),
        account_type=account_type,
        period=first_day(str(state.period)),
        booking_date=date.fromisoformat(state.date) if state.date else None,
        scenario=str(state.scenario),
        amount=state.amount,  # type: ignore[arg-type]
        currency=str(state.currency),
        reporting_amount=from_minor(int(state.reporting_amount_minor), reporting_currency),  # type: ignore[arg-type]
        reporting_currency=reporting_currency,
        source=state.source,
        occurred_at=occurred_at,
        ingested_at=ingested_at,
        dimensions=[FactDimension(name=name, value=value) for name, value in sorted((state.dimensions or {}).items())],
    )


def rank_key(row: FinancialFact) -> tuple[int, int, datetime]:
    """Ordering of the rows of one record, highest first, as `financial_records_latest` ranks them.

    The highest version wins; at equal versions a delete outranks the upsert it removed (a delete
    whose tombstone is gone carries the version it removed); then the latest ingestion. Rows that
    are still tied are copies of the same change (same content), so any of them will do.
    """
    return (row.version, 1 if row.op == "delete" else 0, row.ingested_at)


def top_rows(rows: Iterable[FinancialFact]) -> dict[tuple[str, str], FinancialFact]:
    """The top-ranked row of every (org_id, record_id), deletes included."""
    top: dict[tuple[str, str], FinancialFact] = {}
    for row in rows:
        key = (row.org_id, row.record_id)
        best = top.get(key)
        if (
            best is None
            or rank_key(row) > rank_key(best)
            or (rank_key(row) == rank_key(best) and row.event_id > best.event_id)
        ):
            top[key] = row
    return top


def latest_records(rows: Iterable[FinancialFact]) -> dict[tuple[str, str], FinancialFact]:
    """What `financial_records_latest` shows: the current state of every record, deleted ones removed.

    The reference semantics of the SQL view: any order and any duplication of the same rows give
    the same result.
    """
    return {key: row for key, row in top_rows(rows).items() if row.op == "upsert"}


def orphan_delete_event_id(record_id: str, version: int) -> str:
    """Event id of the delete row a replay writes for a record Firestore no longer knows."""
    return f"replay-delete-{record_id}-v{version}"


@dataclass
class ReplayPlan:
    """Rows a replay must write so the latest view equals Firestore, and what it left alone."""

    rows: list[FinancialFact] = field(default_factory=list)
    current: int = 0
    """Records whose top row in BigQuery already is their Firestore state."""
    upserts: int = 0
    deletes: int = 0
    conflicts: list[str] = field(default_factory=list)
    """Records whose BigQuery row is newer than Firestore (cannot be overruled by a replay)."""
    unknown_accounts: list[str] = field(default_factory=list)
    """Records whose account is no longer in the chart (no account type to write)."""


def plan_replay(
    *,
    records: Iterable[RecordState],
    tombstones: Iterable[RecordState],
    top_in_bigquery: Mapping[str, FinancialFact],
    account_type: Callable[[str], str | None],
    reporting_currency: str,
    updated_at: Mapping[str, datetime],
    now: datetime,
) -> ReplayPlan:
    """Rows that bring the facts of one org in line with Firestore, written only where missing.

    - a live record whose top BigQuery row is not its (version, upsert, event id) gets its
      current-state row, with the same identity the streaming path used, so both collapse;
    - a tombstone whose record still shows as an older upsert gets a delete row (its version and
      event id, the removed record's fields);
    - a record BigQuery shows but Firestore has neither live nor tombstoned gets a delete row of
      the same version (a delete outranks the upsert of its version).
    Running a plan's rows twice changes nothing: the second plan is empty.
    `updated_at` maps record ids to when the backend wrote them (the streamed rows' ingested_at).
    """
    plan = ReplayPlan()
    seen: set[str] = set()
    for record in records:
        seen.add(record.record_id)
        top = top_in_bigquery.get(record.record_id)
        if top is not None and top.op == "upsert" and top.version == record.version and top.event_id == record.event_id:
            plan.current += 1
            continue
        if top is not None and (top.version, top.op == "delete") > (record.version, False):
            plan.conflicts.append(record.record_id)
            continue
        kind = account_type(str(record.account_id))
        if kind is None:
            plan.unknown_accounts.append(record.record_id)
            continue
        plan.rows.append(
            fact_row(
                record,
                op="upsert",
                version=record.version,
                event_id=record.event_id,
                account_type=kind,
                reporting_currency=reporting_currency,
                ingested_at=updated_at.get(record.record_id, now),
            )
        )
        plan.upserts += 1
    for tombstone in tombstones:
        seen.add(tombstone.record_id)
        top = top_in_bigquery.get(tombstone.record_id)
        if top is None or top.op == "delete":
            plan.current += 1
            continue
        if top.version >= tombstone.version:
            plan.conflicts.append(tombstone.record_id)
            continue
        plan.rows.append(
            top.model_copy(
                update={
                    "op": "delete",
                    "version": tombstone.version,
                    "event_id": tombstone.event_id,
                    "ingested_at": now,
                    "occurred_at": parse_timestamp(tombstone.occurred_at) if tombstone.occurred_at else now,
                }
            )
        )
        plan.deletes += 1
    for record_id, top in sorted(top_in_bigquery.items()):
        if record_id in seen or top.op == "delete":
            continue
        plan.rows.append(
            top.model_copy(
                update={
                    "op": "delete",
                    "event_id": orphan_delete_event_id(record_id, top.version),
                    "ingested_at": now,
                    "occurred_at": now,
                }
            )
        )
        plan.deletes += 1
    return plan
