import { useState } from 'react';

import { useDocument } from '../hooks/live';
import { useConsolidatedActuals } from '../hooks/liveMonth';
import { dailyByType, dayRange, isoDay, isoWeek, weekStart, weeklyTotals, yearToDate } from '../lib/days';
import { formatMoney, minorToChart } from '../lib/money';
import { periodInProgress, periodLabel, periodRange } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import { runwayTexts } from '../lib/runway';
import { METRIC_LABELS, type AggregateDoc, type CashRunway } from '../lib/types';
import { SeriesChart } from './SeriesChart';
import { LiveView } from './States';

type Grain = 'daily' | 'weekly' | 'monthly' | 'ytd';
const GRAINS: { id: Grain; label: string }[] = [
  { id: 'daily', label: 'Daily' }, { id: 'weekly', label: 'Weekly' }, { id: 'monthly', label: 'Monthly' }, { id: 'ytd', label: 'YTD' },
];
const DAYS_SHOWN = 60;
const WEEKS_SHOWN = 13;

type WithDays = AggregateDoc & { days?: Record<string, { totals_by_type?: Record<string, number>; record_count?: number }> };

/** Consolidated revenue by day, ISO week, month or year to date (docs/kpis.md, "Days and weeks"). */
export function RevenueSection() {
  const { org } = useSession();
  const [grain, setGrain] = useState<Grain>('daily');
  const actual = useConsolidatedActuals<WithDays>();
  const currency = org.reporting_currency;
  const inProgress = periodInProgress(org.current_period);

  return (
    <section aria-labelledby="revenue-title" className="panel">
      <header className="panel-header">
        <h2 id="revenue-title">Revenue, consolidated</h2>
        <div role="radiogroup" aria-label="Grain of the revenue chart" className="segmented" data-testid="revenue-grain">
          {GRAINS.map((g) => (
            <label key={g.id}>
              <input type="radio" name="revenue-grain" value={g.id} checked={grain === g.id} onChange={() => setGrain(g.id)} />
              {g.label}
            </label>
          ))}
        </div>
      </header>
      <LiveView live={actual} what="the revenue" empty="No actuals yet.">
        {(docs) => {
          const daily = dailyByType(docs, 'revenue');
          const monthly = new Map(docs.filter((d) => d.record_count > 0).map((d) => [d.period, d.metrics?.revenue ?? 0]));
          let labels: string[] = [];
          let values: (number | null)[] = [];
          let tick = (label: string) => label;
          let note = '';
          let ytdNow: number | null = null;
          if (grain === 'daily' || grain === 'weekly') {
            const days = [...daily.keys()];
            if (days.length) {
              const last = days[days.length - 1];
              const first = grain === 'daily'
                ? isoDay(new Date(new Date(`${last}T00:00:00Z`).getTime() - (DAYS_SHOWN - 1) * 86_400_000))
                : weekStart(isoDay(new Date(new Date(`${last}T00:00:00Z`).getTime() - (WEEKS_SHOWN - 1) * 7 * 86_400_000)));
              const range = dayRange(first, last);
              if (grain === 'daily') {
                labels = range;
                values = range.map((d) => minorToChart(daily.get(d) ?? 0, currency));
                tick = (d) => d.slice(5);
              } else {
                const weeks = weeklyTotals(new Map([...daily].filter(([d]) => d >= first)));
                labels = [...new Set(range.map(isoWeek))];
                values = labels.map((w) => minorToChart(weeks.get(w) ?? 0, currency));
                tick = (w) => w.slice(5);
              }
              note = `Dated records only: ${[...daily.values()].length} days with revenue booked.`;
            } else {
              note = 'No record carries a booking date yet: daily and weekly figures need record.date.';
            }
          } else {
            const series = grain === 'monthly' ? monthly : yearToDate(monthly, org.fiscal_year_start_month || 1);
            const periods = [...series.keys()].sort();
            if (grain === 'ytd' && periods.length) ytdNow = series.get(periods[periods.length - 1]) ?? null;
            labels = periods.length ? periodRange(periods[0], periods[periods.length - 1]) : [];
            values = labels.map((p) => (series.has(p) ? minorToChart(series.get(p) ?? 0, currency) : null));
            tick = (p) => periodLabel(p);
            if (monthly.has(inProgress)) note = `${periodLabel(inProgress)} is in progress: its point is so far.`;
          }
          return (
            <>
              <SeriesChart labels={labels} currency={currency} title={`Revenue, ${grain}`} testId="revenue-chart" tick={tick}
                           series={[{ label: METRIC_LABELS.revenue, values, stroke: '#1d4ed8', points: grain !== 'daily' }]} />
              <p className="trend-facts" data-testid="revenue-facts" data-grain={grain} data-steps={labels.length}>
                {grain === 'ytd' && labels.length
                  ? <>Year to date at {periodLabel(labels[labels.length - 1])}: <strong data-testid="revenue-ytd">{formatMoney(ytdNow, currency)}</strong>. </>
                  : null}
                {grain === 'daily' || grain === 'weekly' ? <>Shown: {labels.length} {grain === 'daily' ? 'days' : 'weeks'}. </> : null}
                {note}
              </p>
            </>
          );
        }}
      </LiveView>
    </section>
  );
}

interface CashDoc {
  currency: string; balance_minor: number; as_of: string; method: string;
  daily: { date: string; flow_minor: number }[];
  history: { week: string; flow_minor: number }[];
  weeks: { week: string; week_start: string; flow_minor: number; balance_minor: number; lower_minor: number | null; upper_minor: number | null }[];
  burn_weekly_minor: number | null; runway_weeks: number | null; mean_weekly_flow_minor: number | null;
  runway?: CashRunway;
}

/** Daily net cash flow of the cash-tagged accounts and the 13-week cash forecast (trends/cash__forecast). */
export function CashSection() {
  const { services, orgId, org } = useSession();
  const cash = useDocument<CashDoc>(services.db, orgPath(orgId, 'trends', 'cash__forecast'));
  const currency = org.reporting_currency;
  return (
    <section aria-labelledby="cash-title" className="panel">
      <header className="panel-header"><h2 id="cash-title">Cash flow and 13-week forecast</h2></header>
      <LiveView live={cash} what="the cash forecast"
                empty="No cash forecast: tag the cash accounts of the chart 'cash' and book dated records on them.">
        {(doc) => {
          const flows = new Map(doc.daily.map((d) => [d.date, d.flow_minor]));
          const days = doc.daily.length ? dayRange(doc.daily[0].date, doc.daily[doc.daily.length - 1].date) : [];
          const labels = doc.weeks.map((w) => w.week);
          return (
            <>
              <SeriesChart labels={days} currency={currency} title="Daily net cash flow" testId="cash-daily-chart"
                           tick={(d) => d.slice(5)}
                           series={[{ label: 'Net cash flow', values: days.map((d) => minorToChart(flows.get(d) ?? 0, currency)), stroke: '#047857' }]} />
              <SeriesChart labels={labels} currency={currency} title="Cash balance forecast, 13 weeks" testId="cash-forecast-chart"
                           tick={(w) => w.slice(5)} band={[3, 2]}
                           series={[
                             { label: 'Forecast balance', values: doc.weeks.map((w) => minorToChart(w.balance_minor, currency)), stroke: '#9333ea', dash: [2, 3], points: true },
                             { label: 'Low (95%)', values: doc.weeks.map((w) => minorToChart(w.lower_minor, currency)), stroke: 'rgba(147,51,234,0.35)' },
                             { label: 'High (95%)', values: doc.weeks.map((w) => minorToChart(w.upper_minor, currency)), stroke: 'rgba(147,51,234,0.35)' },
                           ]} />
              <p className="trend-facts" data-testid="cash-facts">
                Cash {formatMoney(doc.balance_minor, currency)}; burn{' '}
                <strong data-testid="cash-burn">{doc.runway?.status === 'burning' ? `${formatMoney(doc.burn_weekly_minor, currency)} a week (${runwayTexts(doc.runway, currency).burn})` : runwayTexts(doc.runway, currency).burn}</strong>;
                runway <strong data-testid="cash-runway">{doc.runway?.status === 'burning' ? `${doc.runway_weeks} weeks (${runwayTexts(doc.runway, currency).runway})` : runwayTexts(doc.runway, currency).runway}</strong>
                {' '}(fitted on {doc.history.length} complete weeks to {doc.as_of}). Method: {doc.method}.
              </p>
            </>
          );
        }}
      </LiveView>
    </section>
  );
}
