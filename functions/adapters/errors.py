"""The one error policy of the backend: what a handler raises, and which failures are worth retrying.

Every client error (Google API, gRPC status code, HTTP library, socket) is classified here and
nowhere else: `is_transient` says whether trying again may succeed, `is_lost_race` whether a
compare-and-set write met another writer. `map_exceptions` turns client errors into the two
errors handlers raise on purpose, at the boundary where the client is called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import requests
from google.api_core import exceptions as google_exceptions


class ProcessingError(Exception):
    """Base of the errors a handler raises on purpose."""


class TransientError(ProcessingError):
    """Worth retrying: contention, unavailable service, deadline. Raised so the platform redelivers."""


class PermanentError(ProcessingError):
    """Retrying cannot help (bad data, missing configuration): store or dead-letter with the reason."""


class LostRace(ProcessingError):
    """A compare-and-set write found its document changed since the read: read and plan again."""


# Google API errors that clear up by themselves; everything else is a bug or bad input.
TRANSIENT_GOOGLE_ERRORS: tuple[type[Exception], ...] = (
    google_exceptions.Aborted,
    google_exceptions.DeadlineExceeded,
    google_exceptions.InternalServerError,
    google_exceptions.ServiceUnavailable,
    google_exceptions.TooManyRequests,
    google_exceptions.ResourceExhausted,
    google_exceptions.RetryError,
    google_exceptions.BadGateway,
    google_exceptions.GatewayTimeout,
)
# Network failures below the API clients: the builtin ones, and those of `requests` (which the
# BigQuery and Storage clients raise when the service cannot be reached at all).
TRANSIENT_NETWORK_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,
    TimeoutError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)
TRANSIENT_ERRORS = TRANSIENT_GOOGLE_ERRORS + TRANSIENT_NETWORK_ERRORS

# gRPC status codes of the same kinds (BulkWriter reports failures as bare codes):
# DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE.
TRANSIENT_GRPC_CODES = frozenset({4, 8, 10, 13, 14})
# FAILED_PRECONDITION: the document changed since it was read (a conditional write lost a race).
FAILED_PRECONDITION_CODE = 9

# Errors of a conditional write whose document changed (or appeared) since it was read.
LOST_RACE_ERRORS: tuple[type[Exception], ...] = (
    google_exceptions.FailedPrecondition,
    google_exceptions.AlreadyExists,
    google_exceptions.Conflict,
)
# What the Firestore client raises, as a plain ValueError, when a transaction keeps meeting
# contention until its attempts run out.
_TRANSACTION_GAVE_UP = "Failed to commit transaction"


@contextlib.contextmanager
def map_exceptions(action: str) -> Iterator[None]:
    """Turn client-library errors raised while doing `action` into TransientError / PermanentError."""
    try:
        yield
    except ProcessingError:
        raise
    except TRANSIENT_ERRORS as exc:
        raise TransientError(f"{action}: {exc}") from exc
    except google_exceptions.GoogleAPICallError as exc:
        raise PermanentError(f"{action}: {exc}") from exc
    except ValueError as exc:
        if _TRANSACTION_GAVE_UP in str(exc):
            raise TransientError(f"{action}: {exc}") from exc
        raise


def is_lost_race(exc: BaseException) -> bool:
    """True if a compare-and-set write failed because another writer got there first (read again, retry)."""
    return isinstance(exc, LostRace) or isinstance(exc.__cause__ or exc, LOST_RACE_ERRORS)


def is_transient(exc: BaseException) -> bool:
    """True if retrying the operation that raised `exc` may succeed (an HTTP 4xx other than 429 may not)."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, google_exceptions.ClientError):
        return isinstance(exc, google_exceptions.TooManyRequests)
    return isinstance(exc, TRANSIENT_ERRORS)


def is_transient_code(code: int | None) -> bool:
    """True for a gRPC status code worth retrying."""
    return code in TRANSIENT_GRPC_CODES
