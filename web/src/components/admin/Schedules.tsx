// Report schedules: the monthly pack, or the report of a shared or ready-made view, e-mailed at month
// end or when a period is closed (docs/reports.md).

import { deleteDoc, doc, limit, serverTimestamp, setDoc, where } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { idProblem } from '../../lib/reference';
import { orgPath, useSession } from '../../lib/session';
import { readyMadeViews, type ViewDoc } from '../../lib/views';
import { Loading } from '../States';
import type { ChannelDoc } from './Channels';

interface ScheduleDoc {
  name?: string; trigger: 'month_end' | 'period_close'; enabled: boolean; days_after_month_end?: number;
  channel_id?: string; recipients?: string[]; view_id?: string;
}

const EMAIL = /^[^@\s,]{1,64}@[^@\s,]{1,190}$/;

export function SchedulesScreen() {
  const { services, orgId, org, user } = useSession();
  const live = useQuery<ScheduleDoc>(services.db, orgPath(orgId, 'report_schedules'), [], 'all');
  // A schedule may send a view's report: a ready-made view or a shared one (never a member's personal view).
  const shared = dataOf(useQuery<ViewDoc>(services.db, orgPath(orgId, 'views'), [where('visibility', '==', 'shared'), limit(100)], 'shared')) ?? [];
  const views = [
    ...readyMadeViews(org.dimensions).map((v) => ({ id: v.id, name: v.name })),
    ...shared.map((v) => ({ id: v.id, name: v.name })).sort((a, b) => a.name.localeCompare(b.name)),
  ];
  const viewName = (viewId: string) => views.find((v) => v.id === viewId)?.name ?? viewId;
  const [view, setView] = useState('');
  const channels = (dataOf(useQuery<ChannelDoc>(services.db, orgPath(orgId, 'notification_channels'), [], 'all')) ?? [])
    .filter((c) => c.type === 'email');
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [trigger, setTrigger] = useState<'month_end' | 'period_close'>('month_end');
  const [days, setDays] = useState('3');
  const [channel, setChannel] = useState('');
  const [recipients, setRecipients] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = idProblem(id.trim(), 'schedule id');
    if (problem) { setMessage({ error: true, text: problem }); return; }
    const list = recipients.split(/[\s,;]+/).map((r) => r.trim()).filter(Boolean);
    const bad = list.find((r) => !EMAIL.test(r));
    if (bad) { setMessage({ error: true, text: `"${bad}" is not an e-mail address` }); return; }
    if (!channel && list.length === 0) { setMessage({ error: true, text: 'choose an e-mail channel or give recipients' }); return; }
    const day = Number(days);
    if (trigger === 'month_end' && !(Number.isInteger(day) && day >= 0 && day <= 28)) {
      setMessage({ error: true, text: 'the pack goes 0 to 28 days after the month ends' });
      return;
    }
    try {
      await setDoc(doc(services.db, orgPath(orgId, 'report_schedules', id.trim())), {
        name: name.trim() || id.trim(), trigger, enabled: true,
        ...(trigger === 'month_end' ? { days_after_month_end: day } : {}),
        ...(channel ? { channel_id: channel } : {}), ...(list.length ? { recipients: list } : {}),
        ...(view ? { view_id: view } : {}),
        updated_by: user.uid, updated_at: serverTimestamp(),
      });
      setMessage({ error: false, text: `Schedule ${id.trim()} saved.` });
      setId(''); setName(''); setRecipients(''); setView('');
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    }
  }

  const schedules = (dataOf(live) ?? []).slice().sort((a, b) => a.id.localeCompare(b.id));
  return (
    <>
      <section className="panel" aria-labelledby="schedules-title">
        <header className="panel-header"><h2 id="schedules-title">Report schedules</h2>
          <span className="sub">the monthly pack or a view's report by e-mail; what was sent is under Reports</span></header>
        {live.status === 'loading' ? <Loading what="the schedules" /> : schedules.length === 0 ? <p className="state empty">No schedules.</p> : (
          <div className="table-scroll">
            <table data-testid="schedules">
              <thead><tr><th scope="col">Schedule</th><th scope="col">Report</th><th scope="col">When</th><th scope="col">To</th><th scope="col">Actions</th></tr></thead>
              <tbody>
                {schedules.map((s) => (
                  <tr key={s.id} data-schedule={s.id}>
                    <td><strong>{s.name ?? s.id}</strong><br /><code>{s.id}</code>{!s.enabled && <span className="sub"> disabled</span>}</td>
                    <td data-testid="schedule-report">{s.view_id ? `view ${viewName(s.view_id)}` : 'monthly pack'}</td>
                    <td>{s.trigger === 'month_end' ? `${s.days_after_month_end ?? 3} days after each month ends` : 'when a period is closed'}</td>
                    <td>{[s.channel_id ? `channel ${s.channel_id}` : '', ...(s.recipients ?? [])].filter(Boolean).join(', ')}</td>
                    <td>
                      <button type="button" className="link" onClick={() => void setDoc(doc(services.db, orgPath(orgId, 'report_schedules', s.id)),
                        { enabled: !s.enabled, updated_by: user.uid, updated_at: serverTimestamp() }, { merge: true })}>{s.enabled ? 'Disable' : 'Enable'}</button>{' '}
                      <button type="button" className="link" aria-label={`Delete schedule ${s.id}`}
                              onClick={() => { if (window.confirm(`Delete schedule ${s.id}?`)) void deleteDoc(doc(services.db, orgPath(orgId, 'report_schedules', s.id))); }}>Delete</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="schedule-form-title">
        <header className="panel-header"><h2 id="schedule-form-title">Add a schedule</h2></header>
        <form className="entry-form" onSubmit={submit} data-testid="schedule-form" aria-label="Add a report schedule">
          <label>Schedule id <input value={id} onChange={(e) => setId(e.target.value)} required placeholder="cfo-pack" /></label>
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} /></label>
          <label>Report
            <select value={view} onChange={(e) => setView(e.target.value)}>
              <option value="">the monthly pack</option>
              {views.map((v) => <option key={v.id} value={v.id}>view: {v.name}</option>)}
            </select>
          </label>
          <label>When
            <select value={trigger} onChange={(e) => setTrigger(e.target.value as 'month_end' | 'period_close')}>
              <option value="month_end">after each month ends</option><option value="period_close">when a period is closed</option>
            </select>
          </label>
          {trigger === 'month_end' && <label>Days after month end (0-28) <input value={days} onChange={(e) => setDays(e.target.value)} inputMode="numeric" /></label>}
          <label>E-mail channel
            <select value={channel} onChange={(e) => setChannel(e.target.value)}>
              <option value="">(none: the server's SMTP settings)</option>
              {channels.map((c) => <option key={c.id} value={c.id}>{c.name ?? c.id}</option>)}
            </select>
          </label>
          <label className="wide">Recipients (replace the channel's) <input value={recipients} onChange={(e) => setRecipients(e.target.value)} placeholder="cfo@example.com" /></label>
          <button type="submit">Save schedule</button>
          {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
        </form>
      </section>
    </>
  );
}
