import { describe, expect, it } from 'vitest';

import { changeTone, formatMetric, formatMetricChange, metricAccountTypes } from '../src/lib/metrics';
import { STANDARD_METRICS } from '../src/lib/standardMetrics';

describe('defined metric formatting', () => {
  it('formats each unit, and undefined as n/a', () => {
    expect(formatMetric(123456789, 'money', 2, 'USD')).toBe('$1,234,567.89');
    expect(formatMetric(12.3456, 'percent', 1, 'USD')).toBe('12.3%');
    expect(formatMetric(1.8512, 'ratio', 2, 'USD')).toBe('1.85×');
    expect(formatMetric(41.5, 'days', 0, 'USD')).toBe('42 days');
    expect(formatMetric(13.25, 'months', 1, 'USD')).toBe('13.3 months');
    expect(formatMetric(1200, 'count', 0, 'USD')).toBe('1,200');
    expect(formatMetric(null, 'months', 1, 'USD')).toBe('n/a');
    expect(formatMetric(500, 'money', 0, 'JPY')).toBe('¥500');
  });

  it('shows changes in the metric unit, percent in points', () => {
    expect(formatMetricChange(150, 'money', 2, 'USD')).toBe('+$1.50');
    expect(formatMetricChange(-1.25, 'percent', 1, 'USD')).toBe('-1.3 pt');
    expect(formatMetricChange(null, 'ratio', 2, 'USD')).toBeNull();
  });

  it('colours a change by the direction of the metric', () => {
    expect(changeTone(5, 'higher_is_better')).toBe('favourable');
    expect(changeTone(5, 'lower_is_better')).toBe('unfavourable');
    expect(changeTone(-5, 'lower_is_better')).toBe('favourable');
    expect(changeTone(5, 'neutral')).toBe('neutral');
    expect(changeTone(null, 'higher_is_better')).toBe('neutral');
  });
});

describe('the records behind a KPI', () => {
  it('are those of the account types its definition reads, through the metrics it is built on', () => {
    expect(metricAccountTypes('revenue', STANDARD_METRICS)).toEqual(['revenue']);
    expect(metricAccountTypes('gross_margin_pct', STANDARD_METRICS)).toEqual(['cogs', 'revenue']);
    expect(metricAccountTypes('ebitda', STANDARD_METRICS)).toEqual(['cogs', 'opex', 'revenue']);
    expect(metricAccountTypes('net_margin_pct', STANDARD_METRICS))
      .toEqual(['cogs', 'opex', 'other_expense', 'other_income', 'revenue', 'tax']);
    expect(metricAccountTypes('not_a_metric', STANDARD_METRICS)).toEqual([]);
  });
});
