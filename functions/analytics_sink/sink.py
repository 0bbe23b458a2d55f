"""Handles one change message: its fact row streamed into BigQuery, or the message parked with the reason."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from enum import StrEnum

from adapters.errors import PermanentError, TransientError
from adapters.reference_store import ReferenceDataError, ReferenceStore
from finance_core.analytics_rows import FinancialFact
from finance_core.reference import OrgReference
from realtime_processor.change_events import decode_change

from analytics_sink.dead_letters import DeadLetterParker
from analytics_sink.rows import fact_from_change
from analytics_sink.writer import FactWriter

log = logging.getLogger(__name__)

REFERENCE_ATTEMPTS = 3


class SinkOutcome(StrEnum):
    """What happened to one change message."""

    WRITTEN = "written"
    PARKED = "parked"


class AnalyticsSink:
    """Change message -> FinancialFact -> BigQuery; anything that cannot be written is parked, never dropped."""

    def __init__(self, references: ReferenceStore, writer: FactWriter, parker: DeadLetterParker,
                 sleep: Callable[[float], None] = time.sleep):
        self._references = references
        self._writer = writer
        self._parker = parker
        self._sleep = sleep

    def row_of(self, data: bytes) -> FinancialFact:
        """The fact row of a change message; PermanentError or TransientError (reference data) if none."""
        try:
            change = decode_change(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(f"undecodable change message: {exc}") from exc
        org_id = change["org_id"]
        reference = self._reference(org_id)
        state = change.get("after") if change.get("op") == "upsert" else change.get("before")
        if reference is None or (state is not None and state.account_id not in reference.chart):
            # The instance's cached chart may predate the org or the account (it is kept up to
            # REFERENCE_CACHE_SECONDS): look again before calling the change unwritable.
            self._references.invalidate(org_id)
            reference = self._reference(org_id)
        return fact_from_change(change, reference)

    def _reference(self, org_id: str) -> OrgReference | None:
        for attempt in range(REFERENCE_ATTEMPTS):
            try:
                return self._references.get(org_id)
            except TransientError:
                if attempt == REFERENCE_ATTEMPTS - 1:
                    raise
                self._sleep(0.5 * 2**attempt)
            except ReferenceDataError as exc:
                raise PermanentError(str(exc)) from exc
        return None

    def handle(self, data: bytes, attributes: Mapping[str, str]) -> SinkOutcome:
        """Write the change's row (retrying in-process), else park the message with the reason."""
        org_id, change_id = _identity(data, attributes)
        try:
            row = self.row_of(data)
        except (PermanentError, TransientError) as exc:
            self._parker.park(data, attributes, str(exc), org_id, change_id)
            return SinkOutcome.PARKED
        result = self._writer.write([row])
        if result.failed:
            self._parker.park(data, attributes, result.failed[0], org_id, change_id)
            return SinkOutcome.PARKED
        log.debug("change %s of %s written to %s", change_id, org_id, self._writer.table_id)
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
