// The widgets of a view (docs/views.md), each live on the documents the dashboard already reads
// (metric_series, aggregates, variance) or one bounded, indexed query of dimension_aggregates.
// Figures over a range follow the core's rules through lib/views.ts, so a view's report shows the
// same numbers.

import { limit, orderBy, where } from 'firebase/firestore';

import { dataOf, useDocument, useQuery, type Live } from '../../hooks/live';
import { formatMetric, formatMetricChange, type MetricDescription } from '../../lib/metrics';
import { currencyDigits, formatCompact, formatMoney, minorToChart } from '../../lib/money';
import { periodLabel, periodProgress, periodState, toDate as budgetToDate } from '../../lib/periods';
import { orgPath, useSession } from '../../lib/session';
import { STANDARD_METRICS } from '../../lib/standardMetrics';
import { runwayTexts } from '../../lib/runway';
import { VIEW_CATALOG } from '../../lib/viewCatalog';
import type { AggregateDoc, KpisDoc, VarianceDoc } from '../../lib/types';
import {
  changeOf, comparedToDate, comparisonRange, comparisonScenario, comparisonToDate, LIMITS, periodsOf, rangeLabel, rangeValue, resolveRange, seriesByPeriod,
  shareOfTarget, targetValue, widgetSpec, forecastAsOf, runwayValue, showsCashForecast, type ByPeriod, type ForecastTrend, type PeriodRange, type Widget,
} from '../../lib/views';
import { SeriesChart } from '../SeriesChart';
import { LiveView } from '../States';

export type Describe = (metric: string) => MetricDescription;

export interface WidgetContext {
  anchor: string; fiscalYearStartMonth: number; describe: Describe;
  /** The org's declared dimensions: a heat map lists a closed list's values in their declared order. */
  dimensions: Record<string, { label?: string; values?: readonly string[] }>;
}

// The lines of a P&L block: the core's list (finance_core.views.PNL_BLOCK_LINES), as the view reports read it.
const PNL_LINES = VIEW_CATALOG.pnl_lines;

/** Values per metric and month of one entity and scenario, optionally of one dimension value. */
type Values = (metric: string) => ByPeriod;

interface SeriesDoc { periods?: string[]; metrics?: Record<string, (number | null)[]> }
interface DimensionDoc { value: string; period: string; metrics?: Record<string, number | null> }

function useValues(entityId: string, scenario: string, widget: Widget, span: PeriodRange | null): Live<Values> {
  const { services, orgId } = useSession();
  const filtered = Boolean(widget.dimension && widget.value);
  const series = useDocument<SeriesDoc>(services.db, !filtered && span ? orgPath(orgId, 'metric_series', `${entityId}__${scenario}`) : null);
  // Query dimension_value_series (indexed): one value's months, bounded by the range.
  const key = `${widget.dimension}|${widget.value}|${entityId}|${scenario}|${span?.first}|${span?.last}`;
  const values = useQuery<DimensionDoc>(services.db, filtered && span ? orgPath(orgId, 'dimension_aggregates') : null, [
    where('dimension', '==', widget.dimension ?? ''), where('value', '==', widget.value ?? ''),
    where('entity_id', '==', entityId), where('scenario', '==', scenario),
    where('period', '>=', span?.first ?? ''), where('period', '<=', span?.last ?? ''),
    orderBy('period'), limit(LIMITS.max_range_months * 2 + 12),
  ], key);
  if (!span) return { status: 'missing', receivedAt: 0 };
  if (!filtered) {
    if (series.status === 'ready') return { ...series, data: (metric) => seriesByPeriod(series.data, metric) };
    if (series.status === 'missing') return { status: 'ready', data: () => ({}), receivedAt: series.receivedAt };
    return series;
  }
  if (values.status !== 'ready') return values;
  return {
    ...values,
    data: (metric) => Object.fromEntries(values.data.map((d) => [d.period, d.metrics?.[metric] ?? null])),
  };
}

function covering(...ranges: (PeriodRange | null)[]): PeriodRange | null {
  const present = ranges.filter((r): r is PeriodRange => r !== null);
  if (!present.length) return null;
  return { first: present.map((r) => r.first).sort()[0], last: present.map((r) => r.last).sort().reverse()[0] };
}

/**
 * A comparison's values as the month in progress is judged (docs/kpis.md): a flow's month that
 * lines up with it counts to date. Null when nothing is pro-rated (no such month in the range).
 */
function toDateOf(values: Values, metric: string, range: PeriodRange, other: PeriodRange, ctx: WidgetContext): Values | null {
  const progress = periodProgress(ctx.anchor, ctx.anchor);
  const description = ctx.describe(metric);
  if (progress.state !== 'in-progress' || progress.elapsedDays >= progress.days || !periodsOf(range).includes(ctx.anchor)) return null;
  if (!comparedToDate(metric, description.unit, description.expression)) return null;
  return (m) => comparisonToDate(values(m), range, other, progress);
}

function soFar(ctx: WidgetContext): string {
  const progress = periodProgress(ctx.anchor, ctx.anchor);
  return ` to date (day ${progress.elapsedDays} of ${progress.days})`;
}

function figure(values: Values, metric: string, unit: string, range: PeriodRange): number | null {
  const parts = Object.fromEntries(['gross_profit', 'ebitda', 'net_income', 'revenue'].map((m) => [m, values(m)]));
  return rangeValue(metric, unit, values(metric), periodsOf(range), parts);
}

function show(value: number | null, description: MetricDescription, currency: string): string {
  return formatMetric(value, description.unit, description.decimals, currency);
}

const compareWords: Record<string, string> = {
  budget: 'vs budget', forecast: 'vs forecast', previous_period: 'vs previous period', previous_year: 'vs last year',
};

function tone(change: number | null, direction: string): 'favourable' | 'unfavourable' | 'neutral' {
  if (change === null || change === 0 || direction === 'neutral') return 'neutral';
  return (change > 0) === (direction === 'higher_is_better') ? 'favourable' : 'unfavourable';
}

function KpiWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { org } = useSession();
  const metric = widget.metrics?.[0] ?? 'revenue';
  const description = ctx.describe(metric);
  const range = resolveRange(widget.range, ctx.anchor, ctx.fiscalYearStartMonth);
  const compare = widget.compare ?? 'none';
  const other = comparisonRange(range, compare);
  const sameScenario = comparisonScenario(compare) === 'actual';
  const actual = useValues(widget.entity_id ?? '_all', 'actual', widget, sameScenario ? covering(range, other) : range);
  const plan = useValues(widget.entity_id ?? '_all', comparisonScenario(compare), widget, !sameScenario ? other : null);
  const comparisonLive = sameScenario ? actual : plan;
  return (
    <LiveView live={actual} what="the figures" empty="No figures yet.">
      {(values) => {
        const value = figure(values, metric, description.unit, range);
        const toDate = other && comparisonLive.status === 'ready' ? toDateOf(comparisonLive.data, metric, range, other, ctx) : null;
        const compared = other && comparisonLive.status === 'ready'
          ? figure(toDate ?? comparisonLive.data, metric, description.unit, other) : null;
        const [difference, pct] = changeOf(value, compared, description.unit);
        const changeText = difference === null ? 'no comparison'
          : `${formatMetricChange(difference, description.unit, description.decimals, org.reporting_currency)}${pct === null ? '' : ` (${pct > 0 ? '+' : ''}${pct.toFixed(1)}%)`} ${compareWords[compare] ?? ''}${toDate ? soFar(ctx) : ''}`;
        const kind = tone(difference, description.direction);
        return (
          <div className="view-kpi">
            <p className="kpi-value" data-testid="widget-value" data-value={value ?? ''}>{show(value, description, org.reporting_currency)}</p>
            {other && (
              <p className={`kpi-change ${kind}`} data-testid="widget-comparison" data-value={compared ?? ''}>
                {changeText}{kind !== 'neutral' && <span className="visually-hidden"> ({kind})</span>}
              </p>
            )}
          </div>
        );
      }}
    </LiveView>
  );
}

function GaugeWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { org } = useSession();
  const metric = widget.metrics?.[0] ?? 'revenue';
  const description = ctx.describe(metric);
  const range = resolveRange(widget.range, ctx.anchor, ctx.fiscalYearStartMonth);
  const target = widget.target ?? 'budget';
  const planned = target === 'budget' || target === 'forecast';
  const actual = useValues(widget.entity_id ?? '_all', 'actual', widget, range);
  const plan = useValues(widget.entity_id ?? '_all', planned ? target : 'actual', widget, planned ? range : null);
  return (
    <LiveView live={actual} what="the figures" empty="No figures yet.">
      {(values) => {
        const value = figure(values, metric, description.unit, range);
        let goal: number | null = null;
        const toDate = planned && plan.status === 'ready' ? toDateOf(plan.data, metric, range, range, ctx) : null;
        if (planned) goal = plan.status === 'ready' ? figure(toDate ?? plan.data, metric, description.unit, range) : null;
        else goal = targetValue(target, description.unit, currencyDigits(org.reporting_currency));
        const share = shareOfTarget(value, goal, description.unit);
        const of = `${planned ? target : 'target'}${toDate ? soFar(ctx) : ''}`;
        const label = `${description.label}: ${share === null ? 'no target' : `${share.toFixed(1)}% of ${of}`}`;
        return (
          <div className="view-gauge">
            <meter min={0} max={150} low={90} high={100} optimum={description.direction === 'lower_is_better' ? 0 : 150}
                   value={Math.max(0, Math.min(150, share ?? 0))} aria-label={label} />
            <p className="kpi-value" data-testid="widget-value" data-value={value ?? ''}>{show(value, description, org.reporting_currency)}</p>
            <p className="kpi-change" data-testid="widget-share" data-value={share ?? ''}>
              {share === null ? 'no target' : `${share.toFixed(1)}% of ${of} ${show(goal, description, org.reporting_currency)}`}
            </p>
          </div>
        );
      }}
    </LiveView>
  );
}

/** A KPI card or gauge of burn or runway: the 13-week cash forecast's figure from kpis/current.cash (the document
 * the dashboard's headline cards read), worded as they are; no month's comparison or budget (the forecast is
 * live), a gauge's fixed target still gives its share. */
function CashForecastWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { org, services, orgId } = useSession();
  const metric = widget.metrics?.[0] ?? 'runway_months';
  const description = ctx.describe(metric);
  const live = useDocument<KpisDoc>(services.db, orgPath(orgId, 'kpis', 'current'));
  return (
    <LiveView live={live} what="the cash forecast" empty="No figures yet.">
      {(doc) => {
        const cash = doc.cash;
        const value = runwayValue(metric, cash);
        const texts = runwayTexts(cash, org.reporting_currency);
        const shown = metric === 'runway_months' ? texts.runway : texts.burn;
        const fixed = widget.type === 'gauge' && widget.target && widget.target !== 'budget' && widget.target !== 'forecast'
          ? targetValue(widget.target, description.unit, currencyDigits(org.reporting_currency)) : null;
        const share = shareOfTarget(value, fixed, description.unit);
        return (
          <div className={widget.type === 'gauge' ? 'view-gauge' : 'view-kpi'}>
            {widget.type === 'gauge' && (
              <meter min={0} max={150} low={90} high={100} optimum={description.direction === 'lower_is_better' ? 0 : 150}
                     value={Math.max(0, Math.min(150, share ?? 0))}
                     aria-label={`${description.label}: ${share === null ? 'no target' : `${share.toFixed(1)}% of target`}`} />
            )}
            <p className="kpi-value" data-testid="widget-value" data-value={value ?? ''} data-basis="cash_forecast">{shown}</p>
            {widget.type === 'gauge' && (
              <p className="kpi-change" data-testid="widget-share" data-value={share ?? ''}>
                {share === null ? 'no target: the live forecast has no budget' : `${share.toFixed(1)}% of target ${show(fixed, description, org.reporting_currency)}`}
              </p>
            )}
            <p className="kpi-change" data-testid="widget-note">{texts.note}</p>
          </div>
        );
      }}
    </LiveView>
  );
}

const COLOURS = ['#1d4ed8', '#047857', '#9333ea', '#b45309'];

/** "Nov '25": seven of them fit a phone's width under a chart. */
function shortMonth(period: string): string {
  return periodLabel(period).replace(/ [0-9]{2}([0-9]{2})$/, " '$1");
}

function TimeseriesWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { org } = useSession();
  const metrics = widget.metrics ?? [];
  const range = resolveRange(widget.range, ctx.anchor, ctx.fiscalYearStartMonth);
  const compare = widget.compare ?? 'none';
  const other = comparisonRange(range, compare);
  const sameScenario = comparisonScenario(compare) === 'actual';
  const actual = useValues(widget.entity_id ?? '_all', 'actual', widget, sameScenario ? covering(range, other) : range);
  const plan = useValues(widget.entity_id ?? '_all', comparisonScenario(compare), widget, !sameScenario ? other : null);
  const periods = periodsOf(range);
  const shift = other ? periodsOf(other) : [];
  return (
    <LiveView live={actual} what="the figures" empty="No figures yet.">
      {(values) => {
        const compared = sameScenario ? values : dataOf(plan);
        const lines = metrics.flatMap((m) => {
          const own = values(m);
          const out = [{ label: ctx.describe(m).label, metric: m, values: periods.map((p) => own[p] ?? null) }];
          if (other && compared) {
            const theirs = compared(m);
            out.push({ label: `${ctx.describe(m).label} (${compareWords[compare]?.replace('vs ', '')})`, metric: m, values: shift.map((p) => theirs[p] ?? null) });
          }
          return out;
        });
        const unit = ctx.describe(metrics[0] ?? 'revenue').unit;
        return (
          <>
            <SeriesChart labels={periods} currency={org.reporting_currency} tick={shortMonth} testId="widget-chart"
                         title={`${lines.map((l) => l.label).join(', ')} by month, ${rangeLabel(widget.range)}`}
                         axis={unit === 'money' ? undefined : (v) => formatMetric(v, unit, 1, org.reporting_currency)}
                         series={lines.map((l, i) => ({
                           label: l.label, stroke: COLOURS[Math.floor(i / (other ? 2 : 1)) % COLOURS.length],
                           dash: other && i % 2 === 1 ? [6, 4] : undefined, points: true,
                           values: l.values.map((v) => (unit === 'money' ? minorToChart(v, org.reporting_currency) : v)),
                         }))} />
            <details>
              <summary>Figures</summary>
              <div className="table-scroll">
                <table data-testid="widget-table">
                  <thead><tr><th scope="col">Month</th>{lines.map((l) => <th key={l.label} scope="col" className="num">{l.label}</th>)}</tr></thead>
                  <tbody>
                    {periods.map((p, i) => (
                      <tr key={p}><th scope="row">{periodLabel(p)}</th>
                        {lines.map((l) => <td key={l.label} className="num" data-value={l.values[i] ?? ''}>{show(l.values[i], ctx.describe(l.metric), org.reporting_currency)}</td>)}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </details>
          </>
        );
      }}
    </LiveView>
  );
}

function TableWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { org } = useSession();
  const range = resolveRange(widget.range, ctx.anchor, ctx.fiscalYearStartMonth);
  const live = useValues(widget.entity_id ?? '_all', 'actual', widget, range);
  const periods = periodsOf(range);
  return (
    <LiveView live={live} what="the figures" empty="No figures yet.">
      {(values) => (
        <div className="table-scroll">
          <table data-testid="widget-table">
            <thead>
              <tr><th scope="col">Metric</th>{periods.map((p) => <th key={p} scope="col" className="num">{periodLabel(p)}</th>)}
                <th scope="col" className="num">{rangeLabel(widget.range)}</th></tr>
            </thead>
            <tbody>
              {(widget.metrics ?? []).map((m) => {
                const d = ctx.describe(m);
                const own = values(m);
                const total = figure(values, m, d.unit, range);
                return (
                  <tr key={m} data-metric={m}>
                    <th scope="row">{d.label}</th>
                    {periods.map((p) => <td key={p} className="num" data-value={own[p] ?? ''}>{show(own[p] ?? null, d, org.reporting_currency)}</td>)}
                    <td className="num total" data-testid={`widget-total-${m}`} data-value={total ?? ''}>{show(total, d, org.reporting_currency)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </LiveView>
  );
}

function PnlWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { services, orgId, org } = useSession();
  const period = resolveRange(widget.range, ctx.anchor, ctx.fiscalYearStartMonth).last;
  const entity = widget.entity_id ?? '_all';
  const filtered = widget.dimension && widget.value;
  const path = (scenario: string) => (filtered
    ? orgPath(orgId, 'dimension_aggregates', `${widget.dimension}__${widget.value}__${entity}__${period}__${scenario}`)
    : orgPath(orgId, 'aggregates', `${entity}__${period}__${scenario}`));
  const actual = useDocument<AggregateDoc>(services.db, path('actual'));
  const budget = useDocument<AggregateDoc>(services.db, path('budget'));
  // The forecast column: the consolidation's trend documents (the trend section's), as of the month shown.
  const consolidated = entity === '_all' && !filtered;
  const trends = PNL_LINES.map((m) => ({
    metric: m,
    // One listener per line of a fixed list: the same hooks on every render.
    live: useDocument<ForecastTrend>(services.db, consolidated && ctx.describe(m).unit === 'money' ? orgPath(orgId, 'trends', `metric__${m}`) : null),
  }));
  const forecasts = new Map(trends.map(({ metric, live }) => [metric, forecastAsOf(dataOf(live), period)]));
  const laterTrend = trends.some(({ live }) => {
    const series = dataOf(live)?.series ?? [];
    return series.length > 0 && series[series.length - 1].period >= period;
  });
  const a = dataOf(actual);
  const b = dataOf(budget);
  const merged: Live<true> = actual.status === 'loading' || budget.status === 'loading' ? { status: 'loading' }
    : a || b ? { status: 'ready', data: true, receivedAt: 0 } : { status: 'missing', receivedAt: 0 };
  // The month in progress: a flow's budget counts to date, as on the dashboard's P&L (docs/kpis.md).
  const progress = periodProgress(period, ctx.anchor);
  const partial = progress.state === 'in-progress' && progress.elapsedDays < progress.days;
  return (
    <LiveView live={merged} what="the P&L" empty={`Nothing booked or planned in ${periodLabel(period)}.`}>
      {() => (
        <div className="table-scroll">
          {partial && <p className="badge in-progress">so far: budget to date (day {progress.elapsedDays} of {progress.days})</p>}
          {consolidated && laterTrend && <p className="note" data-testid="pnl-forecast-note">No forecast as of {periodLabel(period)}: the trends are fitted on later months.</p>}
          <table className="pnl" data-testid="widget-table">
            <caption className="visually-hidden">P&amp;L of {periodLabel(period)}: actual, budget, variance</caption>
            <thead><tr><th scope="col">{periodLabel(period)}</th><th scope="col" className="num">Actual</th>
              <th scope="col" className="num">Budget</th><th scope="col" className="num">Variance</th>
              {consolidated && <th scope="col" className="num">Forecast</th>}</tr></thead>
            <tbody>
              {PNL_LINES.map((m) => {
                const d = ctx.describe(m);
                const value = a?.metrics?.[m] ?? null;
                const whole = b?.metrics?.[m] ?? null;
                const plan = partial && comparedToDate(m, d.unit) ? budgetToDate(whole, progress) : whole;
                const [difference] = changeOf(value, plan, d.unit);
                const kind = tone(difference, d.direction);
                return (
                  <tr key={m} data-line={m}>
                    <th scope="row">{d.label}</th>
                    <td className="num" data-value={value ?? ''}>{show(value, d, org.reporting_currency)}</td>
                    <td className="num" data-value={plan ?? ''}>{show(plan, d, org.reporting_currency)}</td>
                    <td className={`num ${kind}`} data-value={difference ?? ''}>
                      {formatMetricChange(difference, d.unit, d.decimals, org.reporting_currency) ?? '–'}
                      {kind !== 'neutral' && <span className="visually-hidden"> ({kind})</span>}
                    </td>
                    {consolidated && (
                      <td className="num" data-column="forecast" data-value={forecasts.get(m) ?? ''}>{show(forecasts.get(m) ?? null, d, org.reporting_currency)}</td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </LiveView>
  );
}

function VarianceWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { services, orgId, org } = useSession();
  const period = resolveRange(widget.range, ctx.anchor, ctx.fiscalYearStartMonth).last;
  const live = useDocument<VarianceDoc>(services.db, orgPath(orgId, 'variance', `${widget.entity_id ?? '_all'}__${period}`));
  return (
    <LiveView live={live} what="the variances" empty={`No variances for ${periodLabel(period)} yet.`}>
      {(doc) => (
        <ol className="variances" data-testid="widget-variances">
          {(doc.vs_budget?.top ?? doc.top ?? []).map((line) => {
            // A month in progress is not judged: the share of each budget booked so far (as the dashboard's list).
            const progress = periodState(period, ctx.anchor) !== 'closed-books';
            const share = line.comparison_minor === 0 ? null : (line.actual_minor * 100) / line.comparison_minor;
            const kind = progress ? 'neutral' : line.favourable ? 'favourable' : 'unfavourable';
            return (
              <li key={line.account_id} className={kind} data-value={line.variance_minor}>
                <span className="line-name">{line.account_id} {line.account_name}</span>{' '}
                <span className="num">
                  {progress
                    ? (share === null ? 'no budget' : `${share.toFixed(0)}% of ${formatMoney(line.comparison_minor, org.reporting_currency)}`)
                    : formatMoney(line.variance_minor, org.reporting_currency, { signed: true })}
                  {!progress && <span className="visually-hidden"> ({kind})</span>}
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </LiveView>
  );
}

/**
 * Every value of a dimension over a heat map's months: one bounded query of dimension_aggregates.
 * A closed list of values is read with `value in` (at most 30 values x 13 months = 390 documents,
 * query dimension_heatmap); an open one newest month first (query dimension_heatmap_open), and when
 * the bound cuts it, its oldest month, which may be partial, is left out, so that every cell shown
 * equals its document.
 */
function useHeatmap(widget: Widget, range: PeriodRange, declared: readonly string[] | undefined): Live<{ docs: DimensionDoc[]; cut: boolean }> {
  const { services, orgId } = useSession();
  const entity = widget.entity_id ?? '_all';
  const values = declared?.slice(0, LIMITS.max_heatmap_values);
  const common = [where('dimension', '==', widget.dimension ?? ''), where('entity_id', '==', entity), where('scenario', '==', 'actual'),
    where('period', '>=', range.first), where('period', '<=', range.last)];
  const live = useQuery<DimensionDoc>(services.db, values && values.length === 0 ? null : orgPath(orgId, 'dimension_aggregates'), values
    ? [where('value', 'in', values), ...common, orderBy('period'), limit(LIMITS.max_heatmap_cells)]
    : [...common, orderBy('period', 'desc'), limit(LIMITS.max_heatmap_cells)],
  `${widget.dimension}|${values?.join(',') ?? '*'}|${entity}|${range.first}|${range.last}`);
  if (values && values.length === 0) return { status: 'missing', receivedAt: 0 };
  if (live.status !== 'ready') return live;
  const cut = !values && live.data.length >= LIMITS.max_heatmap_cells;
  const oldest = live.data.length ? live.data[live.data.length - 1].period : '';
  return { ...live, data: { docs: cut ? live.data.filter((d) => d.period !== oldest) : live.data, cut } };
}

function HeatmapWidget({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  const { org } = useSession();
  const metric = widget.metrics?.[0] ?? 'revenue';
  const description = ctx.describe(metric);
  const range = resolveRange(widget.range, ctx.anchor, ctx.fiscalYearStartMonth);
  const declared = ctx.dimensions[widget.dimension ?? '']?.values;
  const dimensionLabel = ctx.dimensions[widget.dimension ?? '']?.label ?? widget.dimension;
  const live = useHeatmap(widget, range, declared);
  const periods = periodsOf(range);
  return (
    <LiveView live={live} what="the heat map" empty={`No figures by ${widget.dimension} in ${rangeLabel(widget.range).toLowerCase()}.`}>
      {({ docs, cut }) => {
        const present = new Set(docs.map((d) => d.value));
        const values = (declared ? declared.filter((v) => present.has(v)) : [...present].sort()).slice(0, LIMITS.max_heatmap_values);
        const cell = new Map(docs.map((d) => [`${d.value}|${d.period}`, d.metrics?.[metric] ?? null]));
        const all = [...cell.values()].filter((v): v is number => v !== null);
        const low = Math.min(...all);
        const high = Math.max(...all);
        const shade = (v: number | null) => {
          if (v === null || high === low) return 'transparent';
          const t = (v - low) / (high - low);
          const good = description.direction !== 'lower_is_better' ? t : 1 - t;
          return `hsl(${Math.round(good * 120)}, 70%, ${92 - Math.round(Math.abs(good - 0.5) * 30)}%)`;
        };
        return (
          <div className="table-scroll">
            <table className="heatmap" data-testid="widget-heatmap">
              <caption className="visually-hidden">{description.label} by {dimensionLabel} and month</caption>
              <thead><tr><th scope="col">{dimensionLabel}</th>{periods.map((p) => <th key={p} scope="col" className="num">{periodLabel(p)}</th>)}</tr></thead>
              <tbody>
                {values.map((value) => (
                  <tr key={value}>
                    <th scope="row">{value}</th>
                    {periods.map((p) => {
                      const v = cell.get(`${value}|${p}`) ?? null;
                      return (
                        <td key={p} className="num" style={{ background: shade(v) }} data-testid="heat-cell"
                            data-dimension-value={value} data-period={p} data-value={v ?? ''}
                            title={`${value}, ${periodLabel(p)}: ${show(v, description, org.reporting_currency)}`}>
                          {description.unit === 'money' ? formatCompact(v, org.reporting_currency) : show(v, description, org.reporting_currency)}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
            {cut && <p className="note">More values than a heat map holds: the oldest month shown is the first complete one.</p>}
            {declared && declared.length > LIMITS.max_heatmap_values && (
              <p className="note">The first {LIMITS.max_heatmap_values} of {declared.length} values of {widget.dimension}.</p>
            )}
          </div>
        );
      }}
    </LiveView>
  );
}

/** One widget's body, by its type. */
export function WidgetBody({ widget, ctx }: { widget: Widget; ctx: WidgetContext }) {
  if (showsCashForecast(widget.type, widget.metrics)) return <CashForecastWidget widget={widget} ctx={ctx} />;
  switch (widget.type) {
    case 'kpi': return <KpiWidget widget={widget} ctx={ctx} />;
    case 'gauge': return <GaugeWidget widget={widget} ctx={ctx} />;
    case 'timeseries': return <TimeseriesWidget widget={widget} ctx={ctx} />;
    case 'table': return <TableWidget widget={widget} ctx={ctx} />;
    case 'pnl': return <PnlWidget widget={widget} ctx={ctx} />;
    case 'variance': return <VarianceWidget widget={widget} ctx={ctx} />;
    case 'heatmap': return <HeatmapWidget widget={widget} ctx={ctx} />;
    default: return <p className="state error">Unknown widget type.</p>;
  }
}

/** The title a widget shows: its own, else what it shows and over which months. */
export function widgetTitle(widget: Widget, describe: Describe): string {
  if (widget.title) return widget.title;
  const what = (widget.metrics ?? []).map((m) => describe(m).label).join(', ') || widgetSpec(widget.type).label;
  const filter = widget.dimension ? ` · ${widget.dimension}${widget.value ? ` ${widget.value}` : ''}` : '';
  const entity = widget.entity_id && widget.entity_id !== '_all' ? ` · ${widget.entity_id}` : '';
  return `${what}${entity}${filter} · ${rangeLabel(widget.range)}`;
}

/** How to show a metric: the standard ones from the core, the org's own from kpis/current. */
export function describer(definitions: Record<string, MetricDescription> | undefined): Describe {
  return (metric) => STANDARD_METRICS[metric] ?? definitions?.[metric]
    ?? { label: metric, unit: 'money', direction: 'neutral', decimals: 2, expression: '' };
}
