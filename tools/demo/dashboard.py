"""The live terminal dashboard: Firestore listeners on KPIs, the consolidated P&L, variance, alerts, health."""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

from finance_core.aggregates import AggregateKey
from finance_core.health import data_quality_view
from finance_core.identifiers import CONSOLIDATED_ENTITY
from finance_core.metric_series import Direction, MetricSpec
from finance_core.metrics import STANDARD_BY_ID
from finance_core.periods import add_months
from finance_core.progress import PeriodProgress, compare_flow, period_progress
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from rich.console import Group
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tools.demo.stream import FeedStats
from tools.visibility import LagSummary, VisibilityLog

SPARK = "▁▂▃▄▅▆▇█"
# The consolidated P&L lines shown, in order: labels, units and directions are their definitions'.
PNL_LINES = [
    STANDARD_BY_ID[metric]
    for metric in (
        "revenue",
        "cogs",
        "gross_profit",
        "gross_margin_pct",
        "opex",
        "ebitda",
        "ebitda_margin_pct",
        "net_income",
        "net_margin_pct",
    )
]


def _higher_is_better(line: MetricSpec) -> bool:
    return line.direction is not Direction.LOWER_IS_BETTER


def money(minor: Any, exponent: int = 2) -> str:
    """Minor units as a readable amount in thousands, e.g. 123456789 -> '1,234.6k'."""
    if minor is None:
        return "–"
    return f"{int(minor) / 10**exponent / 1000:,.1f}k"


def percent(value: Any, points: bool = False) -> str:
    """A percentage (or a change in points) with a sign."""
    if value is None:
        return "–"
    return f"{float(value):+.1f}{' pt' if points else '%'}"


def share_of_budget(actual: Any, plan: Any) -> str:
    """'34% of budget': what a month in progress has booked of its whole plan."""
    if actual is None or plan is None or float(plan) == 0:
        return "–"
    return f"{float(actual) * 100 / float(plan):.0f}% of budget"


# Account types for which more than planned is good news (finance_core.variance: the rest are costs).
GOOD_WHEN_HIGHER = {"revenue", "other_income", "asset", "equity"}


def vs_budget_to_date(actual: Any, plan: Any, progress: PeriodProgress, higher_is_better: bool = True) -> str:
    """'-2.5% to date': a flow of the month in progress against its budget pro-rated by days (finance_core.progress)."""
    if actual is None or plan is None:
        return "–"
    compared = compare_flow(int(actual), int(plan), progress, higher_is_better)
    return "–" if compared.variance_pct is None else f"{percent(compared.variance_pct)} to date"


def sparkline(values: list[Any]) -> str:
    """Unicode sparkline of a short series (None shown as a gap)."""
    numbers = [float(v) for v in values if v is not None]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    return "".join(" " if v is None else SPARK[int((float(v) - low) / span * (len(SPARK) - 1))] for v in values)


class DashboardState:
    """Latest documents seen by the listeners, and the publish-to-visible lag of every applied event.

    `in_progress`: the period shown is the month whose books are still being written, so its flows
    are judged against their budget pro-rated by the days elapsed ("so far"), the rule of
    finance_core.progress that the web dashboard and the reports follow, never as a miss of the month.
    """

    def __init__(self, stats: FeedStats, period: str, in_progress: bool = True, today: date | None = None):
        self.lock = threading.Lock()
        self.stats = stats
        self.period = period
        self.in_progress = in_progress
        current = period if in_progress else add_months(period, 1)
        self.progress = period_progress(period, current, today or date.today())
        self.kpis: dict[str, Any] = {}
        self.actual: dict[str, Any] = {}
        self.budget: dict[str, Any] = {}
        self.variance: dict[str, Any] = {}
        self.alerts: list[dict[str, Any]] = []
        self.health: dict[str, Any] = {}
        self.visibility = VisibilityLog(AggregateKey(CONSOLIDATED_ENTITY, period, "actual"), stats.published_at)
        self.updates = 0

    def lag_summary(self) -> LagSummary:
        """Publish -> consolidated aggregate visible to the listener, over every applied event seen so far."""
        return self.visibility.summary()


class LiveListeners:
    """Firestore on_snapshot listeners that keep a DashboardState current."""

    def __init__(
        self, db: firestore.Client, org_id: str, period: str, state: DashboardState, since: datetime | None = None
    ):
        self.state = state
        org = db.collection("organizations").document(org_id)
        changes = org.collection("record_changes")
        if since is not None:
            changes = changes.where(filter=FieldFilter("created_at", ">=", since))  # type: ignore[assignment]
        self._watches = [
            # When each change was applied to the shards: with the aggregate's shards_read_at, when
            # each event became visible (tools/visibility.py).
            changes.on_snapshot(self._changes),
            # The month's consolidated actual and variance come with kpis/current, as the web dashboard
            # reads them (web/src/hooks/liveMonth.ts): one listener for everything the stream moves.
            org.collection("kpis").document("current").on_snapshot(self._kpis),
            org.collection("aggregates").document(f"_all__{period}__budget").on_snapshot(self._doc("budget")),
            # The data-quality counters are sharded: the sum of the shards is what a dashboard shows.
            org.collection("data_quality").document("current").collection("shards").on_snapshot(self._health),
            org.collection("alerts").where(filter=FieldFilter("status", "==", "active")).on_snapshot(self._alerts),
        ]

    def _doc(self, attribute: str):
        def callback(snapshots, changes, read_time):
            for snapshot in snapshots:
                with self.state.lock:
                    setattr(self.state, attribute, snapshot.to_dict() or {})
                    self.state.updates += 1

        return callback

    def _kpis(self, snapshots, changes, read_time):
        for snapshot in snapshots:
            kpis = snapshot.to_dict() or {}
            month = kpis.get("period") == self.state.period
            actual = (kpis.get("month_actual") or {}) if month else {}
            self.state.visibility.on_aggregate_snapshot(actual)
            with self.state.lock:
                self.state.kpis = kpis
                if month:
                    self.state.actual = actual
                    self.state.variance = kpis.get("month_variance") or {}
                self.state.updates += 1

    def _changes(self, snapshots, changes, read_time):
        for change in changes:
            if change.type.name != "REMOVED":
                self.state.visibility.on_change_document(change.document.to_dict() or {})

    def _health(self, snapshots, changes, read_time):
        counters = data_quality_view(snapshot.to_dict() or {} for snapshot in snapshots)
        with self.state.lock:
            self.state.health = counters
            self.state.updates += 1

    def _alerts(self, snapshots, changes, read_time):
        with self.state.lock:
            self.state.alerts = sorted(
                (s.to_dict() or {} for s in snapshots),
                key=lambda a: ({"critical": 0, "warning": 1}.get(a.get("severity"), 2), str(a.get("title"))),
            )
            self.state.updates += 1

    def close(self) -> None:
        """Stop every listener."""
        for watch in self._watches:
            watch.unsubscribe()


def runway_cells(cash: dict[str, Any]) -> tuple[str, str]:
    """Net burn and runway as kpis/current carries them from the cash forecast (finance_core.cash.CashRunway)."""
    status = cash.get("status")
    if status == "burning":
        return f"{money(cash.get('burn_monthly_minor'))} a month", f"{cash.get('runway_months')} months"
    if status == "not_burning":
        return "not burning", "not burning"
    return "–", "–"


def render(state: DashboardState, org_name: str, period: str, elapsed: float, phase: str) -> Layout:
    """One frame of the dashboard."""
    with state.lock:
        kpis = dict(state.kpis.get("kpis", {}))
        cash = dict(state.kpis.get("cash") or {})
        actual = dict(state.actual.get("metrics", {}))
        budget = dict(state.budget.get("metrics", {}))
        top = list(state.variance.get("top", []))[:6]
        alerts = list(state.alerts)[:6]
        health = dict(state.health.get("counts", {}))
    lag = state.lag_summary()
    stats = state.stats
    in_progress = state.in_progress
    progress = state.progress
    header = Text.assemble(
        (f" {org_name} ", "bold white on blue"),
        f"  period {period}  ·  {phase}  ·  {elapsed:5.0f}s\n",
        (f"sent {stats.sent}", "bold"),
        f"  applied {health.get('applied', 0)}  duplicates {health.get('duplicate', 0)}"
        f"  stale {health.get('stale', 0)}  rejected {health.get('rejected', 0)}  ·  lag p50 ",
        (f"{lag.p50:,.0f} ms" if lag.p50 is not None else "–", "bold green"),
        "  p99 ",
        (f"{lag.p99:,.0f} ms" if lag.p99 is not None else "–", "bold yellow"),
        f" ({lag.measured} of {lag.applied} applied events)",
    )

    kpi_table = Table(title="Headline KPIs (consolidated)", expand=True, title_style="bold")
    budget_column = f"vs budget (day {progress.elapsed_days}/{progress.days})" if in_progress else "vs budget"
    for column in ("KPI", "Value", "vs prev", budget_column, "Trend"):
        kpi_table.add_column(column, justify="right" if column not in {"KPI", "Trend"} else "left")
    for line in PNL_LINES:
        kpi = kpis.get(line.metric_id)
        if not kpi:
            continue
        is_pct = line.is_percentage
        kpi_table.add_row(
            line.label,
            f"{kpi['value']:.1f}%" if is_pct and kpi.get("value") is not None else money(kpi.get("value")),
            percent(kpi.get("change"), points=True) if is_pct else percent(kpi.get("change_pct")),
            ""
            if is_pct
            else (
                vs_budget_to_date(kpi.get("value"), kpi.get("budget"), progress, _higher_is_better(line))
                if in_progress
                else percent(kpi.get("vs_budget_pct"))
            ),
            sparkline([p.get("value") for p in kpi.get("series", [])]),
        )

    burn, runway = runway_cells(cash)
    kpi_table.add_row("Net burn", burn, "", "", Text("13-week cash forecast", style="dim"))
    kpi_table.add_row("Runway", runway, "", "", Text(f"as of {cash.get('as_of') or '–'}", style="dim"))

    title = f"Consolidated P&L {period} (USD)" + (
        f", month in progress: day {progress.elapsed_days} of {progress.days}" if in_progress else ""
    )
    pnl = Table(title=title, expand=True, title_style="bold")
    for column in ("Line", "Actual", "Budget", "So far" if in_progress else "Variance"):
        pnl.add_column(column, justify="left" if column == "Line" else "right")
    for line in PNL_LINES:
        value, plan = actual.get(line.metric_id), budget.get(line.metric_id)
        if line.is_percentage:
            pnl.add_row(
                line.label,
                "–" if value is None else f"{value:.1f}%",
                "–" if plan is None else f"{plan:.1f}%",
                "–" if value is None or plan is None else percent(value - plan, points=True),
            )
        else:
            pnl.add_row(
                line.label,
                money(value),
                money(plan),
                vs_budget_to_date(value, plan, progress, _higher_is_better(line))
                if in_progress
                else ("–" if value is None or plan is None else money(int(value) - int(plan))),
            )

    # A month in progress is not judged against its whole budget (finance_core.progress): its lines
    # show the share of the month's budget booked and the variance against the budget to date.
    variance = Table(
        title="Budget booked so far (month in progress)" if in_progress else "Top budget variances",
        expand=True,
        title_style="bold",
    )
    for column in ("Account", "Actual", "Budget", "So far" if in_progress else "Var %", ""):
        variance.add_column(column, justify="left" if column == "Account" else "right")
    for line in top:
        verdict = (
            Text("")
            if in_progress
            else Text("▲ good" if line["favourable"] else "▼ bad", style="green" if line["favourable"] else "red")
        )
        variance.add_row(
            f"{line['account_id']} {line['account_name']}",
            money(line["actual_minor"]),
            money(line["comparison_minor"]),
            f"{share_of_budget(line['actual_minor'], line['comparison_minor'])}, "
            + vs_budget_to_date(
                line["actual_minor"], line["comparison_minor"], progress, line.get("account_type") in GOOD_WHEN_HIGHER
            )
            if in_progress
            else percent(line.get("variance_pct")),
            verdict,
        )

    alert_table = Table(title="Active alerts", expand=True, title_style="bold")
    alert_table.add_column("Severity")
    alert_table.add_column("Period")
    alert_table.add_column("Alert")
    alert_table.add_column("Count", justify="right")
    for alert in alerts:
        style = {"critical": "bold red", "warning": "yellow"}.get(alert.get("severity"), "cyan")
        title = str(alert.get("title"))
        likelihood = (alert.get("details") or {}).get("likelihood")
        if isinstance(likelihood, int | float):
            title += f" · likelihood {likelihood:.5f}"
        alert_table.add_row(
            Text(str(alert.get("severity")), style=style),
            str(alert.get("period") or ""),
            title,
            str(alert.get("count", 1)),
        )
    if not alerts:
        alert_table.add_row("", "", Text("no active alerts", style="dim"), "")

    layout = Layout()
    layout.split_column(Layout(Panel(header), size=4), Layout(name="body"))
    layout["body"].split_row(Layout(Group(kpi_table, alert_table)), Layout(Group(pnl, variance)))
    return layout
