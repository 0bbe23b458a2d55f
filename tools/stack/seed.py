"""Seeds an organisation from the bundled demo data set: reference documents, then history through the pipeline."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, pubsub_v1

from tools.stack.config import ROOT, StackConfig
from tools.stack.demo_users import create_demo_users

DEMO_DIR = ROOT / "demo_data"
EVENTS_TOPIC = "financial-events"
BATCHES_TOPIC = "financial-event-batches"
# Lines per records.batch message of the seed (the contract allows up to 1,000).
SEED_BATCH_LINES = 500


def demo_reference() -> dict[str, Any]:
    """Reference data of the demo org (org, entities, accounts, rates, periods, members, rules)."""
    return json.loads((DEMO_DIR / "reference.json").read_text())


def demo_records(path: Path = DEMO_DIR / "records.csv") -> list[dict[str, str]]:
    """The demo ledger lines (actuals, budget, forecast)."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def demo_history() -> list[dict[str, str]]:
    """Every line the demo loads before it streams: the P&L ledger, then the balance-sheet movements."""
    return demo_records() + demo_records(DEMO_DIR / "balance_sheet.csv")


def firestore_client(config: StackConfig) -> firestore.Client:
    """Admin Firestore client on the emulator."""
    config.apply_client_env()
    return firestore.Client(project=config.project_id, credentials=AnonymousCredentials())


def write_reference(
    db: firestore.Client, org_id: str, reference: Mapping[str, Any], alert_rules: Iterable[Mapping[str, Any]] = ()
) -> int:
    """Write the org's reference documents in batches; returns how many were written."""
    org = db.collection("organizations").document(org_id)
    writes: list[tuple[firestore.DocumentReference, dict[str, Any]]] = []
    org_doc = {k: v for k, v in reference["org"].items() if k != "org_id"}
    org_doc["current_period"] = reference.get("current_period")
    writes.append((org, org_doc))
    for member in reference.get("members", []):
        writes.append(
            (
                org.collection("members").document(member["uid"]),
                {
                    "uid": member["uid"],
                    "role": member["role"],
                    "display_name": member.get("display_name", member["uid"]),
                },
            )
        )
    for entity in reference["entities"]:
        writes.append(
            (
                org.collection("entities").document(entity["entity_id"]),
                {k: v for k, v in entity.items() if k != "entity_id"},
            )
        )
    for account in reference["accounts"]:
        writes.append(
            (
                org.collection("accounts").document(account["account_id"]),
                {k: v for k, v in account.items() if k != "account_id"},
            )
        )
    for period, rates in reference["fx_rates"].items():
        writes.append((org.collection("fx_rates").document(period), {"rates": rates}))
    for period, doc in reference["periods"].items():
        writes.append((org.collection("periods").document(period), doc))
    for rule in alert_rules:
        writes.append((org.collection("alert_rules").document(rule["rule_id"]), dict(rule)))
    for start in range(0, len(writes), 400):
        batch = db.batch()
        for ref, body in writes[start : start + 400]:
            batch.set(ref, body)
        batch.commit()
    return len(writes)


def record_event(org_id: str, row: Mapping[str, str], version: int = 1, event_id: str | None = None) -> dict[str, Any]:
    """A contract-v1 upsert event for a demo ledger line."""
    record = {k: row[k] for k in ("entity_id", "account_id", "period", "scenario", "amount", "currency")}
    for optional in ("source", "date"):
        if row.get(optional):
            record[optional] = row[optional]
    return {
        "event_id": event_id or f"seed-{row['record_id']}-v{version}",
        "type": "record.upserted",
        "org_id": org_id,
        "record_id": row["record_id"],
        "version": version,
        "occurred_at": f"{row['period']}-28T12:00:00Z",
        "record": record,
    }


def publish_events(
    config: StackConfig, events: Iterable[Mapping[str, Any] | bytes], progress: Callable[[int], None] | None = None
) -> int:
    """Publish events to financial-events with the official client; returns how many."""
    config.apply_client_env()
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(config.project_id, EVENTS_TOPIC)
    futures = []
    for index, event in enumerate(events, 1):
        data = event if isinstance(event, bytes) else json.dumps(event).encode()
        org = "" if isinstance(event, bytes) else str(event.get("org_id", ""))
        futures.append(publisher.publish(topic, data, org_id=org))
        if progress and index % 100 == 0:
            progress(index)
    for future in futures:
        future.result(timeout=60)
    return len(futures)


def records_batches(
    org_id: str, events: list[Mapping[str, Any]], batch_prefix: str, lines: int = SEED_BATCH_LINES
) -> list[dict[str, Any]]:
    """The events as records.batch messages of at most `lines` lines each."""
    return [
        {
            "type": "records.batch",
            "batch_id": f"{batch_prefix}-{start // lines + 1:04d}",
            "org_id": org_id,
            "events": list(events[start : start + lines]),
        }
        for start in range(0, len(events), lines)
    ]


def publish_batches(config: StackConfig, batches: Iterable[Mapping[str, Any]]) -> int:
    """Publish records.batch messages to financial-event-batches; returns how many lines they carry."""
    config.apply_client_env()
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(config.project_id, BATCHES_TOPIC)
    futures, lines = [], 0
    for batch in batches:
        futures.append(publisher.publish(topic, json.dumps(batch).encode(), org_id=str(batch["org_id"])))
        lines += len(batch["events"])
    for future in futures:
        future.result(timeout=60)
    return lines


def data_quality_counters(db: firestore.Client, org_id: str) -> dict[str, Any]:
    """The org's data-quality counters summed over their shards, as dashboards read them (empty before any)."""
    from finance_core.health import data_quality_view

    shards = list(db.collection(f"organizations/{org_id}/data_quality/current/shards").stream())
    return data_quality_view(snap.to_dict() or {} for snap in shards) if shards else {}


def data_quality_total(db: firestore.Client, org_id: str) -> int:
    """How many deliveries the org's data-quality counters account for."""
    return int(data_quality_counters(db, org_id).get("total", 0))


def applied_change_count(db: firestore.Client, org_id: str) -> int:
    """How many record changes the record-changes trigger has applied to the org's aggregates."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = db.collection(f"organizations/{org_id}/record_changes").where(
        filter=FieldFilter("state", "in", ["applied", "published", "merged"])
    )
    result = query.sum("line_count").get()
    return int(result[0][0].value or 0)


def _wait_for_count(
    count: Callable[[], int], expected: int, timeout: float, what: str, progress: Callable[[int], None] | None
) -> int:
    deadline = time.monotonic() + timeout
    reached = 0
    while time.monotonic() < deadline:
        reached = count()
        if progress:
            progress(reached)
        if reached >= expected:
            return reached
        time.sleep(0.5)
    raise TimeoutError(f"only {reached} of {expected} {what} within {timeout:.0f}s (see .stack/logs/firebase.log)")


def wait_for_total(
    db: firestore.Client, org_id: str, expected: int, timeout: float, progress: Callable[[int], None] | None = None
) -> int:
    """Wait until the org's data-quality total reaches `expected` (every delivery accounted for)."""
    return _wait_for_count(
        lambda: data_quality_total(db, org_id), expected, timeout, f"events of {org_id} were processed", progress
    )


def wait_for_changes(
    db: firestore.Client, org_id: str, expected: int, timeout: float, progress: Callable[[int], None] | None = None
) -> int:
    """Wait until `expected` record changes went through the realtime processor (aggregates current)."""
    return _wait_for_count(
        lambda: applied_change_count(db, org_id),
        expected,
        timeout,
        f"record changes of {org_id} reached the aggregates",
        progress,
    )


def seed_demo(
    config: StackConfig, with_history: bool = True, org_id: str | None = None, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Seed the demo org: reference data, alert rules, and its history published through the pipeline."""
    from tools.demo.alert_rules import demo_alert_rules
    from tools.demo.metrics import write_demo_metrics

    reference = demo_reference()
    org_id = org_id or reference["org"]["org_id"]
    db = firestore_client(config)
    # History is loaded while every period is open; the books are closed afterwards, exactly as
    # a finance team would load an opening balance and then lock the past.
    opening = dict(reference, periods={p: {"status": "open"} for p in reference["periods"]})
    written = write_reference(db, org_id, opening if with_history else reference, demo_alert_rules())
    written += write_demo_metrics(db, org_id)
    progress(f"seeded {written} reference documents of {org_id} (with its KPI definitions)")
    if org_id == reference["org"]["org_id"]:
        create_demo_users(config, {m["uid"]: m.get("display_name", m["uid"]) for m in reference.get("members", [])})
        progress("demo sign-ins: see docs/web-dashboard.md (viewer@, editor@, admin@northwind.example)")
    if not with_history:
        return reference
    rows = demo_history()
    already = data_quality_total(db, org_id)
    events = [record_event(org_id, row) for row in rows]
    batches = records_batches(org_id, events, "seed-history")
    publish_batches(config, batches)
    progress(f"published {len(events)} historical lines in {len(batches)} batches; waiting for the pipeline")
    wait_for_total(db, org_id, already + len(events), timeout=600)
    wait_for_changes(db, org_id, len(events), timeout=900)
    close_periods(db, org_id, reference["periods"])
    return reference


def close_periods(db: firestore.Client, org_id: str, periods: Mapping[str, Mapping[str, Any]]) -> None:
    """Set the final open/closed status of every period."""
    batch = db.batch()
    for period, doc in periods.items():
        batch.set(db.document(f"organizations/{org_id}/periods/{period}"), dict(doc))
    batch.commit()
