import type { ReactNode } from 'react';

import { useDocument, useQuery, type Live } from '../hooks/live';
import { formatMoney, formatPercent } from '../lib/money';
import { periodLabel, periodProgress, periodState, toDate } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import type { Account, AggregateDoc, VarianceDoc } from '../lib/types';
import { higherIsFavourable, metricHigherIsFavourable, verdict, type Verdict } from '../lib/variance';
import { CommentButton } from './Comments';
import type { DrillTarget } from './DrillDown';
import { LiveView } from './States';

// The account types each P&L metric is made of: its drill-down lists the records of their leaf accounts.
const METRIC_TYPES: Record<string, string[]> = {
  revenue: ['revenue'], cogs: ['cogs'], gross_profit: ['revenue', 'cogs'], gross_margin_pct: ['revenue', 'cogs'],
  opex: ['opex'], ebitda: ['revenue', 'cogs', 'opex'], ebitda_margin_pct: ['revenue', 'cogs', 'opex'],
  net_income: ['revenue', 'cogs', 'opex', 'other_income', 'other_expense', 'tax'],
  net_margin_pct: ['revenue', 'cogs', 'opex', 'other_income', 'other_expense', 'tax'],
};

/** Leaf accounts of the given types (the accounts records are posted to). */
export function leafAccounts(chart: (Account & { id: string })[], types: string[]): string[] {
  return chart.filter((a) => types.includes(a.type) && !chart.some((o) => o.parent_id === a.id)).map((a) => a.id).sort();
}

export function metricDrillTarget(metric: string, chart: (Account & { id: string })[], entityId: string, period: string): DrillTarget {
  return { label: METRIC_NAMES[metric] ?? metric, entityId, period, scenario: 'actual', accountIds: leafAccounts(chart, METRIC_TYPES[metric] ?? []) };
}

const PNL_METRICS = ['revenue', 'cogs', 'gross_profit', 'gross_margin_pct', 'opex', 'ebitda', 'net_income', 'net_margin_pct'];
const METRIC_NAMES: Record<string, string> = {
  revenue: 'Revenue', cogs: 'Cost of goods sold', gross_profit: 'Gross profit', gross_margin_pct: 'Gross margin',
  opex: 'Operating expenses', ebitda: 'EBITDA', net_income: 'Net income', net_margin_pct: 'Net margin',
};

function VerdictCells({ v, currency, points }: { v: Verdict; currency: string; points: boolean }): ReactNode {
  if (v.kind === 'no-plan') return <><td className="num">–</td><td className="num">–</td></>;
  if (v.kind === 'in-progress') {
    return <td className="num neutral" colSpan={2}>{v.share === null ? 'in progress' : `in progress: ${v.share.toFixed(0)}% of budget`}</td>;
  }
  const label = v.kind === 'favourable' ? 'favourable' : 'unfavourable';
  return (
    <>
      <td className={`num ${v.kind}`} title={label}>
        {points ? formatPercent(v.variance, { points: true }) : formatMoney(v.variance, currency, { signed: true })}
        <span className="visually-hidden"> ({label})</span>
      </td>
      <td className={`num ${v.kind}`}>{points ? '' : formatPercent(v.pct)}</td>
    </>
  );
}

/** P&L of one entity (or the consolidated group) and month: actual, budget and variance. */
export function PnlSection({ entityId, period, inProgress, entityName, onDrill }: {
  entityId: string; period: string; inProgress: string; entityName: string; onDrill?: (target: DrillTarget) => void;
}) {
  const { services, orgId, org } = useSession();
  const currency = org.reporting_currency;
  const actualPath = orgPath(orgId, 'aggregates', `${entityId}__${period}__actual`);
  const actual = useDocument<AggregateDoc>(services.db, actualPath);
  const budget = useDocument<AggregateDoc>(services.db, orgPath(orgId, 'aggregates', `${entityId}__${period}__budget`));
  const accounts = useQuery<Account>(services.db, orgPath(orgId, 'accounts'), [], 'all');
  const state = periodState(period, inProgress);
  // The month in progress (docs/kpis.md): a flow's variance is against the budget to date.
  const progress = periodProgress(period, inProgress);
  const judged = state === 'in-progress' ? 'closed-books' : state;
  const planToDate = (plan: number | null) => (state === 'in-progress' ? toDate(plan, progress) : plan);
  const a = actual.status === 'ready' ? actual.data : undefined;
  const b = budget.status === 'ready' ? budget.data : undefined;
  const chart = accounts.status === 'ready' ? accounts.data : [];
  const anyData = a || b;
  // Either side may be missing (nothing booked yet, nothing planned): the table shows what exists.
  const merged: Live<true> = actual.status === 'loading' || budget.status === 'loading' ? { status: 'loading' }
    : actual.status === 'denied' || actual.status === 'error' ? actual
      : anyData ? { status: 'ready', data: true, receivedAt: 0 } : { status: 'missing', receivedAt: 0 };

  return (
    <section aria-labelledby="pnl-title" className="panel">
      <header className="panel-header">
        <h2 id="pnl-title">P&amp;L · {entityName} · {periodLabel(period)}
          {state === 'in-progress' && (
            <span className="badge in-progress" data-testid="pnl-progress">
              so far: day {progress.elapsedDays} of {progress.days}, variances against the budget to date
            </span>
          )}
        </h2>
        {a && <CommentButton target={actualPath} count={a.comment_count} label={`the ${entityName} actuals of ${periodLabel(period)}`} />}
      </header>
      <LiveView live={merged} what="the P&L" empty={`Nothing booked or planned for ${entityName} in ${periodLabel(period)}.`}>
        {() => (
          <table className="pnl" data-testid="pnl-table">
            <caption className="visually-hidden">Actual against budget, {entityName}, {periodLabel(period)}</caption>
            <thead>
              <tr><th scope="col">Line</th><th scope="col" className="num">Actual</th><th scope="col" className="num">Budget</th>
                <th scope="col" className="num">Variance</th><th scope="col" className="num">Var %</th></tr>
            </thead>
            <tbody>
              {PNL_METRICS.map((metric) => {
                const points = metric.endsWith('_pct');
                const value = a?.metrics?.[metric] ?? null;
                const plan = b?.metrics?.[metric] ?? null;
                const v = verdict(value, points ? plan : planToDate(plan), metricHigherIsFavourable(metric), points ? 'closed-books' : judged, { undefinedWhenMissing: points });
                return (
                  <tr key={metric} className="metric-line" data-line={metric}>
                    <th scope="row">{METRIC_NAMES[metric]}
                      {onDrill && !points && (
                        <button type="button" className="link drill" data-testid={`drill-${metric}`}
                                onClick={() => onDrill(metricDrillTarget(metric, chart, entityId, period))}
                                aria-label={`Records of ${METRIC_NAMES[metric]}`}>records</button>
                      )}
                    </th>
                    <td className="num" data-testid={`pnl-actual-${metric}`}>{points ? formatPercent(value, { signed: false }) : formatMoney(value, currency)}</td>
                    <td className="num">{points ? formatPercent(plan, { signed: false }) : formatMoney(plan, currency)}</td>
                    <VerdictCells v={v} currency={currency} points={points} />
                  </tr>
                );
              })}
              {chart.filter((acc) => acc.parent_id && ((a?.accounts?.[acc.id] ?? 0) !== 0 || (b?.accounts?.[acc.id] ?? 0) !== 0))
                .sort((x, y) => x.id.localeCompare(y.id))
                .map((acc) => {
                  const value = a?.accounts?.[acc.id] ?? 0;
                  const plan = b?.accounts?.[acc.id] ?? null;
                  const v = verdict(value, planToDate(plan), higherIsFavourable(acc.type), judged);
                  return (
                    <tr key={acc.id} className="account-line">
                      <th scope="row">{acc.id} {acc.name}
                        {onDrill && (
                          <button type="button" className="link drill" data-testid={`drill-account-${acc.id}`}
                                  onClick={() => onDrill({ label: `${acc.id} ${acc.name}`, entityId, period, scenario: 'actual',
                                                           accountIds: leafAccounts(chart, [acc.type]).filter((l) => l === acc.id || isUnder(chart, l, acc.id)) })}
                                  aria-label={`Records of ${acc.id} ${acc.name}`}>records</button>
                        )}
                      </th>
                      <td className="num">{formatMoney(value, currency)}</td>
                      <td className="num">{formatMoney(plan, currency)}</td>
                      <VerdictCells v={v} currency={currency} points={false} />
                    </tr>
                  );
                })}
            </tbody>
          </table>
        )}
      </LiveView>
    </section>
  );
}

function isUnder(chart: (Account & { id: string })[], accountId: string, ancestor: string): boolean {
  for (let parent = chart.find((a) => a.id === accountId)?.parent_id; parent; parent = chart.find((a) => a.id === parent)?.parent_id) {
    if (parent === ancestor) return true;
  }
  return false;
}

/** Top variances of the month from variance/{entity}__{period} (the backend's ranking and flags). */
export function TopVariances({ entityId, period, inProgress, onDrill }: {
  entityId: string; period: string; inProgress: string; onDrill?: (target: DrillTarget) => void;
}) {
  const { services, orgId, org } = useSession();
  const live = useDocument<VarianceDoc>(services.db, orgPath(orgId, 'variance', `${entityId}__${period}`));
  const state = periodState(period, inProgress);
  return (
    <section aria-labelledby="variances-title" className="panel">
      <header className="panel-header"><h2 id="variances-title">Top budget variances · {periodLabel(period)}</h2></header>
      {state !== 'closed-books' && (
        <p className="note">The month is in progress: lines show the share of their month's budget booked so far, not a miss.</p>
      )}
      <LiveView live={live} what="the variances" empty="No variances for this month yet.">
        {(doc) => (
          <ol className="variances" data-testid="top-variances">
            {(doc.vs_budget?.top ?? doc.top ?? []).map((line) => {
              const progress = state !== 'closed-books';
              const share = line.comparison_minor === 0 ? null : (line.actual_minor * 100) / line.comparison_minor;
              const kind = progress ? 'neutral' : line.favourable ? 'favourable' : 'unfavourable';
              return (
                <li key={line.account_id} className={kind}>
                  <span className="line-name">{line.account_id} {line.account_name}
                    {onDrill && (
                      <button type="button" className="link drill" data-testid={`drill-variance-${line.account_id}`}
                              onClick={() => onDrill({ label: `${line.account_id} ${line.account_name}`, entityId, period, scenario: 'actual', accountIds: [line.account_id] })}
                              aria-label={`Records of ${line.account_id}`}>records</button>
                    )}
                  </span>
                  <span className="num">
                    {progress
                      ? (share === null ? 'no budget' : `${share.toFixed(0)}% of ${formatMoney(line.comparison_minor, org.reporting_currency)}`)
                      : <>{formatMoney(line.variance_minor, org.reporting_currency, { signed: true })} ({formatPercent(line.variance_pct)})
                        <span className="visually-hidden"> {line.favourable ? 'favourable' : 'unfavourable'}</span></>}
                  </span>
                </li>
              );
            })}
          </ol>
        )}
      </LiveView>
    </section>
  );
}
