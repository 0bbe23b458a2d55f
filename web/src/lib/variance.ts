// Favourability: whether a difference from plan is good news, by account type and by metric, as
// the backend decides it (finance_core.accounts.higher_is_favourable, the metrics' directions):
// read from standardMetrics.ts, which `./dev generate` writes from the core. Variance documents
// carry the flag; lines computed here from aggregates use these.

import type { PeriodState } from './periods';
import { ACCOUNT_TYPE_HIGHER_IS_BETTER, STANDARD_METRICS, type AccountType } from './standardMetrics';

export type { AccountType } from './standardMetrics';

export function higherIsFavourable(type: AccountType): boolean {
  return ACCOUNT_TYPE_HIGHER_IS_BETTER[type];
}

/** On plan counts as favourable, as in the backend. */
export function isFavourable(varianceMinor: number, higherIsBetter: boolean): boolean {
  if (varianceMinor === 0) return true;
  return varianceMinor > 0 === higherIsBetter;
}

/** A standard metric's direction (costs are lower-is-better); any other metric counts as higher-is-better. */
export function metricHigherIsFavourable(metric: string): boolean {
  return STANDARD_METRICS[metric]?.direction !== 'lower_is_better';
}

/** True for a standard metric that is a percentage (the margins), shown in % and compared in points. */
export function isPercentMetric(metric: string): boolean {
  return STANDARD_METRICS[metric]?.unit === 'percent';
}

/** (actual - plan) / |plan| in percent; null on a zero plan. Display only. */
export function variancePct(actual: number, plan: number): number | null {
  if (plan === 0) return null;
  return ((actual - plan) * 100) / Math.abs(plan);
}

export type Verdict =
  | { kind: 'favourable' | 'unfavourable'; variance: number; pct: number | null }
  | { kind: 'in-progress'; share: number | null }
  | { kind: 'no-plan' };

/**
 * How to show actual against plan. A month in progress is not judged: its share of the plan
 * booked so far is shown instead (30% of a month's budget in its first days is no -70% miss).
 */
export function verdict(actual: number | null | undefined, plan: number | null | undefined, higherIsBetter: boolean,
                        state: PeriodState, options: { undefinedWhenMissing?: boolean } = {}): Verdict {
  if (plan === null || plan === undefined) return { kind: 'no-plan' };
  if ((actual === null || actual === undefined) && options.undefinedWhenMissing) return { kind: 'no-plan' };
  // No actual money booked is 0; a ratio without actuals (a margin on no revenue) is undefined.
  const value = actual ?? 0;
  if (state !== 'closed-books') {
    return { kind: 'in-progress', share: plan === 0 ? null : (value * 100) / plan };
  }
  const variance = value - plan;
  return { kind: isFavourable(variance, higherIsBetter) ? 'favourable' : 'unfavourable', variance, pct: variancePct(value, plan) };
}
