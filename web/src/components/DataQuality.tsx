import { limit, orderBy } from 'firebase/firestore';

import { useId, useMemo, useState } from 'react';

import { type Live, usePolledCollection, useQuery } from '../hooks/live';
import { sumDataQuality } from '../lib/dataQuality';
import { orgPath, useSession } from '../lib/session';
import type { DataQualityDoc, IngestionErrorDoc } from '../lib/types';
import { LiveView } from './States';

/**
 * How often the overview reads the data-quality counters while the page is visible. Every event
 * published increments a shard: a listener would pay one read per event (60 a second at 60
 * events/s), a read every 10 s costs one read per shard (docs/performance.md, "On paper").
 */
export const DATA_QUALITY_POLL_MS = 10_000;
const RECENT_REJECTIONS = 20;

/** What arrived and what was refused, with the reasons an integrator needs to fix their feed. */
export function DataQuality() {
  const { services, orgId } = useSession();
  // The counters are sharded (one increment per ingestion commit): their sum is the org's figure.
  const shards = usePolledCollection<DataQualityDoc>(services.db, orgPath(orgId, 'data_quality', 'current', 'shards'),
    DATA_QUALITY_POLL_MS);
  const quality = useMemo<Live<DataQualityDoc>>(() => {
    const live = shards.live;
    if (live.status !== 'ready') return live;
    if (live.data.length === 0) return { status: 'missing', receivedAt: live.receivedAt };
    return { status: 'ready', data: sumDataQuality(live.data), receivedAt: live.receivedAt };
  }, [shards.live]);
  const [showRejections, setShowRejections] = useState(false);
  const listId = useId();
  return (
    <section aria-labelledby="quality-title" className="panel">
      <header className="panel-header"><h2 id="quality-title">Data quality</h2></header>
      <LiveView live={quality} what="the data quality counters" empty="No events received yet.">
        {(dq) => (
          <dl className="counters" data-testid="data-quality">
            {['applied', 'duplicate', 'stale', 'rejected'].map((name) => (
              <div key={name}><dt>{name}</dt><dd data-testid={`dq-${name}`}>{(dq.counts?.[name] ?? 0).toLocaleString('en-US')}</dd></div>
            ))}
            {dq.last_event_at && <div><dt>last event</dt><dd>{dq.last_event_at.toDate().toLocaleString()}</dd></div>}
          </dl>
        )}
      </LiveView>
      <p className="sub" data-testid="dq-read-at">
        {shards.readAt === null ? 'Reading the counters…'
          : `Counts as of ${new Date(shards.readAt).toLocaleTimeString()}, read again every ${DATA_QUALITY_POLL_MS / 1000} s.`}
        {' '}<button type="button" onClick={shards.refresh}>Refresh counts</button>
      </p>
      <button type="button" aria-expanded={showRejections} aria-controls={listId} data-testid="toggle-rejections"
              onClick={() => setShowRejections((shown) => !shown)}>
        {showRejections ? 'Hide recent rejections' : 'Show recent rejections'}
      </button>
      <div id={listId}>{showRejections && <RecentRejections />}</div>
    </section>
  );
}

/** The last rejected inputs, live: listened to only while shown (one read per rejection). */
function RecentRejections() {
  const { services, orgId } = useSession();
  const errors = useQuery<IngestionErrorDoc>(services.db, orgPath(orgId, 'ingestion_errors'),
    [orderBy('received_at', 'desc'), limit(RECENT_REJECTIONS)], 'latest');
  return (
    <>
      <h3>Recent rejected inputs</h3>
      <LiveView live={errors} what="the rejected inputs" empty="Nothing rejected.">
        {(list) => (
          <table className="rejections" data-testid="ingestion-errors">
            <thead><tr><th scope="col">Received</th><th scope="col">Code</th><th scope="col">Reason</th><th scope="col">Event</th></tr></thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.id}>
                  <td>{e.received_at?.toDate().toLocaleTimeString() ?? ''}</td>
                  <td><code>{e.code}</code></td>
                  <td>{e.reason}</td>
                  <td><code>{e.event_id ?? e.id}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LiveView>
    </>
  );
}
