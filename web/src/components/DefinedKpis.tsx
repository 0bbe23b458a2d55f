import { dataOf, useQuery, type Live } from '../hooks/live';
import { changeTone, formatMetric, formatMetricChange, type MetricDescription } from '../lib/metrics';
import { periodLabel } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import type { KpisDoc, MetricDefinitionDoc } from '../lib/types';
import { Sparkline } from './Charts';

const FALLBACK: MetricDescription = { label: '', unit: 'money', direction: 'higher_is_better', decimals: 2, expression: '' };

/** Cards of the org's own KPIs (metric_definitions), from the same kpis/current document as the headline cards. */
export function DefinedKpis({ live }: { live: Live<KpisDoc & { id: string }> }) {
  const doc = dataOf(live);
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
          const change = formatMetricChange(kpi.change, about.unit, about.decimals, doc.currency);
          const tone = changeTone(kpi.change, about.direction);
          return (
            <li key={metric} className="kpi-card" data-kpi={metric} data-unit={about.unit}>
              <h3 title={about.expression}>{about.label}</h3>
              <p className="kpi-value" data-testid={`defined-kpi-value-${metric}`}>
                {formatMetric(kpi.value, about.unit, about.decimals, doc.currency)}
              </p>
              <p className={`kpi-change ${tone}`} data-testid={`defined-kpi-change-${metric}`} data-tone={tone}>
                {change === null ? 'no previous month' : `${change} vs previous month`}
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

/** For admins: every definition with the backend's answer (status, error with its path, warnings). */
export function MetricDefinitions() {
  const { services, orgId } = useSession();
  const live = useQuery<MetricDefinitionDoc>(services.db, orgPath(orgId, 'metric_definitions'), [], 'all');
  const definitions = (dataOf(live) ?? []).slice().sort((a, b) => a.id.localeCompare(b.id));
  return (
    <section aria-labelledby="definitions-title" className="panel">
      <header className="panel-header"><h2 id="definitions-title">Metric definitions</h2></header>
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
                  <td><strong>{d.label || d.id}</strong><br /><code>{d.id}</code> <span className="sub">{d.unit ?? 'money'}</span></td>
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
