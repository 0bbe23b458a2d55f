"""The demo sign-ins the docs and ./dev demo print exist in the Auth emulator as the demo org's members."""

from __future__ import annotations

import pytest
import requests

from tests.auth_emulator import API_KEY
from tools.stack.demo_users import DEMO_USERS, create_demo_users
from tools.stack.seed import demo_reference

pytestmark = pytest.mark.emulators


def test_each_demo_user_signs_in_as_the_member_of_its_role(stack):
    create_demo_users(stack.config)
    assert create_demo_users(stack.config) == 0, "a second seed must keep the accounts, not fail"
    members = {m["uid"]: m["role"] for m in demo_reference()["members"]}
    url = (
        f"http://{stack.config.address('auth')}/identitytoolkit.googleapis.com/v1/"
        f"accounts:signInWithPassword?key={API_KEY}"
    )
    for user in DEMO_USERS:
        reply = requests.post(
            url, json={"email": user.email, "password": user.password, "returnSecureToken": True}, timeout=30
        )
        assert reply.status_code == 200, reply.text
        assert members[reply.json()["localId"]] == user.role
        wrong = requests.post(
            url, json={"email": user.email, "password": "not-it", "returnSecureToken": True}, timeout=30
        )
        assert wrong.status_code == 400
