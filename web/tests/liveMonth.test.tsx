// The overview's month read from kpis/current (src/hooks/liveMonth.ts) against a stand-in for the
// SDK's onSnapshot (unit test only: the browser tests run it on the real SDK and emulator).
import { act, cleanup, renderHook } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type Next = (snap: unknown) => void;
const listeners: { target: { path?: string; base?: { path: string }; constraints?: unknown[] }; next: Next; stopped: boolean }[] = [];

vi.mock('firebase/firestore', () => ({
  doc: (_db: unknown, path: string) => ({ path }),
  collection: (_db: unknown, path: string) => ({ path }),
  collectionGroup: (_db: unknown, id: string) => ({ group: id }),
  query: (base: unknown, ...constraints: unknown[]) => ({ base, constraints }),
  where: (field: string, op: string, value: unknown) => ['where', field, op, value],
  orderBy: (field: string) => ['orderBy', field],
  getDocs: () => new Promise(() => undefined),
  onSnapshot: (target: never, next: Next) => {
    const entry = { target, next, stopped: false };
    listeners.push(entry);
    return () => { entry.stopped = true; };
  },
}));

const { LiveMonthContext, useConsolidatedActuals, useVarianceDocument } = await import('../src/hooks/liveMonth');
const { SessionContext } = await import('../src/lib/session');
type Live = Parameters<typeof LiveMonthContext.Provider>[0]['value'];

beforeEach(() => { listeners.length = 0; });
afterEach(cleanup);

const session = { services: { db: {} }, orgId: 'o', org: {}, role: 'viewer', user: {}, displayName: 'v' } as never;
const aggregate = (period: string, revenue: number) => ({
  entity_id: '_all', scenario: 'actual', period, metrics: { revenue }, accounts: {}, rollups: {}, record_count: 1, currency: 'USD',
});
const variance = (lines: number) => ({
  entity_id: '_all', period: '2026-11', currency: 'USD', top: [],
  vs_budget: { top: [], metrics: {}, line_count: lines }, vs_forecast: { top: [], metrics: {}, line_count: 0 },
});
const kpis = (extra: Record<string, unknown>): Live => ({
  status: 'ready', receivedAt: 1,
  data: { id: 'current', period: '2026-11', previous_period: '2026-10', currency: 'USD', kpis: {}, ...extra },
} as never);

function wrapper(value: Live) {
  return ({ children }: { children: ReactNode }) => (
    <SessionContext.Provider value={session}>
      <LiveMonthContext.Provider value={value}>{children}</LiveMonthContext.Provider>
    </SessionContext.Provider>
  );
}

function answer(index: number, docs: ReturnType<typeof aggregate>[]) {
  act(() => listeners[index].next({
    docs: docs.map((d) => ({ id: `_all__${d.period}__actual`, ref: { path: `p/${d.period}` }, data: () => d })),
  }));
}

describe('useConsolidatedActuals', () => {
  it('reads the month of kpis/current from its copy and every other month from a query that leaves it out', () => {
    const { result } = renderHook(() => useConsolidatedActuals(), {
      wrapper: wrapper(kpis({ month_actual: aggregate('2026-11', 700), month_variance: variance(1) })),
    });
    expect(listeners).toHaveLength(1);
    expect(listeners[0].target.base?.path).toBe('organizations/o/aggregates');
    expect(listeners[0].target.constraints).toContainEqual(['where', 'period', '!=', '2026-11']);
    answer(0, [aggregate('2026-09', 500), aggregate('2026-10', 600), aggregate('2026-12', 50)]);
    expect(result.current.status).toBe('ready');
    const docs = result.current.status === 'ready' ? result.current.data : [];
    expect(docs.map((d) => [d.period, d.metrics.revenue])).toEqual([['2026-09', 500], ['2026-10', 600], ['2026-11', 700], ['2026-12', 50]]);
    expect(docs[2].id).toBe('_all__2026-11__actual');
  });

  it('has no row for a month without actuals yet', () => {
    const { result } = renderHook(() => useConsolidatedActuals(), { wrapper: wrapper(kpis({ month_actual: null })) });
    answer(0, [aggregate('2026-10', 600)]);
    expect(result.current.status === 'ready' && result.current.data.map((d) => d.period)).toEqual(['2026-10']);
  });

  it('queries every month when kpis/current carries no copy (written before it did), and waits while it loads', () => {
    renderHook(() => useConsolidatedActuals(), { wrapper: wrapper({ status: 'loading' }) });
    expect(listeners).toHaveLength(0);
    cleanup();
    const { result } = renderHook(() => useConsolidatedActuals(), { wrapper: wrapper(kpis({})) });
    expect(listeners[0].target.constraints).not.toContainEqual(['where', 'period', '!=', '2026-11']);
    answer(0, [aggregate('2026-10', 600), aggregate('2026-11', 650)]);
    expect(result.current.status === 'ready' && result.current.data.map((d) => d.metrics.revenue)).toEqual([600, 650]);
  });

  it('listens to nothing when disabled', () => {
    renderHook(() => useConsolidatedActuals(false), { wrapper: wrapper(kpis({ month_actual: null })) });
    expect(listeners).toHaveLength(0);
  });
});

describe('useVarianceDocument', () => {
  it('reads the consolidated variance of the month of kpis/current from its copy', () => {
    const { result } = renderHook(() => useVarianceDocument('_all', '2026-11'), {
      wrapper: wrapper(kpis({ month_actual: aggregate('2026-11', 700), month_variance: variance(3) })),
    });
    expect(listeners).toHaveLength(0);
    expect(result.current).toMatchObject({ status: 'ready', data: { id: '_all__2026-11', vs_budget: { line_count: 3 } } });
  });

  it('says missing when the copy has no line, and listens to the document of another month or entity', () => {
    const empty = renderHook(() => useVarianceDocument('_all', '2026-11'), { wrapper: wrapper(kpis({ month_actual: null, month_variance: variance(0) })) });
    expect(empty.result.current.status).toBe('missing');
    renderHook(() => useVarianceDocument('_all', '2026-10'), { wrapper: wrapper(kpis({ month_actual: null, month_variance: variance(2) })) });
    renderHook(() => useVarianceDocument('us-east', '2026-11'), { wrapper: wrapper(kpis({ month_actual: null, month_variance: variance(2) })) });
    expect(listeners.map((l) => l.target.path)).toEqual(['organizations/o/variance/_all__2026-10', 'organizations/o/variance/us-east__2026-11']);
  });
});
