// The builder's port of finance_core/views.py answers the core's own cases (tests/fixtures/view_cases.json).
import { describe, expect, it } from 'vitest';

import {
  changeOf, comparedToDate, forecastAsOf, moveInLayout, comparisonRange, comparisonToDate, heatmapView, rangeProblem, rangeValue, readyMadeViews, resolveRange, scorecardView,
  runwayValue, shareOfTarget, showsCashForecast, targetValue, type ByPeriod,
} from '../src/lib/views';

import CASES from '../../tests/fixtures/view_cases.json';

const num = (text: string | null) => (text === null ? null : Number(text));

describe('views: the same answers as the core', () => {
  it('resolves every relative range', () => {
    for (const c of CASES.ranges) {
      expect(resolveRange(c.range, c.anchor, c.fy), `${c.range}@${c.anchor}/fy${c.fy}`).toEqual({ first: c.first, last: c.last });
    }
  });

  it('refuses what is not a range', () => {
    for (const text of CASES.bad_ranges) expect(rangeProblem(text), text).not.toBeNull();
  });

  it('compares with the right months', () => {
    for (const c of CASES.comparisons) {
      const r = comparisonRange({ first: c.first, last: c.last }, c.compare);
      expect(r ? [r.first, r.last] : null, c.compare).toEqual(c.expect);
    }
  });

  it('adds up money, divides summed parts for margins, takes the last month of other units', () => {
    for (const c of CASES.range_values) {
      expect(rangeValue(c.metric, c.unit, c.values, c.periods, c.parts as Record<string, ByPeriod> | undefined), `${c.metric} -> ${c.expect}`).toBe(num(c.expect));
    }
  });

  it('computes changes and gauge shares exactly', () => {
    for (const c of CASES.changes) {
      const [difference, pct] = changeOf(Number(c.value), Number(c.comparison), c.unit);
      expect(difference).toBe(Number(c.difference));
      expect(pct).toBe(num(c.pct));
    }
    for (const c of CASES.shares) expect(shareOfTarget(c.value, c.target)).toBe(num(c.expect));
  });

  it("reads a trend's forecast of a month only when the trend was fitted before that month", () => {
    for (const c of CASES.forecasts) {
      expect(forecastAsOf(c.trend, c.period), c.about).toBe(num(c.expect));
    }
  });

  it('turns a fixed money target into exact minor units', () => {
    expect(targetValue('250000.10', 'money', 2)).toBe(25000010);
    expect(targetValue('-1.5', 'money', 2)).toBe(-150);
    expect(targetValue('1500', 'money', 0)).toBe(1500);
    expect(() => targetValue('1.234', 'money', 2)).toThrow(/more decimals/);
  });

  it('fills the ready-made views of declared dimension values', () => {
    const card = scorecardView('department', 'sales', 'Department sales');
    expect(card.id).toBe('scorecard.department.sales');
    expect(card.name).toBe('Scorecard: Department sales');
    expect(card.widgets.every((w) => w.dimension === 'department' && w.value === 'sales')).toBe(true);
    expect(heatmapView('region', 'Region').widgets.map((w) => w.type)).toEqual(['heatmap', 'heatmap']);
    const all = readyMadeViews({ department: { label: 'Department', values: ['sales', 'ops'] }, project: { label: 'Project' } });
    expect(all.map((v) => v.id)).toEqual([
      'starter-overview', 'starter-budget', 'starter-profitability',
      'heatmap.department', 'scorecard.department.sales', 'scorecard.department.ops', 'heatmap.project',
    ]);
  });

  it('counts a flow\'s comparison of the month in progress to date, and only that month', () => {
    const range = { first: '2026-10', last: '2026-11' };
    const progress = { period: '2026-11', state: 'in-progress' as const, elapsedDays: 12, days: 30 };
    // Budget: the same months; November's 3,000.00 to day 12 of 30 is 1,200.00.
    expect(comparisonToDate({ '2026-10': 300000, '2026-11': 300000 }, range, range, progress))
      .toEqual({ '2026-10': 300000, '2026-11': 120000 });
    // Previous period: August and September; September lines up with November, so it is pro-rated.
    const previous = comparisonRange(range, 'previous_period')!;
    expect(comparisonToDate({ '2026-08': 100, '2026-09': 31 }, range, previous, { ...progress, elapsedDays: 15 }))
      .toEqual({ '2026-08': 100, '2026-09': 16 }); // 31 x 15 / 30 = 15.5, half to even -> 16
    // A closed month, or a range without the month in progress, is left alone.
    expect(comparisonToDate({ '2026-11': 300000 }, range, range, { ...progress, state: 'closed-books' })).toEqual({ '2026-11': 300000 });
    expect(comparisonToDate({ '2026-08': 5 }, { first: '2026-08', last: '2026-08' }, { first: '2026-08', last: '2026-08' }, progress))
      .toEqual({ '2026-08': 5 });
    expect(comparedToDate('revenue', 'money')).toBe(true);
    expect(comparedToDate('gross_margin_pct', 'percent')).toBe(false);
  });

  it('moves a widget within the layout as stored, keeping what another editor changed meanwhile', () => {
    expect(moveInLayout(['a', 'b', 'c', 'd'], 'd', 'a', false)).toEqual(['d', 'a', 'b', 'c']);
    expect(moveInLayout(['a', 'b', 'c'], 'a', 'b', true)).toEqual(['b', 'a', 'c']);
    // Someone added 'x' after this page last saw the layout: it stays.
    expect(moveInLayout(['a', 'b', 'x', 'c'], 'c', 'a', false)).toEqual(['c', 'a', 'b', 'x']);
    // Someone removed the widget or its neighbour meanwhile: nothing moves.
    expect(moveInLayout(['a', 'b'], 'gone', 'a', false)).toEqual(['a', 'b']);
    expect(moveInLayout(['a', 'b'], 'a', 'gone', true)).toEqual(['a', 'b']);
  });
});

describe('burn and runway in a view', () => {
  it('a KPI card or gauge of them reads the cash forecast, as the core does', () => {
    expect(showsCashForecast('kpi', ['runway_months'])).toBe(true);
    expect(showsCashForecast('gauge', ['net_burn'])).toBe(true);
    expect(showsCashForecast('timeseries', ['runway_months'])).toBe(false);
    expect(showsCashForecast('kpi', ['revenue'])).toBe(false);
  });

  it('reads the value the forecast gives: not burning is a burn of 0 and no runway', () => {
    const burning = { status: 'burning', burn_monthly_minor: 585000, runway_months: '6.7' };
    expect(runwayValue('runway_months', burning)).toBe(6.7);
    expect(runwayValue('net_burn', burning)).toBe(585000);
    const calm = { status: 'not_burning', burn_monthly_minor: 0, runway_months: null };
    expect(runwayValue('runway_months', calm)).toBeNull();
    expect(runwayValue('net_burn', calm)).toBe(0);
    expect(runwayValue('net_burn', { status: 'no_history', burn_monthly_minor: null })).toBeNull();
    expect(runwayValue('runway_months', undefined)).toBeNull();
  });
});
