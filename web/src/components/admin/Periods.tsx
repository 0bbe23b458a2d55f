// Periods: open a range of months, close and reopen them, and the close checklist of each (where its
// close stands: loads applied, rejects resolved, reconciliation clean, pack sent; /api/periods/close-status).

import { doc, serverTimestamp, setDoc, writeBatch, type Timestamp } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { callApi, failure } from '../../lib/api';
import { periodRange } from '../../lib/periods';
import { periodProblem } from '../../lib/reference';
import { orgPath, useSession } from '../../lib/session';
import { Loading } from '../States';
import type { Member } from '../../lib/types';

interface PeriodDocument { status: 'open' | 'closed'; updated_by?: string; updated_at?: Timestamp }
interface ChecklistItem { key: string; label: string; state: 'done' | 'attention' | 'unknown'; detail: string }

function Checklist({ period }: { period: string }) {
  const { orgId, user } = useSession();
  const [items, setItems] = useState<ChecklistItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function load() {
    setBusy(true);
    setError(null);
    const reply = await callApi<{ items: ChecklistItem[] }>(user,
      `/api/periods/close-status?org_id=${encodeURIComponent(orgId)}&period=${period}`, null, 'GET');
    setBusy(false);
    if (reply.ok && reply.body.items) setItems(reply.body.items);
    else setError(failure(reply));
  }
  return (
    <div className="checklist" data-testid={`checklist-${period}`}>
      <button type="button" className="secondary" onClick={() => void load()} disabled={busy}>
        {items ? 'Check again' : 'Close checklist'}
      </button>
      {error && <p className="state error" role="alert">{error}</p>}
      {items && (
        <ul aria-label={`Close checklist of ${period}`}>
          {items.map((i) => (
            <li key={i.key} data-item={i.key} data-state={i.state}>
              <span className={i.state === 'done' ? 'favourable' : i.state === 'attention' ? 'unfavourable' : 'neutral'}>
                {i.state === 'done' ? '✓' : i.state === 'attention' ? '!' : '?'} {i.label}
              </span>
              <span className="visually-hidden"> ({i.state})</span>: <span className="sub">{i.detail}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function PeriodsScreen() {
  const { services, orgId, user } = useSession();
  const live = useQuery<PeriodDocument>(services.db, orgPath(orgId, 'periods'), [], 'all');
  const members = dataOf(useQuery<Member>(services.db, orgPath(orgId, 'members'), [], 'all')) ?? [];
  const names = new Map(members.map((m) => [m.id, m.display_name ?? m.email ?? m.id]));
  const periods = (dataOf(live) ?? []).slice().sort((a, b) => b.id.localeCompare(a.id));
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [rowError, setRowError] = useState<Record<string, string>>({});

  async function openRange(event: FormEvent) {
    event.preventDefault();
    const problem = periodProblem(first.trim()) ?? periodProblem((last || first).trim());
    if (problem) { setMessage({ error: true, text: problem }); return; }
    const months = periodRange(first.trim(), (last || first).trim());
    if (months.length === 0) { setMessage({ error: true, text: 'the last month comes before the first' }); return; }
    if (months.length > 120) { setMessage({ error: true, text: 'at most 120 months at a time' }); return; }
    const existing = new Set(periods.map((p) => p.id));
    const batch = writeBatch(services.db);
    const added = months.filter((m) => !existing.has(m));
    for (const m of added) batch.set(doc(services.db, orgPath(orgId, 'periods', m)), { status: 'open', updated_by: user.uid, updated_at: serverTimestamp() });
    try {
      await batch.commit();
      setMessage({ error: false, text: added.length ? `Opened ${added.length} month(s): ${added[0]} to ${added[added.length - 1]}.` : 'These months exist already.' });
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    }
  }

  async function setStatus(period: string, status: 'open' | 'closed') {
    if (status === 'closed' && !window.confirm(`Close ${period}? Every change to it will be refused until it is reopened.`)) return;
    try {
      await setDoc(doc(services.db, orgPath(orgId, 'periods', period)), { status, updated_by: user.uid, updated_at: serverTimestamp() });
      setRowError((e) => ({ ...e, [period]: '' }));
    } catch (err) {
      setRowError((e) => ({ ...e, [period]: `Not saved: ${(err as { code?: string }).code ?? String(err)}` }));
    }
  }

  return (
    <>
      <section className="panel" aria-labelledby="periods-title">
        <header className="panel-header"><h2 id="periods-title">Periods</h2>
          <span className="sub">a closed month refuses every change, from any source, until it is reopened</span></header>
        {live.status === 'loading' ? <Loading what="the periods" /> : periods.length === 0 ? <p className="state empty">No periods yet: open the months you will load below.</p> : (
          <div className="table-scroll">
            <table data-testid="periods">
              <thead><tr><th scope="col">Month</th><th scope="col">Status</th><th scope="col">Last change</th><th scope="col">Close</th></tr></thead>
              <tbody>
                {periods.map((p) => (
                  <tr key={p.id} data-period={p.id} data-status={p.status}>
                    <th scope="row">{p.id}</th>
                    <td className={p.status === 'closed' ? 'neutral' : 'favourable'}>{p.status}</td>
                    <td className="sub">{p.updated_by ? `${names.get(p.updated_by) ?? p.updated_by}` : ''} {p.updated_at ? p.updated_at.toDate().toISOString().slice(0, 10) : ''}</td>
                    <td>
                      {p.status === 'closed'
                        ? <button type="button" className="secondary" onClick={() => void setStatus(p.id, 'open')}>Reopen</button>
                        : <button type="button" onClick={() => void setStatus(p.id, 'closed')}>Close {p.id}</button>}
                      <Checklist period={p.id} />
                      {rowError[p.id] && <p className="state error" role="alert">{rowError[p.id]}</p>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="open-periods-title">
        <header className="panel-header"><h2 id="open-periods-title">Open months</h2></header>
        <form className="entry-form" onSubmit={openRange} data-testid="open-periods" aria-label="Open months">
          <label>From <input value={first} onChange={(e) => setFirst(e.target.value)} required placeholder="2026-01" /></label>
          <label>To (optional) <input value={last} onChange={(e) => setLast(e.target.value)} placeholder="2026-12" /></label>
          <button type="submit">Open months</button>
          {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
        </form>
      </section>
    </>
  );
}
