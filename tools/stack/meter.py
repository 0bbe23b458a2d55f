"""What the functions of the local stack did in a time window: commits (written, deleted, failed), invocations.

Reads the write meter's files (functions/adapters/write_meter.py: one line per commit of every
function process) and the Functions emulator's debug log. Benchmarks and the live-path guard use
it: counts, not times, so the figures hold on a busy machine too.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tools.stack.config import LOG_DIR, STACK_DIR

WRITE_METER_DIR = STACK_DIR / "write-meter"
FINISHED = re.compile(r'Finished "[a-z0-9-]+?-([A-Za-z0-9_]+)" in ([0-9.]+)ms')


@dataclass
class Commits:
    """Commits per function in a window: documents written and deleted, and commits that failed."""

    writes: Counter[str] = field(default_factory=Counter)
    deletes: Counter[str] = field(default_factory=Counter)
    commits: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    # (function, error) -> count of failed commits, e.g. ('refresh_aggregate_views', 'FailedPrecondition').
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)


def commits_since(started: float, until: float | None = None, org_id: str | None = None) -> Commits:
    """Every commit the functions made between `started` and `until` (unix times), of one org if given."""
    found = Commits()
    for path in WRITE_METER_DIR.glob("*.log"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) < 4:
                continue
            stamp, function, writes, deletes = parts[:4]
            outcome = parts[4] if len(parts) > 4 else "ok"
            if float(stamp) < started or (until is not None and float(stamp) > until):
                continue
            if org_id is not None and (parts[5] if len(parts) > 5 else "-") != org_id:
                continue
            found.commits[function] += 1
            if outcome != "ok":
                found.failed[function] += 1
                found.failures[(function, outcome.removeprefix("failed:"))] += 1
                continue
            found.writes[function] += int(writes)
            found.deletes[function] += int(deletes)
    return found


def debug_log_offset() -> int:
    """The Functions emulator debug log's current size: pass it to invocations_since later."""
    path = LOG_DIR / "firebase-debug.log"
    return path.stat().st_size if path.exists() else 0


def invocations_since(offset: int) -> tuple[Counter[str], Counter[str]]:
    """Function invocations (and their total milliseconds) the Functions emulator logged after byte `offset`."""
    counts: Counter[str] = Counter()
    millis: Counter[str] = Counter()
    path = LOG_DIR / "firebase-debug.log"
    if not path.exists():
        return counts, millis
    with path.open("rb") as log:
        log.seek(offset)
        for line in log:
            match = FINISHED.search(line.decode(errors="replace"))
            if match:
                counts[match.group(1)] += 1
                millis[match.group(1)] += int(float(match.group(2)))
    return counts, millis
