"""The metric expression language: a grammar parsed by Lark (never `eval`), a typed syntax tree, a printer.

An expression combines the org's accounts, other metrics and period functions with + - * / and
parentheses, for example::

    100 * gross_profit / revenue
    closing(tagged("cash")) / positive(avg(net_burn, 3))
    growth_yoy(ytd(revenue))

`print_expression(parse_expression(text))` gives the canonical text of an expression, and parsing
the canonical text gives the same tree again (tests/unit/test_metric_language.py).
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from finance_core.accounts import AccountType

GRAMMAR = r"""
?start: sum
?sum: product
    | sum "+" product   -> add
    | sum "-" product   -> sub
?product: unary
    | product "*" unary -> mul
    | product "/" unary -> div
?unary: atom
    | "-" unary         -> neg
?atom: NUMBER           -> number
    | NAME "(" [arguments] ")" -> call
    | NAME              -> ref
    | "(" sum ")"
arguments: argument ("," argument)*
?argument: sum
    | STRING            -> string

NAME: /[a-z][a-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /"[A-Za-z0-9._-]*"/
%import common.WS
%ignore WS
"""

MAX_EXPRESSION_CHARS = 2000
MAX_WINDOW = 60


class ExpressionError(ValueError):
    """An expression that cannot be parsed or does not follow the language; the message says where and why."""


# --- the syntax tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A constant (a plain factor: amounts are minor units, a constant is not money)."""

    value: Decimal


@dataclass(frozen=True)
class Ref:
    """Another metric of the org (or a built-in one such as `revenue`)."""

    name: str


@dataclass(frozen=True)
class Accounts:
    """The movement of accounts in the period.

    `account("4100", ...)`, `type("revenue", ...)` or `tagged("cash", ...)`.
    """

    kind: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class Binary:
    """`left op right` with op one of + - * /."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """A function of expressions: period functions (`ytd(x)`, `avg(x, 3)`) and helpers (`max(a, b)`, `days()`)."""

    function: str
    args: tuple[Node, ...]
    window: int | None = None


Node = Number | Ref | Accounts | Neg | Binary | Call

SELECTORS = {"account": "account ids", "type": "account types", "tagged": "account tags"}
# Period functions of one expression: their value at a period reads the expression at other periods.
PERIOD_FUNCTIONS = {
    "prev": "the value of the previous period",
    "prev_year": "the value of the same period a year earlier",
    "growth": "percent change against the previous period",
    "growth_yoy": "percent change against the same period a year earlier",
    "ytd": "sum from the start of the fiscal year",
    "qtd": "sum from the start of the fiscal quarter",
    "ttm": "sum of the trailing twelve months",
    "opening": "balance at the start of the period (the closing balance of the one before)",
    "closing": "balance at the end of the period (every movement up to it)",
}
WINDOW_FUNCTIONS = {"avg": "average of the last n periods", "sum": "sum of the last n periods"}
HELPERS = {"min": 2, "max": 2, "abs": 1, "positive": 1, "days": 0}
FUNCTIONS = sorted({*SELECTORS, *PERIOD_FUNCTIONS, *WINDOW_FUNCTIONS, *HELPERS})


def _check_call(name: str, args: list[object]) -> Node:
    """Build a node for `name(args)` or raise ExpressionError saying what the function expects."""
    strings = [a for a in args if isinstance(a, str)]
    # The grammar gives a call only quoted text and expression nodes.
    nodes = cast(list[Node], [a for a in args if not isinstance(a, str)])
    if name in SELECTORS:
        if nodes or not strings:
            raise ExpressionError(
                f'{name}() takes one or more quoted {SELECTORS[name]}, e.g. {name}("{_example(name)}")'
            )
        if name == "type":
            known = {t.value for t in AccountType}
            for value in strings:
                if value not in known:
                    raise ExpressionError(
                        f'type("{value}") is not an account type; use one of {", ".join(sorted(known))}'
                    )
        return Accounts(name, tuple(strings))
    if strings:
        raise ExpressionError(f"{name}() takes expressions, not quoted text")
    if name in PERIOD_FUNCTIONS:
        if len(nodes) != 1:
            raise ExpressionError(f"{name}() takes one expression ({PERIOD_FUNCTIONS[name]})")
        return Call(name, (nodes[0],))
    if name in WINDOW_FUNCTIONS:
        if (
            len(nodes) != 2
            or not isinstance(nodes[1], Number)
            or nodes[1].value != nodes[1].value.to_integral_value()
            or not 1 <= nodes[1].value <= MAX_WINDOW
        ):
            raise ExpressionError(
                f"{name}() takes an expression and a whole number of periods from 1 to {MAX_WINDOW}, "
                f"e.g. {name}(revenue, 3)"
            )
        return Call(name, (nodes[0],), int(nodes[1].value))
    if name in HELPERS:
        if len(nodes) != HELPERS[name]:
            raise ExpressionError(f"{name}() takes {HELPERS[name]} expression(s)")
        return Call(name, tuple(nodes))
    close = difflib.get_close_matches(name, FUNCTIONS, n=1)
    hint = f" (did you mean {close[0]}()?)" if close else ""
    raise ExpressionError(f"unknown function {name}(){hint}; functions: {', '.join(FUNCTIONS)}")


def _example(selector: str) -> str:
    return {"account": "4100", "type": "revenue", "tagged": "cash"}[selector]


@v_args(inline=True)
class _ToTree(Transformer):
    def number(self, token: Token) -> Number:
        return Number(Decimal(str(token)))

    def ref(self, token: Token) -> Ref:
        return Ref(str(token))

    def string(self, token: Token) -> str:
        return str(token)[1:-1]

    def neg(self, operand: Node) -> Neg:
        return Neg(operand)

    def add(self, left: Node, right: Node) -> Binary:
        return Binary("+", left, right)

    def sub(self, left: Node, right: Node) -> Binary:
        return Binary("-", left, right)

    def mul(self, left: Node, right: Node) -> Binary:
        return Binary("*", left, right)

    def div(self, left: Node, right: Node) -> Binary:
        return Binary("/", left, right)

    def arguments(self, *args: object) -> list[object]:
        return list(args)

    def call(self, name: Token, arguments: list[object] | None) -> Node:
        return _check_call(str(name), arguments or [])


@functools.cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=True)


def parse_expression(text: str) -> Node:
    """The syntax tree of an expression; ExpressionError with the position and what was expected."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"the expression has {len(text)} characters; the limit is {MAX_EXPRESSION_CHARS}")
    try:
        tree = _parser().parse(text)
        return _ToTree().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ExpressionError):
            raise exc.orig_exc from None
        raise
    except UnexpectedInput as exc:
        raise ExpressionError(_syntax_message(text, exc)) from None


def _syntax_message(text: str, exc: UnexpectedInput) -> str:
    column = getattr(exc, "column", None)
    where = f"at column {column}" if isinstance(column, int) and column > 0 else "at the end"
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return f"the expression ends too early {where}: {text.strip()!r} (a missing operand or ')'?)"
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream
        char = text[position] if position is not None and 0 <= position < len(text) else "?"
        hint = ' (account ids, types and tags are quoted with ")' if char in "'" else ""
        if char.isupper():
            hint = ' (metric and function names are lower case; quote account ids: account("4100"))'
        return f"unexpected character {char!r} {where}{hint}"
    token = getattr(exc, "token", "?")
    return f"unexpected {str(token)!r} {where}"


# --- printing -------------------------------------------------------------------------------------

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _precedence(node: Node) -> int:
    if isinstance(node, Binary):
        return _PRECEDENCE[node.op]
    if isinstance(node, Neg):
        return 3
    return 4


def print_expression(node: Node) -> str:
    """Canonical text of a tree; parsing it gives the same tree."""
    if isinstance(node, Number):
        return format(node.value, "f")
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, Accounts):
        return f"{node.kind}(" + ", ".join(f'"{name}"' for name in node.names) + ")"
    if isinstance(node, Neg):
        inner = print_expression(node.operand)
        return f"-{inner}" if _precedence(node.operand) >= 3 else f"-({inner})"
    if isinstance(node, Binary):
        own = _PRECEDENCE[node.op]
        left = print_expression(node.left)
        right = print_expression(node.right)
        if _precedence(node.left) < own:
            left = f"({left})"
        # Operators are left-associative: a right operand of the same precedence needs parentheses.
        if _precedence(node.right) <= own:
            right = f"({right})"
        return f"{left} {node.op} {right}"
    args = [print_expression(arg) for arg in node.args]
    if node.window is not None:
        args.append(str(node.window))
    return f"{node.function}(" + ", ".join(args) + ")"


def references(node: Node) -> set[str]:
    """Metric names an expression reads."""
    if isinstance(node, Ref):
        return {node.name}
    return {name for child in children(node) for name in references(child)}


def selections(node: Node) -> list[Accounts]:
    """Account selections of an expression (`account(...)`, `type(...)`, `tagged(...)`), in order."""
    if isinstance(node, Accounts):
        return [node]
    return [found for child in children(node) for found in selections(child)]


def children(node: Node) -> tuple[Node, ...]:
    """Direct sub-expressions."""
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()
