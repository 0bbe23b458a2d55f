import type { Timestamp } from 'firebase/firestore';

import type { DataQualityDoc } from './types';

/**
 * The org's data-quality counters from their shards (`data_quality/current/shards/*`): every
 * ingestion commit increments one shard and nothing folds them, so the dashboard adds them up
 * (docs/dashboard-clients.md). The same sum as the backend's finance_core.health.data_quality_view.
 */
export function sumDataQuality(shards: DataQualityDoc[]): DataQualityDoc {
  const counts: Record<string, number> = { applied: 0, duplicate: 0, stale: 0, rejected: 0 };
  const byReason: Record<string, number> = {};
  let last: Timestamp | undefined;
  for (const shard of shards) {
    for (const [name, value] of Object.entries(shard.counts ?? {})) counts[name] = (counts[name] ?? 0) + Number(value);
    for (const [code, value] of Object.entries(shard.rejected_by_reason ?? {})) byReason[code] = (byReason[code] ?? 0) + Number(value);
    if (shard.last_event_at && (!last || shard.last_event_at.toMillis() > last.toMillis())) last = shard.last_event_at;
  }
  const total = Object.values(counts).reduce((sum, value) => sum + value, 0);
  return { counts, rejected_by_reason: byReason, total, last_event_at: last };
}
