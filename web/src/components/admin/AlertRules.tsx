// Alert rules of every type (docs/alerts.md), with a preview of what the rule would say on current data
// (/api/alerts/preview, the engine's own evaluation, nothing written) while the admin edits it.

import { deleteDoc, doc, setDoc } from 'firebase/firestore';
import { useEffect, useMemo, useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { callApi, failure } from '../../lib/api';
import { decimalToMinor, parseAmount } from '../../lib/money';
import { idProblem } from '../../lib/reference';
import { orgPath, useSession } from '../../lib/session';
import { STANDARD_METRICS } from '../../lib/standardMetrics';
import { Loading } from '../States';
import type { Account, Entity, MetricDefinitionDoc } from '../../lib/types';

type RuleType = 'absolute' | 'variance' | 'trend' | 'anomaly' | 'forecast';
const TYPES: [RuleType, string][] = [
  ['absolute', 'absolute: above or below a threshold'], ['variance', 'variance: against budget or forecast'],
  ['trend', 'trend: several months the same way'], ['anomaly', 'anomaly: unusual for its own history'],
  ['forecast', 'forecast: the trend will cross a threshold'],
];
const BUILTIN = Object.keys(STANDARD_METRICS);

interface Draft {
  id: string; name: string; type: RuleType; severity: string; entity: string; subjectKind: 'metric' | 'account'; subject: string;
  scenario: string; direction: string; threshold: string; comparison: string; mode: string; periods: string; window: string;
  grain: 'month' | 'day';
  horizon: string; channels: string[]; cooldown: string; enabled: boolean;
}

const EMPTY: Draft = {
  id: '', name: '', type: 'absolute', severity: 'warning', entity: '_all', subjectKind: 'metric', subject: 'revenue', scenario: 'actual',
  direction: 'below', threshold: '', comparison: 'budget', mode: 'consecutive', periods: '3', window: '12', horizon: '3', grain: 'month',
  channels: [], cooldown: '3600', enabled: true,
};

/** The rule document of a draft, or the reason it cannot be one yet. `unitOf` gives a metric's unit. */
export function ruleDocument(d: Draft, currency: string, unitOf: (metric: string) => string): { doc: Record<string, unknown> } | { error: string } {
  const target = { entity_id: d.entity, scenario: d.scenario, [d.subjectKind === 'metric' ? 'metric' : 'account_id']: d.subject };
  const body: Record<string, unknown> = {
    name: d.name.trim() || d.id, type: d.type, severity: d.severity, target, channels: d.channels,
    cooldown_seconds: Number(d.cooldown) || 0, enabled: d.enabled,
  };
  const unit = d.subjectKind === 'account' ? 'money' : unitOf(d.subject);
  const threshold = d.threshold.trim();
  const money = () => {
    const parsed = parseAmount(threshold, currency);
    if ('error' in parsed) return { error: `threshold: ${parsed.error}` };
    body.threshold_minor = decimalToMinor(parsed.amount, currency);
    return null;
  };
  const decimal = (field: string) => {
    if (!/^-?[0-9]+([.][0-9]+)?$/.test(threshold)) return { error: `threshold: give a number such as 1.5 (in ${unit})` };
    body[field] = threshold;
    return null;
  };
  let problem: { error: string } | null = null;
  switch (d.type) {
    case 'absolute':
    case 'forecast':
      body.direction = d.direction;
      if (!threshold) return { error: 'give a threshold' };
      problem = unit === 'money' ? money() : decimal(unit === 'percent' ? 'threshold_pct' : 'threshold');
      if (d.type === 'forecast') body.horizon_periods = Number(d.horizon);
      break;
    case 'variance':
      body.direction = d.direction; body.comparison_scenario = d.comparison;
      if (!threshold) return { error: 'give the variance in percent, e.g. 5' };
      problem = decimal('threshold_pct');
      break;
    case 'trend':
      body.direction = d.direction; body.mode = d.mode; body.periods = Number(d.periods);
      break;
    case 'anomaly':
      body.direction = d.direction; body.grain = d.grain;
      // A daily rule replays its days through the streaming detector: no baseline window.
      if (d.grain === 'month') body.window = Number(d.window);
      if (threshold) problem = decimal('threshold');
      break;
  }
  return problem ?? { doc: body };
}

const DIRECTIONS: Record<RuleType, string[]> = {
  absolute: ['below', 'above'], forecast: ['below', 'above'], variance: ['unfavourable', 'favourable', 'any'],
  trend: ['decline', 'increase'], anomaly: ['any', 'spike', 'drop'],
};

interface Preview { valid: boolean; error?: string; period?: string; evaluable?: boolean; firing?: boolean; title?: string; description?: string }

export function AlertRulesScreen() {
  const { services, orgId, org, user } = useSession();
  const rules = useQuery<Record<string, unknown>>(services.db, orgPath(orgId, 'alert_rules'), [], 'all');
  const entities = dataOf(useQuery<Entity>(services.db, orgPath(orgId, 'entities'), [], 'all')) ?? [];
  const accounts = dataOf(useQuery<Account>(services.db, orgPath(orgId, 'accounts'), [], 'all')) ?? [];
  const definitions = dataOf(useQuery<MetricDefinitionDoc>(services.db, orgPath(orgId, 'metric_definitions'), [], 'all')) ?? [];
  const channels = dataOf(useQuery<{ name?: string }>(services.db, orgPath(orgId, 'notification_channels'), [], 'all')) ?? [];
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [checked, setPreview] = useState<(Preview & { key: string }) | null>(null);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const units = useMemo(() => new Map(definitions.map((d) => [d.id, d.unit ?? 'money'])), [definitions]);
  const unitOf = (metric: string) => STANDARD_METRICS[metric]?.unit ?? units.get(metric) ?? 'money';
  const built = ruleDocument(draft, org.reporting_currency, unitOf);
  const key = JSON.stringify('doc' in built ? built.doc : built);
  // The preview of what is written now: one of an earlier draft neither shows nor blocks saving.
  const preview = checked?.key === key ? checked : null;

  useEffect(() => {
    if (!('doc' in built)) { setPreview(null); return undefined; }
    let current = true;
    const timer = setTimeout(() => {
      void callApi<Preview>(user, '/api/alerts/preview', { org_id: orgId, rule_id: draft.id.trim() || 'preview', rule: built.doc }).then((reply) => {
        if (current) setPreview({ ...(reply.ok ? reply.body as Preview : { valid: false, error: failure(reply) }), key });
      });
    }, 350);
    return () => { current = false; clearTimeout(timer); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, orgId]);

  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = idProblem(draft.id.trim(), 'rule id');
    if (problem) { setMessage({ error: true, text: problem }); return; }
    if (!('doc' in built)) { setMessage({ error: true, text: built.error }); return; }
    if (preview && !preview.valid) { setMessage({ error: true, text: `The rule is not valid: ${preview.error}` }); return; }
    try {
      await setDoc(doc(services.db, orgPath(orgId, 'alert_rules', draft.id.trim())), built.doc);
      setMessage({ error: false, text: `Rule ${draft.id.trim()} saved: it is judged at the next change of its figures.` });
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    }
  }

  const metricOptions = [...BUILTIN, ...definitions.map((d) => d.id)];
  return (
    <>
      <section className="panel" aria-labelledby="rules-title">
        <header className="panel-header"><h2 id="rules-title">Alert rules</h2></header>
        {rules.status === 'loading' ? <Loading what="the alert rules" /> : (dataOf(rules) ?? []).length === 0 ? <p className="state empty">No alert rules yet.</p> : (
          <div className="table-scroll">
            <table data-testid="alert-rules">
              <thead><tr><th scope="col">Rule</th><th scope="col">Type</th><th scope="col">Target</th><th scope="col">Actions</th></tr></thead>
              <tbody>
                {(dataOf(rules) ?? []).slice().sort((a, b) => a.id.localeCompare(b.id)).map((r) => {
                  const target = (r.target ?? {}) as Record<string, string>;
                  return (
                    <tr key={r.id} data-rule={r.id}>
                      <td><strong>{String(r.name ?? r.id)}</strong><br /><code>{r.id}</code> <span className="sub">{String(r.severity)}{r.enabled === false ? ', disabled' : ''}</span></td>
                      <td>{String(r.type)}</td>
                      <td>{target.metric ?? target.account_id} · {target.entity_id ?? '_all'} · {target.scenario ?? 'actual'}</td>
                      <td><button type="button" className="link" aria-label={`Delete rule ${r.id}`}
                                  onClick={() => { if (window.confirm(`Delete rule ${r.id}?`)) void deleteDoc(doc(services.db, orgPath(orgId, 'alert_rules', r.id))); }}>Delete</button></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="rule-form-title">
        <header className="panel-header"><h2 id="rule-form-title">Write a rule</h2></header>
        <form className="entry-form" onSubmit={submit} data-testid="rule-form" aria-label="Write an alert rule">
          <label>Rule id <input value={draft.id} onChange={(e) => set({ id: e.target.value })} required placeholder="margin-floor" /></label>
          <label>Name <input value={draft.name} onChange={(e) => set({ name: e.target.value })} maxLength={200} /></label>
          <label>Type
            <select value={draft.type} onChange={(e) => { const type = e.target.value as RuleType; set({ type, direction: DIRECTIONS[type][0] }); }}>
              {TYPES.map(([t, label]) => <option key={t} value={t}>{label}</option>)}
            </select>
          </label>
          <label>Severity
            <select value={draft.severity} onChange={(e) => set({ severity: e.target.value })}>
              <option value="info">info</option><option value="warning">warning</option><option value="critical">critical (escalates)</option>
            </select>
          </label>
          <label>Entity
            <select value={draft.entity} onChange={(e) => set({ entity: e.target.value })}>
              <option value="_all">all entities (consolidated)</option>
              {entities.map((e) => <option key={e.id} value={e.id}>{e.name}</option>)}
            </select>
          </label>
          <label>Watch
            <select value={draft.subjectKind} onChange={(e) => { const kind = e.target.value as 'metric' | 'account'; set({ subjectKind: kind, subject: kind === 'metric' ? 'revenue' : (accounts[0]?.id ?? '') }); }}>
              <option value="metric">a metric</option><option value="account">an account</option>
            </select>
          </label>
          <label>{draft.subjectKind === 'metric' ? 'Metric' : 'Account'}
            <select value={draft.subject} onChange={(e) => set({ subject: e.target.value })}>
              {draft.subjectKind === 'metric'
                ? metricOptions.map((m) => <option key={m} value={m}>{m}</option>)
                : accounts.slice().sort((a, b) => a.id.localeCompare(b.id)).map((a) => <option key={a.id} value={a.id}>{a.id} {a.name}</option>)}
            </select>
          </label>
          <label>Scenario
            <select value={draft.scenario} onChange={(e) => set({ scenario: e.target.value })}>
              <option value="actual">actual</option><option value="budget">budget</option><option value="forecast">forecast</option>
            </select>
          </label>
          <label>Direction
            <select value={draft.direction} onChange={(e) => set({ direction: e.target.value })}>
              {DIRECTIONS[draft.type].map((d) => <option key={d} value={d}>{d}</option>)}
            </select>
          </label>
          {(draft.type === 'absolute' || draft.type === 'forecast' || draft.type === 'variance' || draft.type === 'anomaly') && (
            <label>{draft.type === 'variance' ? 'Variance over (%)' : draft.type === 'anomaly' ? `Likelihood (default ${draft.grain === 'day' ? '0.84 per week' : '0.999'})`
              : `Threshold (${draft.subjectKind === 'account' || unitOf(draft.subject) === 'money' ? org.reporting_currency : unitOf(draft.subject)})`}
              <input value={draft.threshold} onChange={(e) => set({ threshold: e.target.value })} inputMode="decimal" />
            </label>
          )}
          {draft.type === 'variance' && (
            <label>Against
              <select value={draft.comparison} onChange={(e) => set({ comparison: e.target.value })}>
                <option value="budget">budget</option><option value="forecast">forecast</option>
              </select>
            </label>
          )}
          {draft.type === 'trend' && <>
            <label>Mode
              <select value={draft.mode} onChange={(e) => set({ mode: e.target.value })}>
                <option value="consecutive">consecutive months</option><option value="slope">slope</option>
              </select>
            </label>
            <label>Months <input value={draft.periods} onChange={(e) => set({ periods: e.target.value })} inputMode="numeric" /></label>
          </>}
          {draft.type === 'anomaly' && (
            <label>Series
              <select value={draft.grain} onChange={(e) => set({ grain: e.target.value as Draft['grain'] })} data-testid="rule-grain">
                <option value="month">monthly figures</option><option value="day">daily, from booking dates</option>
              </select>
            </label>
          )}
          {draft.type === 'anomaly' && draft.grain === 'month' && <label>Baseline months <input value={draft.window} onChange={(e) => set({ window: e.target.value })} inputMode="numeric" /></label>}
          {draft.type === 'forecast' && <label>Within (months, 1-3) <input value={draft.horizon} onChange={(e) => set({ horizon: e.target.value })} inputMode="numeric" /></label>}
          <fieldset className="wide">
            <legend>Notify</legend>
            {channels.length === 0 ? <span className="sub">no channels yet (the dashboard only)</span> : channels.map((c) => (
              <label key={c.id} className="inline">
                <input type="checkbox" checked={draft.channels.includes(c.id)}
                       onChange={(e) => set({ channels: e.target.checked ? [...draft.channels, c.id] : draft.channels.filter((x) => x !== c.id) })} />
                {c.name ?? c.id}
              </label>
            ))}
          </fieldset>
          <button type="submit">Save rule</button>
          {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
        </form>
        <div className="rule-preview" data-testid="rule-preview" aria-live="polite"
             data-state={!('doc' in built) || (preview && !preview.valid) ? 'invalid' : !preview ? 'pending'
               : !preview.evaluable ? 'unjudged' : preview.firing ? 'firing' : 'quiet'}>
          <h3>Preview on current data</h3>
          {!('doc' in built) ? <p className="state error">{built.error}</p>
            : !preview ? <p className="state loading">Checking…</p>
              : !preview.valid ? <p className="state error" role="alert">{preview.error}</p>
                : !preview.evaluable ? <p className="neutral">{preview.period}: cannot judge yet: {preview.description}</p>
                  : <p className={preview.firing ? 'unfavourable' : 'favourable'}>
                      {preview.period}: {preview.firing ? 'would fire' : 'quiet'}: <strong>{preview.title}</strong>. {preview.description}
                    </p>}
        </div>
      </section>
    </>
  );
}
