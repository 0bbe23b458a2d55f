"""The data-quality counters of an org (or of messages of no known org): sharded, summed where they are read.

Every ingestion commit increments one of DATA_QUALITY_SHARDS shard documents under
`data_quality/current/shards/` (or `data_quality/global/shards/`). Nobody folds them on the
ingestion path, so concurrent deliveries never contend for a readable document: dashboards read
the shards now and then (the web dashboard every 10 s; a listener would pay a read per event) and
add them up (finance_core.health.data_quality_view), and so do the backend's readers here. The
pipeline health refresh writes the sum to `data_quality/current` once a minute, a snapshot for
readers that want one document.
"""

from __future__ import annotations

from typing import Any

from finance_core.health import data_quality_view
from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.shard_counters import shard_ref

DATA_QUALITY_SHARDS = 4


def counters_ref(db: firestore.Client, org_id: str | None) -> firestore.DocumentReference:
    """The document whose shards count an org's deliveries (None: messages of no known org)."""
    return db.document(f"{org_path(org_id)}/data_quality/current" if org_id else "data_quality/global")


def shard_refs(db: firestore.Client, org_id: str | None) -> list[firestore.DocumentReference]:
    """Every shard of an org's counters."""
    parent = counters_ref(db, org_id)
    return [shard_ref(parent, index) for index in range(DATA_QUALITY_SHARDS)]


def read_data_quality(db: firestore.Client, org_id: str | None) -> dict[str, Any]:
    """The counters summed over their shards, read in one round trip."""
    with map_exceptions(f"reading the data-quality counters of {org_id or 'unknown orgs'}"):
        snapshots = db.get_all(shard_refs(db, org_id))
        return data_quality_view(snap.to_dict() or {} for snap in snapshots if snap.exists)
