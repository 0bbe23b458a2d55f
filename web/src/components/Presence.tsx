import { deleteDoc, doc, serverTimestamp, setDoc, Timestamp, where } from 'firebase/firestore';
import { useEffect, useState } from 'react';

import { useQuery } from '../hooks/live';
import { orgPath, useSession } from '../lib/session';
import type { PresenceDoc } from '../lib/types';

export const DASHBOARD_ID = 'overview';
const HEARTBEAT_MS = 60_000;
const LIFETIME_MS = 120_000;

/** Announces this viewer (a heartbeat every minute, 2 minutes of life) and lists the others here. */
export function Presence() {
  const { services, orgId, user, displayName } = useSession();
  // The query's `now` is fixed when built: rebuild it every heartbeat so expired viewers drop out.
  const [now, setNow] = useState(() => Timestamp.now());
  useEffect(() => {
    const ref = doc(services.db, orgPath(orgId, 'presence', user.uid));
    const beat = () => setDoc(ref, {
      dashboard_id: DASHBOARD_ID, display_name: displayName.slice(0, 100), last_seen: serverTimestamp(),
      expires_at: Timestamp.fromMillis(Date.now() + LIFETIME_MS),
    }).catch(() => undefined);
    void beat();
    const timer = window.setInterval(() => { void beat(); setNow(Timestamp.now()); }, HEARTBEAT_MS);
    const leave = () => { void deleteDoc(ref).catch(() => undefined); };
    window.addEventListener('pagehide', leave);
    return () => { window.clearInterval(timer); window.removeEventListener('pagehide', leave); leave(); };
  }, [services.db, orgId, user.uid, displayName]);
  const here = useQuery<PresenceDoc>(services.db, orgPath(orgId, 'presence'),
    [where('dashboard_id', '==', DASHBOARD_ID), where('expires_at', '>', now)], String(now.toMillis()));
  const others = here.status === 'ready'
    ? here.data.filter((p) => p.id !== user.uid && p.expires_at.toMillis() > Date.now()) : [];
  return (
    <div className="presence" aria-live="polite" data-testid="presence">
      {others.length === 0 ? <span className="sub">Only you are here</span> : (
        <>
          <span className="sub">Also here:</span>
          <ul>{others.map((p) => <li key={p.id} className="avatar" title={p.display_name}>{p.display_name}</li>)}</ul>
        </>
      )}
    </div>
  );
}
