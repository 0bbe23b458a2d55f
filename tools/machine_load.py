"""How much of the machine a measurement had: the CPU the local stack used, and what other processes took.

A latency figure on a two-core machine means something only next to the machine's load: the
demo and the benchmarks read /proc before and after they measure, and say when other processes
took so much of the CPU that the figure cannot be judged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.stack.reaper import descendants

# Other processes above this share of the machine's CPU time make a latency figure unjudgeable.
BUSY_OTHER_SHARE = 0.25
# The machine saturated: hardly any CPU was left idle while measuring.
SATURATED_SHARE = 0.90


def _machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user time
    return total - idle, total


def _process_ticks(pid: int) -> int:
    """User + system clock ticks of a process and of its children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return sum(int(v) for v in fields[11:15])


@dataclass(frozen=True)
class LoadReport:
    """Shares of the machine's CPU time (all cores) over a measurement."""

    seconds: float
    cores: int
    own_share: float
    other_share: float
    load_average: float

    @property
    def busy_share(self) -> float:
        """Share of the machine's CPU time that was used at all."""
        return self.own_share + self.other_share

    @property
    def judgeable(self) -> bool:
        """False when other processes took enough of the CPU to distort a latency figure."""
        return self.other_share < BUSY_OTHER_SHARE and self.busy_share < SATURATED_SHARE

    def describe(self) -> str:
        """One line for a person: what the stack used, what others took, and whether to trust the figure."""
        line = (
            f"the stack and this command used {self.own_share:.0%} of the {self.cores} cores, other processes "
            f"{self.other_share:.0%} (load average {self.load_average:.1f})"
        )
        if self.judgeable:
            return f"{line}: quiet enough to judge the lag"
        if self.other_share >= BUSY_OTHER_SHARE:
            return f"{line}: the machine was too busy with other work to judge the lag; run again when it is quiet"
        return f"{line}: the machine was saturated, so the lag shows the machine's limit, not the pipeline's"


class LoadMeter:
    """Measures the CPU of `roots` (and every process below them, and this one) against the whole machine."""

    def __init__(self, roots: Callable[[], Iterable[int]]):
        self._roots = roots
        self._started = 0.0
        self._machine = (0, 0)
        self._own: dict[int, int] = {}

    def _own_ticks(self) -> dict[int, int]:
        pids = {os.getpid()}
        for root in self._roots():
            pids.add(root)
            pids.update(descendants(root))
        return {pid: _process_ticks(pid) for pid in pids}

    def start(self) -> LoadMeter:
        """Take the starting point."""
        self._started = time.monotonic()
        self._machine = _machine_busy_ticks()
        self._own = self._own_ticks()
        return self

    def report(self) -> LoadReport:
        """Shares since start (processes that ended meanwhile count up to their last reading)."""
        busy, total = _machine_busy_ticks()
        own_now = self._own_ticks()
        own = sum(max(0, ticks - self._own.get(pid, 0)) for pid, ticks in own_now.items())
        elapsed_ticks = max(1, total - self._machine[1])
        busy_ticks = busy - self._machine[0]
        own_share = min(1.0, own / elapsed_ticks)
        other_share = max(0.0, min(1.0, (busy_ticks - own) / elapsed_ticks))
        return LoadReport(
            time.monotonic() - self._started, os.cpu_count() or 1, own_share, other_share, os.getloadavg()[0]
        )
