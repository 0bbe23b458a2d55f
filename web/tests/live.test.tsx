// The live hooks against a stand-in for the SDK's onSnapshot (unit test only: the browser tests
// run them on the real SDK and emulator).
import { act, cleanup, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type Next = (snap: unknown) => void;
type Fail = (error: { code: string; message: string }) => void;
const listeners: { target: unknown; next: Next; fail: Fail; stopped: boolean }[] = [];
const reads: { target: unknown; answer: (docs: { id: string; data: Record<string, unknown> }[]) => void; fail: Fail }[] = [];

vi.mock('firebase/firestore', () => ({
  doc: (_db: unknown, path: string) => ({ path }),
  collection: (_db: unknown, path: string) => ({ path }),
  collectionGroup: (_db: unknown, id: string) => ({ group: id }),
  query: (base: unknown, ...constraints: unknown[]) => ({ base, constraints }),
  getDocs: (target: unknown) => new Promise((resolve, reject) => {
    reads.push({
      target,
      answer: (docs) => resolve({ docs: docs.map((d) => ({ id: d.id, ref: { path: `x/${d.id}` }, data: () => d.data })) }),
      fail: reject,
    });
  }),
  onSnapshot: (target: unknown, next: Next, fail: Fail) => {
    const entry = { target, next, fail, stopped: false };
    listeners.push(entry);
    return () => { entry.stopped = true; };
  },
}));

const { useDocument, usePolledCollection, useQuery } = await import('../src/hooks/live');
const db = {} as never;

beforeEach(() => { listeners.length = 0; reads.length = 0; });
afterEach(cleanup);

function docSnap(id: string, data: Record<string, unknown> | null) {
  return { id, exists: () => data !== null, data: () => data };
}

describe('useDocument', () => {
  it('goes loading -> ready -> missing as snapshots arrive', () => {
    const { result } = renderHook(() => useDocument(db, 'organizations/o/kpis/current'));
    expect(result.current).toEqual({ status: 'loading' });
    act(() => listeners[0].next(docSnap('current', { period: '2026-11' })));
    expect(result.current).toMatchObject({ status: 'ready', data: { id: 'current', period: '2026-11' } });
    act(() => listeners[0].next(docSnap('current', null)));
    expect(result.current.status).toBe('missing');
  });

  it('reports a denied listener as access removed', () => {
    const { result } = renderHook(() => useDocument(db, 'organizations/o/kpis/current'));
    act(() => listeners[0].fail({ code: 'permission-denied', message: 'no' }));
    expect(result.current).toEqual({ status: 'denied' });
  });

  it('stops the old listener when the path changes, and listens to nothing without a path', () => {
    const { result, rerender } = renderHook(({ path }) => useDocument(db, path), { initialProps: { path: 'a/1' as string | null } });
    rerender({ path: 'a/2' });
    expect(listeners.map((l) => [(l.target as { path: string }).path, l.stopped])).toEqual([['a/1', true], ['a/2', false]]);
    rerender({ path: null });
    expect(listeners[1].stopped).toBe(true);
    expect(listeners).toHaveLength(2);
    expect(result.current).toEqual({ status: 'loading' });
  });
});

describe('useQuery', () => {
  it('lists documents with their ids and paths, and re-listens only when the key changes', () => {
    const { result, rerender } = renderHook(({ key }) => useQuery(db, 'members', [], key, true), { initialProps: { key: 'u1' } });
    expect((listeners[0].target as { base: unknown }).base).toEqual({ group: 'members' });
    act(() => listeners[0].next({ docs: [{ id: 'u1', ref: { path: 'organizations/acme/members/u1' }, data: () => ({ role: 'viewer' }) }] }));
    expect(result.current).toMatchObject({ status: 'ready', data: [{ id: 'u1', path: 'organizations/acme/members/u1', role: 'viewer' }] });
    rerender({ key: 'u1' });
    expect(listeners).toHaveLength(1);
    rerender({ key: 'u2' });
    expect(listeners).toHaveLength(2);
    expect(listeners[0].stopped).toBe(true);
  });
});

describe('usePolledCollection', () => {
  let visibility: DocumentVisibilityState = 'visible';
  beforeEach(() => {
    vi.useFakeTimers();
    visibility = 'visible';
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
  });
  afterEach(() => { vi.useRealTimers(); });
  const setVisibility = (state: DocumentVisibilityState) => {
    visibility = state;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  const answer = async (index: number, docs: { id: string; data: Record<string, unknown> }[]) => {
    await act(async () => { reads[index].answer(docs); });
  };

  it('reads at once, then once per interval while visible, never while hidden', async () => {
    const { result } = renderHook(() => usePolledCollection(db, 'organizations/o/data_quality/current/shards', 10_000));
    expect(reads).toHaveLength(1);
    expect((reads[0].target as { path: string }).path).toBe('organizations/o/data_quality/current/shards');
    await answer(0, [{ id: '000', data: { counts: { applied: 1 } } }]);
    expect(result.current.live).toMatchObject({ status: 'ready', data: [{ id: '000', counts: { applied: 1 } }] });
    expect(result.current.readAt).not.toBeNull();
    await act(async () => { vi.advanceTimersByTime(9_999); });
    expect(reads).toHaveLength(1);
    await act(async () => { vi.advanceTimersByTime(1); });
    expect(reads).toHaveLength(2);
    await answer(1, [{ id: '000', data: { counts: { applied: 2 } } }]);
    expect(result.current.live).toMatchObject({ status: 'ready', data: [{ counts: { applied: 2 } }] });
    act(() => setVisibility('hidden'));
    await act(async () => { vi.advanceTimersByTime(60_000); });
    expect(reads).toHaveLength(2);
    // Shown again after more than an interval: read at once.
    act(() => setVisibility('visible'));
    await act(async () => { vi.advanceTimersByTime(0); });
    expect(reads).toHaveLength(3);
  });

  it('reads again at once on refresh, and waits a whole interval after it', async () => {
    const { result } = renderHook(() => usePolledCollection(db, 'c', 10_000));
    await answer(0, []);
    await act(async () => { vi.advanceTimersByTime(4_000); });
    act(() => result.current.refresh());
    expect(reads).toHaveLength(2);
    act(() => result.current.refresh());
    expect(reads).toHaveLength(2); // one read at a time
    await answer(1, []);
    await act(async () => { vi.advanceTimersByTime(9_999); });
    expect(reads).toHaveLength(2);
    await act(async () => { vi.advanceTimersByTime(1); });
    expect(reads).toHaveLength(3);
  });

  it('stops reading when access is removed, and when unmounted', async () => {
    const { result, unmount } = renderHook(() => usePolledCollection(db, 'c', 10_000));
    await act(async () => { reads[0].fail({ code: 'permission-denied', message: 'no' }); });
    expect(result.current.live).toEqual({ status: 'denied' });
    await act(async () => { vi.advanceTimersByTime(60_000); });
    expect(reads).toHaveLength(1);
    unmount();
    const second = renderHook(() => usePolledCollection(db, 'd', 10_000));
    await answer(1, []);
    second.unmount();
    await act(async () => { vi.advanceTimersByTime(60_000); });
    expect(reads).toHaveLength(2);
  });
});
