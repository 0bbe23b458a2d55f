// Favourability: whether a difference from plan is good news, by account type (the same rule as
// the backend's finance_core.accounts.higher_is_favourable; variance documents carry the flag,
// lines computed here from aggregates use this).

import type { PeriodState } from './periods';

export type AccountType =
  | 'revenue' | 'cogs' | 'opex' | 'other_income' | 'other_expense' | 'tax' | 'asset' | 'liability' | 'equity';

const HIGHER_IS_BETTER: Record<AccountType, boolean> = {
  revenue: true,
  other_income: true,
  asset: true,
  equity: true,
  cogs: false,
  opex: false,
  other_expense: false,
  tax: false,
  liability: false,
};

const EXPENSE_METRICS = new Set(['cogs', 'opex']);

export function higherIsFavourable(type: AccountType): boolean {
  return HIGHER_IS_BETTER[type];
}

/** On plan counts as favourable, as in the backend. */
export function isFavourable(varianceMinor: number, higherIsBetter: boolean): boolean {
  if (varianceMinor === 0) return true;
  return varianceMinor > 0 === higherIsBetter;
}

export function metricHigherIsFavourable(metric: string): boolean {
  return !EXPENSE_METRICS.has(metric);
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
