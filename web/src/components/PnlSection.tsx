import { useVarianceDocument } from '../hooks/liveMonth';
import { formatMoney, formatPercent } from '../lib/money';
import { periodLabel, periodState } from '../lib/periods';
import { useSession } from '../lib/session';
import type { Account } from '../lib/types';
import type { DrillTarget } from './DrillDown';
import { LiveView } from './States';

/** Leaf accounts of the given types (the accounts records are posted to). */
export function leafAccounts(chart: (Account & { id: string })[], types: string[]): string[] {
  return chart.filter((a) => types.includes(a.type) && !chart.some((o) => o.parent_id === a.id)).map((a) => a.id).sort();
}

/** Top variances of the month from variance/{entity}__{period} (the backend's ranking and flags). */
export function TopVariances({ entityId, period, inProgress, onDrill }: {
  entityId: string; period: string; inProgress: string; onDrill?: (target: DrillTarget) => void;
}) {
  const { org } = useSession();
  const live = useVarianceDocument(entityId, period);
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
