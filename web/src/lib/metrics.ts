// Formatting of the org's own metrics (kpis/current `definitions`): money arrives in integer minor
// units and is formatted exactly (money.ts); the other units are already rounded by the backend
// to their quantum (percent and ratio 4 decimals, days and months 2) and are only shown with the
// definition's number of decimals here.
import { formatMoney } from './money';

export type MetricUnit = 'money' | 'percent' | 'ratio' | 'days' | 'months' | 'count';
export type MetricDirection = 'higher_is_better' | 'lower_is_better' | 'neutral';

export interface MetricDescription {
  label: string;
  unit: MetricUnit;
  direction: MetricDirection;
  decimals: number;
  expression: string;
}

/** What a defined metric's value reads as: '$1,234.56', '12.3%', '1.85×', '42 days', '13.2 months', '1,200'; null -> 'n/a'. */
export function formatMetric(value: number | null | undefined, unit: MetricUnit, decimals: number, currency: string): string {
  if (value === null || value === undefined) return 'n/a';
  if (unit === 'money') return formatMoney(value, currency);
  const digits = unit === 'count' ? 0 : decimals;
  const text = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  switch (unit) {
    case 'percent': return `${text}%`;
    case 'ratio': return `${text}×`;
    case 'days': return `${text} ${value === 1 ? 'day' : 'days'}`;
    case 'months': return `${text} ${value === 1 ? 'month' : 'months'}`;
    default: return text;
  }
}

/** The change against the previous month in the metric's own unit ('+1.2 pt' for percent), or null. */
export function formatMetricChange(change: number | null | undefined, unit: MetricUnit, decimals: number,
                                   currency: string): string | null {
  if (change === null || change === undefined) return null;
  const sign = change > 0 ? '+' : '';
  if (unit === 'money') return `${sign}${formatMoney(change, currency)}`;
  if (unit === 'percent') {
    const text = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
      .format(change);
    return `${sign}${text} pt`;
  }
  return `${sign}${formatMetric(change, unit, decimals, currency)}`;
}

/** favourable / unfavourable / neutral for a change, by the metric's direction. */
export function changeTone(change: number | null | undefined, direction: MetricDirection): 'favourable' | 'unfavourable' | 'neutral' {
  if (change === null || change === undefined || change === 0 || direction === 'neutral') return 'neutral';
  return (change > 0) === (direction === 'higher_is_better') ? 'favourable' : 'unfavourable';
}
