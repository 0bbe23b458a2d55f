"""firebase-tools runs with a preload that bounds the Pub/Sub messages it holds and keeps its queue log small."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tools.setup_env import ROOT
from tools.stack.emulators import BACKPRESSURE_PRELOAD

SCRIPT = """
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


def _run(preload: bool, env: dict[str, str] | None = None) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run ./dev setup (firebase-tools needs it too)")
    command = [node, *(["--require", str(BACKPRESSURE_PRELOAD)] if preload else []), "-e", SCRIPT]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_the_preload_a_subscriber_holds_a_thousand_messages_and_the_queue_logs_every_entry():
    # Why the preload exists: the client's default, and a log line that grows with the queue.
    plain = _run(preload=False)
    assert plain["subscriber"] == 1000
    assert plain["logBytes"] > 100_000


def test_the_preload_bounds_each_subscriber_and_logs_only_the_queue_length():
    patched = _run(preload=True)
    assert (patched["subscriber"], patched["excess"]) == (16, False)
    assert patched["chosen"] == 3, "an explicit flow control is kept"
    assert patched["logBytes"] < 100


def test_the_bound_is_configurable():
    import os

    patched = _run(preload=True, env={**os.environ, "FINANCE_PUBSUB_MAX_OUTSTANDING": "4"})
    assert patched["subscriber"] == 4
