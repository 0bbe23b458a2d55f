"""The metric expression language: parse / print round trip, readable errors, no evaluation of arbitrary code."""

from __future__ import annotations

from decimal import Decimal

import pytest
from finance_core.metric_language import (
    Accounts,
    Binary,
    Call,
    ExpressionError,
    Neg,
    Number,
    Ref,
    parse_expression,
    print_expression,
    references,
)
from hypothesis import given, settings
from hypothesis import strategies as st

names = st.sampled_from(["revenue", "cogs", "ebitda", "cash_position", "mrr", "a", "b2"])
leaves = st.one_of(
    st.builds(Ref, names),
    st.builds(Number, st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)),
    st.builds(
        Accounts,
        st.sampled_from(["account", "tagged"]),
        st.lists(st.sampled_from(["4100", "cash", "1.2-x_y"]), min_size=1, max_size=3).map(tuple),
    ),
    st.builds(
        Accounts, st.just("type"), st.lists(st.sampled_from(["revenue", "asset"]), min_size=1, max_size=2).map(tuple)
    ),
)


def _trees(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(Neg, children),
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(
            lambda f, x: Call(f, (x,)), st.sampled_from(["prev", "ytd", "closing", "opening", "growth_yoy"]), children
        ),
        st.builds(lambda f, x, n: Call(f, (x,), n), st.sampled_from(["avg", "sum"]), children, st.integers(1, 60)),
        st.builds(lambda f, x, y: Call(f, (x, y)), st.sampled_from(["min", "max"]), children, children),
        st.builds(lambda x: Call("positive", (x,)), children),
    )


trees = st.recursive(leaves, _trees, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_printing_then_parsing_gives_the_same_tree(tree):
    text = print_expression(tree)
    assert parse_expression(text) == tree
    assert print_expression(parse_expression(text)) == text


def test_precedence_and_associativity_follow_arithmetic():
    assert parse_expression("a - b - c") == Binary("-", Binary("-", Ref("a"), Ref("b")), Ref("c"))
    assert parse_expression("a - (b - c)") == Binary("-", Ref("a"), Binary("-", Ref("b"), Ref("c")))
    assert parse_expression("100 * a / b") == Binary("/", Binary("*", Number(Decimal(100)), Ref("a")), Ref("b"))
    assert parse_expression("-a * b") == Binary("*", Neg(Ref("a")), Ref("b"))
    assert print_expression(parse_expression("((a)) + (b * c)")) == "a + b * c"
    assert references(parse_expression('ytd(a) / positive(avg(b, 3)) + type("asset")')) == {"a", "b"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("revenue +", "ends too early at column 9"),
        ("Revenue", "names are lower case"),
        ("account('4100')", 'quoted with "'),
        ("forecast(revenue)", "unknown function forecast()"),
        ("ytd(revenue, 3)", "ytd() takes one expression"),
        ("avg(revenue, 0)", "whole number of periods from 1 to 60"),
        ("avg(revenue, 2.5)", "whole number of periods"),
        ('type("income")', 'type("income") is not an account type'),
        ("account(revenue)", "one or more quoted account ids"),
        ('ytd("4100")', "takes expressions, not quoted text"),
        ("__import__('os')", "unexpected character '_' at column 1"),
        ("", "the expression is empty"),
        ("a" * 2001, "the limit is 2000"),
    ],
)
def test_a_broken_expression_says_where_and_why(text, message):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert message in str(caught.value)
