"""The local Pub/Sub dispatcher posts what a 2nd-gen Pub/Sub function receives, and finds a reloaded trigger."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tools.stack.config import StackConfig
from tools.stack.dispatcher import Dispatcher, Trigger, cloud_event, triggers


@dataclass
class Message:
    data: bytes
    message_id: str = "42"
    attributes: dict[str, str] = field(default_factory=lambda: {"org_id": "acme"})
    ordering_key: str = ""
    publish_time: datetime = datetime(2026, 12, 7, 12, 0, 1, 234567, tzinfo=UTC)


def test_the_cloud_event_carries_the_message_under_both_spellings_the_sdk_reads():
    config = StackConfig(project_id="demo-x", ports={"functions": 5001})
    trigger = Trigger("ingest_financial_event", "financial-events", {})
    body = cloud_event(config, trigger, Message(b'{"a": 1}'))
    message = body["data"]["message"]
    assert body["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert body["source"] == "//pubsub.googleapis.com/projects/demo-x/topics/financial-events"
    assert message["messageId"] == message["message_id"] == "42"
    assert message["publishTime"] == message["publish_time"] == "2026-12-07T12:00:01.234Z"
    assert base64.b64decode(message["data"]) == b'{"a": 1}' and message["attributes"] == {"org_id": "acme"}
    assert body["data"]["subscription"] == "projects/demo-x/subscriptions/trigger-ingest_financial_event"


def test_every_pubsub_trigger_of_resources_json_is_delivered_and_a_reloaded_key_is_learned():
    names = {trigger.function for trigger in triggers()}
    assert {"ingest_financial_event", "refresh_aggregate_views", "evaluate_alerts"} <= names
    dispatcher = Dispatcher.__new__(Dispatcher)
    dispatcher._keys = {}
    dispatcher._config = StackConfig(project_id="demo-x", ports={"functions": 5001})
    trigger = Trigger("evaluate_alerts", "financial-aggregates-folded", {})
    assert dispatcher.route(trigger).endswith("/triggers/us-central1-evaluate_alerts-0")
    answer = "Function x does not exist, valid functions are: us-central1-evaluate_alerts-1, us-central1-other-1"
    assert dispatcher._learn_key(trigger, answer)
    assert dispatcher.route(trigger).endswith("/triggers/us-central1-evaluate_alerts-1")
    assert not dispatcher._learn_key(trigger, answer)


def test_the_activity_shows_deliveries_in_flight_and_since_when_nothing_was():
    import threading

    from tools.stack.dispatcher import DeliveryActivity

    dispatcher = Dispatcher.__new__(Dispatcher)
    dispatcher._lock = threading.Lock()
    dispatcher._in_flight, dispatcher.delivered, dispatcher.failed, dispatcher._idle_since = 0, 0, 0, 0.0
    inside: list[DeliveryActivity] = []

    def deliver(trigger, message):
        inside.append(dispatcher.activity())
        dispatcher.delivered += 1
        return True

    dispatcher._deliver = deliver
    assert dispatcher.deliver(Trigger("evaluate_alerts", "t", {}), Message(b"{}"))
    during, after = inside[0], dispatcher.activity()
    assert during.in_flight == 1 and during.idle_since is None and during.quiet_for() == 0.0
    assert after.in_flight == 0 and after.delivered == 1
    assert after.quiet_for(now=after.idle_since + 4) == 4
