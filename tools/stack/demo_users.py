"""Sign-in accounts of the demo org's members in the Auth emulator (documented in docs/web-dashboard.md)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from tools.stack.config import StackConfig


@dataclass(frozen=True)
class DemoUser:
    uid: str
    role: str
    email: str
    password: str


# The uids are those of the demo org's member documents (demo_data/reference.json). Local
# emulator accounts only: these passwords mean nothing anywhere else.
DEMO_USERS = (
    DemoUser("demo-viewer", "viewer", "viewer@northwind.example", "northwind-viewer"),
    DemoUser("demo-editor", "editor", "editor@northwind.example", "northwind-editor"),
    DemoUser("demo-admin", "admin", "admin@northwind.example", "northwind-admin"),
)


def create_demo_users(config: StackConfig, display_names: dict[str, str] | None = None) -> int:
    """Create the demo accounts in the Auth emulator (kept if they exist); returns how many were created.

    Uses the emulator's admin endpoint (`Bearer owner`), which accepts a chosen uid, so each
    account signs in as the member document of the same id.
    """
    url = f"http://{config.address('auth')}/identitytoolkit.googleapis.com/v1/projects/{config.project_id}/accounts"
    created = 0
    for user in DEMO_USERS:
        body = {
            "localId": user.uid,
            "email": user.email,
            "password": user.password,
            "displayName": (display_names or {}).get(user.uid, user.role),
            "emailVerified": True,
        }
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": "Bearer owner"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                created += 1
        except urllib.error.HTTPError as exc:
            message = exc.read().decode(errors="replace")
            if "DUPLICATE_LOCAL_ID" not in message and "EMAIL_EXISTS" not in message:
                raise RuntimeError(
                    f"the Auth emulator refused the demo user {user.email}: {exc.code} {message}"
                ) from exc
    return created
