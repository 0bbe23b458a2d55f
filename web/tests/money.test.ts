import { describe, expect, it } from 'vitest';

import { currencyDigits, formatMoney, formatPercent, minorToDecimal, parseAmount } from '../src/lib/money';

describe('minor units', () => {
  it('knows each currency decimals', () => {
    expect([currencyDigits('USD'), currencyDigits('JPY'), currencyDigits('BHD')]).toEqual([2, 0, 3]);
  });

  it('turns minor units into exact decimal text', () => {
    expect(minorToDecimal(123456, 'USD')).toBe('1234.56');
    expect(minorToDecimal(-5, 'USD')).toBe('-0.05');
    expect(minorToDecimal(1234, 'JPY')).toBe('1234');
    expect(minorToDecimal(1234, 'BHD')).toBe('1.234');
    // Beyond 2^53 only BigInt is exact; the text keeps every digit.
    expect(minorToDecimal(12345678901234567891n, 'USD')).toBe('123456789012345678.91');
  });

  it('refuses a number that is not a whole count of minor units', () => {
    expect(() => minorToDecimal(10.5, 'USD')).toThrow(RangeError);
  });

  it('formats full amounts exactly, with sign when asked', () => {
    expect(formatMoney(123456789, 'USD', { locale: 'en-US' })).toBe('$1,234,567.89');
    expect(formatMoney(-100001, 'USD', { locale: 'en-US' })).toBe('-$1,000.01');
    expect(formatMoney(100001, 'USD', { locale: 'en-US', signed: true })).toBe('+$1,000.01');
    expect(formatMoney(9007199254740993n, 'USD', { locale: 'en-US' })).toBe('$90,071,992,547,409.93');
    expect(formatMoney(1500, 'JPY', { locale: 'en-US' })).toBe('¥1,500');
    expect(formatMoney(null, 'USD')).toBe('–');
  });

  it('formats percentages and points', () => {
    expect(formatPercent(12.3456)).toBe('+12.3%');
    expect(formatPercent(-1.25, { points: true })).toBe('-1.3 pt');
    expect(formatPercent(43.1, { signed: false })).toBe('43.1%');
    expect(formatPercent(null)).toBe('–');
  });
});

describe('parseAmount', () => {
  it('accepts what people type and returns the contract decimal string', () => {
    expect(parseAmount('1,000.01', 'USD')).toEqual({ amount: '1000.01' });
    expect(parseAmount(' -99.5 ', 'USD')).toEqual({ amount: '-99.5' });
    expect(parseAmount('007', 'JPY')).toEqual({ amount: '7' });
    expect(parseAmount('-0.00', 'USD')).toEqual({ amount: '0.00' });
  });

  it('refuses more decimals than the currency has instead of rounding', () => {
    expect(parseAmount('10.123', 'USD')).toEqual({ error: 'USD has 2 decimal places: 10.123 has 3.' });
    expect('error' in parseAmount('10.5', 'JPY')).toBe(true);
  });

  it('refuses text that is not an amount', () => {
    for (const bad of ['', 'abc', '1e5', '1.2.3', '$5']) expect('error' in parseAmount(bad, 'USD')).toBe(true);
  });
});
