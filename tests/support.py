"""Helpers the emulator tests share: seeding a test org, publishing events, waiting for the pipeline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from finance_core.aggregates import fold_shards

from tools.stack.seed import demo_reference, publish_events, write_reference

T = TypeVar("T")


def seed_org(
    db, org_id: str, all_periods_open: bool = False, rules: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """Write the demo org's reference data (chart, entities, rates, periods) under a test org id.

    Without its members: the demo sign-ins belong to the demo org only, so the orgs of tests and
    benchmarks never show in the demo viewer's list (a test that needs a member signs one up)."""
    reference = dict(demo_reference(), members=[])
    if all_periods_open:
        reference = dict(reference, periods={p: {"status": "open"} for p in reference["periods"]})
    write_reference(db, org_id, reference, rules)
    return reference


def event(
    org_id: str,
    record_id: str,
    version: int,
    *,
    entity: str = "us-east",
    account: str = "4100",
    period: str = "2026-10",
    scenario: str = "actual",
    amount: str = "100.00",
    currency: str = "USD",
    event_id: str | None = None,
    delete: bool = False,
) -> dict[str, Any]:
    """A contract-v1 event with sensible defaults."""
    body: dict[str, Any] = {
        "event_id": event_id or f"{record_id}-v{version}{'-del' if delete else ''}",
        "type": "record.deleted" if delete else "record.upserted",
        "org_id": org_id,
        "record_id": record_id,
        "version": version,
        "occurred_at": "2026-10-05T12:00:00Z",
    }
    if not delete:
        body["record"] = {
            "entity_id": entity,
            "account_id": account,
            "period": period,
            "scenario": scenario,
            "amount": amount,
            "currency": currency,
        }
    return body


def publish(stack, events: Iterable[Mapping[str, Any] | bytes]) -> int:
    """Publish to financial-events through the official client."""
    return publish_events(stack.config, events)


def wait_until(
    check: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.25, what: str = "condition"
) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what} (last value: {last!r}); see .stack/logs/firebase.log"
    )


def data_quality(db, org_id: str) -> dict[str, Any]:
    """The org's data-quality counters, summed over their shards as a dashboard does (empty before any event)."""
    from tools.stack.seed import data_quality_counters

    return data_quality_counters(db, org_id)


def wait_for_events(db, org_id: str, total: int, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until the org's data-quality counters account for `total` deliveries."""
    return wait_until(
        lambda: (dq := data_quality(db, org_id)) and dq.get("total", 0) >= total and dq,
        timeout,
        what=f"{total} events of {org_id} to be accounted for",
    )


def aggregate(db, org_id: str, doc_id: str) -> dict[str, Any] | None:
    """A readable aggregate document."""
    snap = db.document(f"organizations/{org_id}/aggregates/{doc_id}").get()
    return snap.to_dict() if snap.exists else None


def published_change_messages(db, org_id: str) -> dict[str, bytes]:
    """The change messages the record-changes trigger published for an org, by change id (rebuilt from
    the change documents exactly as the trigger encodes them)."""
    from finance_core.changes import encode_change_message
    from realtime_processor.processor import change_message

    documents = {
        snap.id: snap.to_dict() or {} for snap in db.collection(f"organizations/{org_id}/record_changes").stream()
    }
    messages = {}
    for change_id, doc in documents.items():
        if doc.get("state") == "published":
            merged = [documents[other] for other in doc.get("merged") or ()]
            message = change_message(change_id, org_id, [doc, *merged], doc["created_at"].isoformat())
            messages[change_id] = encode_change_message(message)
    return messages


def raw(body: Mapping[str, Any]) -> bytes:
    """JSON bytes of an event."""
    return json.dumps(body).encode()


def aggregate_drift(db, org_id: str, expected: Mapping[tuple[str, str, str], Mapping[str, Any]]) -> str:
    """Describe where the aggregates differ from `expected`: in the shards (a lost or doubled delta)
    or only in the readable fold (a missed refresh), key by key, so a failure says which part broke."""
    readable: dict[tuple[str, ...], dict[str, Any]] = {}
    shard_sums: dict[tuple[str, ...], dict[str, Any]] = {}
    for snap in db.collection(f"organizations/{org_id}/aggregates").stream():
        key = tuple(snap.id.split("__"))
        doc = snap.to_dict() or {}
        readable[key] = {
            "accounts": {a: int(v) for a, v in (doc.get("accounts") or {}).items() if int(v)},
            "record_count": int(doc.get("record_count") or 0),
        }
        folded = fold_shards({s.id: s.to_dict() or {} for s in snap.reference.collection("shards").stream()})
        shard_sums[key] = {"accounts": dict(folded.accounts), "record_count": folded.record_count}
    empty = {"accounts": {}, "record_count": 0}
    lines = []
    for key in sorted(set(expected) | set(readable)):
        want = dict(expected.get(key, empty))
        got, shards = readable.get(key, empty), shard_sums.get(key, empty)
        if got != want or shards != want:
            part = "shards" if shards != want else "readable fold only"
            lines.append(f"{'__'.join(key)} [{part}]: expected {want}, readable {got}, shards {shards}")
    states: dict[str, int] = {}
    for snap in db.collection(f"organizations/{org_id}/record_changes").stream():
        states[str(snap.get("state"))] = states.get(str(snap.get("state")), 0) + 1
    return f"{len(lines)} keys differ; change documents by state: {states}\n" + "\n".join(lines[:20])
