"""Many live dashboards on the local stack while the demo stream runs: publish-to-listener lag over every
dashboard, the stack's CPU and memory, and the documents each dashboard reads per hour.

Run with the stack up and the demo org seeded (`./dev up --seed`), alone on the machine if you can
(prefix it with `nice`: it loads both cores):

    nice -n 10 .venv/bin/python bench/bench_dashboards.py [--dashboards 1000] [--processes 8]
        [--rate 6] [--duration 120]

Each dashboard is a Firebase JS SDK app of its own in Node (bench/clients/dashboard_listeners.mjs),
signed in as the demo viewer and listening to what the web dashboard's overview listens to for the
consolidated view of the org's month; the dashboards are spread over several Node processes,
since the SDK multiplexes every app of one process over one connection. The demo feed
(tools/demo/stream.py: new lines, corrections, duplicates, late versions, invalid messages)
publishes at `--rate` events/s. An event's lag on a dashboard runs from its publish to the first
snapshot of the consolidated actual series (the overview's trend, revenue and P&L) in which the
month's aggregate comes from a fold that read the shards after the event was applied
(tools/visibility.py), for every (dashboard, event) pair. Prints the figures with the machine's load
beside them; asserts nothing (docs/performance.md keeps the figures and the targets).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from finance_core.aggregates import AggregateKey  # noqa: E402
from finance_core.identifiers import CONSOLIDATED_ENTITY  # noqa: E402
from google.cloud.firestore_v1.base_query import FieldFilter  # noqa: E402

from tools.demo.stream import DemoFeed, FeedStats, stream  # noqa: E402
from tools.machine_load import LoadMeter  # noqa: E402
from tools.stack.demo_users import DEMO_USERS, create_demo_users  # noqa: E402
from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.reaper import descendants  # noqa: E402
from tools.stack.seed import firestore_client  # noqa: E402
from tools.visibility import VisibilityLog, percentile  # noqa: E402

LISTENERS = ROOT / "bench" / "clients" / "dashboard_listeners.mjs"
# Firestore list prices of document reads (Standard edition), USD per 100,000: a regional location
# (us-central1) and the multi-region nam5 (docs/performance.md uses both).
USD_PER_100K_READS = {"us-central1": 0.03, "nam5": 0.06}
TICKS = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class ProcessGroup:
    """CPU seconds and resident memory of some processes and everything below them."""

    def __init__(self, roots):
        self._roots = roots
        self._start: dict[int, int] = {}
        self.peak_rss = 0

    def pids(self) -> set[int]:
        found = set()
        for root in self._roots():
            found.add(root)
            found.update(descendants(root))
        return found

    def start(self) -> None:
        self._start = {pid: _ticks(pid) for pid in self.pids()}

    def sample(self) -> int:
        rss = sum(_rss(pid) for pid in self.pids())
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def cpu_seconds(self) -> float:
        now = {pid: _ticks(pid) for pid in self.pids()}
        return sum(max(0, ticks - self._start.get(pid, 0)) for pid, ticks in now.items()) / TICKS


def _available_memory() -> int:
    """MemAvailable of the machine, in bytes."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


class MemoryGuard(threading.Thread):
    """Stops the dashboards if the machine runs short of memory: the machine is shared, never exhaust it."""

    def __init__(self, children, floor_bytes: int):
        super().__init__(daemon=True)
        self._children = children
        self._floor = floor_bytes
        self.tripped: int | None = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(1.0):
            available = _available_memory()
            if available < self._floor:
                self.tripped = available
                for child, _ in self._children:
                    if child.poll() is None:
                        child.kill()
                return

    def stop(self) -> None:
        self._done.set()


def _start_dashboards(config, org_id: str, period: str, count: int, processes: int, out_dir: Path, listeners: str):
    viewer = next(user for user in DEMO_USERS if user.role == "viewer")
    env = {
        **os.environ,
        **config.client_env(),
        "GCLOUD_PROJECT": config.project_id,
        "DASHBOARD_ORG": org_id,
        "DASHBOARD_PERIOD": period,
        "DASHBOARD_EMAIL": viewer.email,
        "DASHBOARD_PASSWORD": viewer.password,
        "DASHBOARD_UID": viewer.uid,
        "DASHBOARD_LISTENERS": listeners,
    }
    children = []
    for index in range(processes):
        share = count // processes + (1 if index < count % processes else 0)
        out = out_dir / f"dashboards-{index}.json"
        child = subprocess.Popen(
            ["node", str(LISTENERS)],
            cwd=ROOT,
            env={**env, "DASHBOARDS": str(share), "OUT": str(out)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        children.append((child, out))
    return children


def _command(children, command: str) -> None:
    for child, _ in children:
        assert child.stdin is not None
        child.stdin.write(command + "\n")
        child.stdin.flush()


def _wait_ready(children, timeout: float) -> tuple[int, float]:
    ready, slowest = 0, 0.0
    deadline = time.monotonic() + timeout
    for child, _ in children:
        assert child.stdout is not None
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                raise SystemExit(f"a dashboard process ended before it was ready (exit {child.wait()})")
            if line.startswith("READY "):
                _, opened, ms = line.split()
                ready += int(opened)
                slowest = max(slowest, int(ms) / 1000)
                break
    return ready, slowest


def _lags(dashboards: list[dict], published: dict[str, float], applied: dict, key: AggregateKey):
    """Per (dashboard, event) lag in ms, and per dashboard the events it never showed."""
    lags: list[float] = []
    per_dashboard_p99: list[float] = []
    missing = 0
    for dashboard in dashboards:
        log = VisibilityLog(key, published=published, applied=applied)
        for arrived_ms, read_ms in dashboard["aggregate"]:
            log.on_aggregate_snapshot(
                {"shards_read_at": datetime.fromtimestamp(read_ms / 1000, UTC)}, arrived_ms / 1000
            )
        found = log.lags_ms()
        lags.extend(found.values())
        missing += sum(1 for event_id in applied if event_id in published) - len(found)
        if found:
            per_dashboard_p99.append(percentile(found.values(), 0.99) or 0.0)
    return lags, per_dashboard_p99, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashboards", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=8, help="Node processes the dashboards are spread over")
    parser.add_argument("--rate", type=float, default=6.0, help="demo events per second")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of streaming")
    parser.add_argument("--org", default="northwind")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the demo feed")
    parser.add_argument(
        "--memory-floor",
        type=float,
        default=1.5,
        help="GiB of available memory below which the dashboards are stopped (the machine is shared)",
    )
    parser.add_argument(
        "--listeners",
        choices=("all", "live"),
        default="all",
        help="every listener of the overview, or only those whose documents the stream changes (less memory)",
    )
    args = parser.parse_args()

    stack = LocalStack.running("./dev up --seed")
    config = stack.config
    db = firestore_client(config)
    org = db.document(f"organizations/{args.org}").get().to_dict()
    if not org:
        raise SystemExit(f"organisation {args.org} is not on the stack: ./dev seed")
    kpis = db.document(f"organizations/{args.org}/kpis/current").get().to_dict() or {}
    period = kpis.get("period") or org.get("current_period")
    create_demo_users(config)
    key = AggregateKey(CONSOLIDATED_ENTITY, period, "actual")
    print(
        f"{args.dashboards} live dashboards on the local stack (org {args.org}, month {period}, "
        f"commit {_commit()}, {time.strftime('%Y-%m-%d %H:%M')})"
    )

    stack_group = ProcessGroup(lambda: [service.pid for service in stack.services])
    out_dir = Path(tempfile.mkdtemp(prefix="dashboards-"))
    opening = time.monotonic()
    children = _start_dashboards(config, args.org, period, args.dashboards, args.processes, out_dir, args.listeners)
    node_group = ProcessGroup(lambda: [child.pid for child, _ in children])
    guard = MemoryGuard(children, int(args.memory_floor * 2**30))
    guard.start()
    try:
        ready, slowest = _wait_ready(children, timeout=900)
        print(
            f"  dashboards open                       {ready} of {args.dashboards} in {args.processes} Node processes, "
            f"all first snapshots after {time.monotonic() - opening:.0f} s"
        )

        # Applied times of the events, from the change documents (one Python listener).
        stats = FeedStats()
        visibility = VisibilityLog(key, published=stats.published_at)
        since = datetime.now(UTC) - timedelta(seconds=2)

        def on_changes(snapshots, changes, read_time):
            for change in changes:
                if change.type.name != "REMOVED":
                    visibility.on_change_document(change.document.to_dict() or {})

        def on_aggregate(snapshots, changes, read_time):
            for snapshot in snapshots:
                visibility.on_aggregate_snapshot(snapshot.to_dict() or {}, time.time())

        watches = [
            db.collection(f"organizations/{args.org}/record_changes")
            .where(filter=FieldFilter("created_at", ">=", since))
            .on_snapshot(on_changes),
            db.document(f"organizations/{args.org}/aggregates/{key.doc_id}").on_snapshot(on_aggregate),
        ]
        feed = DemoFeed(args.org, period, args.seed, duplicates=0.10, late=0.05, invalid=0.03)
        meter = LoadMeter(lambda: [service.pid for service in stack.services] + [c.pid for c, _ in children]).start()
        stack_group.start()
        node_group.start()
        _command(children, "measure")
        measured_from = time.monotonic()
        streaming = threading.Thread(target=stream, args=(config, feed, args.rate, args.duration, stats), daemon=True)
        streaming.start()
        while streaming.is_alive():
            if guard.tripped is not None:
                raise SystemExit("memory")
            stack_group.sample()
            node_group.sample()
            streaming.join(timeout=5)
        # Drain: until the reference listener shows every applied event (at most a minute), then a
        # few seconds more for the dashboards' own snapshots.
        drain_until = time.monotonic() + 60
        while time.monotonic() < drain_until:
            summary = visibility.summary()
            if summary.applied and summary.measured >= summary.applied:
                break
            if guard.tripped is not None:
                raise SystemExit("memory")
            stack_group.sample()
            node_group.sample()
            time.sleep(1)
        time.sleep(5)
        load = meter.report()
        stack_cpu, node_cpu = stack_group.cpu_seconds(), node_group.cpu_seconds()
        _command(children, "stop")
        seconds = time.monotonic() - measured_from
        for child, _ in children:
            child.wait(timeout=120)
        for watch in watches:
            watch.unsubscribe()
    except SystemExit:
        if guard.tripped is not None:
            raise SystemExit(
                f"stopped: the machine had {guard.tripped / 2**30:.1f} GiB of memory left "
                f"(floor {args.memory_floor} GiB); run fewer dashboards or --listeners live"
            ) from None
        raise
    finally:
        guard.stop()
        for child, _ in children:
            if child.poll() is None:
                child.terminate()

    results = [json.loads(out.read_text()) for _, out in children if out.exists()]
    dashboards = [d for result in results for d in result["dashboards"]]
    failures = [f for result in results for f in result["failures"]]
    errors = [e for d in dashboards for e in d["errors"]]
    with visibility.lock:
        applied = dict(visibility.applied)
    lags, worst_dashboards, missing = _lags(dashboards, dict(stats.published_at), applied, key)
    measured_s = max(r["measured_ms"] for r in results) / 1000 if results else seconds
    steady = [d["readsSteady"] for d in dashboards]
    per_hour = sum(steady) / max(1, len(steady)) / measured_s * 3600
    by_target: dict[str, int] = {}
    for d in dashboards:
        for target, reads in d["readsByTarget"].items():
            by_target[target] = by_target.get(target, 0) + reads
    initial = sum(d["readsInitial"] for d in dashboards) / max(1, len(dashboards))

    print(
        f"  events published                      {stats.sent} at {args.rate:g}/s over {args.duration:.0f} s "
        f"({stats.new_lines} new lines, {stats.corrections} corrections, {stats.duplicates} duplicates, "
        f"{stats.late} late, {stats.invalid} invalid); {len(applied)} applied to the consolidated month"
    )
    print(
        f"  publish -> dashboard, every pair      p50 {_ms(percentile(lags, 0.5))} ms, "
        f"p99 {_ms(percentile(lags, 0.99))} ms, "
        f"max {_ms(max(lags, default=None))} ms over {len(lags):,} (dashboard, event) pairs; {missing:,} pairs not seen"
    )
    print(
        f"  worst dashboard's p99                 {_ms(max(worst_dashboards, default=None))} ms "
        f"(median dashboard's p99 {_ms(percentile(worst_dashboards, 0.5))} ms)"
    )
    print(f"  one reference listener (Python)       {visibility.summary().describe()}")
    print(
        f"  documents read per dashboard          {initial:,.0f} to open; {per_hour:,.0f} per dashboard-hour while "
        "streaming = "
        + ", ".join(f"{per_hour * price / 100_000:.4f} USD ({where})" for where, price in USD_PER_100K_READS.items())
    )
    # Per event published: the design's cost, whatever rate the stack kept up with (meaningful when
    # every event was shown: no pair unseen), then scaled to the demo's rate and ten times it.
    per_event = sum(steady) / max(1, len(steady)) / max(1, stats.sent)
    print(
        f"  documents read per dashboard and event {per_event:.2f} (every event folded on its own): "
        + "; ".join(
            f"at {rate} events/s {per_event * rate * 3600:,.0f} per dashboard-hour = "
            + ", ".join(
                f"{per_event * rate * 3600 * price / 100_000:.4f} USD ({where})"
                for where, price in USD_PER_100K_READS.items()
            )
            for rate in (6, 60)
        )
    )
    for target, reads in sorted(by_target.items(), key=lambda item: -item[1])[:8]:
        print(
            f"    {target:<22} {reads / max(1, len(dashboards)) / measured_s * 3600:>10,.0f} reads per dashboard-hour"
        )
    print(
        f"  stack CPU                             {stack_cpu / seconds:.2f} cores on average "
        f"({stack_cpu:.0f} CPU s in {seconds:.0f} s); peak resident memory {stack_group.peak_rss / 2**30:.2f} GiB"
    )
    print(
        f"  dashboards' Node processes            {node_cpu / seconds:.2f} cores on average; peak resident memory "
        f"{node_group.peak_rss / 2**30:.2f} GiB"
    )
    if failures or errors:
        print(
            f"  dashboards that failed to open        {len(failures)} "
            f"{sorted({f.split(': ', 1)[-1] for f in failures})[:3]}; "
            f"listener errors {len(errors)}: {sorted(set(errors))[:5]}"
        )
    print(f"  machine                               {load.describe()}; cores: {os.cpu_count()}")
    return 0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
