"""The monthly pack as data: P&L statements, KPIs, trends, top variances, alerts, data quality.

Pure (no Google import): built from the documents the dashboards read, so every figure is the
dashboard's. Amounts stay integer minor units of the reporting currency; percentages are the
4-decimal Decimals of the core. The renderers (PDF, XLSX, CSV) only format what is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from finance_core.accounts import AccountType, ChartOfAccounts, higher_is_favourable
from finance_core.export_text import display_name
from finance_core.identifiers import CONSOLIDATED_ENTITY
from finance_core.kpis import headline_kpis
from finance_core.metrics import STANDARD_BY_ID, linear_terms, standard_graph, totals_by_type
from finance_core.periods import add_months, kpi_period, period_range
from finance_core.progress import PeriodProgress, known_at, period_progress
from finance_core.trends import analyze_trend
from finance_core.variance import is_favourable, metric_higher_is_favourable, percent_change

from reports.formatting import amount

KPI_PERIODS = 6
TREND_PERIODS = 13
TREND_METRICS = ("revenue", "gross_profit", "ebitda", "net_income")
TOP_VARIANCES = 10

# The statement's order: a section lists the accounts of one type and ends with its total (the
# sum metric of that type); derived metrics follow the sections they combine.
LAYOUT: tuple[tuple[str, str], ...] = (
    ("section", "revenue"),
    ("section", "cogs"),
    ("derived", "gross_profit"),
    ("ratio", "gross_margin_pct"),
    ("section", "opex"),
    ("derived", "ebitda"),
    ("ratio", "ebitda_margin_pct"),
    ("section", "other_income"),
    ("section", "other_expense"),
    ("section", "tax"),
    ("derived", "net_income"),
    ("ratio", "net_margin_pct"),
)
SECTION_TYPES = {
    "revenue": AccountType.REVENUE,
    "cogs": AccountType.COGS,
    "opex": AccountType.OPEX,
    "other_income": AccountType.OTHER_INCOME,
    "other_expense": AccountType.OTHER_EXPENSE,
    "tax": AccountType.TAX,
}

Column = Literal["actual", "budget", "variance", "variance_pct", "prior_period", "prior_year"]
AMOUNT_COLUMNS: tuple[Column, ...] = ("actual", "budget", "variance", "prior_period", "prior_year")
LineKind = Literal["header", "account", "total", "derived", "ratio"]


class ReportProblem(Exception):
    """A pack that cannot be produced for a reason the requester can act on (code + readable message)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PackInputs:
    """What the pack is built from: documents as the dashboards read them."""

    org_id: str
    org_name: str
    period: str
    currency: str
    chart: ChartOfAccounts
    entities: Mapping[str, str]
    """entity_id -> name, in display order."""
    period_status: Mapping[str, str]
    aggregates: Mapping[tuple[str, str, str], Mapping[str, Any]]
    """(entity_id, period, scenario) -> readable aggregate document (absent keys: no data)."""
    variance: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """entity_id -> variance/{entity}__{period} document."""
    trends: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """metric -> trends/metric__{metric} document."""
    alerts: Sequence[Mapping[str, Any]] = ()
    data_quality: Mapping[str, Any] | None = None
    analytics_health: Mapping[str, Any] | None = None
    reconciliation: Mapping[str, Any] | None = None
    generated_at: datetime | None = None
    current_period: str | None = None
    """The org's current period, if set (finance_core.periods.kpi_period: the period in progress)."""
    cash_runway: Mapping[str, Any] | None = None
    """Burn and runway of the 13-week cash forecast (trends/cash__forecast.runway), None without a forecast."""

    @property
    def progress(self) -> PeriodProgress:
        """How far the pack's period is under the month-in-progress rule (finance_core.progress)."""
        today = (self.generated_at or datetime.now(UTC)).date()
        in_progress = kpi_period(self.current_period, self.period_status, today)
        return period_progress(self.period, in_progress, today)


@dataclass(frozen=True)
class Line:
    """One row of a statement. Amount columns are minor units; variance_pct a Decimal percent."""

    key: str
    label: str
    kind: LineKind
    level: int = 0
    account_id: str | None = None
    values: Mapping[str, int | Decimal | None] = field(default_factory=dict)
    favourable: bool | None = None
    terms: tuple[tuple[str, int], ...] = ()
    """(line key, sign) whose sum this line is (totals and derived metrics): XLSX formulas."""
    unit: Literal["minor", "percent"] = "minor"


@dataclass(frozen=True)
class Statement:
    """A P&L of one entity (or the consolidation) for the pack's period."""

    table_id: str
    title: str
    entity_id: str
    columns: tuple[Column, ...]
    lines: tuple[Line, ...]
    prior_period: str
    prior_year: str

    def line(self, key: str) -> Line:
        """The line with this key."""
        return next(line for line in self.lines if line.key == key)


@dataclass(frozen=True)
class KpiRow:
    """One headline KPI of the period (the same computation as kpis/current)."""

    metric: str
    label: str
    unit: Literal["minor", "percent"]
    value: int | Decimal | None
    previous: int | Decimal | None
    change: int | Decimal | None
    change_pct: Decimal | None
    budget: int | Decimal | None
    vs_budget_pct: Decimal | None


@dataclass(frozen=True)
class TrendRow:
    """One month of a metric's trend chart: actual and budget, or a forecast point with its band."""

    metric: str
    period: str
    kind: Literal["actual", "forecast"]
    actual: int | None = None
    budget: int | None = None
    forecast: int | None = None
    lower: int | None = None
    upper: int | None = None
    partial: bool = False
    """An actual of the period in progress: drawn as "so far", never fitted on."""


@dataclass(frozen=True)
class VarianceRow:
    """A line of a stored variance document's top list (actual vs budget)."""

    entity_id: str
    account_id: str
    account_name: str
    actual: int
    budget: int
    variance: int
    variance_pct: Decimal | None
    favourable: bool


@dataclass(frozen=True)
class AlertRow:
    """An alert or anomaly of the period."""

    severity: str
    status: str
    title: str
    entity_id: str
    rule_type: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class Pack:
    """Everything the renderers show."""

    org_id: str
    org_name: str
    period: str
    currency: str
    period_status: str
    generated_at: datetime | None
    statements: tuple[Statement, ...]
    kpis: tuple[KpiRow, ...]
    trends: tuple[TrendRow, ...]
    trend_computed_at: Mapping[str, Any]
    top_variances: tuple[VarianceRow, ...]
    alerts: tuple[AlertRow, ...]
    data_quality: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    cash: tuple[tuple[str, str], ...] = ()
    """(item, value) lines of burn and runway (build_cash)."""

    @property
    def anomalies(self) -> tuple[AlertRow, ...]:
        """Alerts raised by anomaly rules."""
        return tuple(a for a in self.alerts if a.rule_type == "anomaly")


# --------------------------------------------------------------------------------- building


def _is_percentage(metric: str) -> bool:
    spec = STANDARD_BY_ID.get(metric)
    return spec is not None and spec.is_percentage


def _exact(value: Any) -> int | Decimal | None:
    """A stored metric back to an exact value (percentages are floats in Firestore)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return Decimal(str(value))


def _metrics_of(doc: Mapping[str, Any] | None, chart: ChartOfAccounts) -> dict[str, int | Decimal | None]:
    """The aggregate's stored metrics, completed from its accounts where a metric is not stored."""
    if doc is None:
        return {}
    stored = {k: _exact(v) for k, v in (doc.get("metrics") or {}).items()}
    leaves = {a: int(v) for a, v in (doc.get("accounts") or {}).items() if a in chart}
    computed = standard_graph().evaluate(totals_by_type(leaves, {a: chart.type_of(a) for a in leaves}))
    return {**computed, **{k: v for k, v in stored.items() if k in computed or v is not None}}


def _account_values(doc: Mapping[str, Any] | None) -> dict[str, int]:
    if doc is None:
        return {}
    return {
        **{a: int(v) for a, v in (doc.get("rollups") or {}).items()},
        **{a: int(v) for a, v in (doc.get("accounts") or {}).items()},
    }


def _section_accounts(chart: ChartOfAccounts, account_type: AccountType) -> list[tuple[str, int]]:
    """(account_id, depth) of the accounts of one type in tree order (children under their parent)."""
    members = {a.account_id for a in chart if a.type == account_type}
    roots = sorted(a for a in members if chart.get(a).parent_id not in members)
    ordered: list[tuple[str, int]] = []

    def walk(account_id: str, depth: int) -> None:
        ordered.append((account_id, depth))
        for child in sorted(c for c in chart.children(account_id) if c in members):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    # A single summary account over the whole section repeats the section total: leave it out.
    if len(roots) == 1 and not chart.is_leaf(roots[0]):
        ordered = [(a, d - 1) for a, d in ordered if a != roots[0]]
    return ordered


def _variance_fields(
    actual: int | Decimal | None, budget: int | Decimal | None, higher_is_better: bool, points: bool
) -> tuple[int | Decimal | None, Decimal | None, bool | None]:
    if actual is None or budget is None:
        return None, None, None
    if points:
        difference = (Decimal(actual) - Decimal(budget)).quantize(Decimal("0.0001"))
        return difference, None, is_favourable(difference, higher_is_better)
    variance = int(actual) - int(budget)
    return variance, percent_change(int(actual), int(budget)), is_favourable(variance, higher_is_better)


def build_statement(inputs: PackInputs, entity_id: str, title: str) -> Statement:
    """The P&L of one entity: accounts by section, section totals, derived metrics and margins."""
    period = inputs.period
    sources = {
        "actual": (period, "actual"),
        "budget": (period, "budget"),
        "prior_period": (add_months(period, -1), "actual"),
        "prior_year": (add_months(period, -12), "actual"),
    }
    docs = {column: inputs.aggregates.get((entity_id, p, s)) for column, (p, s) in sources.items()}
    columns: list[Column] = ["actual", "budget", "variance", "variance_pct"]
    columns += [c for c in ("prior_period", "prior_year") if docs[c] is not None]
    accounts = {column: _account_values(doc) for column, doc in docs.items()}
    metrics = {column: _metrics_of(doc, inputs.chart) for column, doc in docs.items()}
    present = {column: doc is not None for column, doc in docs.items()}
    chart = inputs.chart
    lines: list[Line] = []
    progress = inputs.progress

    def values(get: Any) -> dict[str, int | Decimal | None]:
        return {column: (get(column) if present[column] else None) for column in sources}

    def add(
        key: str,
        label: str,
        kind: LineKind,
        vals: dict[str, Any],
        higher: bool,
        *,
        level: int = 0,
        account_id: str | None = None,
        terms: tuple[tuple[str, int], ...] = (),
        points: bool = False,
    ) -> None:
        # The month in progress (finance_core.progress): a flow is judged against its budget to date;
        # the budget column keeps the whole month's plan, so the statement still adds up.
        plan = vals["budget"] if points or vals["budget"] is None else progress.to_date(int(vals["budget"]))
        variance, variance_pct, favourable = _variance_fields(vals["actual"], plan, higher, points)
        lines.append(
            Line(
                key,
                label,
                kind,
                level,
                account_id,
                {**vals, "variance": variance, "variance_pct": variance_pct},
                favourable,
                terms,
                "percent" if points else "minor",
            )
        )

    for kind, name in LAYOUT:
        definition = STANDARD_BY_ID[name]
        if kind == "section":
            account_type = SECTION_TYPES[name]
            section = _section_accounts(chart, account_type)
            if not section:
                continue
            lines.append(Line(f"header:{name}", definition.label, "header"))
            leaves = []
            for account_id, depth in section:
                account = chart.get(account_id)
                terms = tuple(
                    (f"account:{child}", chart.rollup_sign(child, account_id))
                    for child in sorted(chart.children(account_id))
                )
                if chart.is_leaf(account_id):
                    leaves.append(f"account:{account_id}")
                add(
                    f"account:{account_id}",
                    display_name(account.name),
                    "account",
                    values(lambda c, a=account_id: accounts[c].get(a, 0)),
                    higher_is_favourable(account_type),
                    level=depth + 1,
                    account_id=account_id,
                    terms=terms,
                )
            add(
                f"metric:{name}",
                f"Total {definition.label[0].lower()}{definition.label[1:]}",
                "total",
                values(lambda c, m=name: metrics[c].get(m)),
                metric_higher_is_favourable(definition),
                terms=tuple((leaf, 1) for leaf in leaves),
            )
        elif kind == "derived":
            terms = tuple((f"metric:{source}", weight) for source, weight in (linear_terms(definition) or {}).items())
            if not all(any(line.key == key for line in lines) for key, _ in terms):
                continue
            add(
                f"metric:{name}",
                definition.label,
                "derived",
                values(lambda c, m=name: metrics[c].get(m)),
                metric_higher_is_favourable(definition),
                terms=terms,
            )
        else:
            add(
                f"metric:{name}",
                definition.label,
                "ratio",
                values(lambda c, m=name: metrics[c].get(m)),
                metric_higher_is_favourable(definition),
                points=True,
            )
    return Statement(
        f"pnl__{entity_id}",
        title,
        entity_id,
        tuple(columns),
        tuple(lines),
        sources["prior_period"][0],
        sources["prior_year"][0],
    )


def check_totals(statement: Statement) -> list[str]:
    """Lines whose value is not the signed sum of their terms (empty when the statement adds up)."""
    problems = []
    for line in statement.lines:
        if not line.terms:
            continue
        for column in ("actual", "budget", "prior_period", "prior_year"):
            value = line.values.get(column)
            if value is None:
                continue
            parts = [statement.line(key).values.get(column) for key, _ in line.terms]
            total = sum(int(part or 0) * sign for part, (_, sign) in zip(parts, line.terms, strict=True))
            if total != value:
                problems.append(
                    f"{statement.title}: {line.label} ({column}) is {value} but its lines add up to {total}"
                )
    return problems


def build_kpis(inputs: PackInputs) -> tuple[KpiRow, ...]:
    """Headline KPIs of the pack's period with the core's computation (as kpis/current does it)."""
    periods = [add_months(inputs.period, -i) for i in reversed(range(KPI_PERIODS))]
    series = [
        (p, _metrics_of(inputs.aggregates.get((CONSOLIDATED_ENTITY, p, "actual")), inputs.chart) or None)
        for p in periods
    ]
    budget = _metrics_of(inputs.aggregates.get((CONSOLIDATED_ENTITY, inputs.period, "budget")), inputs.chart) or None
    progress = inputs.progress
    if progress.is_partial:
        # Flows of the month in progress against the budget and the previous month to date.
        budget = _to_date(budget, progress)
        series[-2] = (series[-2][0], _to_date(series[-2][1], progress))
    rows = []
    for kpi in headline_kpis(series, budget):
        rows.append(
            KpiRow(
                kpi.metric,
                STANDARD_BY_ID[kpi.metric].label,
                "percent" if STANDARD_BY_ID[kpi.metric].is_percentage else "minor",
                kpi.value,
                kpi.previous,
                kpi.change,
                kpi.change_pct,
                kpi.budget,
                kpi.vs_budget_pct,
            )
        )
    return tuple(rows)


def _to_date(
    metrics: Mapping[str, int | Decimal | None] | None, progress: PeriodProgress
) -> dict[str, int | Decimal | None] | None:
    """Money metrics pro-rated to the days elapsed (percentages are ratios: compared as they are)."""
    if metrics is None:
        return None
    return {m: v if _is_percentage(m) or v is None else progress.to_date(int(v)) for m, v in metrics.items()}


def build_trends(inputs: PackInputs) -> tuple[tuple[TrendRow, ...], dict[str, Any]]:
    """Actual and budget of the last 13 months per trend metric, then the forecast as it stood at the period.

    The month in progress is an actual "so far" (`partial`), never fitted on. The stored trend
    forecast is used when it was fitted on complete months up to the pack's period exactly; a pack
    of an earlier period (or one whose stored trend is older) fits its own forecast on the complete
    months it shows, so no later data reaches it (finance_core.progress, rules 4 and 5).
    """
    rows: list[TrendRow] = []
    computed_at: dict[str, Any] = {}
    progress = inputs.progress
    periods = period_range(add_months(inputs.period, -(TREND_PERIODS - 1)), inputs.period)
    for metric in TREND_METRICS:
        history: list[tuple[str, int]] = []
        for period in periods:
            actual = inputs.aggregates.get((CONSOLIDATED_ENTITY, period, "actual"))
            budget = inputs.aggregates.get((CONSOLIDATED_ENTITY, period, "budget"))
            if actual is None and budget is None:
                continue
            a = _metrics_of(actual, inputs.chart).get(metric)
            b = _metrics_of(budget, inputs.chart).get(metric)
            partial = period == inputs.period and progress.is_partial
            rows.append(
                TrendRow(
                    metric,
                    period,
                    "actual",
                    None if a is None else int(a),
                    None if b is None else int(b),
                    partial=partial,
                )
            )
            if a is not None and not partial:
                history.append((period, int(a)))
        fitted_through = inputs.period if not progress.is_partial else add_months(inputs.period, -1)
        trend = inputs.trends.get(metric) or {}
        stored = [p for p in trend.get("series") or () if isinstance(p, Mapping)]
        if trend and stored and str(stored[-1].get("period")) == fitted_through:
            forecast = [
                (str(p["period"]), int(p["value_minor"]), _int(p.get("lower_minor")), _int(p.get("upper_minor")))
                for p in trend.get("forecast") or ()
            ]
            computed_at[metric] = trend.get("computed_at")
        else:
            forecast = _forecast_known_at(history, fitted_through)
            if forecast:
                computed_at[metric] = f"fitted on the months up to {fitted_through} for this pack"
        for period, value, lower, upper in forecast:
            if period in periods:
                continue  # a month the pack shows as actual: the forecast starts after it
            rows.append(TrendRow(metric, period, "forecast", forecast=value, lower=lower, upper=upper))
    return tuple(rows), computed_at


def _forecast_known_at(
    history: Sequence[tuple[str, int]], fitted_through: str
) -> list[tuple[str, int, int | None, int | None]]:
    """A 3-month forecast fitted on the consecutive complete months up to `fitted_through`, nothing later."""
    known = [(p, v) for p, v in history if p in known_at([p for p, _ in history], fitted_through)]
    run: list[tuple[str, int]] = []
    for period, value in reversed(known):
        if run and add_months(period, 1) != run[0][0]:
            break
        run.insert(0, (period, value))
    if not run or run[-1][0] != fitted_through:
        return []
    trend = analyze_trend(run, horizon=3)
    return [
        (point.period, int(point.value_minor), _int(point.lower_minor), _int(point.upper_minor))
        for point in trend.forecast
    ]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def build_top_variances(inputs: PackInputs, entity_ids: Sequence[str]) -> tuple[VarianceRow, ...]:
    """The stored top variances (vs budget) of each statement's entity, as the dashboard lists them."""
    rows = []
    for entity_id in entity_ids:
        document = inputs.variance.get(entity_id) or {}
        top = (document.get("vs_budget") or {}).get("top") or document.get("top") or []
        for line in top[:TOP_VARIANCES]:
            rows.append(
                VarianceRow(
                    entity_id,
                    str(line["account_id"]),
                    display_name(line.get("account_name", "")),
                    int(line["actual_minor"]),
                    int(line["comparison_minor"]),
                    int(line["variance_minor"]),
                    _exact(line.get("variance_pct")),  # type: ignore[arg-type]
                    bool(line.get("favourable")),
                )
            )
    return tuple(rows)


SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def build_alerts(alerts: Sequence[Mapping[str, Any]]) -> tuple[AlertRow, ...]:
    """The period's alerts, most severe first, then most recent."""
    rows = [
        AlertRow(
            str(a.get("severity", "info")),
            str(a.get("status", "")),
            display_name(a.get("title", ""), limit=500),
            str(a.get("entity_id") or CONSOLIDATED_ENTITY),
            str(a.get("rule_type", "")),
            int(a.get("count", 1) or 1),
            a.get("first_seen"),
            a.get("last_seen"),
        )
        for a in alerts
    ]
    latest_first = sorted(rows, key=lambda r: r.last_seen.timestamp() if r.last_seen else 0.0, reverse=True)
    return tuple(sorted(latest_first, key=lambda r: SEVERITY_ORDER.get(r.severity, 3)))


def _when(value: Any) -> str:
    if value is None:
        return "never"
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else str(value)


def build_cash(inputs: PackInputs) -> tuple[tuple[str, str], ...]:
    """(item, value) lines of net burn and runway: the 13-week cash forecast's, as kpis/current shows them
    (finance_core.cash.CashRunway, docs/kpis.md "Burn and runway").

    The forecast is live (fitted up to the week before its date): it is the pack's only for the month in
    progress. A pack of an earlier month says so instead of showing a forecast fitted on later data.
    """
    today = (inputs.generated_at or datetime.now(UTC)).date()
    in_progress = kpi_period(inputs.current_period, inputs.period_status, today)
    if inputs.period != in_progress:
        return (
            (
                "Net burn and runway",
                f"from the live 13-week cash forecast: shown in the pack of the month in progress ({in_progress})",
            ),
        )
    runway = inputs.cash_runway or {}
    status = runway.get("status") or "no_cash_accounts"
    if status == "no_cash_accounts":
        return (("Net burn and runway", "no cash forecast: the chart tags no account 'cash'"),)
    if status == "no_history":
        return (("Net burn and runway", "no complete week of dated cash movements yet"),)
    basis = ("Basis", f"13-week cash forecast as of {runway.get('as_of')}: {runway.get('definition')}")
    cash = ("Cash on hand", amount(runway.get("cash_minor"), inputs.currency))
    if status == "not_burning":
        return (
            ("Net burn", "not burning (the forecast holds or grows the cash)"),
            ("Runway", "not burning"),
            cash,
            basis,
        )
    return (
        (
            "Net burn",
            f"{amount(runway.get('burn_monthly_minor'), inputs.currency)} a month "
            f"({amount(runway.get('burn_weekly_minor'), inputs.currency)} a week)",
        ),
        ("Runway", f"{runway.get('runway_months')} months ({runway.get('runway_weeks')} weeks)"),
        cash,
        basis,
    )


def build_data_quality(inputs: PackInputs) -> tuple[tuple[str, str], ...]:
    """(label, value) lines of the data-quality footnote: inputs accepted and rejected, sinks, reconciliation."""
    dq = inputs.data_quality or {}
    counts = dq.get("counts") or {}
    lines = [
        ("Events applied", str(int(counts.get("applied", 0)))),
        ("Duplicates ignored", str(int(counts.get("duplicate", 0)))),
        ("Stale versions ignored", str(int(counts.get("stale", 0)))),
        ("Rejected inputs", str(int(counts.get("rejected", 0)))),
    ]
    reasons = dq.get("rejected_by_reason") or {}
    if reasons:
        lines.append(("Rejected by reason", ", ".join(f"{code} {int(n)}" for code, n in sorted(reasons.items()))))
    lines.append(("Last event received", _when(dq.get("last_event_at"))))
    health = inputs.analytics_health or {}
    if health:
        lines.append(
            ("Changes parked for BigQuery", str(int(health.get("parked", health.get("dead_letters", 0)) or 0)))
        )
    reconciliation = inputs.reconciliation
    if reconciliation:
        outcome = reconciliation.get("skipped") or (
            f"{int(reconciliation.get('keys_checked', 0))} aggregates checked, "
            f"{int(reconciliation.get('repaired', 0))} repaired"
        )
        lines.append(("Last reconciliation", f"{_when(reconciliation.get('last_run_at'))}: {outcome}"))
    else:
        lines.append(("Last reconciliation", "none recorded yet"))
    return tuple(lines)


def has_figures(doc: Mapping[str, Any] | None) -> bool:
    """True for an aggregate that holds at least one live record."""
    return doc is not None and int(doc.get("record_count", 0) or 0) > 0


def check_reportable(inputs: PackInputs) -> None:
    """ReportProblem when the period has nothing to report (the requester gets the reason, not an empty file)."""
    consolidated_actual = inputs.aggregates.get((CONSOLIDATED_ENTITY, inputs.period, "actual"))
    if has_figures(consolidated_actual):
        return
    status = inputs.period_status.get(inputs.period)
    where = f"organization {inputs.org_id!r}"
    budget = has_figures(inputs.aggregates.get((CONSOLIDATED_ENTITY, inputs.period, "budget")))
    loaded = " (only its budget is loaded)" if budget else ""
    if status is None:
        raise ReportProblem(
            "unknown_period",
            f"period {inputs.period} is not set up in {where} and has no actual "
            f"figures{loaded}: choose a period with data",
        )
    if status == "closed":
        raise ReportProblem(
            "closed_without_data",
            f"period {inputs.period} of {where} is closed but has no actual "
            f"figures{loaded}: its pack would be empty, so none was made",
        )
    raise ReportProblem(
        "no_data",
        f"period {inputs.period} of {where} has no actual figures yet{loaded}: "
        "request the pack once its records are loaded",
    )


def build_pack(inputs: PackInputs) -> Pack:
    """The whole pack; ReportProblem when there is nothing to report."""
    check_reportable(inputs)
    notes: list[str] = []
    statements = [build_statement(inputs, CONSOLIDATED_ENTITY, "Consolidated P&L")]
    # Names come from documents an admin writes: every renderer gets them neutralised (export_text).
    for entity_id, name in ((e, display_name(n)) for e, n in inputs.entities.items()):
        if any(has_figures(inputs.aggregates.get((entity_id, inputs.period, s))) for s in ("actual", "budget")):
            statements.append(build_statement(inputs, entity_id, f"P&L {name}"))
        else:
            notes.append(f"{name} ({entity_id}) has no figures for {inputs.period}: no statement.")
    for statement in statements:
        if "prior_year" not in statement.columns:
            notes.append(f"{statement.title}: no actuals for {statement.prior_year}, so no prior-year column.")
        problems = check_totals(statement)
        notes.extend(problems)
    if not has_figures(inputs.aggregates.get((CONSOLIDATED_ENTITY, inputs.period, "budget"))):
        notes.append(f"No budget is loaded for {inputs.period}: variances are empty.")
    trends, computed_at = build_trends(inputs)
    status = display_name(inputs.period_status.get(inputs.period, "open"), limit=40)
    if status != "closed":
        notes.append(f"Period {inputs.period} is open: figures may still change.")
    progress = inputs.progress
    if progress.is_partial:
        notes.append(
            f"{inputs.period} is the month in progress (day {progress.elapsed_days} of {progress.days}): its figures "
            "are so far; variances and the KPIs compare them with the budget and the previous month pro-rated to "
            "date, and the trend forecast is fitted on the complete months before it."
        )
    return Pack(
        org_id=inputs.org_id,
        org_name=display_name(inputs.org_name),
        period=inputs.period,
        currency=inputs.currency,
        period_status=status,
        generated_at=inputs.generated_at,
        statements=tuple(statements),
        kpis=build_kpis(inputs),
        trends=trends,
        trend_computed_at=computed_at,
        top_variances=build_top_variances(inputs, [s.entity_id for s in statements]),
        alerts=build_alerts(inputs.alerts),
        data_quality=build_data_quality(inputs),
        notes=tuple(notes),
        cash=build_cash(inputs),
    )


def aggregate_keys(period: str, entity_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """Every aggregate the pack reads: the statements' four columns per entity, the KPI and trend months."""
    keys = {
        (CONSOLIDATED_ENTITY, p, s)
        for p in period_range(add_months(period, -(TREND_PERIODS - 1)), period)
        for s in ("actual", "budget")
    }
    for entity_id in (CONSOLIDATED_ENTITY, *entity_ids):
        keys |= {
            (entity_id, period, "actual"),
            (entity_id, period, "budget"),
            (entity_id, add_months(period, -1), "actual"),
            (entity_id, add_months(period, -12), "actual"),
        }
    return sorted(keys)
