import { doc, setDoc } from 'firebase/firestore';
import { useEffect, useState, type FormEvent } from 'react';

import { dataOf, useQuery, type Live } from '../hooks/live';
import { callApi, failure } from '../lib/api';
import { changeTone, formatMetric, formatMetricChange, type MetricDescription, type MetricUnit } from '../lib/metrics';
import { addMonths, comparable, periodInProgress, periodLabel, periodProgress, periodState, toDate } from '../lib/periods';
import { runwayTexts } from '../lib/runway';
import { orgPath, useSession } from '../lib/session';
import type { KpisDoc, MetricDefinitionDoc } from '../lib/types';
import { Sparkline } from './Charts';
import type { DrillTarget } from './DrillDown';

function DrillButton({ metric, label, period, accounts, onDrill }: {
  metric: string; label: string; period: string; accounts: string[] | undefined; onDrill?: (target: DrillTarget) => void;
}) {
  if (!onDrill || !accounts?.length) return null;
  return (
    <button type="button" className="link drill" data-testid={`defined-kpi-drill-${metric}`}
            aria-label={`Records of ${label}, ${periodLabel(period)}`}
            onClick={() => onDrill({ label, entityId: '_all', period, scenario: 'actual', accountIds: accounts })}>records</button>
  );
}

const FALLBACK: MetricDescription = { label: '', unit: 'money', direction: 'higher_is_better', decimals: 2, expression: '' };

/** Cards of the org's own KPIs (metric_definitions), from the same kpis/current document as the headline cards.
 * `onDrill`: the records of the accounts a metric reads (the backend resolves its expression to them), in the month shown. */
export function DefinedKpis({ live, onDrill }: { live: Live<KpisDoc & { id: string }>; onDrill?: (target: DrillTarget) => void }) {
  const doc = dataOf(live);
  const { org } = useSession();
  const inProgress = periodInProgress(org.current_period);
  const defined = Object.entries(doc?.kpis ?? {}).filter(([, kpi]) => kpi.defined)
    .map(([metric, kpi]) => ({ metric, kpi, about: { ...FALLBACK, label: metric, ...(doc?.definitions?.[metric] ?? {}) } }))
    .sort((a, b) => a.about.label.localeCompare(b.about.label));
  if (!doc || defined.length === 0) return null;
  return (
    <section aria-labelledby="defined-kpis-title" className="panel">
      <header className="panel-header">
        <h2 id="defined-kpis-title">Our KPIs<span className="sub"> · {periodLabel(doc.period)}</span></h2>
      </header>
      <ul className="kpi-grid" data-testid="defined-kpi-cards">
        {defined.map(({ metric, kpi, about }) => {
          // The month in progress (docs/kpis.md): a flow against the previous month pro-rated by
          // days; a metric mixing the partial month with balances or windows (runway, cash
          // position, growth) shows the last complete month instead.
          if (kpi.basis === 'cash_forecast') {
            // Burn and runway are the cash forecast's (docs/kpis.md), the same as the headline cards.
            const texts = runwayTexts(doc.cash, doc.currency);
            const burning = doc.cash?.status === 'burning';
            return (
              <li key={metric} className="kpi-card" data-kpi={metric} data-unit={about.unit} data-basis="cash_forecast">
                <h3 title={doc.cash?.definition}>{about.label}
                  <DrillButton metric={metric} label={about.label} period={doc.period} accounts={about.accounts} onDrill={onDrill} />
                </h3>
                <p className="kpi-value" data-testid={`defined-kpi-value-${metric}`}>
                  {burning
                    ? `${formatMetric(kpi.value, about.unit, metric === 'runway_months' ? 1 : about.decimals, doc.currency)}${metric === 'net_burn' ? ' a month' : ''}`
                    : metric === 'runway_months' ? texts.runway : texts.burn}
                </p>
                <p className="kpi-change neutral" data-testid={`defined-kpi-change-${metric}`} data-tone="neutral"
                   data-compared="cash_forecast">{texts.note}</p>
              </li>
            );
          }
          const partial = periodState(doc.period, inProgress) === 'in-progress';
          const kind = comparable(metric, about.unit, about.expression);
          const progress = periodProgress(doc.period, inProgress);
          const lastComplete = partial && kind === 'last_complete';
          const shownValue = lastComplete ? kpi.previous : kpi.value;
          const previousToDate = toDate(kpi.previous, progress);
          const delta = partial && kind === 'flow'
            ? (kpi.value === null || previousToDate === null ? null : kpi.value - previousToDate)
            : kpi.change;
          const change = lastComplete ? null : formatMetricChange(delta, about.unit, about.decimals, doc.currency);
          const tone = lastComplete ? 'neutral' : changeTone(delta, about.direction);
          const changeText = lastComplete
            ? `as of ${periodLabel(addMonths(doc.period, -1))}: ${periodLabel(doc.period)} in progress`
            : change === null ? 'no previous month'
              : partial && kind === 'flow'
                ? `${change} vs previous month's first ${progress.elapsedDays} days (pro-rated), so far`
                : `${change} vs previous month`;
          return (
            <li key={metric} className="kpi-card" data-kpi={metric} data-unit={about.unit}>
              <h3 title={about.expression}>{about.label}
                <DrillButton metric={metric} label={about.label} period={lastComplete ? addMonths(doc.period, -1) : doc.period}
                             accounts={about.accounts} onDrill={onDrill} />
              </h3>
              <p className="kpi-value" data-testid={`defined-kpi-value-${metric}`}>
                {formatMetric(shownValue, about.unit, about.decimals, doc.currency)}
              </p>
              <p className={`kpi-change ${tone}`} data-testid={`defined-kpi-change-${metric}`} data-tone={tone}
                 data-compared={partial ? kind : 'month'}>
                {changeText}
                {tone !== 'neutral' && <span className="visually-hidden"> ({tone})</span>}
              </p>
              <Sparkline values={kpi.series.map((p) => p.value)}
                         label={`${about.label}, last ${kpi.series.length} months`} />
            </li>
          );
        })}
      </ul>
    </section>
  );
}

const STATUS_TEXT: Record<string, string> = { active: 'active', invalid: 'invalid', disabled: 'disabled' };

const UNITS: MetricUnit[] = ['money', 'percent', 'ratio', 'days', 'months', 'count'];
const DIRECTIONS = ['higher_is_better', 'lower_is_better', 'neutral'];
const METRIC_ID = /^[a-z][a-z0-9_]{0,63}$/;

interface Draft { id: string; label: string; expression: string; unit: MetricUnit; direction: string }

const EMPTY: Draft = { id: '', label: '', expression: '', unit: 'money', direction: 'higher_is_better' };

interface CheckAnswer { status: string; error: { path: string; message: string } | null; warnings: string[] }

/** What saving the draft would answer, asked of the backend while the admin types (debounced). */
function useDraftCheck(draft: Draft): CheckAnswer | { failed: string } | null {
  const { orgId, user } = useSession();
  const [answer, setAnswer] = useState<CheckAnswer | { failed: string } | null>(null);
  const key = JSON.stringify(draft);
  useEffect(() => {
    const id = draft.id.trim();
    if (!METRIC_ID.test(id) || !draft.expression.trim()) { setAnswer(null); return undefined; }
    let current = true;
    const timer = setTimeout(() => {
      void callApi<CheckAnswer>(user, '/api/metric-definitions/check', {
        org_id: orgId, metric_id: id, label: draft.label.trim() || id, expression: draft.expression.trim(),
        unit: draft.unit, direction: draft.direction, enabled: true,
      }).then((reply) => {
        if (current) setAnswer(reply.ok ? reply.body as CheckAnswer : { failed: failure(reply) });
      });
    }, 400);
    return () => { current = false; clearTimeout(timer); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, orgId]);
  return answer;
}

/** Admins define or edit a metric: the definition's fields only (the rules refuse anything else); the backend
 * checks it as it is typed and answers on the document once saved, and the list below shows the answer live. */
function DefinitionForm({ draft, setDraft, existing }: {
  draft: Draft; setDraft: (d: Draft) => void; existing: Set<string>;
}) {
  const { services, orgId } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const check = useDraftCheck(draft);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const id = draft.id.trim();
    if (!METRIC_ID.test(id)) {
      setError('The id is 1-64 lower-case letters, digits or _, starting with a letter (e.g. runway_months).');
      return;
    }
    setError(null);
    setBusy(true);
    try {
      // merge: an edit changes only these fields; the backend's answer fields stay its own.
      await setDoc(doc(services.db, orgPath(orgId, 'metric_definitions', id)), {
        label: draft.label.trim() || id, expression: draft.expression.trim(), unit: draft.unit, direction: draft.direction,
        enabled: true,
      }, { merge: true });
      setDraft(EMPTY);
    } catch (err) {
      const code = (err as { code?: string }).code;
      setError(code === 'permission-denied' ? 'Refused: only admins define metrics, and built-in ids cannot be redefined.'
        : `Not saved: ${code ?? String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="entry-form" data-testid="definition-form" aria-label="Define a metric">
      <label>Id
        <input value={draft.id} onChange={(e) => setDraft({ ...draft, id: e.target.value })} required
               placeholder="runway_months" />
      </label>
      <label>Label
        <input value={draft.label} onChange={(e) => setDraft({ ...draft, label: e.target.value })} maxLength={80} />
      </label>
      <label className="wide">Expression
        <input value={draft.expression} onChange={(e) => setDraft({ ...draft, expression: e.target.value })} required
               placeholder="cash_position / positive(avg(net_burn, 3))" />
      </label>
      <label>Unit
        <select value={draft.unit} onChange={(e) => setDraft({ ...draft, unit: e.target.value as MetricUnit })}>
          {UNITS.map((u) => <option key={u} value={u}>{u}</option>)}
        </select>
      </label>
      <label>Direction
        <select value={draft.direction} onChange={(e) => setDraft({ ...draft, direction: e.target.value })}>
          {DIRECTIONS.map((d) => <option key={d} value={d}>{d.replace(/_/g, ' ')}</option>)}
        </select>
      </label>
      <button type="submit" disabled={busy}>{existing.has(draft.id.trim()) ? 'Save definition' : 'Add definition'}</button>
      {error && <p className="state error wide" role="alert">{error}</p>}
      <div className="wide draft-check" data-testid="definition-check" aria-live="polite"
           data-status={check === null ? 'idle' : 'failed' in check ? 'failed' : check.status}>
        {check && 'failed' in check && <p className="state error">Could not check: {check.failed}</p>}
        {check && !('failed' in check) && (check.error
          ? <p className="state error"><code>{check.error.path}</code>: {check.error.message}</p>
          : <p className="state ok">Valid{check.status === 'active' ? ': it will be computed for every entity and month' : ''}.</p>)}
        {check && !('failed' in check) && check.warnings.map((w) => <p key={w} className="note">{w}</p>)}
      </div>
    </form>
  );
}

/** For admins: every definition with the backend's answer (status, error with its path, warnings), and a form. */
export function MetricDefinitions() {
  const { services, orgId } = useSession();
  const live = useQuery<MetricDefinitionDoc>(services.db, orgPath(orgId, 'metric_definitions'), [], 'all');
  const definitions = (dataOf(live) ?? []).slice().sort((a, b) => a.id.localeCompare(b.id));
  const [draft, setDraft] = useState<Draft>(EMPTY);
  return (
    <section aria-labelledby="definitions-title" className="panel">
      <header className="panel-header"><h2 id="definitions-title">Metric definitions</h2></header>
      <DefinitionForm draft={draft} setDraft={setDraft} existing={new Set(definitions.map((d) => d.id))} />
      {live.status === 'loading' && <p className="state loading" role="status">Loading the definitions…</p>}
      {live.status === 'ready' && definitions.length === 0 && (
        <p className="state empty">No metric definitions yet: see docs/kpis.md for the library and the expression language.</p>
      )}
      {definitions.length > 0 && (
        <table className="definitions" data-testid="metric-definitions">
          <thead><tr><th scope="col">Metric</th><th scope="col">Expression</th><th scope="col">Status</th></tr></thead>
          <tbody>
            {definitions.map((d) => {
              const status = d.status ?? 'checking';
              return (
                <tr key={d.id} data-definition={d.id} data-status={status}>
                  <td><strong>{d.label || d.id}</strong><br /><code>{d.id}</code> <span className="sub">{d.unit ?? 'money'}</span>
                    <br /><button type="button" className="link" aria-label={`Edit ${d.label || d.id}`}
                                  onClick={() => setDraft({ id: d.id, label: d.label ?? '', expression: d.expression ?? '',
                                    unit: d.unit ?? 'money', direction: d.direction ?? 'higher_is_better' })}>Edit</button></td>
                  <td><code>{d.expression}</code>
                    {d.active_expression && <><br /><span className="sub">in force: <code>{d.active_expression}</code></span></>}
                  </td>
                  <td>
                    <span className={`status ${status === 'invalid' ? 'unfavourable' : 'neutral'}`}>{STATUS_TEXT[status] ?? 'checking…'}</span>
                    {d.error && <p className="definition-error" role="note" data-testid={`definition-error-${d.id}`}>
                      <code>{d.error.path}</code>: {d.error.message}</p>}
                    {(d.warnings ?? []).map((w) => <p key={w} className="sub">{w}</p>)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
