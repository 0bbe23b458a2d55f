import type { ReactNode } from 'react';

import type { Live } from '../hooks/live';

/** The loading / empty / denied / error face of a live value; children render the data. */
export function LiveView<T>({ live, empty, children, what }: {
  live: Live<T>; empty: string; what: string; children: (data: T) => ReactNode;
}) {
  switch (live.status) {
    case 'loading':
      return <p className="state loading" role="status">Loading {what}…</p>;
    case 'missing':
      return <p className="state empty">{empty}</p>;
    case 'denied':
      return <p className="state denied" role="alert">Access removed: you can no longer read {what} of this organisation.</p>;
    case 'error':
      return <p className="state error" role="alert">Could not load {what}: {live.message}</p>;
    default:
      if (Array.isArray(live.data) && live.data.length === 0) return <p className="state empty">{empty}</p>;
      return <>{children(live.data)}</>;
  }
}

/** What a panel shows while its listener waits for the first snapshot (never "none yet" before it knows). */
export function Loading({ what }: { what: string }) {
  return <p className="state loading" role="status">Loading {what}…</p>;
}
