import { describe, expect, it } from 'vitest';
import { dailyByType, dayRange, isoWeek, weekStart, weeklyTotals, yearToDate } from '../src/lib/days';

describe('days and weeks', () => {
  it('names ISO weeks with the ISO year, like finance_core.days', () => {
    expect(isoWeek('2026-12-31')).toBe('2026-W53');
    expect(isoWeek('2027-01-03')).toBe('2026-W53');
    expect(isoWeek('2027-01-04')).toBe('2027-W01');
    expect(weekStart('2026-10-01')).toBe('2026-09-28');
  });

  it('sums the days of two months into one week', () => {
    const daily = dailyByType([
      { period: '2026-09', days: { '30': { totals_by_type: { revenue: 100 } } } },
      { period: '2026-10', days: { '01': { totals_by_type: { revenue: 5 } }, '05': { totals_by_type: { revenue: 7 } } } },
    ], 'revenue');
    expect([...daily.entries()]).toEqual([['2026-09-30', 100], ['2026-10-01', 5], ['2026-10-05', 7]]);
    expect([...weeklyTotals(daily).entries()]).toEqual([['2026-W40', 105], ['2026-W41', 7]]);
    expect(dayRange('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
  });

  it('restarts the year to date at the fiscal year start', () => {
    const ytd = yearToDate(new Map([['2026-03', 10], ['2026-04', 20], ['2026-06', 5]]), 4);
    expect([...ytd.entries()]).toEqual([['2026-03', 10], ['2026-04', 20], ['2026-06', 25]]);
  });
});
