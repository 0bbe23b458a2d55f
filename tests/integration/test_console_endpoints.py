"""The admin console's backend, through the functions and the Hosting rewrites: reading a reference-data file,
previewing an alert rule on current data, a channel's write-only secret and its test message, and the close
checklist of a month; each refuses whoever is not an admin of the org."""

from __future__ import annotations

import uuid

import pytest
import requests
from google.cloud import firestore

from tests.alert_receivers import WebhookReceiver
from tests.auth_emulator import sign_up
from tests.support import event, publish, seed_org, wait_for_events, wait_until

pytestmark = pytest.mark.emulators

PERIOD = "2026-10"


def api(stack, path: str, token: str | None, body: dict | None = None, method: str = "POST", **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"http://{stack.config.address('hosting')}{path}"
    return requests.request(
        method, url, json=body, headers={**headers, **kwargs.pop("headers", {})}, timeout=60, **kwargs
    )


@pytest.fixture(scope="module")
def org(stack, db):
    org_id = f"t-{uuid.uuid4().hex[:12]}"
    seed_org(db, org_id, all_periods_open=True)
    users = {}
    for role in ("admin", "viewer"):
        user = sign_up(stack)
        db.document(f"organizations/{org_id}/members/{user.uid}").set({"uid": user.uid, "role": role})
        users[role] = user
    events = [
        event(org_id, "c-rev", 1, period=PERIOD, amount="500.00"),
        event(org_id, "c-rev-budget", 1, period=PERIOD, scenario="budget", amount="2000.00"),
        event(org_id, "c-bad", 1, period=PERIOD, account="9999", amount="1.00"),
    ]
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=300)
    for scenario in ("actual", "budget"):
        ref = db.document(f"organizations/{org_id}/aggregates/_all__{PERIOD}__{scenario}")
        wait_until(lambda ref=ref: ref.get().exists, timeout=300, what=f"the {ref.id} aggregate")
    return org_id, users


def test_a_reference_file_is_read_for_admins_only(stack, org):
    org_id, users = org
    csv = "account_id,name,type\n4300,Services,revenue\n"
    reply = api(
        stack,
        f"/api/sheets/read?org_id={org_id}",
        users["admin"].id_token,
        data=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["rows"] == [{"row": 2, "cells": {"account_id": "4300", "name": "Services", "type": "revenue"}}]
    denied = api(
        stack,
        f"/api/sheets/read?org_id={org_id}",
        users["viewer"].id_token,
        data=b"a\n1\n",
        headers={"Content-Type": "text/csv"},
    )
    assert denied.status_code == 403
    unreadable = api(
        stack,
        f"/api/sheets/read?org_id={org_id}",
        users["admin"].id_token,
        data=b"PK not a workbook",
        headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert unreadable.status_code == 400 and "not a readable .xlsx" in unreadable.json()["message"]


def test_a_rule_is_previewed_on_current_data_without_writing(stack, db, org):
    org_id, users = org
    db.document(f"organizations/{org_id}").update({"current_period": PERIOD})
    rule = {
        "name": "Revenue under plan",
        "type": "variance",
        "severity": "warning",
        "target": {"entity_id": "_all", "metric": "revenue"},
        "threshold_pct": "10",
        "direction": "unfavourable",
    }
    reply = api(
        stack, "/api/alerts/preview", users["admin"].id_token, {"org_id": org_id, "rule_id": "r1", "rule": rule}
    )
    assert reply.status_code == 200, reply.text
    preview = reply.json()
    assert preview["valid"] and preview["period"] == PERIOD and preview["evaluable"] and preview["firing"], str(preview)
    assert "-75.00%" in preview["description"] or "75" in preview["description"]
    broken = api(
        stack,
        "/api/alerts/preview",
        users["admin"].id_token,
        {"org_id": org_id, "rule": {**rule, "threshold_pct": "ten"}},
    ).json()
    assert not broken["valid"] and "threshold_pct" in broken["error"]
    others = [
        {"type": "trend", "target": {"metric": "revenue"}, "direction": "decline", "mode": "consecutive", "periods": 3},
        {"type": "anomaly", "target": {"account_id": "4100"}, "direction": "any"},
        {"type": "forecast", "target": {"metric": "net_income"}, "direction": "below", "threshold_minor": 100000},
        {"type": "absolute", "target": {"account_id": "4100"}, "direction": "above", "threshold_minor": 10000},
    ]
    for other in others:
        answer = api(
            stack,
            "/api/alerts/preview",
            users["admin"].id_token,
            {"org_id": org_id, "rule": {"name": other["type"], "severity": "info", **other}},
        ).json()
        assert answer["valid"] and answer["description"], answer
    # Every type is answered; a month of history cannot show a trend, and 500.00 is above 100.00.
    assert answer["firing"] is True and answer["period"] == PERIOD
    assert not db.collection(f"organizations/{org_id}/alerts").get()
    assert (
        api(stack, "/api/alerts/preview", users["viewer"].id_token, {"org_id": org_id, "rule": rule}).status_code == 403
    )


def test_a_channel_secret_is_write_only_and_a_test_reaches_the_channel(stack, db, org):
    org_id, users = org
    channel = db.document(f"organizations/{org_id}/notification_channels/hook")
    channel.set(
        {"type": "webhook", "name": "Hook", "updated_by": users["admin"].uid, "updated_at": firestore.SERVER_TIMESTAMP}
    )
    admin = users["admin"].id_token
    refused = api(
        stack,
        "/api/alerts/secret",
        admin,
        {"org_id": org_id, "channel_id": "hook", "secret": "https://evil.example.com/x"},
    )
    assert refused.status_code == 400 and "not allowed" in refused.json()["message"]
    with WebhookReceiver() as hook:
        secret = f"{hook.url}/services/T1/B1/{uuid.uuid4().hex}"
        reply = api(stack, "/api/alerts/secret", admin, {"org_id": org_id, "channel_id": "hook", "secret": secret})
        assert reply.status_code == 200, reply.text
        assert reply.json()["secret_hint"] == f"{hook.url}/…"
        stored = channel.get().to_dict()
        assert stored["secret_set"] is True and secret not in str(stored)
        assert db.document(f"organizations/{org_id}/channel_secrets/hook").get().to_dict()["value"] == secret
        test = api(stack, "/api/alerts/test", admin, {"org_id": org_id, "channel_id": "hook"})
        assert test.status_code == 200 and test.json()["delivered"] is True, test.text
        assert len(hook.delivered("/services/T1/B1/" + secret.rsplit("/", 1)[1])) == 1
        assert channel.get().to_dict()["last_test"]["delivered"] is True
    # The receiver is gone: the test says why, without the URL (it is the credential).
    failed = api(stack, "/api/alerts/test", admin, {"org_id": org_id, "channel_id": "hook"}).json()
    assert failed["delivered"] is False and secret not in str(failed)
    assert api(stack, "/api/alerts/test", admin, {"org_id": org_id, "channel_id": "nope"}).status_code == 404
    assert (
        api(stack, "/api/alerts/test", users["viewer"].id_token, {"org_id": org_id, "channel_id": "hook"}).status_code
        == 403
    )


def test_the_close_checklist_of_a_month(stack, org):
    org_id, users = org
    reply = api(
        stack, f"/api/periods/close-status?org_id={org_id}&period={PERIOD}", users["admin"].id_token, method="GET"
    )
    assert reply.status_code == 200, reply.text
    items = {item["key"]: item for item in reply.json()["items"]}
    assert items["loads_applied"]["state"] == "done"
    assert (
        items["rejects_resolved"]["state"] == "attention" and "unknown_account" in items["rejects_resolved"]["detail"]
    )
    assert items["reconciliation_clean"]["state"] == "unknown"
    assert items["pack_sent"]["state"] == "attention"
    viewer = api(
        stack, f"/api/periods/close-status?org_id={org_id}&period={PERIOD}", users["viewer"].id_token, method="GET"
    )
    assert viewer.status_code == 403
    bad = api(stack, f"/api/periods/close-status?org_id={org_id}&period=2026-13", users["admin"].id_token, method="GET")
    assert bad.status_code == 400
