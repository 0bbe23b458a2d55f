"""Handles one change message: its fact rows (one per record change) streamed into BigQuery, or the message parked."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum

from adapters.errors import PermanentError, TransientError
from adapters.reference_store import ReferenceDataError, ReferenceStore
from adapters.retry import SERVICE_CALL, call_with_retry
from finance_core.analytics_rows import FinancialFact
from finance_core.changes import ChangeMessageError, decode_change_message
from finance_core.reference import OrgReference

from analytics_sink.dead_letters import DeadLetterParker
from analytics_sink.rows import fact_from_change
from analytics_sink.writer import FactWriter

log = logging.getLogger(__name__)

REFERENCE_READ = replace(SERVICE_CALL, attempts=3)


class SinkOutcome(StrEnum):
    """What happened to one change message."""

    WRITTEN = "written"
    PARKED = "parked"


class AnalyticsSink:
    """Change message -> FinancialFact -> BigQuery; anything that cannot be written is parked, never dropped."""

    def __init__(
        self,
        references: ReferenceStore,
        writer: FactWriter,
        parker: DeadLetterParker,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._references = references
        self._writer = writer
        self._parker = parker
        self._sleep = sleep

    def rows_of(self, data: bytes) -> list[FinancialFact]:
        """The fact rows of a change message; PermanentError or TransientError (reference data) if any is impossible."""
        try:
            message = decode_change_message(data)
        except ChangeMessageError as exc:
            raise PermanentError(str(exc)) from exc
        org_id = message.org_id
        reference = self._reference(org_id)
        accounts = {c.fact_state.account_id for c in message.changes if c.fact_state is not None}
        if reference is None or not accounts <= set(reference.chart):
            # The instance's cached chart may predate the org or the account (it is kept up to
            # REFERENCE_CACHE_SECONDS): look again before calling the change unwritable.
            self._references.invalidate(org_id)
            reference = self._reference(org_id)
        return [fact_from_change(change, message, reference) for change in message.changes]

    def _reference(self, org_id: str) -> OrgReference | None:
        try:
            return call_with_retry(
                lambda: self._references.get(org_id),
                REFERENCE_READ,
                what=f"reading the reference data of {org_id}",
                sleep=self._sleep,
            )
        except ReferenceDataError as exc:
            raise PermanentError(str(exc)) from exc

    def handle(self, data: bytes, attributes: Mapping[str, str]) -> SinkOutcome:
        """Write the message's rows (retrying in-process), else park the whole message with the reason.

        A re-driven message writes its rows again, including those that made it the first time:
        the views rank the copies away (financial_records_latest).
        """
        org_id, change_id = _identity(data, attributes)
        try:
            rows = self.rows_of(data)
        except (PermanentError, TransientError) as exc:
            self._parker.park(data, attributes, str(exc), org_id, change_id)
            return SinkOutcome.PARKED
        result = self._writer.write(rows)
        if result.failed:
            _, reason = min(result.failed.items())
            share = f" ({len(result.failed)} of {len(rows)} rows)" if len(rows) > 1 else ""
            self._parker.park(data, attributes, reason + share, org_id, change_id)
            return SinkOutcome.PARKED
        log.debug("change %s of %s: %d row(s) written to %s", change_id, org_id, len(rows), self._writer.table_id)
        return SinkOutcome.WRITTEN


def _identity(data: bytes, attributes: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Org and change id for logs and parking, from the attributes or the body (which may be broken)."""
    org_id = attributes.get("org_id")
    change_id = attributes.get("change_id")
    try:
        body = json.loads(data)
        org_id = org_id or body.get("org_id")
        change_id = change_id or body.get("change_id")
    except (ValueError, AttributeError):
        pass
    return org_id, change_id
