// Fiscal months are 'YYYY-MM' strings; they sort as text.

import { STANDARD_METRICS } from './standardMetrics';

export function addMonths(period: string, months: number): string {
  const [year, month] = period.split('-').map(Number);
  const index = year * 12 + (month - 1) + months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

export function periodRange(first: string, last: string): string[] {
  const out: string[] = [];
  for (let p = first; p <= last; p = addMonths(p, 1)) out.push(p);
  return out;
}

export function periodOf(date: Date): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

const monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** '2026-11' -> 'Nov 2026'. */
export function periodLabel(period: string): string {
  const [year, month] = period.split('-').map(Number);
  return `${monthNames[month - 1]} ${year}`;
}

/**
 * The month the books are still being written for: the org's `current_period` (set by the
 * backend), else the calendar month. Its actuals are partial, so comparing them with a full
 * month's budget would show a large miss that is no miss at all.
 */
export function periodInProgress(orgCurrentPeriod: string | null | undefined, today: Date = new Date()): string {
  return orgCurrentPeriod ?? periodOf(today);
}

export type PeriodState = 'closed-books' | 'in-progress' | 'future';

export function periodState(period: string, inProgress: string): PeriodState {
  if (period < inProgress) return 'closed-books';
  return period === inProgress ? 'in-progress' : 'future';
}

/**
 * The month-in-progress rule of finance_core.progress (docs/kpis.md, "The month in progress"):
 * the days of the month elapsed, today included, capped at the month; 0 before it starts.
 * Checked against the same cases as the core (web/tests/progress-cases.json).
 */
export interface PeriodProgress { period: string; state: PeriodState; elapsedDays: number; days: number }

export function daysInPeriod(period: string): number {
  const [year, month] = period.split('-').map(Number);
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function periodProgress(period: string, inProgress: string, today: Date = new Date()): PeriodProgress {
  const days = daysInPeriod(period);
  const state = periodState(period, inProgress);
  if (state === 'closed-books') return { period, state, elapsedDays: days, days };
  if (state === 'future') return { period, state, elapsedDays: 0, days };
  const [year, month] = period.split('-').map(Number);
  const first = Date.UTC(year, month - 1, 1);
  const now = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const elapsed = now < first ? 0 : Math.min(days, Math.round((now - first) / 86_400_000) + 1);
  return { period, state, elapsedDays: elapsed, days };
}

/** A whole month's amount (minor units) pro-rated to the elapsed days, half to even, as the core does. */
export function toDate(wholeMonthMinor: number | null | undefined, progress: PeriodProgress): number | null {
  if (wholeMonthMinor === null || wholeMonthMinor === undefined) return null;
  if (progress.state !== 'in-progress') return wholeMonthMinor;
  const numerator = wholeMonthMinor * progress.elapsedDays;
  const quotient = Math.floor(numerator / progress.days);
  const remainder = numerator - quotient * progress.days;
  if (remainder * 2 > progress.days) return quotient + 1;
  if (remainder * 2 < progress.days) return quotient;
  return quotient % 2 === 0 ? quotient : quotient + 1;
}

export type Comparable = 'flow' | 'as_is' | 'last_complete';

const ACROSS_PERIODS = ['closing(', 'opening(', 'avg(', 'sum(', 'growth_', 'days('];
const TO_DATE = ['ytd(', 'qtd('];
// A division whose divisor is not a plain number ("/customers", "/(a+b)"; "/4" and "/1.5" are scalings).
const DIVIDED_BY_NON_NUMBER = /\/(?!\d+(?:\.\d+)?(?![\w.(]))/;

/** How a metric of the month in progress compares (finance_core.progress.comparable). */
export function comparable(metric: string, unit?: string | null, expression?: string | null): Comparable {
  const text = (expression ?? '').replaceAll(' ', '');
  if (ACROSS_PERIODS.some((token) => text.includes(token))) return 'last_complete';
  if (TO_DATE.some((token) => text.includes(token))) return 'as_is';
  // A standard metric's unit is its definition's; a metric of no known unit is a flow.
  const known = unit || STANDARD_METRICS[metric]?.unit;
  if (!known) return 'flow';
  unit = known;
  // A ratio of flows is not a flow (revenue / customers); a flow scaled by a number is (revenue / 4).
  if (unit === 'money' || unit === 'count') return DIVIDED_BY_NON_NUMBER.test(text) ? 'last_complete' : 'flow';
  if (unit === 'percent' || unit === 'ratio') return 'as_is';
  return 'last_complete';
}
