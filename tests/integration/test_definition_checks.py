"""Definitions that protect the numbers, through the functions: a definition of an account the chart does not have
is answered invalid with the account named (and computes nothing), and an admin's draft is checked as they type
by /api/metric-definitions/check with the answer saving it would get, without saving it."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.auth_emulator import sign_up
from tests.support import seed_org, wait_until

pytestmark = pytest.mark.emulators


def check(stack, id_token: str | None, body: dict) -> requests.Response:
    headers = {"Authorization": f"Bearer {id_token}"} if id_token else {}
    url = f"http://{stack.config.address('hosting')}/api/metric-definitions/check"
    return requests.post(url, json=body, headers=headers, timeout=60)


def member(stack, db, org_id: str, role: str):
    user = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{user.uid}").set({"uid": user.uid, "role": role})
    return user


def test_a_definition_of_an_unknown_account_is_invalid_and_named(stack, db):
    org_id = f"t-{uuid.uuid4().hex[:12]}"
    seed_org(db, org_id, all_periods_open=True)
    definitions = db.collection(f"organizations/{org_id}/metric_definitions")
    definitions.document("ghost_revenue").set({"label": "Ghost", "expression": 'account("4999")'})
    definitions.document("receivables").set(
        {"label": "Receivables", "expression": 'closing(tagged("deferred_revenue"))'}
    )
    ghost = definitions.document("ghost_revenue")
    wait_until(lambda: (ghost.get().to_dict() or {}).get("status") == "invalid", timeout=120, what="ghost invalid")
    error = ghost.get().to_dict()["error"]
    assert error["path"] == "ghost_revenue.expression" and "account '4999' is not in the chart" in error["message"]
    receivables = definitions.document("receivables")
    wait_until(lambda: (receivables.get().to_dict() or {}).get("status") == "active", timeout=120, what="active")
    assert receivables.get().to_dict()["warnings"] == [
        'no account of the chart is tagged "deferred_revenue": tagged("deferred_revenue") is 0 until one is'
    ]
    status = db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict()
    assert "ghost_revenue" not in status["active"] and "receivables" in status["active"]


def test_an_admin_checks_a_draft_as_they_type_without_saving_it(stack, db):
    org_id = f"t-{uuid.uuid4().hex[:12]}"
    seed_org(db, org_id, all_periods_open=True)
    admin = member(stack, db, org_id, "admin")
    viewer = member(stack, db, org_id, "viewer")
    draft = {"org_id": org_id, "metric_id": "product_share", "label": "Product share", "unit": "percent"}

    reply = check(stack, admin.id_token, {**draft, "expression": '100 * account("4100") / revenue'})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "metric_id": "product_share",
        "status": "active",
        "error": None,
        "warnings": [],
        "active_expression": None,
    }
    typo = check(stack, admin.id_token, {**draft, "expression": '100 * account("4100") / revnue'}).json()
    assert (
        typo["status"] == "invalid" and "unknown metric 'revnue' (did you mean 'revenue'?)" in typo["error"]["message"]
    )
    unknown = check(stack, admin.id_token, {**draft, "expression": '100 * account("4101") / revenue'}).json()
    assert "account '4101' is not in the chart" in unknown["error"]["message"]
    unfinished = check(stack, admin.id_token, {**draft, "expression": "100 * "}).json()
    assert unfinished["status"] == "invalid" and unfinished["error"]["path"] == "product_share.expression"
    assert not db.document(f"organizations/{org_id}/metric_definitions/product_share").get().exists

    assert check(stack, viewer.id_token, {**draft, "expression": "revenue"}).status_code == 403
    assert check(stack, None, {**draft, "expression": "revenue"}).status_code == 401
    bad_org = check(stack, admin.id_token, {**draft, "org_id": "a__b", "expression": "revenue"})
    assert bad_org.status_code == 400
