import { describe, expect, it } from 'vitest';

import { addMonths, periodInProgress, periodLabel, periodRange, periodState } from '../src/lib/periods';
import { higherIsFavourable, isFavourable, isPercentMetric, metricHigherIsFavourable, verdict } from '../src/lib/variance';

describe('favourability', () => {
  it('follows the account type, as the backend does', () => {
    expect(isFavourable(500, higherIsFavourable('revenue'))).toBe(true);
    expect(isFavourable(-500, higherIsFavourable('revenue'))).toBe(false);
    expect(isFavourable(500, higherIsFavourable('opex'))).toBe(false);
    expect(isFavourable(-500, higherIsFavourable('cogs'))).toBe(true);
    expect(isFavourable(0, higherIsFavourable('tax'))).toBe(true);
    expect(metricHigherIsFavourable('opex')).toBe(false);
    expect(metricHigherIsFavourable('ebitda')).toBe(true);
  });

  it("reads each standard metric's direction and unit from the core's definitions", () => {
    expect(metricHigherIsFavourable('tax')).toBe(false);
    expect(metricHigherIsFavourable('other_expense')).toBe(false);
    expect(metricHigherIsFavourable('other_income')).toBe(true);
    expect(metricHigherIsFavourable('runway_months')).toBe(true);
    expect(isPercentMetric('gross_margin_pct')).toBe(true);
    expect(isPercentMetric('gross_profit')).toBe(false);
  });

  it('judges a closed month against its budget', () => {
    expect(verdict(90_00, 100_00, true, 'closed-books')).toEqual({ kind: 'unfavourable', variance: -10_00, pct: -10 });
    expect(verdict(90_00, 100_00, false, 'closed-books')).toEqual({ kind: 'favourable', variance: -10_00, pct: -10 });
    expect(verdict(5, 0, true, 'closed-books')).toEqual({ kind: 'favourable', variance: 5, pct: null });
    expect(verdict(5, null, true, 'closed-books')).toEqual({ kind: 'no-plan' });
  });

  it('shows a month in progress as a share of its budget, never as a miss', () => {
    expect(verdict(10_00, 100_00, true, 'in-progress')).toEqual({ kind: 'in-progress', share: 10 });
    expect(verdict(null, 100_00, true, 'in-progress')).toEqual({ kind: 'in-progress', share: 0 });
  });

  it('leaves a ratio without actuals undefined', () => {
    expect(verdict(null, 40, true, 'closed-books', { undefinedWhenMissing: true })).toEqual({ kind: 'no-plan' });
  });
});

describe('periods', () => {
  it('does month arithmetic across years', () => {
    expect(addMonths('2026-11', 2)).toBe('2027-01');
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(periodRange('2026-11', '2027-02')).toEqual(['2026-11', '2026-12', '2027-01', '2027-02']);
    expect(periodLabel('2026-11')).toBe('Nov 2026');
  });

  it('takes the org current period as the month in progress, else the calendar month', () => {
    expect(periodInProgress('2026-11', new Date('2030-05-02T00:00:00Z'))).toBe('2026-11');
    expect(periodInProgress(undefined, new Date('2030-05-02T00:00:00Z'))).toBe('2030-05');
    expect(['2026-10', '2026-11', '2026-12'].map((p) => periodState(p, '2026-11')))
      .toEqual(['closed-books', 'in-progress', 'future']);
  });
});
