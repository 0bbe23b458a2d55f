import { formatMoney } from './money';
import type { CashRunway } from './types';

/** How burn and runway read on screen: the backend's figures as they are (finance_core.cash.CashRunway), worded
 * by their status. A company that is not burning never shows a runway in months. */
export function runwayTexts(cash: CashRunway | undefined, currency: string): { burn: string; runway: string; note: string } {
  const status = cash?.status ?? 'no_cash_accounts';
  if (!cash || status === 'no_cash_accounts') {
    return { burn: 'n/a', runway: 'n/a', note: "no cash forecast: tag the chart's cash accounts 'cash'" };
  }
  if (status === 'no_history') {
    return { burn: 'n/a', runway: 'n/a', note: 'no complete week of dated cash movements yet' };
  }
  const asOf = cash.as_of ? ` as of ${cash.as_of}` : '';
  if (status === 'not_burning') {
    return { burn: 'Not burning', runway: 'Not burning', note: `13-week cash forecast${asOf}: cash holds or grows` };
  }
  const months = cash.runway_months ?? '';
  return {
    burn: `${formatMoney(cash.burn_monthly_minor, currency)} a month`,
    runway: `${months} ${months === '1.0' ? 'month' : 'months'}`,
    note: `13-week cash forecast${asOf}: ${formatMoney(cash.burn_weekly_minor, currency)} a week, `
      + `cash ${formatMoney(cash.cash_minor, currency)}`,
  };
}
