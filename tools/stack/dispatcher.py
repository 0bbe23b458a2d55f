"""Delivers Pub/Sub messages to the functions of the local stack as production does: one subscription per function.

In production each Pub/Sub-triggered function has a subscription of its own (Eventarc creates it;
infra/terraform/scripts/apply_trigger_policies.py gives it the retry and dead-letter policy of
infra/resources.json `pubsub.function_triggers`), and the functions scale apart from each other.
Locally this process does the same with the official Pub/Sub emulator, which implements the
retry backoff and the dead-letter policy itself: it creates `trigger-{function}` per function with
that policy, pulls each with its own flow control (at most FINANCE_DISPATCH_PER_FUNCTION messages
in flight per function), and posts every message to the Functions emulator's trigger route as the
CloudEvent a 2nd-gen Pub/Sub trigger receives. A 2xx answer acknowledges the message; anything
else (the function raised, the emulator is not ready yet) is a negative acknowledgement, so the
emulator redelivers it after the subscription's backoff and, after its last attempt, moves it to
the dead-letter topic with the attributes Pub/Sub adds. No part of firebase-tools is replaced:
the stack starts the Pub/Sub emulator itself, firebase-tools does not subscribe to any topic.

Run as a service of the local stack: `python -m tools.stack.dispatcher` (config from the environment).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import logging
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

from tools.stack.config import DISPATCHER_ACTIVITY_FILE, DISPATCHER_READY_FILE, StackConfig
from tools.stack.provision import resources, subscription_request, trigger_subscription
from tools.stack.schedules import LocalScheduler
from tools.stack.trigger_keys import latest_trigger_key

log = logging.getLogger("dispatcher")

REGION = "us-central1"
# Messages in flight per function: two keep two cores busy without starving the
# hot path behind one slow consumer (production scales each function on its own).
DEFAULT_PER_FUNCTION = 2
# Ingestion gets twice as many: a lone event must not queue behind the one before (events of
# different records never contend). The view refresh does not: refreshes of one org fold the same
# consolidated documents, and more of them at once only lose more races (measured: 4 in flight
# made 29 of 60 lone events at 2/s retry a fold, 2 in flight 1 of 60).
HOT_PATH_FUNCTIONS = frozenset({"ingest_financial_event"})
# The Functions emulator answers when the function returns; the longest timeout of a trigger.
DELIVERY_TIMEOUT_SECONDS = 600
READY_FILE = DISPATCHER_READY_FILE
ACTIVITY_FILE = DISPATCHER_ACTIVITY_FILE
# How often the activity file is rewritten.
ACTIVITY_INTERVAL_SECONDS = 0.5
# "0" leaves the scheduled functions to be fired by hand (the tests' own stack fires them when they
# assert on a sweep); otherwise this process also runs them on their schedules (tools/stack/schedules.py).
SCHEDULES_ENV = "FINANCE_LOCAL_SCHEDULES"
# How long the dispatcher waits for the Pub/Sub emulator it is started beside.
STARTUP_SECONDS = 120


@dataclass(frozen=True)
class Trigger:
    """A Pub/Sub-triggered function and the policy of its subscription (infra/resources.json)."""

    function: str
    topic: str
    spec: dict[str, Any]

    @property
    def ack_deadline_seconds(self) -> int:
        """Its subscription's ack deadline (infra/resources.json), the time a delivery may take."""
        return int(self.spec.get("ack_deadline_seconds", 60))

    @property
    def subscription(self) -> str:
        """Its subscription's name."""
        return trigger_subscription(self.function)


def triggers() -> list[Trigger]:
    """Every Pub/Sub-triggered function of infra/resources.json with its delivery policy."""
    return [Trigger(t["function"], t["topic"], dict(t)) for t in resources()["pubsub"]["function_triggers"]]


def _timestamp(value: Any) -> str:
    """RFC 3339 with milliseconds, as Pub/Sub writes a publish time ('2026-11-20T12:00:00.123Z')."""
    if not isinstance(value, datetime):
        value = datetime.now(UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def cloud_event(config: StackConfig, trigger: Trigger, message: Any) -> dict[str, Any]:
    """The CloudEvent of a published message, as a 2nd-gen Pub/Sub function receives it.

    The message carries its id and publish time under both spellings the firebase-functions SDK
    reads (`messageId` / `message_id`, `publishTime` / `publish_time`).
    """
    stamp = _timestamp(message.publish_time)
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "time": stamp,
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "source": f"//pubsub.googleapis.com/projects/{config.project_id}/topics/{trigger.topic}",
        "datacontenttype": "application/json",
        "data": {
            "message": {
                "messageId": message.message_id,
                "message_id": message.message_id,
                "publishTime": stamp,
                "publish_time": stamp,
                "attributes": dict(message.attributes),
                "orderingKey": message.ordering_key,
                "data": base64.b64encode(message.data).decode(),
            },
            "subscription": f"projects/{config.project_id}/subscriptions/{trigger.subscription}",
        },
    }


@dataclass(frozen=True)
class DeliveryActivity:
    """What the dispatcher delivers now: a positive signal that every Pub/Sub consumer has caught up.

    Deliveries in flight include a function's own waits (a held fold, a debounced trend), and a
    message published by a function (an aggregates-folded announcement) is delivered before that
    function returns, so a chain of consumers shows as activity until its last link has finished.
    """

    in_flight: int
    delivered: int
    failed: int
    # Unix time since when nothing has been in flight (None while something is).
    idle_since: float | None
    written_at: float

    def quiet_for(self, now: float | None = None) -> float:
        """Seconds without any delivery in flight (0 while one is)."""
        if self.in_flight or self.idle_since is None:
            return 0.0
        return max(0.0, (now if now is not None else time.time()) - self.idle_since)


def read_activity() -> DeliveryActivity | None:
    """The running dispatcher's activity, or None when no dispatcher has written it (recently)."""
    try:
        body = json.loads(ACTIVITY_FILE.read_text())
        activity = DeliveryActivity(**body)
    except (OSError, ValueError, TypeError):
        return None
    # A file not rewritten for a while belongs to a dispatcher that is gone.
    return activity if time.time() - activity.written_at < 10 * ACTIVITY_INTERVAL_SECONDS + 5 else None


class Dispatcher:
    """Pulls each function's subscription and posts its messages to the function."""

    def __init__(self, config: StackConfig, per_function: int = DEFAULT_PER_FUNCTION):
        self._config = config
        self._per_function = per_function
        self._publisher = pubsub_v1.PublisherClient()
        self._subscriber = pubsub_v1.SubscriberClient()
        self._pulls: list[Any] = []
        self.delivered = 0
        self.failed = 0
        self._in_flight = 0
        self._idle_since: float | None = time.time()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # The Functions emulator keys a loaded event trigger `{region}-{function}-{generation}`; the
        # generation grows when it reloads the code.
        self._keys: dict[str, str] = {}

    def in_flight(self, trigger: Trigger) -> int:
        """Messages of a function delivered at once (twice the default for ingestion)."""
        return self._per_function * (2 if trigger.function in HOT_PATH_FUNCTIONS else 1)

    def route(self, trigger: Trigger) -> str:
        """The Functions emulator's route for a background trigger."""
        key = self._keys.get(trigger.function, f"{REGION}-{trigger.function}-0")
        return f"http://{self._config.address('functions')}/functions/projects/{self._config.project_id}/triggers/{key}"

    def _learn_key(self, trigger: Trigger, answer: str) -> bool:
        """After a 404 (the code was reloaded), take the trigger's current key from the emulator's answer."""
        key = latest_trigger_key(f"{REGION}-{trigger.function}", answer)
        if key is None or key == self._keys.get(trigger.function):
            return False
        self._keys[trigger.function] = key
        return True

    def wait_for_functions(self, timeout: float = STARTUP_SECONDS * 3) -> None:
        """Until the Functions emulator has loaded every function this dispatcher delivers to."""
        wanted = {trigger.function for trigger in triggers()}
        url = f"http://{self._config.address('functions')}/backends"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    backends = json.loads(response.read()).get("backends", [])
                loaded = {t.get("entryPoint") for b in backends for t in b.get("functionTriggers", [])}
                if wanted <= loaded:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        log.warning("the Functions emulator has not loaded every function after %.0f s: delivering anyway", timeout)

    def ensure_subscriptions(self) -> None:
        """Topics and per-function subscriptions exist (idempotent, like provisioning)."""
        spec = resources()["pubsub"]
        topics = {t["name"] for t in spec["topics"]} | {t.topic for t in triggers()}
        topics |= {t.spec["dead_letter_topic"] for t in triggers() if t.spec.get("dead_letter_topic")}
        for topic in sorted(topics):
            try:
                self._publisher.create_topic(
                    request={"name": self._publisher.topic_path(self._config.project_id, topic)}
                )
            except google_exceptions.AlreadyExists:
                pass
        for trigger in triggers():
            request = subscription_request(self._config, {**trigger.spec, "name": trigger.subscription})
            try:
                self._subscriber.create_subscription(request=request)
            except google_exceptions.AlreadyExists:
                pass

    def _post(self, trigger: Trigger, body: bytes) -> tuple[bool, int, str]:
        request = urllib.request.Request(
            self.route(trigger),
            data=body,
            method="POST",
            headers={"Content-Type": "application/cloudevents+json; charset=UTF-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
                return 200 <= response.status < 300, response.status, ""
        except urllib.error.HTTPError as exc:
            return False, exc.code, exc.read().decode(errors="replace")
        except OSError as exc:
            return False, 0, str(exc)

    def deliver(self, trigger: Trigger, message: Any) -> bool:
        """Post one message to its function; True when the function returned without an error."""
        with self._lock:
            self._in_flight += 1
            self._idle_since = None
        try:
            return self._deliver(trigger, message)
        finally:
            with self._lock:
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle_since = time.time()

    def activity(self) -> DeliveryActivity:
        """What is being delivered now."""
        with self._lock:
            return DeliveryActivity(self._in_flight, self.delivered, self.failed, self._idle_since, time.time())

    def _write_activity(self) -> None:
        while not self._stopping.wait(ACTIVITY_INTERVAL_SECONDS):
            scratch = ACTIVITY_FILE.with_suffix(".tmp")
            scratch.write_text(json.dumps(dataclasses.asdict(self.activity())))
            scratch.replace(ACTIVITY_FILE)

    def _deliver(self, trigger: Trigger, message: Any) -> bool:
        body = json.dumps(cloud_event(self._config, trigger, message)).encode()
        ok, status, answer = self._post(trigger, body)
        if status == 404 and self._learn_key(trigger, answer):
            ok, status, answer = self._post(trigger, body)
        reason = f"HTTP {status}: {answer[:300]}" if status else answer
        if not ok:
            attempt = message.delivery_attempt or 1
            log.warning(
                "%s failed on message %s of %s (attempt %s of %s): %s",
                trigger.function,
                message.message_id,
                trigger.topic,
                attempt,
                trigger.spec.get("max_delivery_attempts", "-"),
                reason,
            )
        with self._lock:
            if ok:
                self.delivered += 1
            else:
                self.failed += 1
        return ok

    def start(self) -> None:
        """Subscribe to every function's subscription; messages are delivered on worker threads."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                self.ensure_subscriptions()
                break
            except (google_exceptions.GoogleAPICallError, google_exceptions.RetryError) as exc:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"the Pub/Sub emulator at {self._config.address('pubsub')} did not answer: {exc}"
                    ) from exc
                time.sleep(0.5)
        self.wait_for_functions()
        for trigger in triggers():
            path = self._subscriber.subscription_path(self._config.project_id, trigger.subscription)

            def callback(message: Any, trigger: Trigger = trigger) -> None:
                if self.deliver(trigger, message):
                    message.ack()
                else:
                    message.nack()

            self._pulls.append(
                self._subscriber.subscribe(
                    path,
                    callback,
                    flow_control=pubsub_v1.types.FlowControl(
                        max_messages=self.in_flight(trigger),
                        # Each lease (and each extension of it) lasts the subscription's own ack
                        # deadline. Left to the client, a lease starts at 10 s and is extended by
                        # a thread that, on two saturated cores, came late: the emulator then
                        # redelivered messages still being handled (hundreds in a 2,000-event
                        # scenario, each counted again as a duplicate).
                        min_duration_per_lease_extension=trigger.ack_deadline_seconds,
                    ),
                    scheduler=ThreadScheduler(
                        ThreadPoolExecutor(self.in_flight(trigger), thread_name_prefix=f"deliver-{trigger.function}")
                    ),
                )
            )
        READY_FILE.parent.mkdir(parents=True, exist_ok=True)
        threading.Thread(target=self._write_activity, name="activity", daemon=True).start()
        READY_FILE.write_text(json.dumps({"pid": os.getpid(), "subscriptions": [t.subscription for t in triggers()]}))
        log.info(
            "delivering %d function subscriptions, %d messages in flight each (%d for ingestion)",
            len(self._pulls),
            self._per_function,
            self._per_function * 2,
        )

    def stop(self) -> None:
        """Stop pulling (messages in flight are redelivered by the emulator later)."""
        READY_FILE.unlink(missing_ok=True)
        self._stopping.set()
        ACTIVITY_FILE.unlink(missing_ok=True)
        for pull in self._pulls:
            pull.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--per-function",
        type=int,
        default=int(os.environ.get("FINANCE_DISPATCH_PER_FUNCTION", DEFAULT_PER_FUNCTION)),
        help="messages in flight per function",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = StackConfig.load()
    config.apply_client_env()
    dispatcher = Dispatcher(config, args.per_function)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    dispatcher.start()
    scheduler = None
    if os.environ.get(SCHEDULES_ENV, "1") != "0":
        scheduler = LocalScheduler(config.address("functions"), config.project_id)
        scheduler.start()
    stopped.wait()
    if scheduler is not None:
        scheduler.stop()
    dispatcher.stop()


if __name__ == "__main__":
    main()
