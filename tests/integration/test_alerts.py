"""Alerts through the real pipeline on the emulators: breach, persistence, resolution, cooldown, grouping, retries,
redelivery, e-mail, escalation and the BigQuery history, with a local webhook and a local SMTP server as channels."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from finance_core.alert_policy import (
    REPEAT_WRITE_INTERVAL,
    AlertState,
    alert_state_from_document,
    held_from_document,
    with_held,
)
from google.cloud import pubsub_v1

from tests.alert_receivers import SmtpReceiver, WebhookReceiver
from tests.support import event, publish, published_change_messages, seed_org, wait_until
from tools.stack.provision import bigquery_client

pytestmark = pytest.mark.emulators

PERIOD = "2026-10"


def rule(
    rule_id: str,
    threshold: str = "1000.00",
    *,
    severity: str = "critical",
    channels=("hook",),
    entity: str = "us-east",
    account: str = "6100",
    **extra: Any,
) -> dict[str, Any]:
    """An absolute rule: the account's total in the entity above a threshold (in USD)."""
    body = {
        "rule_id": rule_id,
        "name": f"{account} in {entity} above {threshold}",
        "type": "absolute",
        "severity": severity,
        "target": {"entity_id": entity, "account_id": account},
        "direction": "above",
        "threshold_minor": int(round(float(threshold) * 100)),
        "channels": list(channels),
    }
    body.update(extra)
    return body


def add_channel(db, org_id: str, channel_id: str, body: dict[str, Any]) -> None:
    db.document(f"organizations/{org_id}/notification_channels/{channel_id}").set(body)


def set_policy(db, org_id: str, body: dict[str, Any]) -> None:
    db.document(f"organizations/{org_id}/alert_settings/notification_policy").set(body)


def alerts_of(db, org_id: str, *, markers: bool = False) -> list[dict[str, Any]]:
    """The org's alerts (the marker's only when asked)."""
    docs = [s.to_dict() for s in db.collection(f"organizations/{org_id}/alerts").stream()]
    return [d for d in docs if markers or d.get("rule_id") != MARKER_RULE]


def held_repeats(db, org_id: str, alert: dict[str, Any]) -> dict[str, Any]:
    """The repeat firings held beside an alert (alert_repeats/{id}; empty before its first write)."""
    return db.document(f"organizations/{org_id}/alert_repeats/{alert['fingerprint']}").get().to_dict() or {}


def exact_state(db, org_id: str, alert: dict[str, Any]) -> AlertState:
    """The alert with the repeat firings held beside it: its exact count and latest last_seen."""
    written = alert_state_from_document(alert)
    return with_held(written, held_from_document(held_repeats(db, org_id, alert))) or written


def exact_count(db, org_id: str, alert: dict[str, Any]) -> int:
    """Evaluations that found the alert's condition: its document's count plus the repeats held beside it."""
    return exact_state(db, org_id, alert).count


# The serial Firestore trigger and the emulator's 4 worker slots are shared by every test of the
# stack: under another test's backlog an event may wait minutes, hence the generous waits.
PIPELINE_WAIT = 300


def wait_alerts(db, org_id: str, check, what: str, timeout: float = PIPELINE_WAIT) -> list[dict[str, Any]]:
    return wait_until(lambda: (docs := alerts_of(db, org_id)) and check(docs) and docs, timeout, what=what)


def expense(
    org_id: str,
    record_id: str,
    amount: str,
    version: int = 1,
    period: str = PERIOD,
    entity: str = "us-east",
    account: str = "6100",
) -> dict[str, Any]:
    return event(org_id, record_id, version, entity=entity, account=account, period=period, amount=amount)


# Before asserting that something did not happen (a second notification, a second count), a test
# waits for something that did: a marker line published after the action, on an account no other
# rule watches, has been evaluated (its rule, without channels, raised its alert). A change
# published before the marker has then been through the pipeline too.
MARKER_RULE = "processed-marker"
MARKER_ENTITY, MARKER_ACCOUNT = "us-west", "6400"


def marker_rule() -> dict[str, Any]:
    """The marker's rule: any posting on its account fires it; no channel, so it never notifies."""
    return rule(MARKER_RULE, "0.00", severity="info", channels=(), entity=MARKER_ENTITY, account=MARKER_ACCOUNT)


def processed_after(stack, db, org_id: str) -> None:
    """Publish a marker line and wait until it has been evaluated: what was published before has been too."""
    publish(stack, [expense(org_id, "processed-marker", "1.00", entity=MARKER_ENTITY, account=MARKER_ACCOUNT)])
    wait_until(
        lambda: any(a["rule_id"] == MARKER_RULE for a in alerts_of(db, org_id, markers=True)),
        PIPELINE_WAIT,
        what="the marker published after the action to be evaluated",
    )


def change_messages(db, org_id: str) -> dict[str, bytes]:
    """Change messages the record-changes trigger published, by their last event id."""
    from finance_core.changes import decode_change_message

    return {decode_change_message(data).last_event_id: data for data in published_change_messages(db, org_id).values()}


def bigquery_rows(stack, org_id: str, view: str = "alerts") -> list[dict[str, Any]]:
    client = bigquery_client(stack.config)
    query = (
        f"SELECT * FROM `{stack.config.project_id}.finance.{view}` WHERE org_id = @org "
        f"AND rule_id != '{MARKER_RULE}' ORDER BY changed_at"
    )
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("org", "STRING", org_id)])
    return [dict(row) for row in client.query(query, job_config=config).result()]


def fire_scheduled(stack, name: str) -> None:
    """Run a scheduled function now, as Cloud Scheduler would: POST to its emulator URL.

    The Functions emulator registers a scheduled function under its name with a "-0" suffix (it
    numbers the event triggers of a function).
    """
    url = f"http://{stack.config.address('functions')}/{stack.config.project_id}/us-central1/{name}-0"
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=PIPELINE_WAIT) as response:
        assert response.status == 200, response.read()


# --- lifecycle ---------------------------------------------------------------------------------


def test_a_breach_raises_one_alert_that_counts_while_it_persists_and_resolves_when_cleared(stack, db, org_id):
    broken = {"rule_id": "broken", "name": "Broken", "type": "absolute", "severity": "loud", "target": {}}
    seed_org(db, org_id, rules=[broken, rule("salaries-high"), marker_rule()])
    with WebhookReceiver() as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        # Each step waits for the alert to show the previous change: an evaluation reads the
        # current aggregates, so one that ran late would see (and count) the next change too.
        publish(stack, [expense(org_id, "s-1", "1100.00")])  # 1,100.00 > 1,000.00: breach
        [alert] = wait_alerts(db, org_id, lambda docs: docs[0]["count"] == 1, "the alert")
        assert (alert["rule_id"], alert["severity"], alert["status"], alert["escalation_level"]) == (
            "salaries-high",
            "critical",
            "active",
            0,
        )
        assert alert["title"] == "Salaries and benefits (us-east) above 1,000.00 USD"
        assert alert["current_value"] == 110000 and alert["threshold"] == 100000
        assert alert["first_seen"] == alert["last_seen"] and alert["period"] == PERIOD
        wait_until(lambda: hook.delivered("/ops"), PIPELINE_WAIT, what="the notification")

        publish(stack, [expense(org_id, "s-2", "100.00")])  # still above: the same alert counts
        # A repeat within REPEAT_WRITE_INTERVAL of the firing is held beside the alert, not written on it.
        wait_until(lambda: exact_count(db, org_id, alert) == 2, PIPELINE_WAIT, what="count 2")
        held = held_repeats(db, org_id, alert)
        assert held["last_seen"] > alert["first_seen"] and held["current_value"] == 120000

        publish(stack, [expense(org_id, "s-1", "700.00", version=2)])  # back to 800.00: cleared
        [alert] = wait_alerts(db, org_id, lambda docs: docs[0]["status"] == "resolved", "resolution")
        assert alert["count"] == 2 and alert["resolved_at"] is not None
        processed_after(stack, db, org_id)
        assert len(hook.delivered("/ops")) == 1, "one notification for the whole episode"
        payload = hook.delivered("/ops")[0].body
        assert payload["alert_ids"] == [alert["fingerprint"]] and payload["text"].startswith("[CRITICAL]")
        assert alert["notifications"]["hook"]["delivered"] and alert["notifications"]["hook"]["attempts"] == 1
    rows = wait_until(
        lambda: (r := bigquery_rows(stack, org_id)) and len(r) >= 4 and r,
        PIPELINE_WAIT,
        what="the alert history in BigQuery",
    )
    assert sorted(r["change"] for r in rows) == ["fired", "notified", "resolved", "updated"]
    assert len({r["change_id"] for r in rows}) == len(rows)
    [latest] = bigquery_rows(stack, org_id, "alerts_latest")
    assert latest["status"] == "resolved" and latest["alert_id"] == alert["fingerprint"]
    assert not list(db.collection(f"organizations/{org_id}/alert_changes_outbox").stream())


def test_an_alert_firing_again_within_a_minute_is_written_once_and_its_count_stays_exact(stack, db, org_id):
    seed_org(db, org_id, rules=[rule("salaries-high", severity="warning", channels=())])
    publish(stack, [expense(org_id, "s-0", "1100.00")])
    [alert] = wait_alerts(db, org_id, lambda docs: docs[0]["count"] == 1, "the alert")
    ref = db.document(f"organizations/{org_id}/alerts/{alert['fingerprint']}")
    versions: list[dict[str, Any]] = []
    watch = ref.on_snapshot(lambda snaps, changes, read_at: versions.extend(s.to_dict() for s in snaps if s.exists))
    try:
        for n in range(1, 4):  # three more breaching lines, each evaluated before the next is published
            publish(stack, [expense(org_id, f"s-{n}", "10.00")])
            wait_until(lambda n=n: exact_count(db, org_id, alert) == n + 1, PIPELINE_WAIT, what=f"repeat {n}")
        last_repeat = exact_state(db, org_id, ref.get().to_dict()).last_seen
        publish(stack, [expense(org_id, "s-0", "100.00", version=2)])  # 130.00 in all: cleared
        resolved = wait_alerts(db, org_id, lambda docs: docs[0]["status"] == "resolved", "resolution")[0]
        wait_until(lambda: versions and versions[-1]["status"] == "resolved", 60, what="the listener to see it")
    finally:
        watch.unsubscribe()
    # The resolution is written at once, with every repeat held so far: the count is exact.
    assert resolved["count"] == 4 and resolved["last_seen"] == last_repeat
    assert held_repeats(db, org_id, resolved)["repeats"] == 0
    # Between the firing and the resolution, the document's count moved at most once per interval
    # (the machine may be slow enough for the repeats to span more than one): here, not at all.
    moves = [v for v in versions if v["status"] == "active"]
    for before, after in zip(moves, moves[1:], strict=False):
        assert after["last_seen"] - before["last_seen"] >= REPEAT_WRITE_INTERVAL, (before, after)
    if last_repeat - alert["last_seen"] < REPEAT_WRITE_INTERVAL:
        assert [(v["count"], v["status"]) for v in versions] == [(1, "active"), (4, "resolved")]


def test_a_redelivered_change_neither_counts_twice_nor_notifies_again(stack, db, org_id):
    seed_org(db, org_id, rules=[rule("salaries-high"), marker_rule()])
    with WebhookReceiver() as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        publish(stack, [expense(org_id, "s-1", "1500.00")])
        wait_alerts(db, org_id, lambda docs: docs[0]["count"] == 1, "the alert")
        wait_until(lambda: hook.delivered("/ops"), PIPELINE_WAIT, what="the notification")
        data = wait_until(lambda: change_messages(db, org_id).get("s-1-v1"), PIPELINE_WAIT, what="the change message")
        publisher = pubsub_v1.PublisherClient()
        topic = publisher.topic_path(stack.config.project_id, "financial-record-changes")
        for _ in range(2):
            publisher.publish(topic, data, org_id=org_id).result(timeout=30)
        processed_after(stack, db, org_id)
        [alert] = alerts_of(db, org_id)
        assert alert["count"] == 1 and alert["applied_change_ids"] == [json.loads(data)["change_id"]]
        assert len(hook.all("/ops")) == 1
    # The alert history reaches BigQuery through its own sink: wait for the firing, then count it.
    rows = wait_until(
        lambda: (r := bigquery_rows(stack, org_id)) and any(row["change"] == "fired" for row in r) and r,
        PIPELINE_WAIT,
        what="the firing in the BigQuery alert history",
    )
    assert [r["change"] for r in rows].count("fired") == 1


def test_a_condition_that_flaps_within_the_cooldown_notifies_once(stack, db, org_id):
    seed_org(db, org_id, rules=[rule("salaries-high", cooldown_seconds=3600), marker_rule()])
    with WebhookReceiver() as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        publish(stack, [expense(org_id, "s-1", "1500.00")])
        wait_alerts(db, org_id, lambda docs: docs[0]["status"] == "active", "the alert")
        wait_until(lambda: hook.delivered("/ops"), PIPELINE_WAIT, what="the first notification")
        publish(stack, [expense(org_id, "s-1", "500.00", version=2)])
        wait_alerts(db, org_id, lambda docs: docs[0]["status"] == "resolved", "resolution")
        publish(stack, [expense(org_id, "s-1", "1600.00", version=3)])
        [alert] = wait_alerts(
            db, org_id, lambda docs: docs[0]["status"] == "active" and docs[0]["count"] == 2, "the alert firing again"
        )
        processed_after(stack, db, org_id)
        assert len(hook.all("/ops")) == 1, "no second notification within the cooldown"
    assert alert["fired_at"] > alert["first_seen"]


# --- notifications -----------------------------------------------------------------------------


def test_alerts_raised_together_share_one_notification_after_the_group_wait(stack, db, org_id):
    seed_org(db, org_id, all_periods_open=True, rules=[rule("salaries-high", severity="warning"), marker_rule()])
    set_policy(db, org_id, {"group_wait_seconds": 5, "group_interval_seconds": 600})
    with WebhookReceiver() as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        # One import touching three months: three alerts of one rule.
        publish(stack, [expense(org_id, f"s-{p}", "2000.00", period=p) for p in ("2026-08", "2026-09", "2026-10")])
        docs = wait_alerts(db, org_id, lambda docs: len(docs) == 3, "three alerts")
        wait_until(lambda: hook.delivered("/ops"), PIPELINE_WAIT, what="the group notification")
        processed_after(stack, db, org_id)
        [notification] = hook.all("/ops")
        assert sorted(notification.body["alert_ids"]) == sorted(d["fingerprint"] for d in docs)
        assert notification.body["text"] == f"[WARNING] 3 alerts firing in {org_id}"
    first_seen = min(d["first_seen"] for d in docs).timestamp()
    assert notification.at - first_seen >= 4.5, "the group waited for the alerts raised with the first"
    [group] = [s.to_dict() for s in db.collection(f"organizations/{org_id}/alert_groups").stream()]
    assert group["pending"] == [] and sorted(group["notified"]) == sorted(d["fingerprint"] for d in docs)


def test_a_failing_webhook_is_retried_and_the_attempts_are_recorded(stack, db, org_id):
    seed_org(db, org_id, rules=[rule("salaries-high")])
    with WebhookReceiver(script=[500]) as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        publish(stack, [expense(org_id, "s-1", "1500.00")])
        [alert] = wait_alerts(
            db,
            org_id,
            lambda docs: (docs[0].get("notifications") or {}).get("hook", {}).get("delivered"),
            "a recorded delivery",
        )
        assert [r.status for r in hook.all("/ops")] == [500, 200]
    delivery = alert["notifications"]["hook"]
    assert delivery["attempts"] == 2 and "HTTP 500" in delivery["last_error"] and delivery["delivered_at"]
    [notification] = [s.to_dict() for s in db.collection(f"organizations/{org_id}/alert_notifications").stream()]
    assert notification["status"] == "delivered" and notification["deliveries"]["hook"]["attempts"] == 2


def test_an_email_channel_gets_a_text_and_an_html_part(stack, db, org_id):
    seed_org(db, org_id, rules=[rule("salaries-high", channels=("cfo",))])
    with SmtpReceiver() as smtp:
        add_channel(
            db,
            org_id,
            "cfo",
            {"type": "email", "recipients": ["cfo@northwind.test"], "smtp_host": "127.0.0.1", "smtp_port": smtp.port},
        )
        publish(stack, [expense(org_id, "s-1", "1500.00")])
        wait_until(lambda: smtp.messages, PIPELINE_WAIT, what="the e-mail")
    [message] = smtp.messages
    assert message["Subject"] == "[CRITICAL] Salaries and benefits (us-east) above 1,000.00 USD"
    assert smtp.recipients == [["cfo@northwind.test"]]
    assert "1,500.00 USD" in message.get_body(("plain",)).get_content()
    assert "<li" in message.get_body(("html",)).get_content()


def test_the_org_cap_holds_back_a_group_and_the_scheduled_sweep_sends_it_when_due(stack, db, org_id):
    seed_org(db, org_id, rules=[rule("salaries-high"), rule("marketing-high", account="6200"), marker_rule()])
    set_policy(db, org_id, {"max_notifications_per_hour": 1})
    with WebhookReceiver() as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        publish(stack, [expense(org_id, "s-1", "1500.00"), expense(org_id, "m-1", "1500.00", account="6200")])
        wait_alerts(db, org_id, lambda docs: len(docs) == 2, "two alerts")
        wait_until(lambda: hook.delivered("/ops"), PIPELINE_WAIT, what="the first group's notification")
        processed_after(stack, db, org_id)
        assert len(hook.all("/ops")) == 1, "the cap of 1 per hour holds the second group back"
        groups = [s.to_dict() for s in db.collection(f"organizations/{org_id}/alert_groups").stream()]
        held = [g for g in groups if g["pending"]]
        assert len(held) == 1 and held[0]["next_check_at"] - held[0]["pending_since"] > timedelta(minutes=55)
        # Make the held group due (as if the hour had passed) and let the scheduled function run.
        db.document(f"organizations/{org_id}/alert_settings/notification_budget").set({"sent_at": []})
        db.document(f"organizations/{org_id}/alert_groups/{held[0]['group_key']}").update(
            {"next_check_at": held[0]["pending_since"]}
        )
        fire_scheduled(stack, "flush_alert_notifications")
        wait_until(lambda: len(hook.delivered("/ops")) == 2, PIPELINE_WAIT, what="the held group sent by the sweep")


# --- escalation --------------------------------------------------------------------------------


def test_unacknowledged_critical_alerts_escalate_and_an_acknowledgement_stops_it(stack, db, org_id):
    escalation = {"channels": ["pager"], "escalate_after_seconds": 1}
    seed_org(
        db,
        org_id,
        rules=[
            rule("salaries-high", escalation=escalation),
            rule("marketing-high", account="6200", escalation=escalation),
            marker_rule(),
        ],
    )
    with WebhookReceiver() as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        add_channel(db, org_id, "pager", {"type": "webhook", "url": f"{hook.url}/pager"})
        publish(stack, [expense(org_id, "s-1", "1500.00"), expense(org_id, "m-1", "1500.00", account="6200")])
        docs = wait_alerts(db, org_id, lambda docs: len(docs) == 2, "two alerts")
        by_rule = {d["rule_id"]: d for d in docs}
        acknowledged = by_rule["salaries-high"]["fingerprint"]
        from google.cloud import firestore

        db.document(f"organizations/{org_id}/alerts/{acknowledged}").update(
            {"status": "acknowledged", "acknowledged_by": "demo-editor", "acknowledged_at": firestore.SERVER_TIMESTAMP}
        )
        time.sleep(1.5)
        fire_scheduled(stack, "escalate_alerts")
        wait_until(lambda: hook.delivered("/pager"), PIPELINE_WAIT, what="the escalation")
        processed_after(stack, db, org_id)
        [page] = hook.all("/pager")
        assert page.body["kind"] == "escalation"
        assert page.body["alert_ids"] == [by_rule["marketing-high"]["fingerprint"]]
        assert page.body["text"].startswith("[CRITICAL] Escalation level 1:")
    after = {d["rule_id"]: d for d in alerts_of(db, org_id)}
    assert after["marketing-high"]["escalation_level"] == 1 and after["marketing-high"]["status"] == "active"
    assert after["salaries-high"]["escalation_level"] == 0 and after["salaries-high"]["status"] == "acknowledged"
    assert after["marketing-high"]["notifications"]["pager"]["delivered"]
    changes = wait_until(
        lambda: (r := bigquery_rows(stack, org_id)) and {"escalated", "acknowledged"} <= {x["change"] for x in r} and r,
        PIPELINE_WAIT,
        what="escalation and acknowledgement in BigQuery",
    )
    assert [(r["alert_id"], r["escalation_level"]) for r in changes if r["change"] == "escalated"] == [
        (by_rule["marketing-high"]["fingerprint"], 1)
    ]
    assert [r["alert_id"] for r in changes if r["change"] == "acknowledged"] == [acknowledged]
