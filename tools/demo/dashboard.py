"""The live terminal dashboard: Firestore listeners on KPIs, the consolidated P&L, variance, alerts, health."""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from rich.console import Group
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tools.demo.stream import FeedStats

SPARK = "▁▂▃▄▅▆▇█"
PNL_LINES = [
    ("revenue", "Revenue"),
    ("cogs", "Cost of goods sold"),
    ("gross_profit", "Gross profit"),
    ("gross_margin_pct", "Gross margin %"),
    ("opex", "Operating expenses"),
    ("ebitda", "EBITDA"),
    ("ebitda_margin_pct", "EBITDA margin %"),
    ("net_income", "Net income"),
    ("net_margin_pct", "Net margin %"),
]


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


def sparkline(values: list[Any]) -> str:
    """Unicode sparkline of a short series (None shown as a gap)."""
    numbers = [float(v) for v in values if v is not None]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    return "".join(" " if v is None else SPARK[int((float(v) - low) / span * (len(SPARK) - 1))] for v in values)


class DashboardState:
    """Latest documents seen by the listeners, and the measured end-to-end lag."""

    def __init__(self, stats: FeedStats):
        self.lock = threading.Lock()
        self.stats = stats
        self.kpis: dict[str, Any] = {}
        self.actual: dict[str, Any] = {}
        self.budget: dict[str, Any] = {}
        self.variance: dict[str, Any] = {}
        self.alerts: list[dict[str, Any]] = []
        self.health: dict[str, Any] = {}
        self.lags: deque[float] = deque(maxlen=2000)
        self.updates = 0

    def lag_summary(self) -> tuple[float | None, float | None, int]:
        """p50 and p99 of publish -> consolidated aggregate visible, in ms, and the sample size."""
        with self.lock:
            samples = sorted(self.lags)
        if not samples:
            return None, None, 0
        p99 = samples[min(len(samples) - 1, int(round(0.99 * (len(samples) - 1))))]
        return statistics.median(samples), p99, len(samples)


class LiveListeners:
    """Firestore on_snapshot listeners that keep a DashboardState current."""

    def __init__(self, db: firestore.Client, org_id: str, period: str, state: DashboardState):
        self.state = state
        org = db.collection("organizations").document(org_id)
        self._watches = [
            org.collection("kpis").document("current").on_snapshot(self._doc("kpis")),
            org.collection("aggregates").document(f"_all__{period}__actual").on_snapshot(self._actual),
            org.collection("aggregates").document(f"_all__{period}__budget").on_snapshot(self._doc("budget")),
            org.collection("variance").document(f"_all__{period}").on_snapshot(self._doc("variance")),
            org.collection("data_quality").document("current").on_snapshot(self._doc("health")),
            org.collection("alerts").where(filter=FieldFilter("status", "==", "active")).on_snapshot(self._alerts),
        ]

    def _doc(self, attribute: str):
        def callback(snapshots, changes, read_time):
            for snapshot in snapshots:
                with self.state.lock:
                    setattr(self.state, attribute, snapshot.to_dict() or {})
                    self.state.updates += 1

        return callback

    def _actual(self, snapshots, changes, read_time):
        seen_at = time.time()
        for snapshot in snapshots:
            doc = snapshot.to_dict() or {}
            with self.state.lock:
                self.state.actual = doc
                self.state.updates += 1
                published = self.state.stats.published_at.get(doc.get("last_event_id"))
                if published is not None:
                    self.state.lags.append((seen_at - published) * 1000)

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


def render(state: DashboardState, org_name: str, period: str, elapsed: float, phase: str) -> Layout:
    """One frame of the dashboard."""
    with state.lock:
        kpis = dict(state.kpis.get("kpis", {}))
        actual = dict(state.actual.get("metrics", {}))
        budget = dict(state.budget.get("metrics", {}))
        top = list(state.variance.get("top", []))[:6]
        alerts = list(state.alerts)[:6]
        health = dict(state.health.get("counts", {}))
    p50, p99, samples = state.lag_summary()
    stats = state.stats
    header = Text.assemble(
        (f" {org_name} ", "bold white on blue"),
        f"  period {period}  ·  {phase}  ·  {elapsed:5.0f}s\n",
        (f"sent {stats.sent}", "bold"),
        f"  applied {health.get('applied', 0)}  duplicates {health.get('duplicate', 0)}"
        f"  stale {health.get('stale', 0)}  rejected {health.get('rejected', 0)}  ·  lag p50 ",
        (f"{p50:.0f} ms" if p50 is not None else "–", "bold green"),
        "  p99 ",
        (f"{p99:.0f} ms" if p99 is not None else "–", "bold yellow"),
        f" ({samples} samples)",
    )

    kpi_table = Table(title="Headline KPIs (consolidated)", expand=True, title_style="bold")
    for column in ("KPI", "Value", "vs prev", "vs budget", "Trend"):
        kpi_table.add_column(column, justify="right" if column not in {"KPI", "Trend"} else "left")
    for name, label in PNL_LINES:
        kpi = kpis.get(name)
        if not kpi:
            continue
        is_pct = name.endswith("_pct")
        kpi_table.add_row(
            label,
            f"{kpi['value']:.1f}%" if is_pct and kpi.get("value") is not None else money(kpi.get("value")),
            percent(kpi.get("change"), points=True) if is_pct else percent(kpi.get("change_pct")),
            "" if is_pct else percent(kpi.get("vs_budget_pct")),
            sparkline([p.get("value") for p in kpi.get("series", [])]),
        )

    pnl = Table(title=f"Consolidated P&L {period} (USD)", expand=True, title_style="bold")
    for column in ("Line", "Actual", "Budget", "Variance"):
        pnl.add_column(column, justify="left" if column == "Line" else "right")
    for name, label in PNL_LINES:
        value, plan = actual.get(name), budget.get(name)
        if name.endswith("_pct"):
            pnl.add_row(
                label,
                "–" if value is None else f"{value:.1f}%",
                "–" if plan is None else f"{plan:.1f}%",
                "–" if value is None or plan is None else percent(value - plan, points=True),
            )
        else:
            pnl.add_row(
                label,
                money(value),
                money(plan),
                "–" if value is None or plan is None else money(int(value) - int(plan)),
            )

    variance = Table(title="Top budget variances", expand=True, title_style="bold")
    for column in ("Account", "Actual", "Budget", "Var %", ""):
        variance.add_column(column, justify="left" if column == "Account" else "right")
    for line in top:
        variance.add_row(
            f"{line['account_id']} {line['account_name']}",
            money(line["actual_minor"]),
            money(line["comparison_minor"]),
            percent(line.get("variance_pct")),
            Text("▲ good" if line["favourable"] else "▼ bad", style="green" if line["favourable"] else "red"),
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
