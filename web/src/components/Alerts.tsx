import { doc, limit, orderBy, serverTimestamp, updateDoc, where } from 'firebase/firestore';
import { useState } from 'react';

import { useQuery } from '../hooks/live';
import { canEdit, orgPath, useSession } from '../lib/session';
import type { AlertDoc } from '../lib/types';
import { CommentButton } from './Comments';
import { LiveView } from './States';

const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

function AlertItem({ alert, members }: { alert: AlertDoc & { id: string }; members: Map<string, string> }) {
  const { services, orgId, role, user } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function acknowledge() {
    setBusy(true);
    setError(null);
    try {
      // Exactly these three fields: the rules allow nothing else (docs/dashboard-clients.md).
      await updateDoc(doc(services.db, orgPath(orgId, 'alerts', alert.id)), {
        status: 'acknowledged', acknowledged_by: user.uid, acknowledged_at: serverTimestamp(),
      });
    } catch (err) {
      setError(`Not acknowledged: ${(err as { code?: string }).code ?? String(err)}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <li className={`alert ${alert.severity}`} data-alert-id={alert.id} data-status={alert.status}>
      <p className="alert-title">
        <span className={`severity ${alert.severity}`}>{alert.severity}</span> <strong>{alert.title}</strong>
        {alert.period && <span className="sub"> · {alert.period}</span>}
      </p>
      {alert.description && <p className="alert-description">{alert.description}</p>}
      <p className="alert-meta">
        <span data-testid="alert-status">{alert.status}</span> · seen {alert.count}×
        {alert.last_seen && <> · last {alert.last_seen.toDate().toLocaleString()}</>}
        {alert.status === 'acknowledged' && alert.acknowledged_by && <> · acknowledged by {members.get(alert.acknowledged_by) ?? alert.acknowledged_by}</>}
      </p>
      <div className="alert-actions">
        {alert.status === 'active' && canEdit(role) && (
          <button type="button" onClick={acknowledge} disabled={busy}>Acknowledge</button>
        )}
        <CommentButton target={orgPath(orgId, 'alerts', alert.id)} count={alert.comment_count} label={`the alert “${alert.title}”`} />
      </div>
      {error && <p className="state error" role="alert">{error}</p>}
    </li>
  );
}

/** Active alerts (query alerts_by_status) grouped by severity, and the recent history. */
export function Alerts({ members }: { members: Map<string, string> }) {
  const { services, orgId } = useSession();
  const path = orgPath(orgId, 'alerts');
  const active = useQuery<AlertDoc>(services.db, path, [where('status', '==', 'active'), orderBy('last_seen', 'desc'), limit(50)], 'active');
  const acknowledged = useQuery<AlertDoc>(services.db, path, [where('status', '==', 'acknowledged'), orderBy('last_seen', 'desc'), limit(10)], 'ack');
  const resolved = useQuery<AlertDoc>(services.db, path, [where('status', '==', 'resolved'), orderBy('last_seen', 'desc'), limit(10)], 'resolved');
  return (
    <section aria-labelledby="alerts-title" className="panel alerts">
      <header className="panel-header"><h2 id="alerts-title">Alerts</h2></header>
      <LiveView live={active} what="the alerts" empty="No active alerts.">
        {(list) => (
          <ul className="alert-list" data-testid="active-alerts" aria-live="polite">
            {[...list].sort((x, y) => (SEVERITY_ORDER[x.severity] ?? 3) - (SEVERITY_ORDER[y.severity] ?? 3))
              .map((alert) => <AlertItem key={alert.id} alert={alert} members={members} />)}
          </ul>
        )}
      </LiveView>
      <details>
        <summary>History: acknowledged and resolved</summary>
        <LiveView live={acknowledged} what="acknowledged alerts" empty="None acknowledged.">
          {(list) => <ul className="alert-list" data-testid="acknowledged-alerts">{list.map((a) => <AlertItem key={a.id} alert={a} members={members} />)}</ul>}
        </LiveView>
        <LiveView live={resolved} what="resolved alerts" empty="None resolved recently.">
          {(list) => <ul className="alert-list">{list.map((a) => <AlertItem key={a.id} alert={a} members={members} />)}</ul>}
        </LiveView>
      </details>
    </section>
  );
}
