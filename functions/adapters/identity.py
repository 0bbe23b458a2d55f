"""Firebase Auth: the Admin SDK app (no key file needed) and verification of callers' ID tokens."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Refusal:
    """Why an HTTP caller is refused: status, machine-readable code, readable message, headers."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def bearer_claims(
    authorization: str | None, verify: Callable[[str], Mapping[str, Any]], realm: str, action: str
) -> Mapping[str, Any] | Refusal:
    """The verified claims of a signed-in, non-anonymous caller ('Authorization: Bearer <ID token>'), or the refusal.

    Anonymous accounts are refused as in firestore.rules: anyone can create one.
    """
    challenge = {"WWW-Authenticate": f'Bearer realm="{realm}"'}
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Refusal(
            401,
            "unauthenticated",
            "send a Firebase ID token of the signed-in user: 'Authorization: Bearer <ID token>'",
            challenge,
        )
    try:
        claims = verify(token.strip())
    except InvalidCredentials as exc:
        return Refusal(401, "unauthenticated", f"the ID token was not accepted: {exc}", challenge)
    if (claims.get("firebase") or {}).get("sign_in_provider") == "anonymous":
        return Refusal(403, "permission_denied", f"anonymous accounts cannot {action}: sign in with a real account")
    return claims


def bearer_caller(
    authorization: str | None, verify: Callable[[str], Mapping[str, Any]], realm: str, action: str
) -> str | Refusal:
    """The uid of a signed-in, non-anonymous caller, or the refusal (see bearer_claims)."""
    claims = bearer_claims(authorization, verify, realm, action)
    return claims if isinstance(claims, Refusal) else str(claims["uid"])
