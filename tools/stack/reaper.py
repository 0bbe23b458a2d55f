"""Stops Python function workers the Functions emulator abandoned (they would pile up and exhaust memory).

firebase-tools starts each Python worker as `sh -c ". venv/bin/activate && functions-framework"`
and, when it reloads code or retires a worker, kills only that shell: the Python process lives on,
adopted by init (or a subreaper), holding ~80 MB and a port. This loop finds such orphans of the stack's own
process group and stops them. It runs as one more service of the local stack.
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
    parser.add_argument("--interval", type=float, default=3.0)
    args = parser.parse_args()
    while True:
        try:
            os.killpg(args.process_group, 0)
        except OSError:
            return  # the stack is gone
        stopped = reap(args.process_group)
        if stopped:
            print(f"stopped {stopped} abandoned function worker(s)", flush=True)
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
