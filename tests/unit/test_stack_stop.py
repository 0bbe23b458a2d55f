"""Stopping the stack also stops the emulators firebase-tools started in process groups of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.stack.emulators import LocalStack, Service
from tools.stack.reaper import running

# Like firebase-tools: a child in a new session (as the Java emulators are), which outlives a
# Ctrl-C of the leader's group because it never receives it, and a leader slow to shut down.
LEADER = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
print(child.pid, flush=True)
signal.signal(signal.SIGINT, lambda *_: time.sleep(120))
time.sleep(120)
"""


def test_stop_kills_detached_children_the_leader_left_behind(tmp_path, monkeypatch):
    # stop() removes the state file: keep a running developer stack's one out of reach.
    monkeypatch.setattr("tools.stack.emulators.STATE_FILE", tmp_path / "state.json")
    script = tmp_path / "leader.py"
    script.write_text(LEADER)
    leader = subprocess.Popen([sys.executable, str(script)], start_new_session=True, stdout=subprocess.PIPE, text=True)
    child = int(leader.stdout.readline())
    assert os.getpgid(child) != leader.pid
    stack = LocalStack()
    stack.services = [Service("firebase", leader.pid, Path(os.devnull))]
    try:
        started = time.monotonic()
        stack.stop(quiet=True, grace=1.0)
        deadline = time.monotonic() + 5
        while running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(child), "the detached child still runs after stop()"
        assert leader.poll() is not None
        assert time.monotonic() - started < 6
    finally:
        for pid in (child, leader.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        leader.wait()


def test_stop_after_a_crash_kills_the_children_recorded_at_start(tmp_path, monkeypatch):
    # firebase-tools died (e.g. out of memory): its Java emulators were adopted by init and are
    # nobody's descendants any more, yet they hold the stack's ports until stopped.
    monkeypatch.setattr("tools.stack.emulators.STATE_FILE", tmp_path / "state.json")
    monkeypatch.setattr("tools.stack.emulators.STACK_DIR", tmp_path)
    script = tmp_path / "leader.py"
    script.write_text(LEADER)
    leader = subprocess.Popen([sys.executable, str(script)], start_new_session=True, stdout=subprocess.PIPE, text=True)
    child = int(leader.stdout.readline())
    stack = LocalStack()
    stack.services = [Service("firebase", leader.pid, Path(os.devnull))]
    try:
        stack.record_children()
        assert [pid for pid, _ in stack.services[0].children] == [child]
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait()
        assert running(child)
        recorded = LocalStack.from_state()
        assert "has exited" in recorded.problems()[0]
        recorded.stop(quiet=True, grace=1.0)
        deadline = time.monotonic() + 5
        while running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(child), "the orphaned emulator still runs after stop()"
    finally:
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass
