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
  /** The leaf accounts the expression reads, resolved by the backend (MetricSet.accounts_of): its records are theirs. */
  accounts?: string[];
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

/**
 * The account types a standard metric is computed from, read from its definition (standardMetrics.ts):
 * `type("revenue")` names one, another metric's id brings its own. The records behind a KPI are the
 * records of these types' accounts (a margin's are its numerator's and revenue's). Empty for a
 * metric that is not a standard one.
 */
export function metricAccountTypes(metric: string, definitions: Record<string, MetricDescription>): string[] {
  const found = new Set<string>();
  const visit = (id: string, seen: Set<string>) => {
    const expression = definitions[id]?.expression;
    if (!expression || seen.has(id)) return;
    seen.add(id);
    for (const [, type] of expression.matchAll(/type\("([a-z_]+)"\)/g)) found.add(type);
    for (const [token] of expression.replace(/type\("[a-z_]+"\)/g, '').matchAll(/[a-z_][a-z0-9_]*/g)) visit(token, seen);
  };
  visit(metric, new Set());
  return [...found].sort();
}
