// Daily totals of the aggregates (their `days`) and the ISO weeks summed from them, as
// finance_core.days computes them (docs/kpis.md, "Days and weeks").

import { periodRange } from './periods';

export interface DayTotals { accounts?: Record<string, number>; record_count?: number; totals_by_type?: Record<string, number> }
export interface WithDays { period: string; days?: Record<string, DayTotals> }

/** 'YYYY-MM-DD' -> value of an account type (e.g. 'revenue'), over the days dated records touched. */
export function dailyByType(documents: WithDays[], accountType: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const doc of documents) {
    for (const [day, body] of Object.entries(doc.days ?? {})) {
      const key = `${doc.period}-${day}`;
      values.set(key, (values.get(key) ?? 0) + (body.totals_by_type?.[accountType] ?? 0));
    }
  }
  return new Map([...values.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function utc(day: string): Date {
  return new Date(`${day}T00:00:00Z`);
}

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Every day from first to last, inclusive ('YYYY-MM-DD'). */
export function dayRange(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = utc(first); d <= utc(last); d = new Date(d.getTime() + 86_400_000)) out.push(isoDay(d));
  return out;
}

/** The ISO 8601 week of a day, 'YYYY-Www' with the ISO year (2026-12-31 is 2026-W53). */
export function isoWeek(day: string): string {
  const date = utc(day);
  const weekday = (date.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(date.getTime() + (3 - weekday) * 86_400_000);
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - yearStart) / 86_400_000 / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** The Monday of a day's ISO week ('YYYY-MM-DD'). */
export function weekStart(day: string): string {
  const date = utc(day);
  return isoDay(new Date(date.getTime() - ((date.getUTCDay() + 6) % 7) * 86_400_000));
}

/** ISO week -> the sum of its days (a week spanning two months adds the days of both). */
export function weeklyTotals(daily: Map<string, number>): Map<string, number> {
  const weeks = new Map<string, number>();
  for (const [day, value] of daily) weeks.set(isoWeek(day), (weeks.get(isoWeek(day)) ?? 0) + value);
  return weeks;
}

/** Year to date per month: the running sum from the first month of each fiscal year. */
export function yearToDate(monthly: Map<string, number>, fiscalYearStartMonth: number): Map<string, number> {
  const periods = [...monthly.keys()].sort();
  if (!periods.length) return new Map();
  const out = new Map<string, number>();
  let running = 0;
  for (const period of periodRange(periods[0], periods[periods.length - 1])) {
    if (Number(period.slice(5, 7)) === fiscalYearStartMonth) running = 0;
    running += monthly.get(period) ?? 0;
    if (monthly.has(period)) out.set(period, running);
  }
  return out;
}

