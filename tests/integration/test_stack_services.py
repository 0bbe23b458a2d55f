"""Each service of the local stack is the real emulator: a write read back, a message pulled, a row queried."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from google.cloud import bigquery, pubsub_v1

from tools.stack.provision import bigquery_client, resources

pytestmark = pytest.mark.emulators


def test_firestore_emulator_reads_back_a_write_and_runs_a_transaction(db, org_id):
    ref = db.document(f"organizations/{org_id}/probe/doc")
    ref.set({"amount_minor": 12345, "currency": "USD"})
    assert ref.get().to_dict() == {"amount_minor": 12345, "currency": "USD"}

    transaction = db.transaction()

    @__import__("google.cloud.firestore", fromlist=["transactional"]).transactional
    def add_one(tx):
        snapshot = ref.get(transaction=tx)
        tx.update(ref, {"amount_minor": snapshot.get("amount_minor") + 1})

    add_one(transaction)
    assert ref.get().get("amount_minor") == 12346


def test_pubsub_emulator_delivers_a_published_message(stack):
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    name = f"probe-{uuid.uuid4().hex[:8]}"
    topic = publisher.create_topic(request={"name": publisher.topic_path(stack.config.project_id, name)}).name
    subscription = subscriber.create_subscription(
        request={"name": subscriber.subscription_path(stack.config.project_id, name), "topic": topic}
    ).name
    publisher.publish(topic, b'{"probe": 1}', org_id="probe").result(timeout=10)
    response = subscriber.pull(request={"subscription": subscription, "max_messages": 1}, timeout=10)
    assert [m.message.data for m in response.received_messages] == [b'{"probe": 1}']
    assert response.received_messages[0].message.attributes["org_id"] == "probe"
    subscriber.close()


def test_pubsub_topics_and_dead_letter_policies_are_provisioned(stack):
    subscriber = pubsub_v1.SubscriberClient()
    spec = resources()["pubsub"]
    for sub in spec["subscriptions"]:
        got = subscriber.get_subscription(
            request={"subscription": subscriber.subscription_path(stack.config.project_id, sub["name"])}
        )
        assert got.topic.endswith("/" + sub["topic"])
        if sub.get("dead_letter_topic"):
            assert got.dead_letter_policy.dead_letter_topic.endswith("/" + sub["dead_letter_topic"])
            assert got.dead_letter_policy.max_delivery_attempts == sub["max_delivery_attempts"]
    subscriber.close()


def test_bigquery_emulator_stores_and_queries_numeric_rows(stack):
    client = bigquery_client(stack.config)
    dataset = resources()["bigquery"]["dataset"]
    table_id = f"{stack.config.project_id}.{dataset}.probe_{uuid.uuid4().hex[:8]}"
    table = client.create_table(
        bigquery.Table(
            table_id, schema=[bigquery.SchemaField("account_id", "STRING"), bigquery.SchemaField("amount", "NUMERIC")]
        )
    )
    errors = client.insert_rows_json(
        table, [{"account_id": "4000", "amount": "0.10"}, {"account_id": "4000", "amount": "0.20"}]
    )
    assert errors == []
    rows = list(client.query(f"SELECT account_id, SUM(amount) AS total FROM `{table_id}` GROUP BY account_id").result())
    # NUMERIC is exact: 0.10 + 0.20 is 0.3, not 0.30000000000000004.
    assert [(r.account_id, r.total) for r in rows] == [("4000", Decimal("0.3"))]
    client.delete_table(table_id)


def test_provisioning_twice_changes_nothing(stack):
    from tools.stack.provision import provision

    first = provision(stack.config, progress=lambda _: None)
    second = provision(stack.config, progress=lambda _: None)
    assert not second.changed, (first, second)
    assert second.unchanged


def test_the_functions_emulator_runs_with_its_preloads(stack):
    # Without them, requests racing gunicorn's idle close are lost (tools/stack/worker_connections.cjs)
    # and a burst of messages exhausts firebase-tools' memory (tools/stack/emulator_backpressure.cjs).
    from pathlib import Path

    from tools.stack.emulators import PRELOADS

    firebase = next(s for s in stack.services if s.name == "firebase")
    environ = dict(
        item.split("=", 1) for item in Path(f"/proc/{firebase.pid}/environ").read_text().split("\0") if "=" in item
    )
    for preload in PRELOADS:
        assert f'--require "{preload}"' in environ.get("NODE_OPTIONS", ""), preload.name
