// Views (docs/views.md): the documents, the relative ranges and the figures over a range. A port of
// finance_core/views.py for the builder, checked against the same cases
// (tests/fixtures/view_cases.json, web/tests/views.test.ts); the catalogue itself is generated
// from the core (viewCatalog.ts). Exact arithmetic runs on BigInt: money adds up in minor units,
// and a ratio or a change in percent is rounded once, half to even, at 4 decimals.
import type { Timestamp } from 'firebase/firestore';

import { addMonths, comparable, toDate, type PeriodProgress } from './periods';
import { VIEW_CATALOG } from './viewCatalog';

export type WidgetKind = keyof typeof VIEW_CATALOG.widget_types;
export type Comparison = keyof typeof VIEW_CATALOG.comparisons;
export const WIDGET_KINDS = Object.keys(VIEW_CATALOG.widget_types) as WidgetKind[];
export const LIMITS = VIEW_CATALOG.limits;

/** organizations/{org}/views/{id} */
export interface ViewDoc {
  name: string; description?: string; visibility: 'personal' | 'shared'; owner: string; entity_id?: string;
  layout: string[]; schema: 1; created_at?: Timestamp; updated_at?: Timestamp; updated_by?: string;
}

/** organizations/{org}/views/{id}/widgets/{widget_id} */
export interface WidgetDoc {
  type: WidgetKind; range: string; metrics?: string[]; entity_id?: string; title?: string; compare?: Comparison;
  target?: string; dimension?: string; value?: string; width?: number;
}

export type Widget = WidgetDoc & { id: string };

export interface ReadyMade { id: string; name: string; description: string; widgets: Widget[] }

/** Burn and runway: one live figure of the 13-week cash forecast (finance_core.cash), not a month's. */
export const FORECAST_METRICS: readonly string[] = ['net_burn', 'runway_months'];

/** A KPI card or gauge of burn or runway shows the cash forecast's figure (kpis/current.cash), as the headline
 * cards and the alert rules do (finance_core.views.shows_cash_forecast); time series and tables keep the
 * monthly series. */
export function showsCashForecast(kind: string, metrics: readonly string[] | undefined): boolean {
  return (kind === 'kpi' || kind === 'gauge') && FORECAST_METRICS.includes(metrics?.[0] ?? '');
}

/** The value of burn (monthly, minor units) or runway (months) in the stored forecast runway; null when none
 * (finance_core.cash.runway_value): not burning is a burn of 0 and no runway. */
export function runwayValue(metric: string, cash: { status?: string; burn_monthly_minor?: number | null; runway_months?: string | null } | undefined): number | null {
  const status = cash?.status;
  if (metric === 'net_burn') {
    return (status === 'burning' || status === 'not_burning') && cash?.burn_monthly_minor != null ? cash.burn_monthly_minor : null;
  }
  return status === 'burning' && cash?.runway_months != null ? Number(cash.runway_months) : null;
}

export function widgetSpec(kind: WidgetKind) {
  return VIEW_CATALOG.widget_types[kind];
}

// --- ranges ----------------------------------------------------------------------------------------

const LAST_MONTHS = /^last_([1-9][0-9]?)_months$/;
const FIXED = /^([0-9]{4}-(?:0[1-9]|1[0-2]))\.\.([0-9]{4}-(?:0[1-9]|1[0-2]))$/;

export interface PeriodRange { first: string; last: string }

function monthsBetween(first: string, last: string): number {
  const [y1, m1] = first.split('-').map(Number);
  const [y2, m2] = last.split('-').map(Number);
  return (y2 * 12 + m2) - (y1 * 12 + m1);
}

export function rangeMonths(range: PeriodRange): number {
  return monthsBetween(range.first, range.last) + 1;
}

export function periodsOf(range: PeriodRange): string[] {
  const out: string[] = [];
  for (let p = range.first; p <= range.last; p = addMonths(p, 1)) out.push(p);
  return out;
}

/** Why `text` is not a range (null when it is one): the core's range_problem. */
export function rangeProblem(text: string): string | null {
  if (text in VIEW_CATALOG.ranges) return null;
  const last = LAST_MONTHS.exec(text);
  if (last) {
    const months = Number(last[1]);
    return months >= 1 && months <= LIMITS.max_range_months ? null : `a range covers 1 to ${LIMITS.max_range_months} months`;
  }
  const fixed = FIXED.exec(text);
  if (fixed) {
    const span = monthsBetween(fixed[1], fixed[2]) + 1;
    return span >= 1 && span <= LIMITS.max_range_months ? null : `a range runs forward over 1 to ${LIMITS.max_range_months} months`;
  }
  return `'${text}' is not a range`;
}

function fiscalYearStart(period: string, startMonth: number): string {
  const [year, month] = period.split('-').map(Number);
  return `${month >= startMonth ? year : year - 1}-${String(startMonth).padStart(2, '0')}`;
}

/** The months of a range seen from `anchor` (the month in progress, or a report's month): resolve_range. */
export function resolveRange(text: string, anchor: string, fiscalYearStartMonth = 1): PeriodRange {
  const problem = rangeProblem(text);
  if (problem) throw new Error(problem);
  const yearStart = fiscalYearStart(anchor, fiscalYearStartMonth);
  const quarterStart = addMonths(yearStart, Math.floor(monthsBetween(yearStart, anchor) / 3) * 3);
  switch (text) {
    case 'this_month': return { first: anchor, last: anchor };
    case 'last_month': return { first: addMonths(anchor, -1), last: addMonths(anchor, -1) };
    case 'this_quarter': return { first: quarterStart, last: anchor };
    case 'last_quarter': return { first: addMonths(quarterStart, -3), last: addMonths(quarterStart, -1) };
    case 'ytd': return { first: yearStart, last: anchor };
    case 'last_year': return { first: addMonths(yearStart, -12), last: addMonths(yearStart, -1) };
    default: break;
  }
  const fixed = FIXED.exec(text);
  if (fixed) return { first: fixed[1], last: fixed[2] };
  const months = Number(LAST_MONTHS.exec(text)![1]);
  return { first: addMonths(anchor, 1 - months), last: anchor };
}

export function comparisonRange(current: PeriodRange, compare: string): PeriodRange | null {
  if (compare === 'budget' || compare === 'forecast') return current;
  const shift = (months: number) => ({ first: addMonths(current.first, months), last: addMonths(current.last, months) });
  if (compare === 'previous_period') return shift(-rangeMonths(current));
  if (compare === 'previous_year') return shift(-12);
  return null;
}

export function comparisonScenario(compare: string): string {
  return compare === 'budget' || compare === 'forecast' ? compare : 'actual';
}

export function rangeLabel(text: string): string {
  const known = (VIEW_CATALOG.ranges as Record<string, string>)[text];
  if (known) return known;
  const last = LAST_MONTHS.exec(text);
  if (last) return `Last ${last[1]} months`;
  const fixed = FIXED.exec(text);
  return fixed ? `${fixed[1]} to ${fixed[2]}` : text;
}

// --- exact figures ---------------------------------------------------------------------------------

const SCALE = 1_000_000n; // stored non-money values carry at most 4 decimals; 6 leave room

function scaled(value: number): bigint {
  return BigInt(Math.round(value * 1_000_000));
}

/** num / den at 4 decimals, half to even, as a number (the core's quantize(Decimal('0.0001'), ROUND_HALF_EVEN)). */
export function divideHalfEven(num: bigint, den: bigint): number {
  if (den < 0n) { num = -num; den = -den; }
  const scaledNum = num * 10_000n;
  let q = scaledNum / den;
  let r = scaledNum % den;
  if (r < 0n) { r = -r; }
  const twice = 2n * r;
  if (twice > den || (twice === den && q % 2n !== 0n)) q += scaledNum < 0n ? -1n : 1n;
  const negative = q < 0n;
  const abs = negative ? -q : q;
  const text = `${negative ? '-' : ''}${abs / 10_000n}.${(abs % 10_000n).toString().padStart(4, '0')}`;
  return Number(text);
}

export type ByPeriod = Record<string, number | null | undefined>;

/** A metric over the months of a range: range_value of the core. */
export function rangeValue(metric: string, unit: string, values: ByPeriod, periods: string[],
                           parts?: Record<string, ByPeriod>): number | null {
  if (unit === 'money' || unit === 'count') {
    let total = 0n;
    let any = false;
    for (const p of periods) {
      const v = values[p];
      if (v === null || v === undefined) continue;
      total += BigInt(Math.round(v));
      any = true;
    }
    return any ? Number(total) : null;
  }
  const ratio = (VIEW_CATALOG.ratio_of_sums as Record<string, readonly string[]>)[metric];
  if (ratio && parts) {
    const numerator = rangeValue(ratio[0], 'money', parts[ratio[0]] ?? {}, periods);
    const denominator = rangeValue(ratio[1], 'money', parts[ratio[1]] ?? {}, periods);
    if (numerator === null || denominator === null || denominator === 0) return null;
    return divideHalfEven(100n * BigInt(numerator), BigInt(denominator));
  }
  const last = periods.length ? values[periods[periods.length - 1]] : undefined;
  return last ?? null;
}

/** [difference, percent change] against a comparison; percent metrics change in points only: change_of. */
export function changeOf(value: number | null, comparison: number | null, unit: string): [number | null, number | null] {
  if (value === null || comparison === null) return [null, null];
  const exact = unit === 'money' || unit === 'count';
  const v = exact ? BigInt(value) * SCALE : scaled(value);
  const c = exact ? BigInt(comparison) * SCALE : scaled(comparison);
  const difference = exact ? value - comparison : Number(v - c) / 1_000_000;
  if (unit === 'percent' || c === 0n) return [difference, null];
  return [difference, divideHalfEven((v - c) * 100n, c < 0n ? -c : c)];
}

/** A gauge's reading: the value in percent of its target: share_of_target. */
export function shareOfTarget(value: number | null, target: number | null, unit = 'money'): number | null {
  if (value === null || target === null || target === 0) return null;
  const exact = unit === 'money' || unit === 'count';
  return divideHalfEven((exact ? BigInt(value) : scaled(value)) * 100n, exact ? BigInt(target) : scaled(target));
}

/** A fixed target typed in the metric's unit ('250000.00') in the stored unit: money in minor units. */
export function targetValue(text: string, unit: string, currencyDigits: number): number {
  if (unit !== 'money') return Number(text);
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  if (fraction.length > currencyDigits) throw new Error(`target ${text} has more decimals than the currency's ${currencyDigits}`);
  const minor = BigInt(whole) * 10n ** BigInt(currencyDigits) + BigInt(fraction.padEnd(currencyDigits, '0') || '0');
  return Number(text.startsWith('-') ? -minor : minor);
}

/**
 * The month in progress (docs/kpis.md): a flow's comparison counts its month that lines up with
 * the month in progress to date, pro-rated to the days elapsed (its budget, or the same days of
 * the month before or a year before), as the dashboard's cards and P&L do. Margins and other
 * ratios compare as they are. `values` are the comparison's; `range` and `other` the months of
 * the widget and of its comparison.
 */
export function comparisonToDate(values: ByPeriod, range: PeriodRange, other: PeriodRange, progress: PeriodProgress): ByPeriod {
  if (progress.state !== 'in-progress') return values;
  const at = periodsOf(range).indexOf(progress.period);
  const month = at < 0 ? undefined : periodsOf(other)[at];
  const value = month === undefined ? undefined : values[month];
  if (month === undefined || value === null || value === undefined) return values;
  return { ...values, [month]: toDate(value, progress) };
}

/** Whether a metric's comparison is pro-rated in the month in progress (a flow: money or a count). */
export function comparedToDate(metric: string, unit: string, expression?: string): boolean {
  return comparable(metric, unit, expression) === 'flow';
}

/** One metric of a metric_series document as period -> value. */
export function seriesByPeriod(doc: { periods?: string[]; metrics?: Record<string, (number | null)[]> } | undefined,
                               metric: string): ByPeriod {
  const out: ByPeriod = {};
  const values = doc?.metrics?.[metric] ?? [];
  (doc?.periods ?? []).forEach((p, i) => { if (values[i] !== null && values[i] !== undefined) out[p] = values[i]; });
  return out;
}

/** A trend document as a P&L block's forecast column reads it (trends/metric__{metric}). */
export interface ForecastTrend {
  series?: { period: string }[];
  forecast?: { period: string; value_minor: number | null }[];
}

/**
 * A stored trend's forecast of `period`, if the trend was fitted only on months before it: the core's
 * forecast_as_of. A trend fitted on that month or a later one knew figures the month shown did not.
 */
export function forecastAsOf(trend: ForecastTrend | null | undefined, period: string): number | null {
  const series = trend?.series ?? [];
  if (!series.length || series[series.length - 1].period >= period) return null;
  const point = (trend?.forecast ?? []).find((p) => p.period === period);
  return point?.value_minor ?? null;
}

// --- ready-made views ------------------------------------------------------------------------------

function fill<T>(template: T, values: Record<string, string>): T {
  let text = JSON.stringify(template);
  for (const [key, value] of Object.entries(values)) text = text.split(`{${key}}`).join(value);
  return JSON.parse(text) as T;
}

function asWidgets(widgets: readonly unknown[]): Widget[] {
  return widgets as unknown as Widget[];
}

export function starterViews(): ReadyMade[] {
  return Object.entries(VIEW_CATALOG.starter_views).map(([id, v]) => ({
    id, name: v.name, description: v.description, widgets: asWidgets(v.widgets),
  }));
}

export function scorecardId(dimension: string, value: string): string {
  return `scorecard.${dimension}.${value}`;
}

export function heatmapId(dimension: string): string {
  return `heatmap.${dimension}`;
}

export function scorecardView(dimension: string, value: string, label: string): ReadyMade {
  const v = fill(VIEW_CATALOG.scorecard_template, { dimension, value, label });
  return { id: scorecardId(dimension, value), name: v.name, description: v.description, widgets: asWidgets(v.widgets) };
}

export function heatmapView(dimension: string, label: string): ReadyMade {
  const v = fill(VIEW_CATALOG.heatmap_template, { dimension, label });
  return { id: heatmapId(dimension), name: v.name, description: v.description, widgets: asWidgets(v.widgets) };
}

export interface DimensionDeclaration { label?: string; values?: string[] }

/** Every ready-made view of an org: the starters, and per dimension with a closed list a scorecard per value and a heat map. */
export function readyMadeViews(dimensions: Record<string, DimensionDeclaration> | undefined): ReadyMade[] {
  const out = starterViews();
  for (const [name, declaration] of Object.entries(dimensions ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const label = declaration.label ?? name;
    out.push(heatmapView(name, label));
    for (const value of declaration.values ?? []) out.push(scorecardView(name, value, `${label} ${value}`));
  }
  return out;
}

/**
 * The layout with widget `id` moved just before (or `after`) widget `target`, applied to the layout
 * as stored now: another editor's widget added or removed meanwhile is kept, not overwritten.
 */
export function moveInLayout(layout: string[], id: string, target: string, after: boolean): string[] {
  if (!layout.includes(id) || !layout.includes(target) || id === target) return layout;
  const rest = layout.filter((x) => x !== id);
  const at = rest.indexOf(target) + (after ? 1 : 0);
  return [...rest.slice(0, at), id, ...rest.slice(at)];
}

/** A fresh widget id, unique within a view. */
export function newWidgetId(kind: string, taken: string[]): string {
  for (let i = 1; ; i += 1) {
    const id = `${kind}-${i}`;
    if (!taken.includes(id)) return id;
  }
}
