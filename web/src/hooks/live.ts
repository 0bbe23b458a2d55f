// Live Firestore listeners as React state. Every view reads through these hooks, so loading,
// empty, error and "access removed" look the same everywhere.

import {
  doc, getDocs, onSnapshot, query as buildQuery, collection, collectionGroup, type DocumentData, type Firestore,
  type FirestoreError, type QueryConstraint,
} from 'firebase/firestore';
import { useCallback, useEffect, useRef, useState } from 'react';

export type Live<T> =
  | { status: 'loading' }
  | { status: 'ready'; data: T; receivedAt: number }
  | { status: 'missing'; receivedAt: number }
  | { status: 'denied' }
  | { status: 'error'; message: string };

export function describeError(error: FirestoreError): Live<never> {
  // A listener that becomes denied calls back once and stops (docs/dashboard-clients.md).
  if (error.code === 'permission-denied') return { status: 'denied' };
  return { status: 'error', message: `${error.code}: ${error.message}` };
}

/** A live document at `path` (segments joined by '/'); null path = nothing to listen to. */
export function useDocument<T = DocumentData>(db: Firestore, path: string | null): Live<T & { id: string }> {
  const [state, setState] = useState<Live<T & { id: string }>>({ status: 'loading' });
  useEffect(() => {
    if (!path) return undefined;
    setState({ status: 'loading' });
    return onSnapshot(
      doc(db, path),
      // Estimated server timestamps: a just-written comment sorts and shows at once.
      (snap) => setState(snap.exists()
        ? { status: 'ready', data: { id: snap.id, ...(snap.data({ serverTimestamps: 'estimate' }) as T) }, receivedAt: performance.now() }
        : { status: 'missing', receivedAt: performance.now() }),
      (error) => setState(describeError(error)),
    );
  }, [db, path]);
  return path ? state : { status: 'loading' };
}

/**
 * A live query of the collection at `path` (of every collection named `path` when `group`). `key` must change whenever the constraints change
 * (constraints are objects, rebuilt on every render).
 */
export function useQuery<T = DocumentData>(db: Firestore, path: string | null, constraints: QueryConstraint[],
                                           key: string, group = false): Live<(T & { id: string; path: string })[]> {
  const [state, setState] = useState<Live<(T & { id: string; path: string })[]>>({ status: 'loading' });
  useEffect(() => {
    if (!path) return undefined;
    setState({ status: 'loading' });
    return onSnapshot(
      buildQuery(group ? collectionGroup(db, path) : collection(db, path), ...constraints),
      (snap) => setState({
        status: 'ready',
        data: snap.docs.map((d) => ({ id: d.id, path: d.ref.path, ...(d.data({ serverTimestamps: 'estimate' }) as T) })),
        receivedAt: performance.now(),
      }),
      (error) => setState(describeError(error)),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [db, path, key, group]);
  return path ? state : { status: 'loading' };
}

/**
 * Several live queries of the collection at `path` read as one: `merge` gets each query's documents (in the order
 * of `constraintSets`) once every query has answered, and again whenever one of them changes. For a filter of more
 * values than one Firestore `in` takes. `key` must change whenever the constraint sets change.
 */
export function useMergedQuery<T = DocumentData>(
  db: Firestore, path: string | null, constraintSets: QueryConstraint[][], key: string,
  merge: (lists: (T & { id: string; path: string })[][]) => (T & { id: string; path: string })[],
): Live<(T & { id: string; path: string })[]> {
  const [state, setState] = useState<Live<(T & { id: string; path: string })[]>>({ status: 'loading' });
  useEffect(() => {
    if (!path) return undefined;
    setState({ status: 'loading' });
    const lists: ((T & { id: string; path: string })[] | undefined)[] = constraintSets.map(() => undefined);
    let failed = false;
    const stops = constraintSets.map((constraints, index) => onSnapshot(
      buildQuery(collection(db, path), ...constraints),
      (snap) => {
        lists[index] = snap.docs.map((d) => ({ id: d.id, path: d.ref.path, ...(d.data({ serverTimestamps: 'estimate' }) as T) }));
        if (!failed && lists.every((list) => list !== undefined)) {
          setState({ status: 'ready', data: merge(lists as (T & { id: string; path: string })[][]), receivedAt: performance.now() });
        }
      },
      (error) => { failed = true; setState(describeError(error)); },
    ));
    return () => stops.forEach((stop) => stop());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [db, path, key]);
  return path ? state : { status: 'loading' };
}

/** A collection read now and then, with the time of its last answer and a way to read it again at once. */
export interface Polled<T> {
  live: Live<T>;
  /** Date.now() of the last answer (null before the first). */
  readAt: number | null;
  /** Read again now (a person's click): the next timed read comes `intervalMs` after it. */
  refresh: () => void;
}

/**
 * The documents of the collection at `path`, read with getDocs at most every `intervalMs` while the
 * page is visible: at once on mount, then `intervalMs` after each read, paused while the page is
 * hidden and resumed when it shows again (at once if a read is due). For figures that move with
 * every event: a listener pays one read per change, a poll one read per document per interval
 * (docs/dashboard-clients.md, "What a dashboard costs in reads").
 */
export function usePolledCollection<T = DocumentData>(db: Firestore, path: string | null,
                                                      intervalMs: number): Polled<(T & { id: string; path: string })[]> {
  const [state, setState] = useState<Live<(T & { id: string; path: string })[]>>({ status: 'loading' });
  const [readAt, setReadAt] = useState<number | null>(null);
  const readNow = useRef<() => void>(() => undefined);
  useEffect(() => {
    if (!path) return undefined;
    setState({ status: 'loading' });
    setReadAt(null);
    let stopped = false;
    let reading = false;
    let last = -Infinity;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hidden = () => typeof document !== 'undefined' && document.visibilityState === 'hidden';
    const schedule = () => {
      clearTimeout(timer);
      if (stopped || reading || hidden()) return;
      timer = setTimeout(read, Math.max(0, last + intervalMs - Date.now()));
    };
    const read = () => {
      clearTimeout(timer);
      if (stopped || reading) return;
      reading = true;
      last = Date.now();
      getDocs(collection(db, path)).then(
        (snap) => {
          if (stopped) return;
          setState({
            status: 'ready',
            data: snap.docs.map((d) => ({ id: d.id, path: d.ref.path, ...(d.data({ serverTimestamps: 'estimate' }) as T) })),
            receivedAt: performance.now(),
          });
          setReadAt(Date.now());
        },
        (error: FirestoreError) => {
          if (stopped) return;
          setState(describeError(error));
          // Access removed: further reads would be refused too.
          if (error.code === 'permission-denied') stopped = true;
        },
      ).finally(() => {
        reading = false;
        schedule();
      });
    };
    const onVisibility = () => (hidden() ? clearTimeout(timer) : schedule());
    readNow.current = read;
    read();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
      readNow.current = () => undefined;
    };
  }, [db, path, intervalMs]);
  const refresh = useCallback(() => readNow.current(), []);
  return { live: path ? state : { status: 'loading' }, readAt, refresh };
}

export function dataOf<T>(live: Live<T>): T | undefined {
  return live.status === 'ready' ? live.data : undefined;
}
