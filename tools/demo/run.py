"""The main job: start the stack, provision, seed the demo org, stream a live feed, show the dashboard."""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime, timedelta

from finance_core.aggregates import aggregate_version
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tools.demo.accounting import Accountant
from tools.demo.dashboard import DashboardState, LiveListeners, render
from tools.demo.stream import DemoFeed, FeedStats, stream
from tools.machine_load import LoadMeter, LoadReport
from tools.stack.config import STACK_DIR, StackConfig
from tools.stack.demo_users import DEMO_USERS, create_demo_users
from tools.stack.dispatcher import read_activity
from tools.stack.emulators import LocalStack, StackError
from tools.stack.provision import provision
from tools.stack.seed import (
    applied_change_count,
    close_periods,
    data_quality_counters,
    data_quality_total,
    demo_history,
    demo_reference,
    firestore_client,
    publish_batches,
    record_event,
    records_batches,
    write_reference,
)


def _seed_with_progress(console: Console, config: StackConfig, db, with_history: bool) -> dict:
    from tools.demo.alert_rules import demo_alert_rules
    from tools.demo.metrics import write_demo_metrics

    reference = demo_reference()
    org_id = reference["org"]["org_id"]
    create_demo_users(config, {m["uid"]: m.get("display_name", m["uid"]) for m in reference.get("members", [])})
    if data_quality_total(db, org_id) > 0:
        console.log(f"{org_id} is already seeded (stack reused)")
        return reference
    opening = dict(reference, periods={p: {"status": "open"} for p in reference["periods"]})
    written = write_reference(db, org_id, opening if with_history else reference, demo_alert_rules())
    written += write_demo_metrics(db, org_id)
    console.log(
        f"seeded {written} reference documents: org, members, entities, chart of accounts, FX rates, periods, "
        "alert rules, KPI definitions"
    )
    if not with_history:
        return reference
    events = [record_event(org_id, row) for row in demo_history()]
    batches = records_batches(org_id, events, "demo-history")
    publish_batches(config, batches)
    console.log(f"published the {len(events)}-line history as {len(batches)} records.batch messages")
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        ingested = progress.add_task("history: lines validated and stored", total=len(events))
        aggregated = progress.add_task("history: record changes in the aggregates", total=len(events))
        deadline = time.monotonic() + 300
        while True:
            stored, applied = data_quality_total(db, org_id), applied_change_count(db, org_id)
            progress.update(ingested, completed=stored)
            progress.update(aggregated, completed=applied)
            if stored >= len(events) and applied >= len(events):
                break
            if time.monotonic() > deadline:
                raise StackError(
                    f"history did not load within 5 minutes ({stored} stored, {applied} aggregated "
                    f"of {len(events)}); see .stack/logs/firebase.log"
                )
            time.sleep(0.5)
    close_periods(db, org_id, reference["periods"])
    console.log("closed the books through 2026-08 (period lock)")
    return reference


SUMMARY_FILE = STACK_DIR / "demo-summary.json"
# The history's analytics have caught up when no Pub/Sub delivery was in flight for this long.
CAUGHT_UP_QUIET_SECONDS = 3.0
# Past this, the demo streams anyway (and its summary says the machine was busy if it was).
CAUGHT_UP_TIMEOUT_SECONDS = 300


def _wait_for_history_analytics(console: Console) -> float | None:
    """Until every Pub/Sub consumer has finished the history's work (BigQuery facts, metric values,
    trends and forecasts, alert evaluations), so the live stream is measured on its own.

    The signal is positive: the dispatcher's deliveries in flight (tools.stack.dispatcher), not the
    machine's load, which other work on a shared machine would make meaningless. Returns the
    seconds waited, or None when the wait ended without that signal.
    """
    started = time.monotonic()
    reported = started
    with console.status("[bold]history: BigQuery, trends and alerts catching up") as status:
        while True:
            elapsed = time.monotonic() - started
            activity = read_activity()
            if activity is None:
                console.log("the dispatcher's activity is unknown (no .stack/dispatcher-activity.json): streaming now")
                return None
            if activity.quiet_for() >= CAUGHT_UP_QUIET_SECONDS:
                console.log(f"history: BigQuery, trends and alerts caught up in {elapsed:.0f} s")
                return elapsed
            if elapsed > CAUGHT_UP_TIMEOUT_SECONDS:
                console.log(
                    f"history: analytics still busy after {CAUGHT_UP_TIMEOUT_SECONDS} s "
                    f"({activity.in_flight} deliveries in flight): streaming now"
                )
                return None
            line = (
                f"history: BigQuery, trends and alerts catching up: {activity.in_flight} deliveries in flight, "
                f"{activity.delivered:,} done ({elapsed:.0f} s)"
            )
            status.update(f"[bold]{line}")
            if time.monotonic() - reported >= 15:
                console.log(line)
                reported = time.monotonic()
            time.sleep(0.5)


def web_dashboard_panel(config: StackConfig, org_id: str, stays_up: bool) -> Table:
    """Where the web dashboard is and who can sign in to it."""
    caption = (
        "the stack stays up: ./dev down stops it"
        if stays_up
        else "served while the demo runs (--keep-running leaves the stack up)"
    )
    table = Table(
        title=f"Web dashboard: http://{config.address('hosting')}/#/org/{org_id}",
        title_justify="left",
        caption=caption,
        caption_justify="left",
    )
    table.add_column("Sign in as")
    table.add_column("E-mail")
    table.add_column("Password")
    for user in DEMO_USERS:
        table.add_row(user.role, user.email, user.password)
    return table


def _summary(
    console: Console,
    stats: FeedStats,
    health_before: dict,
    health_after: dict,
    state: DashboardState,
    load: LoadReport | None,
    missing: list[str],
) -> bool:
    """Print and store the closing summary; True when every event sent is accounted for.

    Accounted for is read per event (tools/demo/accounting.py); the outcome rows are the
    data-quality counters, which count deliveries, so a redelivered message adds a duplicate.
    """
    before, after = health_before.get("counts", {}), health_after.get("counts", {})
    table = Table(title="Demo stream summary")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("applied", "duplicate", "stale", "rejected")}
    distinct = len(stats.sent_events)
    accounted = distinct - len(missing)
    redelivered = sum(delta.values()) - stats.sent
    table.add_row("events sent", f"{stats.sent} ({distinct} distinct)")
    table.add_row("  new ledger lines / corrections", f"{stats.new_lines} / {stats.corrections}")
    table.add_row("  duplicates / late versions / invalid sent", f"{stats.duplicates} / {stats.late} / {stats.invalid}")
    table.add_row("applied", str(delta["applied"]))
    table.add_row("duplicates ignored", str(delta["duplicate"]))
    if redelivered > 0:
        table.add_row("  of which redelivered by Pub/Sub (at least once)", str(redelivered))
    table.add_row("stale versions ignored", str(delta["stale"]))
    table.add_row("rejected (stored with reason)", str(delta["rejected"]))
    table.add_row("accounted for (stored, ignored or rejected)", f"{accounted} of {distinct} distinct events")
    lag = state.lag_summary()
    table.add_row("publish → consolidated aggregate on the dashboard", lag.describe())
    if load is not None:
        table.add_row("machine during the stream", load.describe())
    console.print(table)
    if load is not None and not load.judgeable:
        console.print(f"[bold yellow]The lag above cannot be judged:[/] {load.describe()}.")
    if missing:
        console.print(
            f"[bold red]{len(missing)} event(s) not accounted for[/] after the drain (first: {missing[0]}): see "
            ".stack/logs/firebase.log, and ./dev status for the pipeline's health."
        )
    SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY_FILE.write_text(
        json.dumps(
            {
                "sent": stats.sent,
                "new_lines": stats.new_lines,
                "corrections": stats.corrections,
                "duplicates_sent": stats.duplicates,
                "late_sent": stats.late,
                "invalid_sent": stats.invalid,
                "distinct_events": distinct,
                "accounted": accounted,
                "redelivered": max(0, redelivered),
                **delta,
                "lag_p50_ms": lag.p50,
                "lag_p99_ms": lag.p99,
                "lag_max_ms": lag.worst,
                "lag_events_measured": lag.measured,
                "lag_events_applied": lag.applied,
                "machine": None
                if load is None
                else {
                    "cores": load.cores,
                    "stack_share": round(load.own_share, 3),
                    "other_share": round(load.other_share, 3),
                    "load_average": round(load.load_average, 2),
                    "judgeable": load.judgeable,
                },
                "consolidated_actual": {
                    name: (state.actual.get("metrics") or {}).get(name) for name in ("revenue", "ebitda", "net_income")
                },
            },
            indent=2,
            default=str,
        )
    )
    return not missing


# After the stream, how long the demo waits for every event to be counted and visible.
DRAIN_SECONDS = 90


def _drained(state: DashboardState, accountant: Accountant) -> bool:
    """Every event sent is accounted for, every applied one is visible on the listener, and the KPI
    document is computed from the aggregate shown (so the last frame shows what the web dashboard shows)."""
    lag = state.lag_summary()
    with state.lock:
        shown = aggregate_version(state.actual)
        in_kpis = int((state.kpis.get("source_versions") or {}).get(f"_all__{state.period}__actual", 0))
    return lag.measured >= lag.applied and in_kpis >= shown and not accountant.check()


def _org_period_in_progress(db, org_id: str, period: str) -> bool:
    """True when `period` is the org's month in progress (its current_period, else the calendar month)."""
    org = db.document(f"organizations/{org_id}").get().to_dict() or {}
    in_progress = org.get("current_period") or time.strftime("%Y-%m", time.gmtime())
    return period >= in_progress


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo end to end; returns the process exit code."""
    console = Console()
    stack = LocalStack.attach()
    reused = stack is not None
    try:
        if stack is None:
            stack = LocalStack()
            with console.status("[bold]starting the local stack (about 20-60 s)") as status:
                stack.start(progress=lambda line: (console.log(line), status.update(f"[bold]{line}")))
        stack.config.apply_client_env()
        provision(stack.config, progress=console.log)
        db = firestore_client(stack.config)
        reference = _seed_with_progress(console, stack.config, db, with_history=not args.no_history)
        _wait_for_history_analytics(console)
    except StackError as exc:
        console.print(f"[bold red]the local stack could not start:[/] {exc}")
        if stack is not None and not reused:
            stack.stop(quiet=True)
        return 1
    except BaseException:
        # Interrupted or failed while starting: never leave emulators behind.
        if stack is not None and not reused:
            stack.stop(quiet=True)
            console.log("local stack stopped")
        raise
    org_id, period = reference["org"]["org_id"], reference["current_period"]
    stats = FeedStats()
    state = DashboardState(stats, period, _org_period_in_progress(db, org_id, period))
    listeners = LiveListeners(db, org_id, period, state, since=datetime.now(UTC) - timedelta(seconds=5))
    health_before = data_quality_counters(db, org_id)
    stop = threading.Event()
    feed = DemoFeed(org_id, period, args.seed, args.duplicates, args.late, args.invalid)
    worker = threading.Thread(
        target=stream, args=(stack.config, feed, args.rate, args.duration, stats, stop.is_set), daemon=True
    )
    started = time.monotonic()
    accountant = Accountant(db, org_id, stats.sent_events)
    console.print(web_dashboard_panel(stack.config, org_id, reused or args.keep_running))
    meter = LoadMeter(lambda: [service.pid for service in stack.services]).start()
    load: LoadReport | None = None
    complete = False
    try:
        worker.start()
        if args.no_dashboard:
            while worker.is_alive():
                worker.join(timeout=5)
                console.log(f"sent {stats.sent}, lag {state.lag_summary().describe()}")
            load = meter.report()
            drain_until = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < drain_until and not _drained(state, accountant):
                time.sleep(0.5)
        else:
            title = reference["org"]["name"]
            with Live(render(state, title, period, 0, "streaming"), console=console, refresh_per_second=4) as live:
                while worker.is_alive():
                    live.update(render(state, title, period, time.monotonic() - started, "streaming"))
                    time.sleep(0.25)
                load = meter.report()
                drain_until = time.monotonic() + DRAIN_SECONDS
                while time.monotonic() < drain_until and not _drained(state, accountant):
                    live.update(render(state, title, period, time.monotonic() - started, "draining"))
                    time.sleep(0.25)
                # The last frame shows the documents as the web dashboard's listeners see them now.
                live.update(render(state, title, period, time.monotonic() - started, "done"))
    except KeyboardInterrupt:
        stop.set()
        worker.join(timeout=5)
        console.log("interrupted: stopping")
    finally:
        listeners.close()
        health_after = data_quality_counters(db, org_id)
        complete = _summary(console, stats, health_before, health_after, state, load, accountant.check(force=True))
        if reused or args.keep_running:
            console.print(web_dashboard_panel(stack.config, org_id, True))
        if not reused and not args.keep_running:
            stack.stop(quiet=True)
            console.log("local stack stopped")
        elif reused:
            console.log("the stack was already running before the demo: left running (./dev down stops it)")
    return 0 if complete or stop.is_set() else 2
