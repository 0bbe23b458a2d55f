"""Looks after the Functions emulator's Python workers: stops abandoned ones, lowers the priority of side paths.

firebase-tools starts each Python worker as `sh -c ". venv/bin/activate && functions-framework"`
and, when it reloads code or retires a worker, kills only that shell: the Python process lives on,
adopted by init (or a subreaper), holding ~80 MB and a port. This loop finds such orphans of the stack's own
process group and stops them. It runs as one more service of the local stack.

It also gives the workers of the side paths (the BigQuery sinks, the trends) a lower CPU priority:
in production every function scales on its own, while here all of them share two cores, and a
burst of BigQuery inserts must not slow the path from an event to the dashboard. They still get
every idle cycle; they only yield when the live path needs the CPU.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[2])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, it names one process for good."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def running(pid: int) -> bool:
    """True if the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, whatever its process group or session."""
    parents = {
        int(e.name): stat[0] for e in Path("/proc").iterdir() if e.name.isdigit() and (stat := _stat(int(e.name)))
    }
    found, frontier = [], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found.extend(sorted(frontier))
    return found


def abandoned_workers(process_group: int) -> list[int]:
    """Function workers of the group whose parent left the group (init or a subreaper adopted them)."""
    stats = {int(e.name): _stat(int(e.name)) for e in Path("/proc").iterdir() if e.name.isdigit()}
    found = []
    for pid, stat in stats.items():
        if stat is None or stat[1] != process_group:
            continue
        parent = stats.get(stat[0])
        if parent is not None and parent[1] == process_group:
            continue  # launched by the emulator's shell or a worker's own server: in use
        if "functions-framework" in _cmdline(pid):
            found.append(pid)
    return found


# Functions off the path from an event to a dashboard or an alert (their workers run at SIDE_PATH_NICE).
SIDE_PATH_FUNCTIONS = frozenset({"sink_changes_to_bigquery", "sink_metric_values_to_bigquery", "refresh_trends"})
SIDE_PATH_NICE = 10


def _function_target(pid: int) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"FUNCTION_TARGET="):
            return item.split(b"=", 1)[1].decode(errors="replace")
    return None


def lower_side_paths(process_group: int) -> int:
    """Lower the priority of the side-path workers of the group that still run at a higher one; returns how many."""
    lowered = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or stat[1] != process_group or _function_target(pid) not in SIDE_PATH_FUNCTIONS:
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, pid) < SIDE_PATH_NICE:
                os.setpriority(os.PRIO_PROCESS, pid, SIDE_PATH_NICE)
                lowered += 1
        except OSError:
            continue  # it ended meanwhile
    return lowered


def reap(process_group: int) -> int:
    """Stop every abandoned worker (and its forked server processes); returns how many."""
    victims = abandoned_workers(process_group)
    for pid in victims:
        children = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and (_stat(int(p.name)) or (0, 0))[0] == pid
        ]
        for target in (*children, pid):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
    return len(victims)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--process-group", type=int, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    while True:
        try:
            os.killpg(args.process_group, 0)
        except OSError:
            return  # the stack is gone
        stopped = reap(args.process_group)
        if stopped:
            print(f"stopped {stopped} abandoned function worker(s)", flush=True)
        lower_side_paths(args.process_group)
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
