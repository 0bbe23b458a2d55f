"""Untrusted input kept within bounds: JSON nesting measured before decoding, echoed values clipped, text storable.

Python's `json.loads` recurses once per nested array or object: a 60 KB message of 10,000 `[`
raises RecursionError, which no caller expects. `json_depth_problem` measures the nesting with one
regular-expression pass over the raw text (strings are skipped whole, so brackets inside them do
not count) and stops at the first level past the limit, so the decoder only ever sees shallow
documents. Reasons name what was sent, but never more than a few dozen characters of it.
"""

from __future__ import annotations

import re
from typing import Any

# The deepest document of the contract is a batch: batch > events > event > record > dimensions
# (5 levels). Anything much deeper is not an event, however it is spelled.
MAX_JSON_DEPTH = 16
# How much of a value a reason quotes; the rest is summarised by its length.
MAX_ECHOED_CHARS = 60
# A reason is one or a few sentences; anything longer is cut (Firestore and logs keep it whole).
MAX_REASON_CHARS = 2000

# A JSON string, skipped whole: possessive (no backtracking, so linear whatever the input), and
# its closing quote optional, so an unterminated string swallows the rest instead of letting the
# brackets inside it count.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def json_depth_problem(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why `data` nests arrays/objects too deeply to decode safely, or None (linear time, no recursion)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for bracket in brackets:
        if bracket in _OPENING:
            depth += 1
            if depth > limit:
                return (
                    f"arrays and objects are nested more than {limit} levels deep; "
                    "an event nests at most 3 levels and a batch at most 5"
                )
        elif depth == 0:
            return None  # a closing bracket with nothing open: the decoder stops there with its own error
        else:
            depth -= 1
    return None


def quoted(value: Any, limit: int = MAX_ECHOED_CHARS) -> str:
    """`value` as a reason shows it: a repr of at most `limit` characters, then its length.

    Containers are named, not printed: their repr could be as long as the message.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} digits)"
    if isinstance(value, dict):
        return f"an object of {len(value)} field(s)"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} item(s)"
    return f"a value of type {type(value).__name__}"


def clipped(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """`text` as sent, unquoted (a JSON number's digits), at most `limit` characters, then its length."""
    text = storable(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def storable(text: str) -> str:
    """`text` as valid UTF-8 text: unpaired surrogates (which JSON's \\ud800 escapes can make) written as escapes."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def bounded_reason(reason: str, limit: int = MAX_REASON_CHARS) -> str:
    """A reason that is storable and at most `limit` characters."""
    reason = storable(reason)
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def surrogate_problem(text: str, field: str) -> str | None:
    """Why `text` is not real text (an unpaired UTF-16 surrogate), or None."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (
        f"{field} contains an unpaired UTF-16 surrogate ({storable(found.group())}) at character {found.start()}, "
        "which is not text: send valid Unicode"
    )
