// Reports: any member asks for the monthly pack of a period (a request document), watches its progress
// live on reports/{same id}, downloads its files through the authenticated download function, and sees
// the delivery history of the org's schedules (docs/reports.md).

import { doc, limit, orderBy, serverTimestamp, setDoc, type Timestamp } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../hooks/live';
import { periodInProgress } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import type { PeriodDoc } from '../lib/types';
import { LiveView } from './States';

export interface ReportFile { name: string; title?: string; format: string; bytes?: number; download_url: string }
export interface ReportDoc {
  period: string; status: 'queued' | 'running' | 'succeeded' | 'failed'; source?: string; requested_by?: string;
  progress?: { step: string; percent: number }; error?: { code: string; message: string } | null;
  files?: ReportFile[]; created_at?: Timestamp; completed_at?: Timestamp; period_status?: string;
  kind?: 'monthly_pack' | 'view'; view_id?: string; view?: { id: string; visibility: string; name: string | null };
}
export interface DeliveryDoc {
  schedule_id: string; period: string; trigger?: string; status: string; message?: string | null; recipients?: string[];
  created_at?: Timestamp; completed_at?: Timestamp;
}

function stamp(t?: Timestamp | null): string {
  return t ? t.toDate().toISOString().slice(0, 16).replace('T', ' ') : '';
}

function size(bytes?: number): string {
  if (bytes === undefined) return '';
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function DownloadButton({ file }: { file: ReportFile }) {
  const { user } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function download() {
    setBusy(true);
    setError(null);
    try {
      // The link needs the ID token in a header (never in the URL): fetch it, hand the browser a blob.
      const token = await user.getIdToken();
      const response = await fetch(file.download_url, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(body.message ?? `the download answered ${response.status}`);
      }
      const url = URL.createObjectURL(await response.blob());
      const a = Object.assign(document.createElement('a'), { href: url, download: file.name });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <li data-file={file.name}>
      <button type="button" className="secondary" onClick={() => void download()} disabled={busy}>
        {busy ? 'Downloading…' : `Download ${file.title ?? file.name}`}
      </button>{' '}
      <span className="sub">{file.format.toUpperCase()} {size(file.bytes)}</span>
      {error && <p className="state error" role="alert">{error}</p>}
    </li>
  );
}

function ReportItem({ report }: { report: ReportDoc & { id: string } }) {
  const percent = report.progress?.percent ?? 0;
  return (
    <li className="report" data-report={report.id} data-status={report.status} data-period={report.period}>
      <p><strong>{report.period}</strong>{report.kind === 'view' && <> view {report.view?.name ?? report.view_id}</>} <span className="sub">{report.source === 'request' || !report.source ? 'requested' : report.source.replace('_', ' ')} {stamp(report.created_at)}</span></p>
      {(report.status === 'running' || report.status === 'queued') && (
        <p role="status">
          <progress max={100} value={percent} aria-label={`Progress of the ${report.period} pack`} /> {report.progress?.step ?? 'waiting'} ({percent}%)
        </p>
      )}
      {report.status === 'failed' && <p className="state error" role="alert">{report.error?.message ?? 'the pack could not be made'}</p>}
      {report.status === 'succeeded' && (
        <ul className="files" data-testid={`files-${report.id}`}>
          {(report.files ?? []).map((f) => <DownloadButton key={f.name} file={f} />)}
        </ul>
      )}
    </li>
  );
}

export function Reports() {
  const { services, orgId, org, user } = useSession();
  const periodDocs = dataOf(useQuery<PeriodDoc>(services.db, orgPath(orgId, 'periods'), [], 'all')) ?? [];
  const reports = useQuery<ReportDoc>(services.db, orgPath(orgId, 'reports'), [orderBy('created_at', 'desc'), limit(20)], 'latest');
  const deliveries = useQuery<DeliveryDoc>(services.db, orgPath(orgId, 'report_deliveries'), [limit(50)], 'all');
  const inProgress = periodInProgress(org.current_period);
  const periods = periodDocs.map((p) => p.id).sort().reverse();
  const [chosen, setChosen] = useState<string | null>(null);
  const period = chosen ?? periods.find((p) => p < inProgress) ?? periods[0] ?? inProgress;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function request(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const id = `pack-${crypto.randomUUID()}`;
      await setDoc(doc(services.db, orgPath(orgId, 'report_requests', id)), {
        period, requested_by: user.uid, requested_at: serverTimestamp(),
      });
    } catch (err) {
      setError(`Not requested: ${(err as { code?: string }).code ?? String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  const history = (dataOf(deliveries) ?? []).slice()
    .sort((a, b) => (b.created_at?.toMillis() ?? 0) - (a.created_at?.toMillis() ?? 0));
  return (
    <div className="reports">
      <section className="panel" aria-labelledby="request-title">
        <header className="panel-header"><h2 id="request-title">Monthly pack</h2></header>
        <form className="upload-form" onSubmit={request} data-testid="request-report">
          <label>Period
            <select value={period} onChange={(e) => setChosen(e.target.value)}>
              {(periods.includes(period) ? periods : [period, ...periods]).map((p) => <option key={p} value={p}>{p}</option>)}
            </select>
          </label>
          <button type="submit" disabled={busy}>Request the pack</button>
        </form>
        <p className="sub">PDF, Excel workbook and CSV tables of the period, made from the numbers the dashboard shows.</p>
        {error && <p className="state error" role="alert">{error}</p>}
        <h3>Latest reports</h3>
        <LiveView live={reports} what="the reports" empty="No report yet: request one above.">
          {(list) => <ul className="report-list" data-testid="reports">{list.map((r) => <ReportItem key={r.id} report={r} />)}</ul>}
        </LiveView>
      </section>
      <section className="panel" aria-labelledby="deliveries-title">
        <header className="panel-header"><h2 id="deliveries-title">Scheduled deliveries</h2></header>
        {history.length === 0 ? <p className="state empty">No scheduled pack was sent yet (admins set schedules in the console).</p> : (
          <div className="table-scroll">
            <table data-testid="deliveries">
              <thead><tr><th scope="col">Period</th><th scope="col">Schedule</th><th scope="col">Status</th><th scope="col">To</th><th scope="col">When</th></tr></thead>
              <tbody>
                {history.map((d) => (
                  <tr key={d.id} data-status={d.status}>
                    <td>{d.period}</td><td>{d.schedule_id}{d.trigger ? <span className="sub"> ({d.trigger.replace('_', ' ')})</span> : null}</td>
                    <td className={d.status === 'delivered' ? 'favourable' : d.status === 'failed' ? 'unfavourable' : 'neutral'}>
                      {d.status.replace('_', ' ')}{d.message ? `: ${d.message}` : ''}
                    </td>
                    <td>{(d.recipients ?? []).join(', ')}</td><td>{stamp(d.completed_at ?? d.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
