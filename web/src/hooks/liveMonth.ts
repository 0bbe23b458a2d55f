// The overview's month through one document. kpis/current carries a copy of the month's consolidated
// actual aggregate (`month_actual`) and of its variance document (`month_variance`), written by the
// same paced write as the KPIs (functions/aggregations/derived.py). While ledger lines of the month
// stream in, the fold rewrites those three documents together; reading the month from kpis/current
// costs a dashboard one read per write instead of three (docs/dashboard-clients.md, "What a
// dashboard costs in reads"). Other months and entities are read from their own documents.

import { orderBy, where } from 'firebase/firestore';
import { createContext, useContext } from 'react';

import { orgPath, useSession } from '../lib/session';
import type { AggregateDoc, KpisDoc, VarianceDoc } from '../lib/types';
import { dataOf, useDocument, useQuery, type Live } from './live';

/** kpis/current as the dashboard listens to it; null outside the overview (read every month's own document). */
export const LiveMonthContext = createContext<Live<KpisDoc & { id: string }> | null>(null);

type Listed<T> = T & { id: string; path: string };

/** The month kpis/current carries (null: none, or a document written before it carried one). */
function liveMonth(kpisLive: Live<KpisDoc & { id: string }> | null): { period: string; kpis: KpisDoc } | null {
  const kpis = kpisLive ? dataOf(kpisLive) : undefined;
  return kpis && kpis.month_actual !== undefined ? { period: kpis.period, kpis } : null;
}

/**
 * The consolidated actual aggregates by month, in period order: kpis/current's month from its copy,
 * every other month from a query that leaves that month out. `enabled` false listens to nothing.
 */
export function useConsolidatedActuals<T extends AggregateDoc = AggregateDoc>(enabled = true): Live<Listed<T>[]> {
  const { services, orgId } = useSession();
  const kpisLive = useContext(LiveMonthContext);
  const month = liveMonth(kpisLive);
  // Until kpis/current answers, the month is not known: wait for it (it is listened to first, App.tsx).
  const waiting = kpisLive !== null && kpisLive.status === 'loading';
  const path = orgPath(orgId, 'aggregates');
  const others = useQuery<T>(services.db, enabled && !waiting ? path : null, [
    where('entity_id', '==', '_all'), where('scenario', '==', 'actual'),
    ...(month ? [where('period', '!=', month.period)] : []), orderBy('period'),
  ], month ? `actual-but-${month.period}` : 'actual');
  if (!enabled || others.status !== 'ready' || !month || kpisLive?.status !== 'ready') return others;
  const copy = month.kpis.month_actual;
  const docs = copy
    ? [...others.data, { ...(copy as T), id: `_all__${month.period}__actual`, path: `${path}/_all__${month.period}__actual` }]
        .sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0))
    : others.data;
  return { status: 'ready', data: docs, receivedAt: Math.max(others.receivedAt, kpisLive.receivedAt) };
}

/** variance/{entity}__{period}; the consolidated variance of kpis/current's month from its copy. */
export function useVarianceDocument(entityId: string, period: string): Live<VarianceDoc & { id: string }> {
  const { services, orgId } = useSession();
  const kpisLive = useContext(LiveMonthContext);
  const month = liveMonth(kpisLive);
  const fromKpis = entityId === '_all' && month !== null && month.period === period;
  const own = useDocument<VarianceDoc>(services.db, fromKpis ? null : orgPath(orgId, 'variance', `${entityId}__${period}`));
  if (!fromKpis || kpisLive?.status !== 'ready') return own;
  const copy = month.kpis.month_variance;
  // No line against budget or forecast: the month has no variance document yet.
  if (!copy || ((copy.vs_budget?.line_count ?? 0) === 0 && (copy.vs_forecast?.line_count ?? 0) === 0)) {
    return { status: 'missing', receivedAt: kpisLive.receivedAt };
  }
  return { status: 'ready', data: { ...copy, id: `_all__${period}` }, receivedAt: kpisLive.receivedAt };
}
