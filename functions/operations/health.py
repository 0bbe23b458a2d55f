"""The pipeline health documents: `organizations/{org}/data_quality/pipeline` per org and `pipeline_health/global`.

Computed every minute by `refresh_pipeline_health` (and by `./dev status`) from what the
pipeline leaves behind, never from counters on the hot path:
- backlog: change documents still pending or applied (not published), the oldest one's age;
- lag: publish-to-folded lag of the change messages folded in the window (stored on their change
  documents by refresh_aggregate_views), p50 / p99 / max;
- dead letters waiting on the hold subscriptions (and the sink's Firestore fallback), per org;
- rejected rate: rejected lines among the lines counted since the previous refresh (the shards
  of data_quality/current of each org, data_quality/global for messages of no known org);
- the last reconciliation and the drift it repaired (data_quality/reconciliation).

It also writes `data_quality/current` of each org: the sum of its shards as of this minute, for
readers that want one document (dashboards add up the shards: adapters/data_quality.py).
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from adapters.data_quality import counters_ref, shard_refs
from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.sweeps import OrgSweep
from finance_core.health import RECENT_SECONDS, OrgHealth, combine, data_quality_view
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

log = logging.getLogger(__name__)

ORG_DOC = "data_quality/pipeline"
GLOBAL_DOC = "pipeline_health/global"
RECORD_CHANGES = "record_changes"
FALLBACK_DEAD_LETTERS = "analytics_dead_letters"
WINDOW = timedelta(minutes=5)
BACKLOG_LIMIT = 5000
LAG_SAMPLE_LIMIT = 20_000


class HealthRefresher:
    """Computes and writes the health documents."""

    def __init__(
        self,
        db: firestore.Client,
        peek_dead_letters: Callable[[], Counter[str | None]],
        clock: Callable[[], datetime] = utc_now,
        window: timedelta = WINDOW,
    ):
        self._db = db
        self._peek = peek_dead_letters
        self._clock = clock
        self._window = window

    def refresh(self) -> dict[str, Any]:
        """Write every org's health document and the global one; returns the global body."""
        now = self._clock()
        with map_exceptions("listing organizations"):
            org_ids = sorted(org.id for org in self._db.collection("organizations").list_documents())
        healths = {org_id: OrgHealth(org_id) for org_id in org_ids}
        self._backlog(healths)
        self._lag(healths, now)
        unattributed = self._dead_letters(healths)
        self._documents(healths)
        sweep = OrgSweep("pipeline_health", skip_failed_orgs=False)
        for org_id, health in healths.items():
            body = health.document(now, int(self._window.total_seconds()))
            sweep.run(org_id, functools.partial(self._write_org, org_id, body, health.data_quality))
        total = combine(healths.values())
        total.dead_letters_waiting += unattributed
        global_counts, previous = self._global_counts()
        for name, value in global_counts.items():
            total.counts[name] = total.counts.get(name, 0) + value
        for name, value in previous.items():
            total.previous_counts[name] = total.previous_counts.get(name, 0) + value
        body = total.document(now, int(self._window.total_seconds()))
        body["orgs"] = len(org_ids)
        body["orgs_degraded"] = sorted(org for org, h in healths.items() if h.problems(now))[:100]
        body["unattributed_counts"] = global_counts
        self._write(GLOBAL_DOC, body)
        log.info(
            "pipeline health: %s",
            body["status"],
            extra={
                "json_fields": {
                    "health_status": body["status"],
                    "backlog_age_seconds": body["backlog"]["age_seconds"],
                    "lag_p50_ms": body["lag_ms"]["p50"],
                    "lag_p99_ms": body["lag_ms"]["p99"],
                    "dead_letters_waiting": body["dead_letters_waiting"],
                    "orgs_degraded": len(body["orgs_degraded"]),
                }
            },
        )
        sweep.finish()
        return body

    def _backlog(self, healths: dict[str, OrgHealth]) -> None:
        query = (
            self._db.collection_group(RECORD_CHANGES)
            .where(filter=FieldFilter("state", "in", ["pending", "applied"]))
            .order_by("created_at")
            .limit(BACKLOG_LIMIT)
            .select(["created_at"])
        )
        with map_exceptions("reading the change backlog"):
            for snap in query.stream():
                health = healths.get(snap.reference.parent.parent.id)
                if health is None:
                    continue
                health.unfinished_changes += 1
                created = snap.get("created_at")
                if created is not None and (
                    health.oldest_unfinished_at is None or created < health.oldest_unfinished_at
                ):
                    health.oldest_unfinished_at = created

    def _lag(self, healths: dict[str, OrgHealth], now: datetime) -> None:
        query = (
            self._db.collection_group(RECORD_CHANGES)
            .where(filter=FieldFilter("folded_at", ">", now - self._window))
            .limit(LAG_SAMPLE_LIMIT)
            .select(["lag_ms", "folded_at"])
        )
        recent_since = now - timedelta(seconds=RECENT_SECONDS)
        with map_exceptions("reading recent lag samples"):
            for snap in query.stream():
                health = healths.get(snap.reference.parent.parent.id)
                lag = snap.get("lag_ms")
                if health is not None and isinstance(lag, (int, float)):
                    health.lag_samples.append(float(lag))
                    folded_at = snap.get("folded_at")
                    if isinstance(folded_at, datetime) and folded_at >= recent_since:
                        health.recent_lag_samples.append(float(lag))

    def _dead_letters(self, healths: dict[str, OrgHealth]) -> int:
        waiting = self._peek()
        with map_exceptions("reading the sink's Firestore dead letters"):
            for snap in self._db.collection_group(FALLBACK_DEAD_LETTERS).select([]).stream():
                parent = snap.reference.parent.parent
                waiting[parent.id if parent is not None else None] += 1
        unattributed = 0
        for org_id, count in waiting.items():
            if org_id in healths:
                healths[org_id].dead_letters_waiting += count
            else:
                unattributed += count
        return unattributed

    def _documents(self, healths: dict[str, OrgHealth]) -> None:
        refs = []
        for org_id in healths:
            base = org_path(org_id)
            refs += [
                *shard_refs(self._db, org_id),
                self._db.document(f"{base}/data_quality/reconciliation"),
                self._db.document(f"{base}/{ORG_DOC}"),
            ]
        with map_exceptions("reading data-quality documents"):
            snaps = {s.reference.path: s for s in self._db.get_all(refs)} if refs else {}
        for org_id, health in healths.items():
            base = org_path(org_id)
            shards = [snaps[ref.path] for ref in shard_refs(self._db, org_id)]
            current = data_quality_view(snap.to_dict() or {} for snap in shards if snap.exists)
            health.counts = _counts(current)
            # The one writer of data_quality/current: a once-a-minute snapshot of the shards' sum
            # for readers that want one document (dashboards add the shards up themselves).
            health.data_quality = current
            previous = snaps[f"{base}/{ORG_DOC}"]
            health.previous_counts = _counts(previous.to_dict() if previous.exists else None, default=health.counts)
            if previous.exists:
                backlog = (previous.to_dict() or {}).get("backlog") or {}
                if isinstance(backlog.get("unfinished_changes"), int):
                    health.previous_unfinished_changes = backlog["unfinished_changes"]
            reconciliation = snaps[f"{base}/data_quality/reconciliation"]
            if reconciliation.exists:
                health.reconciliation = reconciliation.to_dict()

    def _global_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        with map_exceptions("reading the global data-quality counters"):
            refs = [*shard_refs(self._db, None), self._db.document(GLOBAL_DOC)]
            snaps = {s.reference.path: s for s in self._db.get_all(refs)}
        shards = [snaps[ref.path] for ref in shard_refs(self._db, None)]
        now_counts = _counts(data_quality_view(snap.to_dict() or {} for snap in shards if snap.exists))
        stored = snaps[GLOBAL_DOC].to_dict() if snaps[GLOBAL_DOC].exists else None
        previous = dict((stored or {}).get("unattributed_counts") or now_counts)
        return now_counts, {k: int(v) for k, v in previous.items()}

    def _write_org(self, org_id: str, body: dict[str, Any], data_quality: dict[str, Any] | None) -> None:
        batch = self._db.batch()
        batch.set(self._db.document(f"{org_path(org_id)}/{ORG_DOC}"), body)
        if data_quality is not None:
            batch.set(counters_ref(self._db, org_id), {**data_quality, "refreshed_at": body["computed_at"]})
        with map_exceptions(f"writing the health documents of {org_id}"):
            batch.commit()

    def _write(self, path: str, body: dict[str, Any]) -> None:
        with map_exceptions(f"writing {path}"):
            self._db.document(path).set(body)


def _counts(document: dict[str, Any] | None, default: dict[str, int] | None = None) -> dict[str, int]:
    """Lines per outcome of a data-quality (or a previous health) document."""
    if document is None or not isinstance(document.get("counts"), dict):
        return dict(default or {})
    return {str(k): int(v) for k, v in document["counts"].items() if isinstance(v, (int, float))}
