"""The close checklist of a month: where its close stands, from what the pipeline left behind.

Four questions a controller asks before closing a month: are the loads applied, are the rejected
lines dealt with, do the aggregates reconcile with the records, and has the pack gone out. Each is
answered `done`, `attention` (with what to look at) or `unknown` (nothing to judge by yet). The
shell (functions/operations/close.py) reads the documents; this decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ItemState(StrEnum):
    """How one question of the checklist stands."""

    DONE = "done"
    ATTENTION = "attention"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChecklistItem:
    """One line of the checklist: `key` for programs, `label` and `detail` for people."""

    key: str
    label: str
    state: ItemState
    detail: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"key": self.key, "label": self.label, "state": self.state.value, "detail": self.detail}


@dataclass(frozen=True)
class Rejection:
    """A rejected input of the org as stored in ingestion_errors, reduced to what the checklist needs."""

    record_id: str | None
    period: str | None
    code: str
    reason: str
    received_at: datetime | None


def rejection_of(document: Mapping[str, Any]) -> Rejection:
    """Read an `ingestion_errors` document: the record and period come from its raw input when it parses.

    The raw input is a contract-v1 event (`record`), a `records.batch` line, or an upload row (`cells`).
    """
    record: Mapping[str, Any] = {}
    try:
        raw = json.loads(str(document.get("raw") or ""))
    except ValueError:
        raw = None
    if isinstance(raw, Mapping):
        found = raw.get("record") or raw.get("cells") or {}
        if isinstance(found, Mapping):
            record = found
    received = document.get("received_at")
    record_id, period = record.get("record_id"), record.get("period")
    return Rejection(
        record_id=str(record_id) if isinstance(record_id, str) else None,
        period=str(period) if isinstance(period, str) else None,
        code=str(document.get("code") or "unknown"),
        reason=str(document.get("reason") or ""),
        received_at=received if isinstance(received, datetime) else None,
    )


def close_checklist(
    period: str,
    *,
    changes_pending: int,
    rejections: Iterable[Rejection],
    stored_since: Mapping[str, datetime | None],
    reconciliation: Mapping[str, Any] | None,
    pack_delivered: bool,
    pack_made: bool,
) -> list[ChecklistItem]:
    """The four lines of `period`'s close.

    `stored_since`: record id -> when the record was last stored (None: not stored); a rejection is
    resolved when its record was stored after it (a corrected line came in).
    `reconciliation`: the org's `data_quality/reconciliation` document (None: never run).
    """
    loads = (
        ChecklistItem("loads_applied", "Loads applied", ItemState.DONE, "every change is applied to the aggregates")
        if changes_pending == 0
        else ChecklistItem(
            "loads_applied",
            "Loads applied",
            ItemState.ATTENTION,
            f"{changes_pending} change(s) still being applied: wait a moment before closing",
        )
    )

    of_period = [r for r in rejections if r.period == period]
    open_rejections = []
    for rejection in of_period:
        stored = stored_since.get(rejection.record_id or "")
        if stored is None or rejection.received_at is None or stored <= rejection.received_at:
            open_rejections.append(rejection)
    if not of_period:
        rejects = ChecklistItem(
            "rejects_resolved", "Rejects resolved", ItemState.DONE, "no input of the month was rejected"
        )
    elif not open_rejections:
        rejects = ChecklistItem(
            "rejects_resolved",
            "Rejects resolved",
            ItemState.DONE,
            f"{len(of_period)} rejected line(s), each corrected since",
        )
    else:
        codes: dict[str, int] = {}
        for rejection in open_rejections:
            codes[rejection.code] = codes.get(rejection.code, 0) + 1
        listed = ", ".join(f"{count} {code}" for code, count in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])))
        example = open_rejections[0]
        rejects = ChecklistItem(
            "rejects_resolved",
            "Rejects resolved",
            ItemState.ATTENTION,
            f"{len(open_rejections)} rejected line(s) not corrected yet ({listed}); "
            f"e.g. {example.record_id or 'a line'}: {example.reason}",
        )

    if not reconciliation:
        clean = ChecklistItem(
            "reconciliation_clean",
            "Reconciliation clean",
            ItemState.UNKNOWN,
            "not run yet (nightly, or ./dev reconcile --org ORG)",
        )
    elif reconciliation.get("skipped"):
        clean = ChecklistItem(
            "reconciliation_clean",
            "Reconciliation clean",
            ItemState.UNKNOWN,
            f"last run skipped: {reconciliation['skipped']}",
        )
    else:
        repaired = int(reconciliation.get("repaired") or 0)
        when = reconciliation.get("last_run_at")
        stamp = f" on {when:%Y-%m-%d %H:%M} UTC" if isinstance(when, datetime) else ""
        clean = ChecklistItem(
            "reconciliation_clean",
            "Reconciliation clean",
            ItemState.DONE if repaired == 0 else ItemState.ATTENTION,
            f"{int(reconciliation.get('keys_checked') or 0)} aggregates checked{stamp}, "
            + ("no drift" if repaired == 0 else f"{repaired} repaired: look at what changed before closing"),
        )

    if pack_delivered:
        pack = ChecklistItem("pack_sent", "Pack sent", ItemState.DONE, "the month's pack was e-mailed by a schedule")
    elif pack_made:
        pack = ChecklistItem(
            "pack_sent",
            "Pack sent",
            ItemState.ATTENTION,
            "the pack was made but not e-mailed: a period_close schedule sends it when you close",
        )
    else:
        pack = ChecklistItem(
            "pack_sent", "Pack sent", ItemState.ATTENTION, "no pack of the month yet: request it in Reports"
        )
    return [loads, rejects, clean, pack]
