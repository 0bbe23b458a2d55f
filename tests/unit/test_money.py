"""Exact money: ISO 4217 minor units, strict decimal parsing, FX conversion rounded once, half-even."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from finance_core.money import (
    MoneyError,
    convert_to_reporting_minor,
    format_minor,
    from_minor,
    is_currency,
    minor_unit_exponent,
    parse_amount,
    parse_rate,
    round_to_minor,
    to_minor,
)
from hypothesis import given, settings
from hypothesis import strategies as st

# One currency per ISO 4217 exponent in use: yen 0, dollar 2, dinar 3, Unidad de Fomento 4.
CURRENCY_PER_EXPONENT = {0: "JPY", 2: "USD", 3: "BHD", 4: "CLF"}


# --- the float trap and minor units ------------------------------------------------------------


def test_point_one_plus_point_two_is_exactly_thirty_cents():
    assert 0.1 + 0.2 != 0.3, "binary floats lose the cent; this is what exact money avoids"
    total = parse_amount("0.1") + parse_amount("0.2")
    assert total == Decimal("0.3")
    assert to_minor(total, "USD") == 30
    assert str(from_minor(30, "USD")) == "0.30"


def test_ten_cents_added_a_thousand_times_is_exactly_one_hundred_dollars():
    total = sum((parse_amount("0.10") for _ in range(1000)), Decimal(0))
    assert to_minor(total, "USD") == 10000
    assert from_minor(10000, "USD") == Decimal("100.00")


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("ISK", 0), ("BHD", 3), ("KWD", 3), ("TND", 3), ("CLF", 4)],
)
def test_minor_unit_exponent_follows_iso_4217(currency, exponent):
    assert minor_unit_exponent(currency) == exponent


def test_bahraini_dinar_has_three_decimals():
    assert to_minor(parse_amount("1.234"), "BHD") == 1234  # 1234 fils
    assert str(from_minor(1234, "BHD")) == "1.234"
    assert str(from_minor(1000, "BHD")) == "1.000"


def test_yen_has_no_decimals():
    assert to_minor(parse_amount("1500"), "JPY") == 1500
    assert str(from_minor(1500, "JPY")) == "1500"
    with pytest.raises(MoneyError, match=r"more decimals than JPY allows \(0\)"):
        to_minor(parse_amount("1.5"), "JPY")


def test_trailing_zeros_are_not_extra_decimals():
    assert to_minor(Decimal("1500.00"), "JPY") == 1500
    assert to_minor(Decimal("2.500"), "USD") == 250


def test_an_amount_finer_than_the_currency_is_an_error_not_a_rounding():
    with pytest.raises(MoneyError, match="USD allows \\(2\\)"):
        to_minor(parse_amount("0.001"), "USD")
    with pytest.raises(MoneyError, match="BHD allows \\(3\\)"):
        to_minor(parse_amount("1.2345"), "BHD")


def test_negative_amounts_and_zero():
    assert to_minor(parse_amount("-250.00"), "USD") == -25000
    assert to_minor(parse_amount("-0.00"), "USD") == 0
    assert str(from_minor(-5, "USD")) == "-0.05"


def test_the_largest_accepted_amount_converts_exactly():
    # 18 integer digits and the 4 decimals of CLF: 22 significant digits, none may be lost.
    assert to_minor(parse_amount("999999999999999999.9999"), "CLF") == 9999999999999999999999
    assert to_minor(parse_amount("999999999999999999.99"), "USD") == 99999999999999999999


def test_unknown_currencies_are_refused_with_the_code():
    assert is_currency("USD") and is_currency("BHD")
    assert not is_currency("usd") and not is_currency("XYZ") and not is_currency("DEM")
    with pytest.raises(MoneyError, match="'XYZ'"):
        minor_unit_exponent("XYZ")
    with pytest.raises(MoneyError):
        to_minor(Decimal("1"), "XYZ")
    assert issubclass(MoneyError, ValueError)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0", "12345.67", "-250.00", "0.5", "123456789012345678.123456", "-0.000001"])
def test_plain_decimal_strings_parse_exactly(text):
    assert parse_amount(text) == Decimal(text)
    assert str(parse_amount(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "1e3",  # exponent
        "1,000.00",  # thousands separator
        " 1.00",  # spaces
        "1.00 ",
        "+1.00",  # explicit plus
        "01.00",  # leading zero
        "1.",
        ".5",
        "",
        "-",
        "0.1234567",  # 7 fraction digits
        "1234567890123456789",  # 19 integer digits
        "NaN",
        "Infinity",
        "1_000",
    ],
)
def test_anything_but_a_plain_decimal_string_is_refused(text):
    with pytest.raises(MoneyError, match="plain decimal string"):
        parse_amount(text)


@pytest.mark.parametrize("value", [0.1, 10, Decimal("1.00"), None])
def test_parse_amount_refuses_non_strings(value):
    with pytest.raises(MoneyError):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["1.08", "0.000123", "150", Decimal("1.137201")])
def test_positive_rates_parse(text):
    assert parse_rate(text) == Decimal(text)


@pytest.mark.parametrize("text", ["0", "-1.08", "abc", "NaN", "Infinity", Decimal("0"), Decimal("-2")])
def test_zero_negative_or_non_numeric_rates_are_refused(text):
    with pytest.raises(MoneyError, match="FX rate"):
        parse_rate(text)


# --- FX conversion -----------------------------------------------------------------------------


def test_conversion_rounds_half_even_at_the_reporting_minor_unit():
    # EUR 0.25 at 0.5 USD/EUR is 0.125 USD: exactly half a cent, rounds to the even cent 0.12.
    assert convert_to_reporting_minor(Decimal("0.25"), "EUR", "USD", Decimal("0.5")) == 12
    # EUR 0.27 at 0.5 is 0.135 USD: half a cent again, rounds to the even cent 0.14.
    assert convert_to_reporting_minor(Decimal("0.27"), "EUR", "USD", Decimal("0.5")) == 14
    # Symmetric for negative amounts (a credit note).
    assert convert_to_reporting_minor(Decimal("-0.25"), "EUR", "USD", Decimal("0.5")) == -12
    assert convert_to_reporting_minor(Decimal("-0.27"), "EUR", "USD", Decimal("0.5")) == -14


def test_conversion_rounds_once_not_twice():
    # 1.00 EUR at 0.1349 is 0.1349 USD -> 0.13. Rounding first to 3 decimals (0.135) and then to
    # cents would give 0.14: the product must be rounded once, at the reporting minor unit.
    assert convert_to_reporting_minor(Decimal("1.00"), "EUR", "USD", Decimal("0.1349")) == 13


def test_conversion_into_a_currency_without_decimals():
    assert convert_to_reporting_minor(Decimal("1.00"), "USD", "JPY", Decimal("150.5")) == 150
    assert convert_to_reporting_minor(Decimal("1.00"), "USD", "JPY", Decimal("151.5")) == 152


def test_conversion_with_a_realistic_rate():
    # 100.00 EUR at 1.137201 USD/EUR = 113.7201 USD -> 113.72.
    assert convert_to_reporting_minor(Decimal("100.00"), "EUR", "USD", Decimal("1.137201")) == 11372
    assert convert_to_reporting_minor(Decimal("100.00"), "EUR", "USD", "1.137201") == 11372  # type: ignore[arg-type]


def test_conversion_keeps_full_precision_for_the_largest_amounts():
    amount, rate = Decimal("999999999999999999.999999"), Decimal("1.123456789012")
    with localcontext() as ctx:
        ctx.prec = 80
        exact = (amount * rate * 100).to_integral_value(rounding="ROUND_HALF_EVEN")
    assert convert_to_reporting_minor(amount, "EUR", "USD", rate) == int(exact)


def test_same_currency_needs_no_rate_and_stays_exact():
    assert convert_to_reporting_minor(Decimal("12345.67"), "USD", "USD", None) == 1234567
    with pytest.raises(MoneyError, match="more decimals"):
        convert_to_reporting_minor(Decimal("0.125"), "USD", "USD", None)


def test_a_missing_rate_is_an_error_naming_both_currencies():
    with pytest.raises(MoneyError, match="no FX rate from EUR to USD"):
        convert_to_reporting_minor(Decimal("1.00"), "EUR", "USD", None)


def test_a_non_positive_rate_is_refused_during_conversion():
    with pytest.raises(MoneyError):
        convert_to_reporting_minor(Decimal("1.00"), "EUR", "USD", Decimal("0"))


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("0.125", "USD", 12),
        ("0.135", "USD", 14),
        ("-0.125", "USD", -12),
        ("2.5", "JPY", 2),
        ("3.5", "JPY", 4),
        ("1.2345", "BHD", 1234),
        ("1.2355", "BHD", 1236),
        ("0.124999", "USD", 12),
    ],
)
def test_round_to_minor_is_bankers_rounding(amount, currency, minor):
    assert round_to_minor(Decimal(amount), currency) == minor


# --- display -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123456, "USD", "1,234.56 USD"),
        (1234, "BHD", "1.234 BHD"),
        (5000, "JPY", "5,000 JPY"),
        (-5, "USD", "-0.05 USD"),
        (0, "USD", "0.00 USD"),
    ],
)
def test_format_minor(minor, currency, text):
    assert format_minor(minor, currency) == text


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(CURRENCY_PER_EXPONENT.items())), st.integers(-(10**24), 10**24))
def test_minor_units_round_trip_for_every_exponent(currency_of_exponent, minor):
    exponent, currency = currency_of_exponent
    amount = from_minor(minor, currency)
    assert -amount.as_tuple().exponent == exponent, "from_minor shows exactly the currency's decimals"
    assert to_minor(amount, currency) == minor


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**20) + 1, 10**20 - 1))
def test_a_cents_string_parses_to_the_same_cents(cents):
    sign = "-" if cents < 0 else ""
    text = f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
    assert to_minor(parse_amount(text), "USD") == cents


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(10**12), 10**12), max_size=30))
def test_sums_of_parsed_amounts_equal_sums_of_minor_units(cents_list):
    texts = [str(from_minor(c, "USD")) for c in cents_list]
    total = sum((parse_amount(t) for t in texts), Decimal(0))
    assert to_minor(total, "USD") == sum(cents_list)


def test_every_active_currency_exponent_is_covered_by_the_round_trip_property():
    from finance_core.money import _minor_units_table

    assert set(_minor_units_table().values()) == set(CURRENCY_PER_EXPONENT)
