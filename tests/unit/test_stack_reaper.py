"""The stack's reaper stops function workers whose launching shell is gone, and only those."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tools.stack.reaper import abandoned_workers, reap

LEADER = """
import subprocess, sys, time
worker = sys.argv[1]
kept = subprocess.Popen(["/bin/sh", "-c", f"{sys.executable} {worker} functions-framework kept"])
lost = subprocess.Popen(["/bin/sh", "-c", f"{sys.executable} {worker} functions-framework lost & sleep 120"])
time.sleep(0.8)
lost.kill()  # like firebase-tools retiring a worker: only the shell dies
time.sleep(120)
"""


def test_only_workers_whose_shell_died_are_reaped(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text("import time\ntime.sleep(120)\n")
    leader_script = tmp_path / "leader.py"
    leader_script.write_text(LEADER)
    # A new session, like the stack's firebase-tools process and the workers it starts.
    leader = subprocess.Popen([sys.executable, str(leader_script), str(worker)], start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        abandoned: list[int] = []
        while time.monotonic() < deadline and not abandoned:
            time.sleep(0.3)
            abandoned = abandoned_workers(leader.pid)
        assert len(abandoned) == 1, abandoned
        with open(f"/proc/{abandoned[0]}/cmdline", "rb") as handle:
            assert b"lost" in handle.read()
        assert reap(leader.pid) == 1
        time.sleep(0.3)
        assert abandoned_workers(leader.pid) == []
        kept = subprocess.run(
            ["pgrep", "-g", str(leader.pid), "-f", "functions-framework kept"], capture_output=True, text=True
        ).stdout.split()
        assert kept, "the worker still launched by its shell keeps running"
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
