"""The close checklist of a month: each of its four questions answered from what the pipeline left behind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from finance_core.period_close import ItemState, close_checklist, rejection_of

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def rejected(record_id: str, period: str, code: str = "unknown_account", at: datetime = T0) -> dict:
    raw = {"event_id": f"e-{record_id}", "record": {"record_id": record_id, "period": period, "amount": "1.00"}}
    return {"raw": json.dumps(raw), "code": code, "reason": f"{code} in {record_id}", "received_at": at}


def states(**kwargs) -> dict[str, tuple[str, str]]:
    defaults = dict(
        changes_pending=0,
        rejections=[],
        stored_since={},
        reconciliation={"keys_checked": 120, "repaired": 0, "last_run_at": T0},
        pack_delivered=True,
        pack_made=True,
    )
    items = close_checklist("2026-10", **{**defaults, **kwargs})
    return {i.key: (i.state.value, i.detail) for i in items}


def test_a_clean_month_is_done_on_every_line():
    assert {k: s for k, (s, _) in states().items()} == dict.fromkeys(
        ["loads_applied", "rejects_resolved", "reconciliation_clean", "pack_sent"], "done"
    )


def test_each_line_says_what_needs_attention():
    assert states(changes_pending=3)["loads_applied"] == (
        "attention",
        "3 change(s) still being applied: wait a moment before closing",
    )
    rejections = [
        rejection_of(rejected("JE-1", "2026-10")),
        rejection_of(rejected("JE-2", "2026-10", "missing_fx_rate")),
        rejection_of(rejected("JE-3", "2026-09")),
    ]
    state, detail = states(rejections=rejections, stored_since={"JE-1": T0 + timedelta(minutes=5)})["rejects_resolved"]
    assert state == "attention" and detail.startswith("1 rejected line(s) not corrected yet (1 missing_fx_rate)")
    corrected = {"JE-1": T0 + timedelta(minutes=5), "JE-2": T0 + timedelta(minutes=6)}
    assert states(rejections=rejections, stored_since=corrected)["rejects_resolved"][0] == "done"
    stale = {"JE-1": T0 - timedelta(days=1), "JE-2": None}  # stored before the rejection: not a correction
    assert states(rejections=rejections, stored_since=stale)["rejects_resolved"][1].startswith("2 rejected")
    assert states(reconciliation=None)["reconciliation_clean"][0] == "unknown"
    assert states(reconciliation={"keys_checked": 9, "repaired": 2})["reconciliation_clean"][0] == "attention"
    assert states(pack_delivered=False)["pack_sent"][0] == "attention"
    assert "request it in Reports" in states(pack_delivered=False, pack_made=False)["pack_sent"][1]


def test_any_rejection_document_is_read_without_failing():
    assert rejection_of({"raw": "not json", "code": "invalid_json"}).period is None
    upload = rejection_of({"raw": json.dumps({"upload_row": 4, "cells": {"record_id": "R", "period": "2026-10"}})})
    assert (upload.record_id, upload.period, upload.code) == ("R", "2026-10", "unknown")
    assert rejection_of({}).record_id is None and rejection_of({"raw": "[1, 2]"}).period is None
    assert ItemState("done") is ItemState.DONE
