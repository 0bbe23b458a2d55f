// FX rates per period: units of the reporting currency per unit of each other currency, by hand or by import.

import { deleteField, doc, serverTimestamp, setDoc, updateDoc } from 'firebase/firestore';
import { useMemo, useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { cell, periodProblem, rateProblem } from '../../lib/reference';
import { orgPath, useSession } from '../../lib/session';
import { Loading } from '../States';
import type { Entity } from '../../lib/types';
import { ImportPanel, type PlannedRow, type SheetRow } from './ImportPanel';

interface FxDoc { rates: Record<string, string>; updated_by?: string }

function planRates(rows: SheetRow[], orgId: string, uid: string, reporting: string): PlannedRow[] {
  return rows.map(({ row, cells }) => {
    const period = cell(cells, 'period', 'month');
    const currency = cell(cells, 'currency').toUpperCase();
    const rate = cell(cells, 'rate', 'fx_rate');
    const problem = periodProblem(period) ?? rateProblem(currency, rate)
      ?? (currency === reporting ? `${currency} is the reporting currency: its rate is always 1` : null);
    return {
      row, key: `${period} ${currency}`, problem, path: orgPath(orgId, 'fx_rates', period), merge: true,
      data: { rates: { [currency]: rate }, updated_by: uid, updated_at: serverTimestamp() },
    };
  });
}

export function FxRatesScreen() {
  const { services, orgId, org, user } = useSession();
  const live = useQuery<FxDoc>(services.db, orgPath(orgId, 'fx_rates'), [], 'all');
  const entities = dataOf(useQuery<Entity>(services.db, orgPath(orgId, 'entities'), [], 'all')) ?? [];
  const rates = useMemo(() => (dataOf(live) ?? []).slice().sort((a, b) => b.id.localeCompare(a.id)), [live]);
  const foreign = [...new Set([...entities.map((e) => e.currency), ...rates.flatMap((r) => Object.keys(r.rates ?? {}))])]
    .filter((c) => c !== org.reporting_currency).sort();
  const [period, setPeriod] = useState('');
  const [currency, setCurrency] = useState('');
  const [rate, setRate] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const code = currency.trim().toUpperCase();
    const value = rate.trim();
    const problem = periodProblem(period.trim()) ?? rateProblem(code, value)
      ?? (code === org.reporting_currency ? `${code} is the reporting currency: its rate is always 1` : null);
    if (problem) { setMessage({ error: true, text: problem }); return; }
    try {
      // merge: the period's other currencies stay as they are.
      await setDoc(doc(services.db, orgPath(orgId, 'fx_rates', period.trim())),
        { rates: { [code]: value }, updated_by: user.uid, updated_at: serverTimestamp() }, { merge: true });
      setMessage({ error: false, text: `1 ${code} = ${value} ${org.reporting_currency} in ${period.trim()}.` });
      setRate('');
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    }
  }

  async function remove(p: string, code: string) {
    await updateDoc(doc(services.db, orgPath(orgId, 'fx_rates', p)), { [`rates.${code}`]: deleteField(), updated_by: user.uid, updated_at: serverTimestamp() });
  }

  return (
    <>
      <section className="panel" aria-labelledby="fx-title">
        <header className="panel-header"><h2 id="fx-title">FX rates</h2>
          <span className="sub">{org.reporting_currency} per unit of each currency; an entity's record in a month without its rate is rejected (missing_fx_rate)</span></header>
        {live.status === 'loading' ? <Loading what="the rates" /> : rates.length === 0 ? <p className="state empty">No rates yet.</p> : (
          <div className="table-scroll">
            <table data-testid="fx-rates">
              <thead><tr><th scope="col">Period</th>{foreign.map((c) => <th key={c} scope="col" className="num">{c}</th>)}</tr></thead>
              <tbody>
                {rates.map((r) => (
                  <tr key={r.id} data-period={r.id}>
                    <th scope="row">{r.id}</th>
                    {foreign.map((c) => (
                      <td key={c} className="num" data-currency={c}>
                        {r.rates?.[c] ?? <span className="unfavourable">missing</span>}
                        {r.rates?.[c] && <> <button type="button" className="link" aria-label={`Remove the ${c} rate of ${r.id}`} onClick={() => void remove(r.id, c)}>×</button></>}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="fx-form-title">
        <header className="panel-header"><h2 id="fx-form-title">Set a rate</h2></header>
        <form className="entry-form" onSubmit={submit} data-testid="fx-form" aria-label="Set an FX rate">
          <label>Period <input value={period} onChange={(e) => setPeriod(e.target.value)} required placeholder="2026-10" /></label>
          <label>Currency <input value={currency} onChange={(e) => setCurrency(e.target.value)} required maxLength={3} placeholder="EUR" list="fx-currencies" /></label>
          <datalist id="fx-currencies">{foreign.map((c) => <option key={c} value={c} />)}</datalist>
          <label>Rate ({org.reporting_currency} per unit) <input value={rate} onChange={(e) => setRate(e.target.value)} required inputMode="decimal" placeholder="1.08" /></label>
          <button type="submit">Save rate</button>
          {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
        </form>
        <h3>Import rates</h3>
        <ImportPanel what="FX rates" columns="period (YYYY-MM), currency, rate (a decimal such as 1.08)"
                     plan={(rows) => planRates(rows, orgId, user.uid, org.reporting_currency)} />
      </section>
    </>
  );
}
