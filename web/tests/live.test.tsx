// The live hooks against a stand-in for the SDK's onSnapshot (unit test only: the browser tests
// run them on the real SDK and emulator).
import { act, cleanup, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type Next = (snap: unknown) => void;
type Fail = (error: { code: string; message: string }) => void;
const listeners: { target: unknown; next: Next; fail: Fail; stopped: boolean }[] = [];

vi.mock('firebase/firestore', () => ({
  doc: (_db: unknown, path: string) => ({ path }),
  collection: (_db: unknown, path: string) => ({ path }),
  collectionGroup: (_db: unknown, id: string) => ({ group: id }),
  query: (base: unknown, ...constraints: unknown[]) => ({ base, constraints }),
  onSnapshot: (target: unknown, next: Next, fail: Fail) => {
    const entry = { target, next, fail, stopped: false };
    listeners.push(entry);
    return () => { entry.stopped = true; };
  },
}));

const { useDocument, useQuery } = await import('../src/hooks/live');
const db = {} as never;

beforeEach(() => { listeners.length = 0; });
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
