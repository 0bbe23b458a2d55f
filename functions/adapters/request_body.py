"""Request bodies of the HTTP functions: read up to a limit, and drop the rest a chunk at a time.

The serving framework reads whatever is left of a request body, whole and into memory, before it
answers (functions-framework's read_request): a function that refuses a large body reads the rest
itself, a chunk at a time, so the refusal never costs the body's size in memory. (Cloud Run itself
refuses HTTP/1 requests over 32 MiB.)
"""

from __future__ import annotations

from collections.abc import Callable

CHUNK = 1024 * 1024


def read_limited(read: Callable[[int], bytes], limit: int) -> bytes:
    """At most `limit` + 1 bytes: one byte over the limit is enough to refuse the body as too large."""
    return read(limit + 1)


def discard_rest(read: Callable[[int], bytes]) -> None:
    """Read and drop what is left of the body (nothing when it was read whole)."""
    try:
        while read(CHUNK):
            pass
    except (OSError, ValueError):
        pass  # the client went away: nothing left to read
