import {
  collection, deleteDoc, doc, getCountFromServer, getDocs, limit, query, serverTimestamp, setDoc, Timestamp, where,
} from 'firebase/firestore';
import { useEffect, useState } from 'react';

import { orgPath, useSession } from '../lib/session';
import type { PresenceDoc } from '../lib/types';

export const DASHBOARD_ID = 'overview';
const HEARTBEAT_MS = 60_000;
const LIFETIME_MS = 120_000;
// Who is here is read, not listened to: a listener pays a read for every heartbeat of every
// viewer, so its cost would grow with the audience (1,000 viewers of one org: about 17 reads a
// second each). Read every 30 s, at most PRESENCE_SHOWN + 1 names and one count: at most 0.33
// reads a second however many look (docs/performance.md, "On paper: read cost per dashboard-hour").
export const PRESENCE_READ_MS = 30_000;
export const PRESENCE_SHOWN = 8;

interface Here { people: (PresenceDoc & { id: string })[]; total: number }

/** Announces this viewer (a heartbeat every minute, 2 minutes of life) and shows who else is here. */
export function Presence() {
  const { services, orgId, user, displayName } = useSession();
  const [here, setHere] = useState<Here | null>(null);
  useEffect(() => {
    const ref = doc(services.db, orgPath(orgId, 'presence', user.uid));
    const beat = () => setDoc(ref, {
      dashboard_id: DASHBOARD_ID, display_name: displayName.slice(0, 100), last_seen: serverTimestamp(),
      expires_at: Timestamp.fromMillis(Date.now() + LIFETIME_MS),
    }).catch(() => undefined);
    void beat();
    const timer = window.setInterval(() => { void beat(); }, HEARTBEAT_MS);
    const leave = () => { void deleteDoc(ref).catch(() => undefined); };
    window.addEventListener('pagehide', leave);
    return () => { window.clearInterval(timer); window.removeEventListener('pagehide', leave); leave(); };
  }, [services.db, orgId, user.uid, displayName]);
  useEffect(() => {
    let stopped = false;
    const read = () => {
      if (document.visibilityState === 'hidden') return;
      // Heartbeats not yet expired; the range field orders them (the declared, indexed query).
      const current = query(collection(services.db, orgPath(orgId, 'presence')),
        where('dashboard_id', '==', DASHBOARD_ID), where('expires_at', '>', Timestamp.now()));
      Promise.all([getDocs(query(current, limit(PRESENCE_SHOWN + 1))), getCountFromServer(current)]).then(
        ([found, count]) => {
          if (stopped) return;
          setHere({ people: found.docs.map((d) => ({ ...(d.data() as PresenceDoc), id: d.id })), total: count.data().count });
        },
        () => undefined,
      );
    };
    read();
    const timer = window.setInterval(read, PRESENCE_READ_MS);
    document.addEventListener('visibilitychange', read);
    return () => { stopped = true; window.clearInterval(timer); document.removeEventListener('visibilitychange', read); };
  }, [services.db, orgId]);
  const others = (here?.people ?? []).filter((p) => p.id !== user.uid).slice(0, PRESENCE_SHOWN);
  // The count includes this viewer (its first heartbeat is written before the first read).
  const more = Math.max(0, (here?.total ?? 0) - 1 - others.length);
  return (
    <div className="presence" aria-live="polite" data-testid="presence">
      {others.length === 0 ? <span className="sub">Only you are here</span> : (
        <>
          <span className="sub">Also here:</span>
          <ul>{others.map((p) => <li key={p.id} className="avatar" title={p.display_name}>{p.display_name}</li>)}</ul>
          {more > 0 && <span className="sub" data-testid="presence-more">and {more.toLocaleString('en-US')} more</span>}
        </>
      )}
    </div>
  );
}
