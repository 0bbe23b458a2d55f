"""Firebase Auth: the Admin SDK app (no key file needed) and verification of callers' ID tokens."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import firebase_admin
from firebase_admin import auth, exceptions

from adapters.errors import TransientError
from adapters.settings import project_id


class InvalidCredentials(Exception):
    """The caller's ID token is missing, malformed, expired, revoked, or its account is gone or disabled."""


@functools.cache
def firebase_app() -> firebase_admin.App:
    """The default Admin SDK app, created once per instance.

    Verifying an ID token needs no credential: the signature is checked against Google's public
    keys, and with FIREBASE_AUTH_EMULATOR_HOST set (the Functions emulator sets it when the Auth
    emulator runs) the SDK accepts the emulator's unsigned tokens and talks to the emulator with a
    fake credential. ApplicationDefault credentials are loaded lazily, so passing the project id
    explicitly keeps the SDK from probing for credentials just to find it.
    """
    try:
        return firebase_admin.get_app()
    except ValueError:
        return firebase_admin.initialize_app(options={"projectId": project_id()})


def verify_id_token(token: str) -> Mapping[str, Any]:
    """The verified claims of a Firebase ID token (uid, sign-in provider ...).

    Revocation is checked too (one Auth lookup): an account disabled or signed out everywhere
    must not keep uploading with a token issued before.
    """
    try:
        return auth.verify_id_token(token, app=firebase_app(), check_revoked=True)
    except auth.CertificateFetchError as exc:
        raise TransientError(f"fetching Google's token certificates: {exc}") from exc
    except (auth.InvalidIdTokenError, auth.UserDisabledError, auth.UserNotFoundError, ValueError) as exc:
        raise InvalidCredentials(str(exc)) from exc
    except (exceptions.UnavailableError, exceptions.DeadlineExceededError, exceptions.InternalError) as exc:
        raise TransientError(f"checking the token's revocation with Firebase Auth: {exc}") from exc
