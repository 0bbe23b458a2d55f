// Amounts arrive as integers in minor units of a currency (cents for USD, yen for JPY, fils for
// BHD). They are formatted with integer arithmetic on BigInt and Intl's exact decimal strings, so
// a displayed amount is never rounded through binary floating point.

const digitsCache = new Map<string, number>();

/** Decimal places of a currency (ISO 4217): USD 2, JPY 0, BHD 3. */
export function currencyDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** The exact decimal text of an amount in minor units, e.g. (123456, 'USD') -> '1234.56'. */
export function minorToDecimal(minor: number | bigint, currency: string): string {
  const value = typeof minor === 'bigint' ? minor : BigInt(toSafeInteger(minor));
  const digits = currencyDigits(currency);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  if (digits === 0) return `${negative ? '-' : ''}${abs}`;
  const scale = 10n ** BigInt(digits);
  const major = abs / scale;
  const fraction = (abs % scale).toString().padStart(digits, '0');
  return `${negative ? '-' : ''}${major}.${fraction}`;
}

function toSafeInteger(minor: number): number {
  if (!Number.isSafeInteger(minor)) {
    throw new RangeError(`amount ${minor} is not a whole number of minor units within 2^53`);
  }
  return minor;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(locale: string | undefined, currency: string, signed: boolean): Intl.NumberFormat {
  const key = `${locale ?? ''}|${currency}|${signed}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      signDisplay: signed ? 'exceptZero' : 'auto',
    });
    formatters.set(key, fmt);
  }
  return fmt;
}

/** A full, exact amount: (123456789, 'USD') -> '$1,234,567.89'. `signed` adds '+' to gains. */
export function formatMoney(minor: number | bigint | null | undefined, currency: string,
                            options: { signed?: boolean; locale?: string } = {}): string {
  if (minor === null || minor === undefined) return '–';
  // Intl formats a decimal string exactly (no float conversion).
  const text = minorToDecimal(minor, currency) as unknown as number;
  return formatter(options.locale, currency, options.signed ?? false).format(text);
}

/** A short amount for axes and sparkline labels ('$1.2M'); drawing only, so a float is fine. */
export function formatCompact(minor: number | null | undefined, currency: string, locale?: string): string {
  if (minor === null || minor === undefined) return '–';
  return formatCompactMajor(minor / 10 ** currencyDigits(currency), currency, locale);
}

export function formatCompactMajor(major: number, currency: string, locale?: string): string {
  return new Intl.NumberFormat(locale, { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 })
    .format(major);
}

/** Minor units to a float of major units, for chart pixels only. */
export function minorToChart(minor: number | null | undefined, currency: string): number | null {
  if (minor === null || minor === undefined) return null;
  return minor / 10 ** currencyDigits(currency);
}

/** A percentage with a sign and one decimal: 12.3456 -> '+12.3%'; points -> '+1.5 pt'. */
export function formatPercent(value: number | null | undefined, options: { points?: boolean; signed?: boolean } = {}): string {
  if (value === null || value === undefined) return '–';
  const signed = options.signed ?? true;
  const text = new Intl.NumberFormat('en-US', {
    minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: signed ? 'exceptZero' : 'auto',
  }).format(value);
  return options.points ? `${text} pt` : `${text}%`;
}

/**
 * Parse what a person typed as an amount into the contract's decimal string, or explain why not.
 * Accepts '1250', '-1250.5', '1,250.00' (thousands separators are removed); refuses more decimals
 * than the currency has, so nothing is rounded.
 */
export function parseAmount(input: string, currency: string): { amount: string } | { error: string } {
  const text = input.trim().replace(/,/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(text)) {
    return { error: 'Enter an amount such as 1250.00 or -99.5 (digits, an optional sign and decimal point).' };
  }
  const [whole, fraction = ''] = text.replace(/^-/, '').split('.');
  const digits = currencyDigits(currency);
  if (fraction.length > digits) {
    return { error: `${currency} has ${digits} decimal place${digits === 1 ? '' : 's'}: ${input.trim()} has ${fraction.length}.` };
  }
  const normalisedWhole = whole.replace(/^0+(?=\d)/, '');
  if (normalisedWhole.length > 18) return { error: 'The amount is too large (at most 18 digits before the decimal point).' };
  const sign = text.startsWith('-') && /[1-9]/.test(whole + fraction) ? '-' : '';
  return { amount: `${sign}${normalisedWhole}${fraction ? `.${fraction}` : ''}` };
}

/** The contract's decimal text of an amount ('1250.00', as parseAmount gives it) in integer minor units. */
export function decimalToMinor(amount: string, currency: string): number {
  const digits = currencyDigits(currency);
  const negative = amount.startsWith('-');
  const [major, fraction = ''] = amount.replace('-', '').split('.');
  const minor = BigInt(major) * 10n ** BigInt(digits) + BigInt((fraction + '0'.repeat(digits)).slice(0, digits) || '0');
  return Number(negative ? -minor : minor);
}
