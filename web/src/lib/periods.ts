// Fiscal months are 'YYYY-MM' strings; they sort as text.

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
