"""How the pack writes numbers: from integer minor units, exactly, in the currency's decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from finance_core.money import from_minor, minor_unit_exponent

PERCENT_DECIMALS = 1
EMPTY = "-"


def amount(minor: int | Decimal | None, currency: str) -> str:
    """1234567 USD -> '12,345.67'; negatives in parentheses as in financial statements: '(12.50)'."""
    if minor is None:
        return EMPTY
    text = f"{abs(from_minor(int(minor), currency)):,}"
    return f"({text})" if minor < 0 else text


def plain_amount(minor: int | Decimal | None, currency: str) -> str:
    """Machine-readable decimal for CSV: '-1234.50' (no separators), '' when absent."""
    return "" if minor is None else str(from_minor(int(minor), currency))


def percent(value: int | Decimal | None, decimals: int = PERCENT_DECIMALS) -> str:
    """12.3456 -> '12.3%' (half-even at the shown decimals), '-' when undefined."""
    if value is None:
        return EMPTY
    shown = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return f"{shown}%"


def points(value: int | Decimal | None, decimals: int = PERCENT_DECIMALS) -> str:
    """A margin difference in percentage points: 1.5 -> '+1.5 pts'."""
    if value is None:
        return EMPTY
    shown = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return f"{'+' if shown > 0 else ''}{shown} pts"


def favourability(flag: bool | None) -> str:
    """'F' favourable, 'U' unfavourable, '' when there is no comparison."""
    return "" if flag is None else ("F" if flag else "U")


def excel_amount_format(currency: str) -> str:
    """Excel number format with the currency's decimals and negatives in parentheses."""
    decimals = minor_unit_exponent(currency)
    body = "#,##0" + ("." + "0" * decimals if decimals else "")
    return f"{body};({body});{body}"


def excel_value(minor: int, currency: str) -> float:
    """The amount as the spreadsheet's number (an IEEE double).

    Exact for the pack's purposes: below 2^53 minor units (90 trillion dollars) the shortest repr of
    the double is the decimal amount itself, so reading the cell back gives the minor units again.
    """
    if abs(minor) >= 2**53:
        raise ValueError(f"{minor} minor units cannot be stored exactly in a spreadsheet number")
    return float(from_minor(int(minor), currency))


def minor_from_excel(value: float | int, currency: str) -> int:
    """Inverse of excel_value (for tests and checks)."""
    exponent = minor_unit_exponent(currency)
    return int(
        (Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
        .scaleb(exponent)
        .quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    )
