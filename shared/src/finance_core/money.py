"""Exact money: ISO 4217 minor units, decimal parsing, FX conversion with half-even rounding."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from functools import cache
from importlib import resources

from finance_core.untrusted import quoted

# A plain decimal literal: optional sign, digits, optional fraction. No exponent, no spaces,
# no thousands separators, so what the integrator wrote is exactly what we store.
DECIMAL_STRING = re.compile(r"^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?$")

# Precision for intermediate FX products: 18 integer digits + 6 fraction digits of amount times
# a rate with up to 12 significant digits stays far below 50 digits, so nothing is rounded early.
_WORKING_PRECISION = 50


class MoneyError(ValueError):
    """An amount, currency or rate that cannot be represented exactly."""


@cache
def _minor_units_table() -> dict[str, int]:
    raw = json.loads(resources.files("finance_core").joinpath("data/iso4217.json").read_text())
    return {code: exponent for code, exponent in raw.items() if not code.startswith("_")}


def is_currency(code: str) -> bool:
    """True if `code` is an active ISO 4217 currency code."""
    return code in _minor_units_table()


def minor_unit_exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (USD 2, JPY 0, BHD 3)."""
    try:
        return _minor_units_table()[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {quoted(currency)}: expected an ISO 4217 code such as USD or EUR") from None


def parse_amount(text: str) -> Decimal:
    """Parse a decimal string such as "-1234.50" exactly; reject anything that is not one."""
    if not isinstance(text, str) or not DECIMAL_STRING.match(text):
        raise MoneyError(
            f'amount {quoted(text)} is not a plain decimal string like "1234.56" '
            "(digits, optional '-' and '.', at most 18 integer and 6 fraction digits)"
        )
    return Decimal(text)


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion to integer minor units; an amount finer than the currency allows is an error."""
    exponent = minor_unit_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"amount {amount} has more decimals than {currency} allows ({exponent})")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """Decimal amount of `minor` units of `currency`, with the currency's number of decimals."""
    exponent = minor_unit_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def round_to_minor(amount: Decimal, currency: str) -> int:
    """Round an amount to integer minor units of `currency`, half to even (banker's rounding)."""
    exponent = minor_unit_exponent(currency)
    with localcontext() as ctx:
        ctx.prec = _WORKING_PRECISION
        return int(amount.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def parse_rate(text: str | Decimal) -> Decimal:
    """Parse an FX rate (units of reporting currency per unit of source currency); must be > 0."""
    try:
        rate = Decimal(text) if isinstance(text, str) else text
    except InvalidOperation:
        raise MoneyError(f"FX rate {quoted(text)} is not a decimal number") from None
    if not rate.is_finite() or rate <= 0:
        raise MoneyError(f"FX rate {quoted(text)} must be a positive finite number")
    return rate


def convert_to_reporting_minor(amount: Decimal, currency: str, reporting_currency: str, rate: Decimal | None) -> int:
    """Amount in `currency` converted to integer minor units of the reporting currency.

    The product is formed at full precision and rounded once, half-even, at the reporting
    currency's minor unit, so rounding never compounds.
    """
    if currency == reporting_currency:
        return to_minor(amount, currency)
    if rate is None:
        raise MoneyError(f"no FX rate from {currency} to {reporting_currency}")
    with localcontext() as ctx:
        ctx.prec = _WORKING_PRECISION
        product = amount * parse_rate(rate)
    return round_to_minor(product, reporting_currency)


def format_minor(minor: int, currency: str) -> str:
    """Human-readable amount, e.g. 123456 USD -> "1,234.56 USD"."""
    return f"{from_minor(minor, currency):,} {currency}"
