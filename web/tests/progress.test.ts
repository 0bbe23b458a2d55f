import { describe, expect, it } from 'vitest';
import { comparable, periodProgress, toDate } from '../src/lib/periods';
import cases from './progress-cases.json';

// The same cases tests/unit/test_progress.py checks finance_core.progress against: one rule.
describe('the month in progress', () => {
  for (const c of cases.progress) {
    it(`${c.period} seen on ${c.today}`, () => {
      const progress = periodProgress(c.period, c.in_progress, new Date(`${c.today}T12:00:00Z`));
      expect([progress.state, progress.elapsedDays, progress.days]).toEqual([c.state, c.elapsed_days, c.days]);
      expect(toDate(c.budget_minor, progress)).toBe(c.budget_to_date_minor);
    });
  }
});

describe('how a metric of the month in progress compares', () => {
  for (const c of cases.comparable) {
    it(c.metric, () => expect(comparable(c.metric, c.unit, c.expression)).toBe(c.expected));
  }
});
