"""The org, members and months the browser tests use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.auth_emulator import sign_up
from tests.web.browser import Credentials

KPI_PERIOD = "2026-11"  # the demo reference's current period: the KPI cards describe it
PREVIOUS = "2026-10"
NO_FX_PERIOD = "2026-12"  # this org has no FX rates for it: an EUR entry there is rejected


@dataclass(frozen=True)
class Member:
    uid: str
    credentials: Credentials
    display_name: str


@dataclass(frozen=True)
class WebOrg:
    org_id: str
    viewer: Member
    editor: Member
    reference: dict[str, Any]


def add_member(stack, db, org_id: str, role: str, name: str) -> Member:
    """A new Auth emulator user with a member document of `role` in `org_id`."""
    user = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{user.uid}").set({"uid": user.uid, "role": role, "display_name": name})
    return Member(user.uid, Credentials(user.email, user.password), name)
