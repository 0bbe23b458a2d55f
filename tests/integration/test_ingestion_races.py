"""Chunks of lines racing on the same records (in-process, on the Firestore emulator): the result is always
that of some order of the lines, never a mix."""

from __future__ import annotations

import pytest
from adapters.reference_store import ReferenceStore
from finance_core.batches import IngestLine
from finance_core.events import parse_event
from finance_core.records import Outcome
from ingestion.store import IngestionStore, Parsed

from tests.support import event, raw, seed_org

pytestmark = pytest.mark.emulators


def _line(body: dict) -> Parsed:
    return Parsed(IngestLine(parse_event(body)), raw(body))


def _racing_store(db, org_id: str, racer: Parsed) -> IngestionStore:
    """A store that, right after its first read of the records, lets another delivery store `racer`."""
    store = IngestionStore(db)
    read = store._read_records
    raced: list[bool] = []

    def read_then_race(org, record_ids):
        snapshots = read(org, record_ids)
        if not raced:
            raced.append(True)
            IngestionStore(db).apply(org_id, [racer], ReferenceStore(db).get(org_id), source="racer")
        return snapshots

    store._read_records = read_then_race  # type: ignore[method-assign]
    return store


def _state(db, org_id: str, record_id: str) -> tuple[int | None, int | None]:
    record = db.document(f"organizations/{org_id}/financial_records/{record_id}").get()
    tombstone = db.document(f"organizations/{org_id}/deleted_records/{record_id}").get()
    return (record.get("version") if record.exists else None, tombstone.get("version") if tombstone.exists else None)


def test_a_new_record_racing_its_own_delete_ends_deleted(db, org_id):
    seed_org(db, org_id)
    delete = _line(event(org_id, "race-1", 2, delete=True))
    store = _racing_store(db, org_id, delete)
    [result] = store.apply(org_id, [_line(event(org_id, "race-1", 1))], ReferenceStore(db).get(org_id), source="test")
    # Read before the delete: no record, no tombstone. The delete committed first, so the upsert's
    # commit must fail and be planned again, seeing the newer tombstone.
    assert result.outcome is Outcome.STALE
    assert _state(db, org_id, "race-1") == (None, 2)


def test_a_delete_racing_the_creation_of_its_record_removes_it(db, org_id):
    seed_org(db, org_id)
    upsert = _line(event(org_id, "race-2", 1))
    store = _racing_store(db, org_id, upsert)
    [result] = store.apply(
        org_id, [_line(event(org_id, "race-2", 2, delete=True))], ReferenceStore(db).get(org_id), source="test"
    )
    assert result.outcome is Outcome.APPLIED
    assert _state(db, org_id, "race-2") == (None, 2)


def test_two_versions_racing_keep_the_higher(db, org_id):
    seed_org(db, org_id)
    store = _racing_store(db, org_id, _line(event(org_id, "race-3", 3, amount="3.00")))
    [result] = store.apply(
        org_id, [_line(event(org_id, "race-3", 2, amount="2.00"))], ReferenceStore(db).get(org_id), source="test"
    )
    assert result.outcome is Outcome.STALE
    assert _state(db, org_id, "race-3") == (3, None)
