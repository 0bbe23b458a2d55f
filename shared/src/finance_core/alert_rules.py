"""Alert rules as data (absolute, variance, trend, anomaly, forecast) and their pure evaluation."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from finance_core.accounts import AccountType, higher_is_favourable
from finance_core.anomaly import (
    DEFAULT_SEASON_LENGTH,
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    MIN_HISTORY,
    STREAMING_THRESHOLD,
    AnomalyPoint,
    EpisodeState,
    score_latest,
)
from finance_core.cash import FORECAST_KPIS
from finance_core.events import Scenario
from finance_core.identifiers import CONSOLIDATED_ENTITY, identifier_problem
from finance_core.metric_series import BUILTIN_IDS, QUANTUM, Unit
from finance_core.metrics import PERCENT_QUANTUM, STANDARD_BY_ID
from finance_core.money import format_minor
from finance_core.periods import months_between, parse_period
from finance_core.trends import DEFAULT_HORIZON, TrendPattern, analyze_trend, linear_fit
from finance_core.variance import is_favourable, metric_higher_is_favourable, percent_change

FINGERPRINT_VERSION = 1
FINGERPRINT_LENGTH = 32
METRIC_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

MetricValue = int | Decimal
Measured = int | Decimal | float | None


class Severity(StrEnum):
    """How loud an alert is; only critical alerts escalate."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class RuleError(ValueError):
    """A rule document that is not a valid rule; the message says which field and why."""


def _identifier(value: Any, name: str) -> Any:
    problem = identifier_problem(value, name)
    if problem:
        raise ValueError(problem)
    return value


class AlertTarget(BaseModel):
    """What a rule watches: one metric or one account of one entity (or '_all', the consolidation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity_id: str = Field(default=CONSOLIDATED_ENTITY, description="Entity id, or '_all' for the consolidation.")
    metric: str | None = Field(default=None, pattern=METRIC_NAME_PATTERN, description="Derived metric, e.g. 'ebitda'.")
    account_id: str | None = Field(default=None, description="Account of the chart, e.g. '6100'.")
    scenario: Scenario = Field(default=Scenario.ACTUAL, description="Scenario whose figures are watched.")

    @field_validator("entity_id", mode="before")
    @classmethod
    def _entity(cls, value: Any) -> Any:
        return value if value == CONSOLIDATED_ENTITY else _identifier(value, "entity_id")

    @field_validator("account_id", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        return value if value is None else _identifier(value, "account_id")

    @model_validator(mode="after")
    def _one_subject(self) -> AlertTarget:
        if (self.metric is None) == (self.account_id is None):
            raise ValueError("a target names exactly one of 'metric' or 'account_id'")
        return self

    @property
    def subject(self) -> str:
        """'metric:ebitda' or 'account:6100'."""
        return f"metric:{self.metric}" if self.metric is not None else f"account:{self.account_id}"

    @property
    def is_defined(self) -> bool:
        """True for a metric the org defines (metric_definitions), whose unit only its definition knows."""
        return self.metric is not None and self.metric not in BUILTIN_IDS

    @property
    def is_percentage(self) -> bool:
        """True for a percentage metric (the margins), whose values and thresholds are percentages, not money.

        A standard metric says so by its unit; an org's own metric whose unit is not known here is
        taken as one when its id ends in _pct.
        """
        if self.metric is None:
            return False
        standard = STANDARD_BY_ID.get(self.metric)
        return standard.is_percentage if standard is not None else self.metric.endswith("_pct")


ChannelId = Annotated[str, Field(min_length=1, max_length=128)]


class Escalation(BaseModel):
    """Who hears about a critical alert nobody acknowledges: level n notifies channels[n - 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: tuple[ChannelId, ...] = Field(min_length=1, description="Channel ids for escalation levels 1..n.")
    escalate_after_seconds: int = Field(default=3600, ge=1, description="Unacknowledged time before each level.")

    @field_validator("channels", mode="after")
    @classmethod
    def _channel_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for channel in value:
            _identifier(channel, "channel id")
        return value


class _RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str = Field(description="Stable id of the rule (its Firestore document id).")
    name: str = Field(min_length=1, max_length=200, description="Readable name shown in notifications.")
    severity: Severity = Severity.WARNING
    target: AlertTarget
    cooldown_seconds: int = Field(default=3600, ge=0, description="No re-notification of an alert within this time.")
    channels: tuple[ChannelId, ...] = Field(default=(), description="Channel ids notified when the alert fires.")
    escalation: Escalation | None = None
    enabled: bool = True

    @field_validator("rule_id", mode="before")
    @classmethod
    def _rule_id(cls, value: Any) -> Any:
        return _identifier(value, "rule_id")

    @field_validator("channels", mode="after")
    @classmethod
    def _channel_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for channel in value:
            _identifier(channel, "channel id")
        return value

    @model_validator(mode="after")
    def _forecast_metric(self) -> _RuleBase:
        # Burn and runway are one live figure of the consolidated 13-week cash forecast
        # (finance_core.cash.CashRunway): no month of their own, no budget, no history to judge.
        metric = self.target.metric
        if metric in FORECAST_KPIS:
            kind = getattr(self, "type", "")
            if kind != "absolute":
                raise ValueError(
                    f"{metric} is the live figure of the 13-week cash forecast (one value, no monthly "
                    f"history or budget): only an 'absolute' rule (above / below a threshold) can watch it, "
                    f"not a {kind!r} rule"
                )
            if self.target.entity_id != CONSOLIDATED_ENTITY or self.target.scenario is not Scenario.ACTUAL:
                raise ValueError(
                    f"{metric} comes from the consolidated cash forecast: its target is entity_id "
                    f"{CONSOLIDATED_ENTITY!r}, scenario 'actual'"
                )
        return self


StrictMinor = Annotated[int, Field(strict=True)]


def _exact_threshold(value: Any) -> Any:
    # A float is not exact (1.1 is 1.100000000000000088...): a threshold in a metric's own unit is
    # a decimal string (or an integer), read as an exact Decimal.
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f'give an exact decimal string such as "1.5", not the number {value!r}')
    if isinstance(value, str | int | Decimal):
        try:
            exact = Decimal(str(value).strip())
        except ArithmeticError:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not exact.is_finite():
            raise ValueError(f"{value!r} is not a finite decimal number")
        return exact
    return value


ExactThreshold = Annotated[Decimal, Field(description="Threshold in a defined metric's own unit (decimal string).")]
THRESHOLD_FIELDS = ("threshold_minor", "threshold_pct", "threshold")


def _one_threshold(rule: AbsoluteRule | ForecastRule) -> None:
    """Exactly one threshold field; built-in metrics and accounts keep their fixed units (checked here).

    A defined metric's unit lives in its definition, so its threshold is checked against the
    definition when the rule is evaluated (definition_problem)."""
    given = [name for name in THRESHOLD_FIELDS if getattr(rule, name, None) is not None]
    if len(given) != 1:
        raise ValueError(
            "give exactly one of threshold_minor (money, integer minor units), threshold_pct (*_pct metrics) "
            'or threshold (a defined metric of unit ratio, days, months, count or percent, e.g. "1.5")'
        )
    target = rule.target
    if target.is_defined:
        return
    if target.is_percentage:
        if given != ["threshold_pct"]:
            raise ValueError(f"metric {target.metric!r} is a percentage: give threshold_pct, not {given[0]}")
    elif given != ["threshold_minor"]:
        raise ValueError(f"a money target needs threshold_minor (integer minor units), not {given[0]}")


class AbsoluteRule(_RuleBase):
    """Fires when the value is strictly above / below a threshold.

    The threshold is in the target's unit: threshold_minor for money, threshold_pct for *_pct
    metrics, threshold (an exact decimal string) for a defined metric of any other unit."""

    type: Literal["absolute"] = "absolute"
    direction: Literal["above", "below"]
    threshold_minor: StrictMinor | None = None
    threshold_pct: Decimal | None = None
    threshold: ExactThreshold | None = None

    _exact = field_validator("threshold", mode="before")(_exact_threshold)

    @model_validator(mode="after")
    def _threshold_matches_unit(self) -> AbsoluteRule:
        _one_threshold(self)
        return self


class VarianceRule(_RuleBase):
    """Fires when actual differs from the comparison scenario by more than threshold_pct percent.

    For *_pct metrics the threshold is in percentage points (margin 37.0 vs plan 40.0 is 3 points).
    """

    type: Literal["variance"] = "variance"
    threshold_pct: Decimal = Field(gt=0)
    direction: Literal["unfavourable", "favourable", "any"] = "unfavourable"
    comparison_scenario: Literal[Scenario.BUDGET, Scenario.FORECAST] = Scenario.BUDGET


class TrendRule(_RuleBase):
    """Fires on a sustained move.

    mode 'consecutive': the last `periods` period-over-period changes all go in `direction`.
    mode 'slope': the least-squares slope over the last `periods` periods has the sign of
    `direction` and the line explains at least `min_r_squared` of the variance.
    """

    type: Literal["trend"] = "trend"
    direction: Literal["decline", "increase"]
    mode: Literal["consecutive", "slope"] = "consecutive"
    periods: int = Field(default=3, ge=1, le=120)
    min_r_squared: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _slope_window(self) -> TrendRule:
        if self.mode == "slope" and self.periods < 3:
            raise ValueError("a slope needs periods >= 3")
        return self


# A daily series has a weekly season (weekdays and weekends differ).
DAYS_PER_WEEK = 7


class AnomalyRule(_RuleBase):
    """Fires when the current period is an anomaly of the target's own history (finance_core.anomaly).

    `threshold` is a likelihood: 0.999 fires on a period rarer than one in a thousand under the
    target's own predictive distribution, which means the same on every account. A change of
    level fires once, in the period it happens; later periods are judged against the new level.

    With `grain` 'day' the rule watches the target's daily values (records with a booking date)
    through the streaming detector (finance_core.daily_anomaly): its threshold is then the
    detector's per-season likelihood (default STREAMING_THRESHOLD), its season a week.
    """

    type: Literal["anomaly"] = "anomaly"
    grain: Literal["month", "day"] = Field(
        default="month", description="'month': the monthly figures; 'day': the daily values of dated records."
    )
    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        gt=0,
        lt=1,
        description="Likelihood in (0, 1) at which a period is an anomaly (a number >= 1 is a legacy z-score).",
    )
    window: int = Field(default=DEFAULT_WINDOW, ge=2, le=120, description="Periods of the robust baseline.")
    season_length: int = Field(default=DEFAULT_SEASON_LENGTH, ge=2, le=52, description="Periods per season.")
    direction: Literal["any", "spike", "drop"] = "any"

    @model_validator(mode="before")
    @classmethod
    def _daily_defaults(cls, data: Any) -> Any:
        # The daily detector is calibrated per season (a week of days): its own default threshold.
        if isinstance(data, Mapping) and data.get("grain") == "day":
            data = dict(data)
            data.setdefault("threshold", STREAMING_THRESHOLD)
            data.setdefault("season_length", DAYS_PER_WEEK)
        return data

    @model_validator(mode="after")
    def _daily_money(self) -> AnomalyRule:
        if self.grain == "day" and (self.target.is_defined or self.target.is_percentage):
            raise ValueError(
                "a daily anomaly rule watches an account or a built-in money metric (a day's value is the sum "
                f"of its dated records), not {self.target.metric!r}"
            )
        return self

    @field_validator("threshold", mode="before")
    @classmethod
    def _legacy_z_score(cls, value: Any) -> Any:
        # Rules written before likelihoods gave a robust z-score (3.5): read it as the two-sided
        # normal likelihood of that z (3.5 -> 0.99953), so stored rules keep their meaning.
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 1:
            return math.erf(value / math.sqrt(2.0))
        return value


class ForecastRule(_RuleBase):
    """Predictive: fires when the trend forecast crosses the threshold within `horizon_periods`.

    Money targets give threshold_minor; a defined metric of another unit gives threshold in its
    own unit (forecast on the metric's quantum, compared exactly)."""

    type: Literal["forecast"] = "forecast"
    direction: Literal["above", "below"]
    threshold_minor: StrictMinor | None = None
    threshold: ExactThreshold | None = None
    horizon_periods: int = Field(default=DEFAULT_HORIZON, ge=1, le=DEFAULT_HORIZON)

    _exact = field_validator("threshold", mode="before")(_exact_threshold)

    @model_validator(mode="after")
    def _money_target(self) -> ForecastRule:
        if self.target.is_percentage and not self.target.is_defined:
            raise ValueError("forecast rules watch money: forecasts are integer minor units, not percentages")
        _one_threshold(self)
        return self


AlertRule = Annotated[AbsoluteRule | VarianceRule | TrendRule | AnomalyRule | ForecastRule, Field(discriminator="type")]
_RULE_ADAPTER: TypeAdapter[AlertRule] = TypeAdapter(AlertRule)

# Rules about one period's number are scoped to that period: October over budget and November
# over budget are two facts to acknowledge. Trend and forecast conditions span periods, so the
# same condition persisting into the next month stays one alert.
PERIOD_SCOPED_TYPES = frozenset({"absolute", "variance", "anomaly"})


def parse_rule(data: Mapping[str, Any]) -> AlertRule:
    """Validate a rule document (as stored in `alert_rules/{rule_id}`); RuleError with readable reasons."""
    try:
        return _RULE_ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        problems = []
        for item in exc.errors(include_url=False):
            location = ".".join(str(part) for part in item["loc"]) or "rule"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                message = "is required"
            elif item["type"] == "extra_forbidden":
                message = "is not a field of this rule type (check the spelling)"
            problems.append(f"{location}: {message}")
        raise RuleError("; ".join(problems)) from None


def definition_problem(rule: AlertRule, unit: str, direction: str) -> str | None:
    """Why a rule on a defined metric does not fit the metric's definition (None when it fits).

    `unit` and `direction` are the definition's (metric_definitions, or the series document's
    `definitions`). Money takes threshold_minor; percent takes threshold (or threshold_pct, its
    older spelling); ratio, days, months and count take threshold, an exact decimal string."""
    metric = rule.target.metric
    if rule.type in ("absolute", "forecast"):
        given = next(name for name in THRESHOLD_FIELDS if getattr(rule, name, None) is not None)
        wanted = {"money": ("threshold_minor",), "percent": ("threshold", "threshold_pct")}.get(unit, ("threshold",))
        if given not in wanted:
            example = {"money": "threshold_minor: 100000 (1,000.00)", "percent": 'threshold: "12.5"'}.get(
                unit, 'threshold: "1.5"'
            )
            return f"{given}: metric {metric!r} is in {unit}: give {' or '.join(wanted)} ({example}), not {given}"
    if rule.type == "variance" and direction == "neutral" and rule.direction != "any":
        return (
            f"direction: metric {metric!r} is neutral (neither higher nor lower is better): "
            f"a variance rule on it needs direction 'any', not {rule.direction!r}"
        )
    return None


def rule_document(rule: AlertRule) -> dict[str, Any]:
    """JSON/Firestore-ready body of a rule (Decimals as strings, so thresholds stay exact)."""
    return rule.model_dump(mode="json")


def fingerprint(rule_id: str, target: AlertTarget, period: str | None = None) -> str:
    """Stable alert id: sha256 of rule + target (+ period for period-scoped rules), 32 hex characters.

    Never includes values or times, so a condition that persists maps to one alert document.
    Hex is a safe Firestore document id.
    """
    canonical = json.dumps(
        [FINGERPRINT_VERSION, rule_id, target.entity_id, target.subject, target.scenario.value, period or ""],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:FINGERPRINT_LENGTH]


def rule_fingerprint(rule: AlertRule, period: str) -> str:
    """The fingerprint of the alert `rule` raises when evaluated at `period`.

    Burn and runway are one live figure, not a month's: a short runway that persists into the next
    month stays one alert (and resolves when the forecast stops burning), like a trend."""
    scoped = rule.type in PERIOD_SCOPED_TYPES and rule.target.metric not in FORECAST_KPIS
    return fingerprint(rule.rule_id, rule.target, period if scoped else None)


@dataclass(frozen=True)
class RuleContext:
    """What an evaluation needs, gathered by the shell; values are minor units (Decimal for *_pct)."""

    period: str
    """The period being evaluated ('YYYY-MM')."""
    current_value: MetricValue | None
    """The target's value in `period`; None when there is no figure."""
    comparison_value: MetricValue | None = None
    """The comparison scenario's value in `period` (variance rules)."""
    history: Sequence[tuple[str, MetricValue]] = field(default_factory=tuple)
    """Values of the consecutive periods before `period`, oldest first (months without records as 0)."""
    currency: str = "USD"
    """Reporting currency, for the wording of amounts."""
    target_label: str | None = None
    """Readable name of the target (account name); defaults to the metric label or the id."""
    account_type: AccountType | None = None
    """Type of an account target, which decides variance favourability."""
    unit: str | None = None
    """Unit of a defined metric target (money, percent, ratio, days, months, count); None otherwise."""
    higher_is_better: bool | None = None
    """Favourability of a defined metric target, from its definition's direction."""
    forecast_as_of: str | None = None
    """Day of the 13-week cash forecast the value comes from (burn and runway: finance_core.cash); None otherwise."""
    not_burning: bool = False
    """The cash forecast holds or grows the cash: there is no runway figure, and no runway is short."""

    def __post_init__(self) -> None:
        parse_period(self.period)
        periods = [period for period, _ in self.history]
        for earlier, later in zip(periods, [*periods[1:], self.period], strict=False):
            if months_between(earlier, later) != 1:
                raise ValueError(
                    f"history must be consecutive months ending just before {self.period}: "
                    f"{earlier!r} is followed by {later!r}"
                )

    def series(self) -> list[tuple[str, MetricValue]]:
        """History plus the current period when it has a value."""
        current = [] if self.current_value is None else [(self.period, self.current_value)]
        return [*self.history, *current]


@dataclass(frozen=True)
class RuleEvaluation:
    """Outcome of one rule on one context; the alert policy turns it into alert state."""

    rule_id: str
    rule_type: str
    fingerprint: str
    period: str
    target: AlertTarget
    firing: bool
    evaluable: bool
    """False when the data cannot decide (no value, no budget, short history): change nothing."""
    severity: Severity
    title: str
    description: str
    current_value: Measured
    """The measured quantity compared with `threshold` (amount, variance %, run length, likelihood ...)."""
    threshold: Measured
    details: Mapping[str, Any] | None = None
    """Rule-type specific figures for the alert document (anomaly: likelihood, expected, deviation ...)."""


def _label(target: AlertTarget, context: RuleContext) -> str:
    if context.target_label:
        return context.target_label
    if target.metric is not None:
        definition = STANDARD_BY_ID.get(target.metric)
        return definition.label if definition else target.metric
    return f"Account {target.account_id}"


def _where(target: AlertTarget) -> str:
    entity = "all entities" if target.entity_id == CONSOLIDATED_ENTITY else target.entity_id
    scenario = "" if target.scenario is Scenario.ACTUAL else f", {target.scenario.value}"
    return f"{entity}{scenario}"


def _percent_text(value: Decimal | float) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01'), ROUND_HALF_EVEN)}%"


def _in_points(target: AlertTarget, context: RuleContext) -> bool:
    """Percentages are compared in points: *_pct metrics and defined metrics of unit percent."""
    return context.unit == Unit.PERCENT or (target.is_percentage and context.unit in (None, Unit.PERCENT))


def _is_money(target: AlertTarget, context: RuleContext) -> bool:
    return not _in_points(target, context) and context.unit in (None, Unit.MONEY)


def _amount_text(value: MetricValue | float, target: AlertTarget, context: RuleContext) -> str:
    if _in_points(target, context):
        return _percent_text(value)
    if _is_money(target, context):
        return format_minor(int(round(value)), context.currency)
    exact = Decimal(str(value)).quantize(QUANTUM.get(Unit(str(context.unit)), Decimal("0.01")), ROUND_HALF_EVEN)
    text = format(exact.normalize(), "f")
    suffix = {Unit.RATIO: "x", Unit.DAYS: " days", Unit.MONTHS: " months"}.get(Unit(str(context.unit)), "")
    return f"{text}{suffix}"


def _higher_is_better(target: AlertTarget, context: RuleContext) -> bool | None:
    if context.higher_is_better is not None:
        return context.higher_is_better
    if target.metric is not None:
        definition = STANDARD_BY_ID.get(target.metric)
        return metric_higher_is_favourable(definition) if definition else True
    return None if context.account_type is None else higher_is_favourable(context.account_type)


@dataclass(frozen=True)
class _Outcome:
    firing: bool
    evaluable: bool
    title: str
    description: str
    current_value: Measured
    threshold: Measured
    details: Mapping[str, Any] | None = None


def _not_evaluable(title: str, reason: str, threshold: Measured) -> _Outcome:
    return _Outcome(False, False, title, reason, None, threshold)


def _threshold_of(rule: AbsoluteRule | ForecastRule) -> MetricValue:
    """The one threshold the rule gives (parse_rule and definition_problem checked which one)."""
    for name in THRESHOLD_FIELDS:
        value = getattr(rule, name, None)
        if isinstance(value, int | Decimal):
            return value
    raise AssertionError("a parsed rule has a threshold")


def _evaluate_absolute(rule: AbsoluteRule, context: RuleContext) -> _Outcome:
    target, label = rule.target, _label(rule.target, context)
    threshold = _threshold_of(rule)
    threshold_text = _amount_text(threshold, target, context)
    title = f"{label} ({_where(target)}) {rule.direction} {threshold_text}"
    value = context.current_value
    basis = "" if context.forecast_as_of is None else f" (13-week cash forecast of {context.forecast_as_of})"
    if context.not_burning and value is None:
        # Cash that holds or grows never runs out: longer than any threshold, so never "below" one.
        firing = rule.direction == "above"
        verdict = f"{rule.direction} the threshold" if firing else "within the threshold"
        description = (
            f"{label} for {_where(target)}: not burning, the 13-week cash forecast"
            f"{'' if context.forecast_as_of is None else ' of ' + context.forecast_as_of} holds or grows the cash, "
            f"{verdict} of {threshold_text}."
        )
        return _Outcome(firing, True, title, description, None, threshold)
    if value is None:
        return _not_evaluable(title, f"No {label} figure for {context.period}{basis}.", threshold)
    firing = value > threshold if rule.direction == "above" else value < threshold
    verdict = f"{rule.direction} the threshold" if firing else "within the threshold"
    when = "now" if context.forecast_as_of is not None else f"in {context.period}"
    description = (
        f"{label} for {_where(target)} {when} is {_amount_text(value, target, context)}{basis}, "
        f"{verdict} of {threshold_text}."
    )
    return _Outcome(firing, True, title, description, value, threshold)


def _evaluate_variance(rule: VarianceRule, context: RuleContext) -> _Outcome:
    target, label = rule.target, _label(rule.target, context)
    planned_name = rule.comparison_scenario.value
    points = _in_points(target, context)
    unit = " points" if points else "%"
    title = f"{label} ({_where(target)}) off {planned_name} by more than {rule.threshold_pct}{unit}"
    actual, planned = context.current_value, context.comparison_value
    if actual is None or planned is None:
        reason = f"No actual or {planned_name} figure of {label} for {context.period}."
        return _not_evaluable(title, reason, rule.threshold_pct)
    higher_is_better = _higher_is_better(target, context)
    if higher_is_better is None:
        return _not_evaluable(title, f"The type of account {target.account_id} is unknown.", rule.threshold_pct)
    measured: Decimal | None
    if points:
        measured = (Decimal(actual) - Decimal(planned)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)
        variance: int | Decimal = measured
    else:
        # Money is integer minor units; other units (ratio, days, months, count) exact Decimals.
        variance = int(actual) - int(planned) if _is_money(target, context) else Decimal(actual) - Decimal(planned)
        measured = percent_change(actual, planned)
        if measured is None:
            return _not_evaluable(
                title,
                f"{label} has a {planned_name} of 0 in {context.period}: a percent variance is undefined.",
                rule.threshold_pct,
            )
    favourable = is_favourable(variance, higher_is_better)
    wanted = {
        "unfavourable": not favourable,
        "favourable": favourable and variance != 0,
        "any": True,
    }[rule.direction]
    firing = wanted and abs(measured) > rule.threshold_pct
    side = "above" if variance > 0 else "below"
    tone = "favourable" if favourable else "unfavourable"
    if points:
        size = f"{abs(measured)} points"
    else:
        gap: MetricValue = -variance if variance < 0 else variance
        size = f"{_amount_text(gap, target, context)} ({_percent_text(abs(measured))})"
    description = (
        f"{label} for {_where(target)} in {context.period} is {_amount_text(actual, target, context)} "
        f"against a {planned_name} of {_amount_text(planned, target, context)}: {size} {side} plan, "
        f"{tone}; threshold {rule.threshold_pct}{unit}."
    )
    return _Outcome(firing, True, title, description, measured, rule.threshold_pct)


def _trailing_run(values: Sequence[MetricValue], direction: str) -> int:
    run = 0
    for earlier, later in zip(reversed(values[:-1]), reversed(values[1:]), strict=True):
        if (later < earlier) if direction == "decline" else (later > earlier):
            run += 1
        else:
            break
    return run


def _evaluate_trend(rule: TrendRule, context: RuleContext) -> _Outcome:
    target, label = rule.target, _label(rule.target, context)
    verb = "declining" if rule.direction == "decline" else "increasing"
    series = context.series()
    if rule.mode == "consecutive":
        title = f"{label} ({_where(target)}) {verb} {rule.periods} periods in a row"
        if context.current_value is None or len(series) < rule.periods + 1:
            reason = f"{label} needs {rule.periods + 1} consecutive periods of figures."
            return _not_evaluable(title, reason, rule.periods)
        values = [value for _, value in series]
        run = _trailing_run(values, rule.direction)
        start_period, start_value = series[-1 - run]
        moved = "declined" if rule.direction == "decline" else "increased"
        if run:
            story = (
                f"{label} for {_where(target)} has {moved} {run} period{'s' if run > 1 else ''} in a row, from "
                f"{_amount_text(start_value, target, context)} in {start_period} to "
                f"{_amount_text(values[-1], target, context)} in {context.period}"
            )
        else:
            story = f"{label} for {_where(target)} has not {moved} in {context.period}"
        description = f"{story}; the rule fires at {rule.periods}."
        return _Outcome(run >= rule.periods, True, title, description, run, rule.periods)
    title = f"{label} ({_where(target)}) trending {'down' if rule.direction == 'decline' else 'up'}"
    if context.current_value is None or len(series) < rule.periods:
        return _not_evaluable(title, f"{label} needs {rule.periods} consecutive periods of figures.", 0)
    window = [float(value) for _, value in series[-rule.periods :]]
    fit = linear_fit(window)
    sign_ok = fit.slope < 0 if rule.direction == "decline" else fit.slope > 0
    firing = sign_ok and fit.r_squared >= rule.min_r_squared
    slope: int | Decimal = round(fit.slope)
    if not _is_money(target, context):
        slope = Decimal(repr(fit.slope)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)
    per_period = f"{slope} points" if _in_points(target, context) else _amount_text(slope, target, context)
    sign = "negative" if rule.direction == "decline" else "positive"
    description = (
        f"Over the {rule.periods} periods to {context.period}, {label} for {_where(target)} moves by {per_period} "
        f"per period (R² {fit.r_squared:.2f}; the rule needs a {sign} slope and R² of at least "
        f"{rule.min_r_squared:.2f})."
    )
    return _Outcome(firing, True, title, description, slope, 0)


def _likelihood_text(likelihood: float) -> str:
    """0.99953 -> '0.99953 (1 in 2,100)': the likelihood and how rare it says the period is."""
    rarity = 1.0 - likelihood
    if rarity <= 0:
        return f"{likelihood:.6f} (rarer than 1 in a billion)"
    odds = 1.0 / rarity
    if odds >= 1e9:
        return f"{likelihood:.9f} (rarer than 1 in a billion)"
    digits = max(2, min(9, math.ceil(math.log10(odds)) + 1))
    rounded = float(f"{odds:.2g}")
    return f"{likelihood:.{digits}f} (1 in {rounded:,.0f})"


def _evaluate_anomaly(rule: AnomalyRule, context: RuleContext) -> _Outcome:
    target, label = rule.target, _label(rule.target, context)
    if context.current_value is None:
        title = f"Unusual {label} ({_where(target)}) in {context.period}"
        return _not_evaluable(title, f"No {label} figure for {context.period}.", rule.threshold)
    point = score_latest(
        [value for _, value in context.series()],
        threshold=rule.threshold,
        window=rule.window,
        season_length=rule.season_length,
    )
    needs = f"{label} needs at least {min(rule.window, MIN_HISTORY)} earlier periods before anomalies can be judged."
    return _anomaly_outcome(rule, context, point, context.period, needs)


def _anomaly_outcome(
    rule: AnomalyRule, context: RuleContext, point: AnomalyPoint | None, when: str, needs: str
) -> _Outcome:
    """The verdict on `when` (a month, or a day of a daily rule) from the detector's point on it."""
    target, label = rule.target, _label(rule.target, context)
    at = f"on {when}" if rule.grain == "day" else f"in {when}"
    title = f"Unusual {label} ({_where(target)}) {at}"
    if context.current_value is None:
        return _not_evaluable(title, f"No {label} figure for {when}.", rule.threshold)
    if point is None or point.likelihood is None or point.expected is None or point.deviation is None:
        return _not_evaluable(title, needs, rule.threshold)
    step = "day" if rule.grain == "day" else "period"
    steps = f"{step}s"
    above = point.value > point.expected
    wanted = {"any": True, "spike": above, "drop": not above}[rule.direction]
    firing = point.is_anomaly and wanted
    value_text = _amount_text(context.current_value, target, context)
    expected_text = _amount_text(point.expected, target, context)
    side = "above" if above else "below"
    baseline = f"{point.method.value} baseline"
    where = f"{label} for {_where(target)} {at} is {value_text}"
    if point.state is EpisodeState.ABSORBED:
        story = (
            f"{where}, in line with the change of level of the {steps} before it (expected "
            f"{expected_text}): the change is confirmed and the new level is the baseline from now on"
        )
    elif point.state is EpisodeState.CONTINUATION:
        story = (
            f"{where}, in line with the change of level of the {step} before it (expected "
            f"{expected_text}): the same event, not a new anomaly"
        )
    else:
        story = (
            f"{where}, {abs(point.deviation):.1f} typical deviations {side} the expected {expected_text} ({baseline})"
        )
    description = f"{story}; likelihood {_likelihood_text(point.likelihood)}, the rule fires at {rule.threshold:g}."
    # Plain numbers (Firestore-ready): minor units for money, 4 decimals for every other unit.
    expected: float | int = int(round(point.expected)) if _is_money(target, context) else round(point.expected, 4)
    details = {
        "likelihood": point.likelihood,
        "expected": expected,
        "deviation": round(point.deviation, 4),
        "baseline": point.method.value,
        "episode": point.state.value,
        "season_length": rule.season_length,
        "grain": rule.grain,
    }
    return _Outcome(firing, True, title, description, point.likelihood, rule.threshold, details)


# A forecast works on integers (minor units); a defined metric of another unit is forecast in
# units of 0.0001 (the finest quantum of any unit) and compared with its threshold exactly.
_FORECAST_SCALE = 10_000


def _evaluate_forecast(rule: ForecastRule, context: RuleContext) -> _Outcome:
    target, label = rule.target, _label(rule.target, context)
    threshold = _threshold_of(rule)
    scale = 1 if _is_money(target, context) else _FORECAST_SCALE

    def unscaled(value: int) -> MetricValue:
        return value if scale == 1 else Decimal(value) / scale

    def text(value: MetricValue) -> str:
        return _amount_text(value, target, context)

    threshold_text = text(threshold)
    moves = "rise above" if rule.direction == "above" else "fall below"
    title = f"{label} ({_where(target)}) forecast to {moves} {threshold_text}"
    if context.current_value is None:
        return _not_evaluable(title, f"No {label} figure for {context.period}.", threshold)
    series = [
        (period, int((Decimal(value) * scale).to_integral_value(ROUND_HALF_EVEN))) for period, value in context.series()
    ]
    trend = analyze_trend(series, horizon=rule.horizon_periods)
    if trend.pattern is TrendPattern.INSUFFICIENT_DATA or not trend.forecast:
        return _not_evaluable(title, f"Too few periods of {label} to forecast.", threshold)
    scaled_threshold = Decimal(threshold) * scale

    def crosses(value: int) -> bool:
        return value > scaled_threshold if rule.direction == "above" else value < scaled_threshold

    crossing = next((point for point in trend.forecast if crosses(point.value_minor)), None)
    values = [point.value_minor for point in trend.forecast]
    nearest = unscaled(max(values) if rule.direction == "above" else min(values))
    last = trend.forecast[-1].period
    if crossing is not None:
        forecast = unscaled(crossing.value_minor)
        description = (
            f"{label} for {_where(target)} is {text(context.current_value)} in "
            f"{context.period} and is forecast at {text(forecast)} in "
            f"{crossing.period}, {rule.direction} {threshold_text} ({trend.pattern.value} pattern, "
            f"{trend.forecast_method} forecast)."
        )
        return _Outcome(True, True, title, description, forecast, threshold)
    stays = "at or below" if rule.direction == "above" else "at or above"
    description = (
        f"{label} for {_where(target)} is forecast to stay {stays} {threshold_text} through {last} "
        f"(closest forecast {text(nearest)})."
    )
    return _Outcome(False, True, title, description, nearest, threshold)


_EVALUATORS = {
    "absolute": _evaluate_absolute,
    "variance": _evaluate_variance,
    "trend": _evaluate_trend,
    "anomaly": _evaluate_anomaly,
    "forecast": _evaluate_forecast,
}


def evaluate(rule: AlertRule, context: RuleContext) -> RuleEvaluation:
    """Decide whether `rule` fires on `context`. Pure: same inputs, same result.

    A disabled rule never fires (and is evaluable, so an alert it left active resolves).
    """
    outcome: _Outcome = _EVALUATORS[rule.type](rule, context)  # type: ignore[operator]
    return _evaluation(rule, context.period, outcome)


def evaluate_day(rule: AnomalyRule, day: str, context: RuleContext, point: AnomalyPoint | None) -> RuleEvaluation:
    """The verdict of a daily anomaly rule on `day` ('YYYY-MM-DD'), from the streaming detector's point on it.

    `context` carries the day's value (current_value), the currency and the target's label; its
    period is the day's month. The alert is scoped to the day: each unusual day is its own fact.
    """
    needs = f"{_label(rule.target, context)} needs more days of dated records before anomalies can be judged."
    return _evaluation(rule, day, _anomaly_outcome(rule, context, point, day, needs))


def _evaluation(rule: AlertRule, period: str, outcome: _Outcome) -> RuleEvaluation:
    firing = outcome.firing and rule.enabled
    description = outcome.description if rule.enabled else f"Rule '{rule.name}' is disabled."
    return RuleEvaluation(
        rule_id=rule.rule_id,
        rule_type=rule.type,
        fingerprint=rule_fingerprint(rule, period),
        period=period,
        target=rule.target,
        firing=firing,
        evaluable=outcome.evaluable or not rule.enabled,
        severity=rule.severity,
        title=outcome.title,
        description=description,
        current_value=outcome.current_value,
        threshold=outcome.threshold,
        details=outcome.details,
    )
