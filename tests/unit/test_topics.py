"""Topic names have one source: publishers, the triggers' decorators and infra/resources.json agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _resources() -> dict:
    return json.loads((ROOT / "infra" / "resources.json").read_text())


def _pubsub_triggers() -> dict[str, str]:
    """function -> the topic its deployed trigger listens to (read from the endpoints the SDK declares)."""
    code = (
        "import json, main\n"
        "out = {}\n"
        "for name in main.__all__:\n"
        "    trigger = getattr(main, name).__firebase_endpoint__.eventTrigger or {}\n"
        "    if trigger.get('eventType') == 'google.cloud.pubsub.topic.v1.messagePublished':\n"
        "        out[name] = trigger['eventFilters']['topic']\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions",
        capture_output=True,
        text=True,
        env={"GCLOUD_PROJECT": "demo-finance-live", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_topic_constant_is_a_topic_of_resources_json():
    from adapters import topics

    declared = {t["name"] for t in _resources()["pubsub"]["topics"]}
    constants = {name: value for name, value in vars(topics).items() if name.endswith("_TOPIC")}
    assert constants, "functions/adapters/topics.py declares no topic"
    assert {name: value for name, value in constants.items() if value not in declared} == {}


def test_each_pubsub_trigger_listens_to_the_topic_resources_json_gives_it():
    deployed = _pubsub_triggers()
    declared = {t["function"]: t["topic"] for t in _resources()["pubsub"]["function_triggers"]}
    assert deployed == declared
