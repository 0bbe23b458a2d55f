import type { ReactNode } from 'react';

import { useDocument, useQuery, type Live } from '../hooks/live';
import { formatMoney, formatPercent } from '../lib/money';
import { periodLabel, periodState } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import { METRIC_LABELS, type Account, type AggregateDoc, type VarianceDoc } from '../lib/types';
import { higherIsFavourable, isPercentMetric, metricHigherIsFavourable, verdict, type Verdict } from '../lib/variance';
import { CommentButton } from './Comments';
import { LiveView } from './States';

const PNL_METRICS = ['revenue', 'cogs', 'gross_profit', 'gross_margin_pct', 'opex', 'ebitda', 'net_income', 'net_margin_pct'];

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
export function PnlSection({ entityId, period, inProgress, entityName }: {
  entityId: string; period: string; inProgress: string; entityName: string;
}) {
  const { services, orgId, org } = useSession();
  const currency = org.reporting_currency;
  const actualPath = orgPath(orgId, 'aggregates', `${entityId}__${period}__actual`);
  const actual = useDocument<AggregateDoc>(services.db, actualPath);
  const budget = useDocument<AggregateDoc>(services.db, orgPath(orgId, 'aggregates', `${entityId}__${period}__budget`));
  const accounts = useQuery<Account>(services.db, orgPath(orgId, 'accounts'), [], 'all');
  const state = periodState(period, inProgress);
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
          {state === 'in-progress' && <span className="badge in-progress">month in progress</span>}
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
                const points = isPercentMetric(metric);
                const value = a?.metrics?.[metric] ?? null;
                const plan = b?.metrics?.[metric] ?? null;
                const v = verdict(value, plan, metricHigherIsFavourable(metric), points ? 'closed-books' : state, { undefinedWhenMissing: points });
                return (
                  <tr key={metric} className="metric-line" data-line={metric}>
                    <th scope="row">{METRIC_LABELS[metric]}</th>
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
                  const v = verdict(value, plan, higherIsFavourable(acc.type), state);
                  return (
                    <tr key={acc.id} className="account-line">
                      <th scope="row">{acc.id} {acc.name}</th>
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

/** Top variances of the month from variance/{entity}__{period} (the backend's ranking and flags). */
export function TopVariances({ entityId, period, inProgress }: { entityId: string; period: string; inProgress: string }) {
  const { services, orgId, org } = useSession();
  const live = useDocument<VarianceDoc>(services.db, orgPath(orgId, 'variance', `${entityId}__${period}`));
  const state = periodState(period, inProgress);
  return (
    <section aria-labelledby="variances-title" className="panel">
      <header className="panel-header"><h2 id="variances-title">Top budget variances · {periodLabel(period)}</h2></header>
      {state !== 'closed-books' && (
        <p className="note">The month is in progress: lines show the share of their budget booked so far, not a miss.</p>
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
                  <span className="line-name">{line.account_id} {line.account_name}</span>
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
