import { orderBy, where } from 'firebase/firestore';
import { useState } from 'react';

import { dataOf, useDocument, useQuery } from '../hooks/live';
import { useConsolidatedActuals } from '../hooks/liveMonth';
import { formatMoney, formatPercent } from '../lib/money';
import { periodInProgress, periodLabel } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import { METRIC_LABELS, type AggregateDoc, type TrendDoc } from '../lib/types';
import { TrendChart, type TrendPoint } from './Charts';
import { LiveView } from './States';

const METRICS = ['revenue', 'ebitda'].map((id) => ({ id, label: METRIC_LABELS[id] }));

/** Consolidated actual and budget by month (query aggregates_series), with the trend's forecast. */
export function TrendSection() {
  const { services, orgId, org } = useSession();
  const [metric, setMetric] = useState('revenue');
  const path = orgPath(orgId, 'aggregates');
  const actual = useConsolidatedActuals();
  const budget = useQuery<AggregateDoc>(services.db, path,
    [where('entity_id', '==', '_all'), where('scenario', '==', 'budget'), orderBy('period')], 'budget');
  const trend = useDocument<TrendDoc>(services.db, orgPath(orgId, 'trends', `metric__${metric}`));
  const label = METRICS.find((m) => m.id === metric)?.label ?? metric;
  // The month in progress is a "so far" point; the trend and forecast are fitted on complete months.
  const inProgress = periodInProgress(org.current_period);

  const budgets = new Map((dataOf(budget) ?? []).map((a) => [a.period, a.metrics?.[metric] ?? null]));
  const points: TrendPoint[] = (dataOf(actual) ?? [])
    .filter((a) => a.record_count > 0)
    .map((a) => ({ period: a.period, actual: a.metrics?.[metric] ?? null, budget: budgets.get(a.period) ?? null,
                   partial: a.period === inProgress }));
  const trendDoc = dataOf(trend);
  const forecast = (trendDoc?.forecast ?? []).map((f) => ({ period: f.period, value: f.value_minor, lower: f.lower_minor, upper: f.upper_minor }));
  const receivedAt = Math.max(actual.status === 'ready' ? actual.receivedAt : 0, trend.status === 'ready' ? trend.receivedAt : 0) || null;

  return (
    <section aria-labelledby="trend-title" className="panel trend">
      <header className="panel-header">
        <h2 id="trend-title">{label} trend, consolidated</h2>
        <div role="radiogroup" aria-label="Metric of the trend chart" className="segmented">
          {METRICS.map((m) => (
            <label key={m.id}>
              <input type="radio" name="trend-metric" value={m.id} checked={metric === m.id} onChange={() => setMetric(m.id)} />
              {m.label}
            </label>
          ))}
        </div>
      </header>
      <LiveView live={actual} what="the monthly aggregates" empty="No actuals yet.">
        {() => (
          <>
            <TrendChart points={points} forecast={forecast} currency={org.reporting_currency} title={`${label} trend`}
                        receivedAt={receivedAt} />
            {trendDoc && (
              <p className="trend-facts">
                Fitted on complete months (to {periodLabel(trendDoc.series[trendDoc.series.length - 1]?.period ?? inProgress)}
                {points.some((p) => p.partial) ? `; ${periodLabel(inProgress)} is so far` : ''}).{' '}
                Pattern <strong>{trendDoc.pattern.replace('_', ' ')}</strong>
                {trendDoc.growth_rate_pct !== null && <>, growth {formatPercent(trendDoc.growth_rate_pct)} a month</>}
                {forecast.length > 0 && (
                  <>; forecast {forecast[0].period}: {formatMoney(forecast[0].value, org.reporting_currency)} (95 % interval{' '}
                    {formatMoney(forecast[0].lower, org.reporting_currency)} to {formatMoney(forecast[0].upper, org.reporting_currency)})</>
                )}
              </p>
            )}
          </>
        )}
      </LiveView>
    </section>
  );
}
