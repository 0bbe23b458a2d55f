"""firebase-tools runs with a preload that delivers Pub/Sub messages to the functions as production does:
bounded in memory, retried per function with its backoff, dead-lettered after its last attempt."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tools.setup_env import ROOT
from tools.stack.emulators import PUBSUB_DELIVERY_PRELOAD

BOUNDS = """
const { PubSub } = require('@google-cloud/pubsub');
const { WorkQueue } = require('firebase-tools/lib/emulator/workQueue.js');
const pubsub = new PubSub({ projectId: 'demo-x' });
const created = pubsub.subscription('emulator-sub-financial-events');
const chosen = pubsub.subscription('other', { flowControl: { maxMessages: 3 } });
const queue = new WorkQueue();
const logged = [];
queue.logger = { logLabeled: (level, label, text) => logged.push(text) };
for (let i = 0; i < 5000; i++) { const work = async () => {}; work.type = `us-central1-ingest_financial_event-${i}`; queue.queue.push(work); }
queue.logState();
console.log(JSON.stringify({
  subscriber: created._subscriber.maxMessages,
  excess: (created._subscriber._options.flowControl || {}).allowExcessMessages,
  chosen: chosen._subscriber.maxMessages,
  logBytes: logged[0].length,
}));
"""

# One message of a topic with three functions: ingestion fails twice then succeeds, the sink always
# fails, and a function without a delivery policy fails once.
DELIVERY = """
const { PubsubEmulator } = require('firebase-tools/lib/emulator/pubsubEmulator.js');
const emulator = Object.create(PubsubEmulator.prototype);
const failures = { 'us-central1-ingest_financial_event-0': 2, 'us-central1-sink_changes_to_bigquery-0': 1000,
                   'us-central1-not_in_resources-0': 1000 };
const calls = {}, published = [], logs = [];
let acked = 0;
emulator.args = { projectId: 'demo-x' };
// As the Functions emulator answers: 200 with a text body, or 500 when the function raised.
emulator.client = { post: async (route, body, options) => {
  const key = route.split('/').pop();
  calls[key] = (calls[key] || 0) + 1;
  const status = failures[key]-- > 0 ? 500 : 200;
  if (options && options.resolveOnHTTPError && options.responseType === 'xml') return { status, body: status === 200 ? 'OK' : 'Internal Server Error' };
  throw new Error(status === 200 ? 'Unable to parse JSON: OK' : 'HTTP Error: 500');
} };
emulator.ensureFunctionsClient = () => {};
emulator.logger = { logLabeled: (level, label, text) => logs.push(text) };
Object.defineProperty(emulator, 'pubsub', { value: { topic: (name) => ({
  publishMessage: async (m) => published.push({ topic: name, attributes: m.attributes, data: m.data.toString() }) }) } });
emulator.subscriptionForTopic = new Map([['financial-events', { name: 'emulator-sub-financial-events' }]]);
emulator.triggersForTopic = new Map([['financial-events', Object.keys(failures).map((triggerKey) => ({ triggerKey, signatureType: 'cloudevent' }))]]);
const message = { id: 'm-1', data: Buffer.from('{"event_id": "e-1"}'), attributes: { org_id: 'acme' },
                  publishTime: new Date(), orderingKey: '', ack: () => { acked += 1; } };
emulator.onMessage('financial-events', message).then(() => console.log(JSON.stringify({ calls, published, acked, logs })));
"""


def _node(script: str, preload: bool, **env: str) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run ./dev setup (firebase-tools needs it too)")
    command = [node, *(["--require", str(PUBSUB_DELIVERY_PRELOAD)] if preload else []), "-e", script]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_the_preload_a_subscriber_holds_a_thousand_messages_and_the_queue_logs_every_entry():
    # Why the preload exists: the client's default, and a log line that grows with the queue.
    plain = _node(BOUNDS, preload=False)
    assert plain["subscriber"] == 1000
    assert plain["logBytes"] > 100_000


def test_the_preload_bounds_each_subscriber_and_logs_only_the_queue_length():
    patched = _node(BOUNDS, preload=True)
    assert (patched["subscriber"], patched["excess"]) == (16, False)
    assert patched["chosen"] == 3, "an explicit flow control is kept"
    assert patched["logBytes"] < 100
    assert _node(BOUNDS, preload=True, FINANCE_PUBSUB_MAX_OUTSTANDING="4")["subscriber"] == 4


def test_without_the_preload_a_failed_function_never_gets_the_message_again():
    # firebase-tools parses the function's answer as JSON: every delivery "fails" the same way,
    # and every message is acknowledged after one attempt.
    plain = _node(DELIVERY, preload=False)
    assert set(plain["calls"].values()) == {1} and plain["published"] == [] and plain["acked"] == 1


def test_each_function_is_retried_by_its_own_policy_then_dead_lettered():
    patched = _node(DELIVERY, preload=True, FINANCE_PUBSUB_BACKOFF_SCALE="0.001")
    policies = {
        t["function"]: t
        for t in json.loads((ROOT / "infra" / "resources.json").read_text())["pubsub"]["function_triggers"]
    }
    assert patched["calls"] == {
        "us-central1-ingest_financial_event-0": 3,  # two failures, then the delivery that worked
        "us-central1-sink_changes_to_bigquery-0": policies["sink_changes_to_bigquery"]["max_delivery_attempts"],
        "us-central1-not_in_resources-0": 1,  # no policy: one attempt, as a function without retry
    }
    [dead] = patched["published"]
    assert dead["topic"] == policies["sink_changes_to_bigquery"]["dead_letter_topic"]
    assert dead["data"] == '{"event_id": "e-1"}' and dead["attributes"]["org_id"] == "acme"
    assert dead["attributes"]["CloudPubSubDeadLetterSourceSubscription"] == "emulator-sink_changes_to_bigquery"
    assert dead["attributes"]["CloudPubSubDeadLetterSourceDeliveryCount"] == str(
        policies["sink_changes_to_bigquery"]["max_delivery_attempts"]
    )
    assert patched["acked"] == 1, "acknowledged once every function is done with it"
    assert any("sent to financial-record-changes-dead-letter" in line for line in patched["logs"])
