import { limit, orderBy } from 'firebase/firestore';

import { useMemo } from 'react';

import { type Live, useQuery } from '../hooks/live';
import { sumDataQuality } from '../lib/dataQuality';
import { orgPath, useSession } from '../lib/session';
import type { DataQualityDoc, IngestionErrorDoc } from '../lib/types';
import { LiveView } from './States';

/** What arrived and what was refused, with the reasons an integrator needs to fix their feed. */
export function DataQuality() {
  const { services, orgId } = useSession();
  // The counters are sharded (one increment per ingestion commit): their sum is the org's figure.
  const shards = useQuery<DataQualityDoc>(services.db, orgPath(orgId, 'data_quality', 'current', 'shards'), [], 'all');
  const quality = useMemo<Live<DataQualityDoc>>(() => {
    if (shards.status !== 'ready') return shards;
    if (shards.data.length === 0) return { status: 'missing', receivedAt: shards.receivedAt };
    return { status: 'ready', data: sumDataQuality(shards.data), receivedAt: shards.receivedAt };
  }, [shards]);
  const errors = useQuery<IngestionErrorDoc>(services.db, orgPath(orgId, 'ingestion_errors'),
    [orderBy('received_at', 'desc'), limit(20)], 'latest');
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
      <h3>Rejected inputs</h3>
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
    </section>
  );
}
