"""HTTP bodies: read up to a limit, the rest dropped a chunk at a time (never held whole in memory)."""

from __future__ import annotations

import io

from adapters.request_body import CHUNK, discard_rest, read_limited


def test_a_body_is_read_to_one_byte_past_the_limit_and_the_rest_dropped_in_chunks():
    stream = io.BytesIO(b"x" * (3 * CHUNK + 5))
    sizes = []

    def read(n: int) -> bytes:
        data = stream.read(n)
        sizes.append(len(data))
        return data

    assert len(read_limited(read, 10)) == 11
    discard_rest(read)
    assert stream.read() == b"" and max(sizes[1:]) <= CHUNK


def test_a_client_that_went_away_is_not_an_error():
    def broken(n: int) -> bytes:
        raise OSError("connection reset")

    discard_rest(broken)
