"""Users and ID tokens from the Auth emulator (its REST API), for tests that call the backend as a user."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass

import requests

# The Auth emulator accepts any API key.
API_KEY = "demo-api-key"


@dataclass(frozen=True)
class AuthUser:
    """A user of the Auth emulator with a fresh ID token."""

    uid: str
    email: str | None
    password: str | None
    id_token: str


def _url(stack, method: str) -> str:
    return f"http://{stack.config.address('auth')}/identitytoolkit.googleapis.com/v1/accounts:{method}?key={API_KEY}"


def sign_up(stack, email: str | None = None, password: str = "s3cret-pass") -> AuthUser:
    """Create an email/password user (the same REST call the web SDK makes) and return its ID token."""
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": password, "returnSecureToken": True}
    response = requests.post(_url(stack, "signUp"), json=body, timeout=30)
    assert response.status_code == 200, f"Auth emulator signUp failed: {response.status_code} {response.text}"
    reply = response.json()
    return AuthUser(reply["localId"], email, password, reply["idToken"])


def sign_up_anonymously(stack) -> AuthUser:
    """An anonymous user (sign_in_provider 'anonymous')."""
    response = requests.post(_url(stack, "signUp"), json={"returnSecureToken": True}, timeout=30)
    assert response.status_code == 200, f"Auth emulator anonymous signUp failed: {response.text}"
    body = response.json()
    return AuthUser(body["localId"], None, None, body["idToken"])


def unsigned_token(project_id: str, uid: str, provider: str = "password", **claims) -> str:
    """An unsigned ('alg: none') ID token as the emulators accept it, for a user that need not exist."""
    now = int(time.time())
    payload = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "sub": uid,
        "user_id": uid,
        "firebase": {"sign_in_provider": provider, "identities": {}},
        **claims,
    }

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."
