"""The small error hierarchy every handler uses: transient errors are retried, permanent ones are not."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from google.api_core import exceptions as google_exceptions


class ProcessingError(Exception):
    """Base of the errors a handler raises on purpose."""


class TransientError(ProcessingError):
    """Worth retrying: contention, unavailable service, deadline. Raised so the platform redelivers."""


class PermanentError(ProcessingError):
    """Retrying cannot help (bad data, missing configuration): store or dead-letter with the reason."""


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
    ConnectionError,
    TimeoutError,
)


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
    except TRANSIENT_GOOGLE_ERRORS as exc:
        raise TransientError(f"{action}: {exc}") from exc
    except google_exceptions.GoogleAPICallError as exc:
        raise PermanentError(f"{action}: {exc}") from exc
    except ValueError as exc:
        if _TRANSACTION_GAVE_UP in str(exc):
            raise TransientError(f"{action}: {exc}") from exc
        raise


def is_lost_race(exc: BaseException) -> bool:
    """True if a compare-and-set write failed because another writer got there first (read again, retry)."""
    return isinstance(exc.__cause__ or exc, LOST_RACE_ERRORS)


def is_transient(exc: BaseException) -> bool:
    """True if retrying the operation that raised `exc` may succeed."""
    return isinstance(exc, TransientError) or isinstance(exc, TRANSIENT_GOOGLE_ERRORS)
