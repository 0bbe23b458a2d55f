"""Client-library errors become the handlers' transient / permanent errors, and lost write races are recognised."""

from __future__ import annotations

import pytest
from adapters.errors import PermanentError, TransientError, is_lost_race, map_exceptions
from google.api_core import exceptions as google_exceptions


def test_a_transaction_that_ran_out_of_attempts_is_transient():
    # What google-cloud-firestore raises when contention outlasts max_attempts.
    with pytest.raises(TransientError, match="applying change c-1: Failed to commit transaction in 15 attempts"):
        with map_exceptions("applying change c-1"):
            raise ValueError("Failed to commit transaction in 15 attempts.")


def test_other_value_errors_pass_through_unchanged():
    with pytest.raises(ValueError, match="not a decimal"):
        with map_exceptions("parsing"):
            raise ValueError("not a decimal")


def test_google_errors_are_transient_or_permanent():
    with pytest.raises(TransientError):
        with map_exceptions("reading"):
            raise google_exceptions.ServiceUnavailable("down")
    with pytest.raises(PermanentError):
        with map_exceptions("reading"):
            raise google_exceptions.PermissionDenied("no")


def test_a_failed_precondition_or_existing_document_is_a_lost_race_even_once_mapped():
    for error in (google_exceptions.FailedPrecondition("changed"), google_exceptions.AlreadyExists("exists")):
        with pytest.raises(PermanentError) as caught:
            with map_exceptions("writing"):
                raise error
        assert is_lost_race(caught.value) and is_lost_race(error)
    assert not is_lost_race(TransientError("deadline"))
    assert not is_lost_race(google_exceptions.PermissionDenied("no"))
