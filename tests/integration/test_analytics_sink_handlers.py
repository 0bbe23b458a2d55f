"""The analytics sink's handler, dead letters and drain, called directly on the emulators.

Each test uses its own dead-letter topic and subscription and its own BigQuery dataset, so the
shared `financial-record-changes-dead-letter-hold` subscription and `finance` dataset are untouched.
"""

from __future__ import annotations

import json
import socket
import uuid
from decimal import Decimal

import pytest
from adapters.clients import bigquery_client as functions_bigquery_client
from adapters.errors import TransientError
from adapters.pubsub import publish as pubsub_publish
from adapters.reference_store import ReferenceStore
from analytics_sink.dead_letters import CONSUMER, HEALTH_DOC, DeadLetterParker
from analytics_sink.replay import DeadLetterDrain
from analytics_sink.sink import AnalyticsSink, SinkOutcome
from analytics_sink.writer import FactWriter
from finance_core.changes import ChangeMessage, RecordChange, encode_change_message
from finance_core.records import RecordState
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, pubsub_v1

from tests.support import seed_org
from tools.stack.provision import _schema, resources

pytestmark = pytest.mark.emulators


@pytest.fixture
def dead_letters(stack):
    """(topic name, subscriber, subscription path) created for one test and deleted after it."""
    project = stack.config.project_id
    name = f"dlq-test-{uuid.uuid4().hex[:10]}"
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(project, name)
    subscription = subscriber.subscription_path(project, f"{name}-hold")
    publisher.create_topic(request={"name": topic})
    subscriber.create_subscription(request={"name": subscription, "topic": topic, "ack_deadline_seconds": 30})
    try:
        yield name, subscriber, subscription
    finally:
        subscriber.delete_subscription(request={"subscription": subscription})
        publisher.delete_topic(request={"topic": topic})
        subscriber.close()


@pytest.fixture(scope="module")
def facts_table(stack):
    """project.dataset.financial_facts in a dataset of this module."""
    client = functions_bigquery_client()
    dataset = f"{stack.config.project_id}.sink_test_{uuid.uuid4().hex[:10]}"
    client.create_dataset(dataset)
    spec = next(t for t in resources()["bigquery"]["tables"] if t["name"] == "financial_facts")
    client.create_table(bigquery.Table(f"{dataset}.financial_facts", schema=_schema(spec["schema"])))
    try:
        yield f"{dataset}.financial_facts"
    finally:
        client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def _dead_bigquery(project: str) -> bigquery.Client:
    """A client whose endpoint refuses connections, as during an outage."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return bigquery.Client(
        project=project,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{port}"),
    )


def _sink(db, writer: FactWriter, topic: str, publish=None) -> AnalyticsSink:
    parker = DeadLetterParker(publish or (lambda t, data, attrs: pubsub_publish(t, data, attrs)), db, topic)
    return AnalyticsSink(ReferenceStore(db, ttl_seconds=0), writer, parker, sleep=lambda _: None)


def _record(
    org_id: str,
    record_id: str,
    version: int,
    account: str = "4100",
    amount: str = "1000.00",
    currency: str = "EUR",
    reporting_minor: int = 108921,
) -> RecordState:
    return RecordState(
        org_id,
        record_id,
        version,
        f"{record_id}-v{version}",
        entity_id="eu-central",
        account_id=account,
        period="2026-10",
        scenario="actual",
        amount=Decimal(amount),
        currency=currency,
        amount_minor=int(Decimal(amount) * 100),
        reporting_amount_minor=reporting_minor,
        occurred_at="2026-10-05T12:00:00+00:00",
        source="erp",
    )


def _message(org_id: str, change_id: str, *, before=None, after=None, event_id=None, version=None) -> bytes:
    state = after or before
    if after is None:  # a delete: the change's after is the tombstone it left
        after = RecordState(
            org_id, before.record_id, version or before.version, event_id or before.event_id, deleted=True
        )
    change = RecordChange(state.record_id, event_id or after.event_id, version or after.version, before, after)
    return encode_change_message(ChangeMessage.of(change_id, org_id, "2026-11-23T10:00:00+00:00", "USD", [change]))


def _attributes(org_id: str, change_id: str) -> dict[str, str]:
    return {"org_id": org_id, "change_id": change_id}


def _rows(table: str, org_id: str) -> list[dict]:
    client = functions_bigquery_client()
    config = bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("org", "STRING", org_id)])
    sql = f"SELECT * FROM `{table}` WHERE org_id = @org ORDER BY record_id, version, op"
    return [dict(r.items()) for r in client.query(sql, job_config=config).result()]


def _pull(subscriber, subscription: str, ack: bool = True) -> list:
    response = subscriber.pull(request={"subscription": subscription, "max_messages": 50}, timeout=10)
    messages = list(response.received_messages)
    if messages and ack:
        subscriber.acknowledge(request={"subscription": subscription, "ack_ids": [m.ack_id for m in messages]})
    return messages


def test_a_change_becomes_one_row_with_its_account_type_and_exact_reporting_amount(
    stack, db, org_id, facts_table, dead_letters
):
    seed_org(db, org_id)
    topic, _, _ = dead_letters
    sink = _sink(db, FactWriter(functions_bigquery_client(), facts_table), topic)
    v1 = _record(org_id, "r1", 1)
    assert sink.handle(_message(org_id, "c1", after=v1), _attributes(org_id, "c1")) is SinkOutcome.WRITTEN
    # The delete carries the tombstone's version and event id, and the removed record's fields.
    assert (
        sink.handle(_message(org_id, "c2", before=v1, event_id="r1-del", version=2), _attributes(org_id, "c2"))
        is SinkOutcome.WRITTEN
    )
    upsert, delete = _rows(facts_table, org_id)
    assert (upsert["op"], upsert["version"], upsert["event_id"]) == ("upsert", 1, "r1-v1")
    assert upsert["account_type"] == "revenue" and upsert["period"].isoformat() == "2026-10-01"
    assert upsert["amount"] == Decimal("1000.00") and upsert["currency"] == "EUR"
    assert upsert["reporting_amount"] == Decimal("1089.21") and upsert["reporting_currency"] == "USD"
    assert (delete["op"], delete["version"], delete["event_id"], delete["account_id"]) == (
        "delete",
        2,
        "r1-del",
        "4100",
    )


def test_an_account_added_after_the_chart_was_cached_is_written_not_parked(
    stack, db, org_id, facts_table, dead_letters
):
    seed_org(db, org_id)
    topic, _, _ = dead_letters
    parker = DeadLetterParker(lambda t, data, attrs: pubsub_publish(t, data, attrs), db, topic)
    sink = AnalyticsSink(
        ReferenceStore(db, ttl_seconds=3600), FactWriter(functions_bigquery_client(), facts_table), parker
    )
    assert sink.handle(_message(org_id, "c1", after=_record(org_id, "r1", 1)), {}) is SinkOutcome.WRITTEN
    db.document(f"organizations/{org_id}/accounts/4400").set(
        {"name": "Licences", "type": "revenue", "parent_id": "4000"}
    )
    new_account = _record(org_id, "r2", 1, account="4400")
    assert sink.handle(_message(org_id, "c2", after=new_account), {}) is SinkOutcome.WRITTEN
    assert [r["account_type"] for r in _rows(facts_table, org_id)] == ["revenue", "revenue"]


def test_bigquery_down_parks_the_change_with_its_reason_and_the_drain_writes_it(
    stack, db, org_id, facts_table, dead_letters
):
    seed_org(db, org_id)
    topic, subscriber, subscription = dead_letters
    sink = _sink(
        db, FactWriter(_dead_bigquery(stack.config.project_id), facts_table, attempts=3, sleep=lambda _: None), topic
    )
    message = _message(org_id, "c1", after=_record(org_id, "r1", 1))
    assert sink.handle(message, _attributes(org_id, "c1")) is SinkOutcome.PARKED
    health = db.document(f"organizations/{org_id}/{HEALTH_DOC}").get().to_dict()
    assert health["parked"] == 1 and "unavailable after 3 attempt" in health["last_reason"]

    good = FactWriter(functions_bigquery_client(), facts_table)
    drain = DeadLetterDrain(_sink(db, good, topic), good, db, subscriber, subscription)
    report = drain.drain()
    assert (report.pulled, report.written, report.kept) == (1, 1, {})
    [row] = _rows(facts_table, org_id)
    assert row["event_id"] == "r1-v1"
    assert _pull(subscriber, subscription) == [], "a written dead letter is acknowledged"


def test_the_parked_message_is_the_change_itself_with_reason_and_consumer(stack, db, org_id, facts_table, dead_letters):
    seed_org(db, org_id)
    topic, subscriber, subscription = dead_letters
    sink = _sink(db, FactWriter(_dead_bigquery(stack.config.project_id), facts_table, attempts=1), topic)
    message = _message(org_id, "c7", after=_record(org_id, "r7", 3))
    sink.handle(message, {**_attributes(org_id, "c7"), "record_id": "r7"})
    [parked] = _pull(subscriber, subscription)
    assert parked.message.data == message
    attributes = dict(parked.message.attributes)
    assert attributes["consumer"] == CONSUMER and attributes["org_id"] == org_id
    assert attributes["record_id"] == "r7" and attributes["parked_at"]
    assert attributes["reason"].startswith("BigQuery unavailable")


def test_a_change_that_cannot_become_a_row_stays_parked_with_the_reason(stack, db, org_id, facts_table, dead_letters):
    seed_org(db, org_id)
    topic, subscriber, subscription = dead_letters
    writer = FactWriter(functions_bigquery_client(), facts_table)
    sink = _sink(db, writer, topic)
    message = _message(org_id, "c9", after=_record(org_id, "r9", 1, account="0000"))
    assert sink.handle(message, _attributes(org_id, "c9")) is SinkOutcome.PARKED
    assert sink.handle(b"{not json", {"org_id": org_id}) is SinkOutcome.PARKED
    report = DeadLetterDrain(sink, writer, db, subscriber, subscription).drain()
    assert report.written == 0 and len(report.kept) == 2
    assert "account '0000'" in report.kept["c9"] and "not in the chart" in report.kept["c9"]
    assert _rows(facts_table, org_id) == []
    assert len(_pull(subscriber, subscription)) == 2, "what cannot be written stays in the dead letters"


def test_pubsub_down_too_parks_in_firestore_and_the_drain_finds_it_there(stack, db, org_id, facts_table, dead_letters):
    seed_org(db, org_id)
    topic, subscriber, subscription = dead_letters

    def pubsub_down(*_):
        raise TransientError("publishing: 503 unavailable")

    sink = _sink(db, FactWriter(_dead_bigquery(stack.config.project_id), facts_table, attempts=1), topic, pubsub_down)
    assert (
        sink.handle(_message(org_id, "c3", after=_record(org_id, "r3", 1)), _attributes(org_id, "c3"))
        is SinkOutcome.PARKED
    )
    parked = db.document(f"organizations/{org_id}/analytics_dead_letters/c3").get()
    assert parked.exists and "BigQuery unavailable" in parked.get("reason")
    good = FactWriter(functions_bigquery_client(), facts_table)
    report = DeadLetterDrain(_sink(db, good, topic), good, db, subscriber, subscription).drain()
    assert report.from_firestore >= 1 and report.written >= 1
    assert [r["record_id"] for r in _rows(facts_table, org_id)] == ["r3"]
    assert not db.document(f"organizations/{org_id}/analytics_dead_letters/c3").get().exists


def test_the_drain_leaves_other_consumers_dead_letters_in_place(stack, db, org_id, facts_table, dead_letters):
    seed_org(db, org_id)
    topic, subscriber, subscription = dead_letters
    other = _message(org_id, "c5", after=_record(org_id, "r5", 1))
    pubsub_publish(topic, other, {"consumer": "alerts", "reason": "rule broken", "org_id": org_id})
    # What the dead-letter policy of the sink's own trigger subscription forwards in production.
    forwarded = _message(org_id, "c6", after=_record(org_id, "r6", 1))
    pubsub_publish(
        topic,
        forwarded,
        {
            "org_id": org_id,
            "CloudPubSubDeadLetterSourceSubscription": (
                "projects/p/subscriptions/eventarc-us-central1-sink-changes-to-bigquery-481639-sub-117"
            ),
        },
    )
    writer = FactWriter(functions_bigquery_client(), facts_table)
    report = DeadLetterDrain(_sink(db, writer, topic), writer, db, subscriber, subscription).drain()
    assert (report.written, report.left_for_other_consumers) == (1, 1)
    assert [r["record_id"] for r in _rows(facts_table, org_id)] == ["r6"]
    [left] = _pull(subscriber, subscription)
    assert json.loads(left.message.data)["change_id"] == "c5"
