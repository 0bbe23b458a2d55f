"""The main job, shortened: the demo streams into the stack and every event it sent is accounted for."""

from __future__ import annotations

import argparse
import json

import pytest

pytestmark = pytest.mark.emulators


def test_the_demo_streams_a_feed_and_accounts_for_every_event(stack):
    from tools.demo.run import SUMMARY_FILE, run_demo

    args = argparse.Namespace(
        rate=8.0,
        duration=6.0,
        duplicates=0.15,
        late=0.1,
        invalid=0.1,
        seed=11,
        no_dashboard=True,
        keep_running=True,
        no_history=True,
    )
    assert run_demo(args) == 0
    summary = json.loads(SUMMARY_FILE.read_text())
    assert summary["sent"] >= 30
    assert summary["applied"] + summary["duplicate"] + summary["stale"] + summary["rejected"] == summary["sent"]
    assert summary["duplicate"] == summary["duplicates_sent"]
    assert summary["rejected"] == summary["invalid_sent"]
    assert summary["applied"] > 0
