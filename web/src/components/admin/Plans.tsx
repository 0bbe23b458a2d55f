// Budget and forecast: a file of plan lines uploaded into its scenario (through the same upload function
// as actuals, /api/upload, after checking that every row is of the chosen scenario), and what each month
// of the plan holds, live.

import { orderBy, where } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { failure } from '../../lib/api';
import { formatMoney } from '../../lib/money';
import { orgPath, useSession } from '../../lib/session';
import { Loading } from '../States';
import type { AggregateDoc } from '../../lib/types';
import { UploadReportView, type UploadReport } from '../EditorTools';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
type Scenario = 'budget' | 'forecast';

export function PlansScreen() {
  const { services, orgId, org, user } = useSession();
  const [scenario, setScenario] = useState<Scenario>('budget');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [report, setReport] = useState<UploadReport | null>(null);
  const months = useQuery<AggregateDoc>(services.db, orgPath(orgId, 'aggregates'),
    [where('entity_id', '==', '_all'), where('scenario', '==', scenario), orderBy('period')], `plan-${scenario}`);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) { setError('Choose a CSV or XLSX file of plan lines first.'); return; }
    setBusy(true);
    setError(null);
    setReport(null);
    try {
      const token = await user.getIdToken();
      const type = file.name.toLowerCase().endsWith('.xlsx') ? XLSX : 'text/csv';
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': type };
      // The scenario is a column of every line: a file meant for the budget must not move actuals.
      const read = await fetch(`/api/sheets/read?org_id=${encodeURIComponent(orgId)}`, { method: 'POST', headers, body: file });
      const sheet = await read.json().catch(() => ({ message: `the file reader answered ${read.status}` }));
      if (!read.ok) { setError(failure({ ok: false, status: read.status, body: sheet })); return; }
      const wrong = (sheet.rows as { row: number; cells: Record<string, string> }[])
        .filter((r) => (r.cells.scenario ?? '').trim().toLowerCase() !== scenario);
      if (wrong.length) {
        setError(`Nothing was loaded: row ${wrong[0].row} has scenario "${wrong[0].cells.scenario ?? ''}"`
          + `${wrong.length > 1 ? ` (and ${wrong.length - 1} more rows)` : ''}; every row of a ${scenario} file has scenario ${scenario}.`);
        return;
      }
      const response = await fetch(`${services.config.uploadPath}?org_id=${encodeURIComponent(orgId)}`, { method: 'POST', headers, body: file });
      const body = await response.json().catch(() => ({ message: `the upload answered ${response.status} without a report` }));
      if (!response.ok) setError(failure({ ok: false, status: response.status, body }));
      else setReport(body);
    } catch (err) {
      setError(`Upload failed: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  const rows = dataOf(months) ?? [];
  return (
    <>
      <section className="panel" aria-labelledby="plans-title">
        <header className="panel-header"><h2 id="plans-title">Budget and forecast</h2></header>
        <form className="upload-form" onSubmit={submit} data-testid="plan-upload" aria-label="Upload plan lines">
          <label>Scenario
            <select value={scenario} onChange={(e) => setScenario(e.target.value as Scenario)}>
              <option value="budget">budget</option><option value="forecast">forecast</option>
            </select>
          </label>
          <label>File (CSV or XLSX)
            <input type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                   onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </label>
          <button type="submit" disabled={busy}>{busy ? 'Uploading…' : `Upload ${scenario}`}</button>
        </form>
        <p className="sub">The ledger format (docs/integrators.md): record_id, entity_id, account_id, period, scenario, amount, currency,
          with scenario {scenario} on every row. A line uploaded again with a new amount replaces the old one (same record_id).</p>
        {error && <p className="state error" role="alert">{error}</p>}
        {report && <UploadReportView report={report} />}
      </section>
      <section className="panel" aria-labelledby="plan-months-title">
        <header className="panel-header"><h2 id="plan-months-title">The {scenario}, consolidated</h2></header>
        {months.status === 'loading' ? <Loading what={`the ${scenario}`} /> : rows.length === 0 ? <p className="state empty">No {scenario} lines yet.</p> : (
          <div className="table-scroll">
            <table data-testid="plan-months">
              <thead><tr><th scope="col">Month</th><th scope="col" className="num">Revenue</th><th scope="col" className="num">Opex</th><th scope="col" className="num">EBITDA</th><th scope="col" className="num">Lines</th></tr></thead>
              <tbody>
                {rows.map((a) => (
                  <tr key={a.id} data-period={a.period}>
                    <th scope="row">{a.period}</th>
                    <td className="num">{formatMoney(a.metrics.revenue ?? 0, a.currency ?? org.reporting_currency)}</td>
                    <td className="num">{formatMoney(a.metrics.opex ?? 0, a.currency ?? org.reporting_currency)}</td>
                    <td className="num">{formatMoney(a.metrics.ebitda ?? 0, a.currency ?? org.reporting_currency)}</td>
                    <td className="num">{a.record_count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
