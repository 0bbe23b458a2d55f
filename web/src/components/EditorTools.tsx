// Editors' ways to change numbers: a manual entry (the backend validates it like any event and
// marks it accepted or rejected) and a CSV/XLSX upload (the function replies with a per-row report).

import { addDoc, collection, limit, orderBy, serverTimestamp, where } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { useQuery } from '../hooks/live';
import { parseAmount } from '../lib/money';
import { daysInPeriod } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import type { Account, Entity, ManualEntryDoc } from '../lib/types';
import { LiveView } from './States';

function newEntryId(): string {
  return `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function ManualEntryForm({ entities, accounts, periods, defaultPeriod }: {
  entities: (Entity & { id: string })[]; accounts: (Account & { id: string })[]; periods: string[]; defaultPeriod: string;
}) {
  const { services, orgId, user } = useSession();
  const leaves = accounts.filter((a) => !accounts.some((other) => other.parent_id === a.id)).sort((x, y) => x.id.localeCompare(y.id));
  const [entityId, setEntityId] = useState(entities[0]?.id ?? '');
  const [accountId, setAccountId] = useState(leaves[0]?.id ?? '');
  const [period, setPeriod] = useState(defaultPeriod);
  const [scenario, setScenario] = useState('actual');
  const [amount, setAmount] = useState('');
  const [memo, setMemo] = useState('');
  const [bookedOn, setBookedOn] = useState('');
  const [recordId, setRecordId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const currency = entities.find((e) => e.id === entityId)?.currency ?? 'USD';

  const mine = useQuery<ManualEntryDoc>(services.db, orgPath(orgId, 'manual_entries'),
    [where('created_by', '==', user.uid), orderBy('created_at', 'desc'), limit(10)], user.uid);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = parseAmount(amount, currency);
    if ('error' in parsed) { setError(parsed.error); return; }
    setError(null);
    setBusy(true);
    const id = newEntryId();
    try {
      await addDoc(collection(services.db, orgPath(orgId, 'manual_entries')), {
        record_id: recordId.trim() || id, entity_id: entityId, account_id: accountId, period, scenario,
        amount: parsed.amount, currency, ...(memo.trim() ? { memo: memo.trim().slice(0, 500) } : {}),
        ...(bookedOn ? { date: bookedOn } : {}),
        source: 'web-dashboard', created_by: user.uid, created_at: serverTimestamp(),
      });
      setAmount('');
      setMemo('');
      setBookedOn('');
      setRecordId('');
    } catch (err) {
      const code = (err as { code?: string }).code;
      setError(code === 'permission-denied'
        ? 'Refused: the period may be closed, or your role does not allow entries.'
        : `Not saved: ${code ?? String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="entry-title" className="panel editor">
      <header className="panel-header"><h2 id="entry-title">Manual entry</h2></header>
      <form onSubmit={submit} className="entry-form" data-testid="manual-entry-form">
        <label>Entity
          <select value={entityId} onChange={(e) => setEntityId(e.target.value)}>
            {entities.map((e) => <option key={e.id} value={e.id}>{e.name}</option>)}
          </select>
        </label>
        <label>Account
          <select value={accountId} onChange={(e) => setAccountId(e.target.value)}>
            {leaves.map((a) => <option key={a.id} value={a.id}>{a.id} {a.name}</option>)}
          </select>
        </label>
        <label>Period
          <select value={period} onChange={(e) => setPeriod(e.target.value)}>
            {periods.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <label>Scenario
          <select value={scenario} onChange={(e) => setScenario(e.target.value)}>
            <option value="actual">actual</option><option value="budget">budget</option><option value="forecast">forecast</option>
          </select>
        </label>
        <label>Amount ({currency})
          <input value={amount} onChange={(e) => setAmount(e.target.value)} inputMode="decimal" required placeholder="-1250.00" />
        </label>
        <label>Booking day (optional, within the month)
          <input type="date" value={bookedOn} onChange={(e) => setBookedOn(e.target.value)}
            min={`${period}-01`} max={`${period}-${String(daysInPeriod(period)).padStart(2, '0')}`} data-testid="entry-date" />
        </label>
        <label>Record id (optional, to correct a line)
          <input value={recordId} onChange={(e) => setRecordId(e.target.value)} pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,127}" />
        </label>
        <label className="wide">Memo
          <input value={memo} onChange={(e) => setMemo(e.target.value)} maxLength={500} />
        </label>
        <button type="submit" disabled={busy}>Submit entry</button>
        {error && <p className="state error wide" role="alert">{error}</p>}
      </form>
      <h3>My recent entries</h3>
      <LiveView live={mine} what="your entries" empty="You have made no entries.">
        {(list) => (
          <table className="entries" data-testid="my-entries" aria-live="polite">
            <thead><tr><th scope="col">Record</th><th scope="col">Line</th><th scope="col" className="num">Amount</th><th scope="col">Status</th></tr></thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.id} data-entry-id={e.id} data-status={e.status ?? 'pending'}>
                  <td><code>{e.record_id}</code></td>
                  <td>{e.entity_id} · {e.account_id} · {e.period} · {e.scenario}</td>
                  <td className="num">{e.amount} {e.currency}</td>
                  <td className={e.status === 'accepted' ? 'favourable' : e.status === 'rejected' ? 'unfavourable' : 'neutral'}>
                    {e.status ?? 'pending…'}{e.reason ? `: ${e.reason}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LiveView>
    </section>
  );
}

export interface UploadReport {
  rows: number; blank_rows: number; counts: Record<string, number>;
  errors: { row: number; record_id: string | null; outcome: string; code: string; reason: string }[];
  stale: { row: number; record_id: string; reason: string }[];
  error?: string; message?: string;
}

export function UploadForm() {
  const { services, orgId, user } = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [report, setReport] = useState<UploadReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) { setError('Choose a CSV or XLSX file first.'); return; }
    setBusy(true);
    setError(null);
    setReport(null);
    try {
      const token = await user.getIdToken();
      const type = file.type || (file.name.toLowerCase().endsWith('.xlsx')
        ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv');
      const response = await fetch(`${services.config.uploadPath}?org_id=${encodeURIComponent(orgId)}`, {
        method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': type }, body: file,
      });
      const body = await response.json().catch(() => ({ message: `the upload answered ${response.status} without a report` }));
      if (!response.ok) setError(`${body.message ?? body.error ?? response.statusText}`);
      else setReport(body);
    } catch (err) {
      setError(`Upload failed: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="upload-title" className="panel editor">
      <header className="panel-header"><h2 id="upload-title">Upload ledger lines (CSV or XLSX)</h2></header>
      <form onSubmit={submit} className="upload-form">
        <label>File
          <input type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                 onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <button type="submit" disabled={busy}>{busy ? 'Uploading…' : 'Upload'}</button>
      </form>
      {error && <p className="state error" role="alert">{error}</p>}
      {report && <UploadReportView report={report} />}
    </section>
  );
}

/** The per-row answer of /api/upload: counts by outcome and every rejected row with its reason. */
export function UploadReportView({ report }: { report: UploadReport }) {
  return (
    <div data-testid="upload-report" role="status">
      <p>{report.rows} rows: {Object.entries(report.counts).map(([k, v]) => `${v} ${k}`).join(', ')}</p>
      {report.errors.length > 0 && (
        <div className="table-scroll">
          <table className="rejections">
            <thead><tr><th scope="col">Row</th><th scope="col">Record</th><th scope="col">Code</th><th scope="col">Reason</th></tr></thead>
            <tbody>
              {report.errors.map((e) => (
                <tr key={e.row} data-row={e.row}><td>{e.row}</td><td>{e.record_id}</td><td><code>{e.code}</code></td><td>{e.reason}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
