"""Evaluates an org's alert rules after aggregations folded a change, on the readable documents, and moves its alerts.

The evaluation runs on `financial-aggregates-folded` (finance_core.folded): by then the aggregates
and metric series of the change are folded, so the evaluator only reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.errors import ProcessingError, TransientError, is_transient, map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.reference_store import ReferenceStore
from finance_core.aggregates import AggregateKey
from finance_core.alert_inputs import (
    PlannedEvaluation,
    build_context,
    forecast_context,
    forecast_definition,
    is_forecast_rule,
    plan_evaluations,
    scenarios_read,
)
from finance_core.alert_policy import AlertState, Transition
from finance_core.alert_rules import (
    AlertRule,
    AnomalyRule,
    RuleError,
    RuleEvaluation,
    definition_problem,
    evaluate,
    parse_rule,
)
from finance_core.daily_anomaly import DailyPlan, daily_evaluations, is_daily, plan_daily_evaluations
from finance_core.folded import AggregatesFolded
from finance_core.metric_rows import series_id, value_at
from finance_core.metric_series import BUILTIN_IDS
from finance_core.periods import add_months, kpi_period
from finance_core.reference import OrgReference
from finance_core.trend_series import CASH_DOC_ID
from google.cloud import firestore

from alerts.notifier import Notifier, SentNotification
from alerts.rules import parse_rules
from alerts.store import AlertStore

log = logging.getLogger(__name__)


@dataclass
class EvaluationReport:
    """What one change did to the org's alerts (logged, and returned to tests)."""

    evaluated: int = 0
    transitions: dict[str, list[str]] = field(default_factory=dict)
    notifications: list[SentNotification] = field(default_factory=list)

    def add(self, transition: Transition, alert_id: str) -> None:
        """Count one alert transition."""
        self.transitions.setdefault(transition.value, []).append(alert_id)


def _with_current_period(plans: list[PlannedEvaluation], current: str) -> list[PlannedEvaluation]:
    """Live rules on a defined metric are judged at the current period too: a change of an earlier month
    moves its year to date, trailing sums and balances (a built-in metric only moves in its own month)."""
    known = {(plan.rule.rule_id, plan.period) for plan in plans}
    extra = []
    for plan in plans:
        rule = plan.rule
        if not rule.target.is_defined or rule.type not in ("absolute", "variance"):
            continue
        if plan.period < current and (rule.rule_id, current) not in known:
            known.add((rule.rule_id, current))
            extra.append(PlannedEvaluation(rule, current, plan.history_length))
    return sorted([*plans, *extra], key=lambda plan: (plan.rule.rule_id, plan.period))


def _fitting_definitions(
    org_id: str, plans: list[PlannedEvaluation], definitions: Mapping[str, Mapping[str, Any]]
) -> list[PlannedEvaluation]:
    """The plans whose rule fits its defined metric's definition (unit of the threshold, direction).

    A rule that does not fit is skipped with a log line, like a rule that does not parse: it never
    blocks the org's other rules, and it is judged again once the rule or the definition changes."""
    kept = []
    for plan in plans:
        rule = plan.rule
        definition = definitions.get(rule.target.metric or "") if rule.target.is_defined else None
        if definition:
            problem = definition_problem(rule, str(definition.get("unit", "money")), str(definition.get("direction")))
            if problem:
                log.warning("org %s: alert rule %s skipped, it is invalid: %s", org_id, rule.rule_id, problem)
                continue
        kept.append(plan)
    return kept


def _fitting_forecast_definitions(org_id: str, rules: list[AlertRule]) -> list[AlertRule]:
    """The burn and runway rules whose threshold is in the metric's unit (net burn money, runway months)."""
    kept = []
    for rule in rules:
        definition = forecast_definition(str(rule.target.metric))
        problem = definition_problem(rule, str(definition["unit"]), str(definition["direction"]))
        if problem:
            log.warning("org %s: alert rule %s skipped, it is invalid: %s", org_id, rule.rule_id, problem)
            continue
        kept.append(rule)
    return kept


class AlertEvaluator:
    """Runs the rules touched by one change against current aggregates and applies the results.

    Idempotent: each alert transaction remembers the change id, so a redelivered change neither
    counts twice nor notifies again; an evaluation of older data than the alert last saw is
    ignored, so changes processed out of order cannot move an alert back.
    """

    def __init__(
        self,
        db: firestore.Client,
        references: ReferenceStore,
        store: AlertStore,
        notifier: Notifier,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._db = db
        self._references = references
        self._store = store
        self._notifier = notifier
        self._clock = clock

    def handle(self, folded: AggregatesFolded) -> EvaluationReport:
        """Evaluate the rules a folded change touches, each once, on the readable documents."""
        org_id, change_id = folded.org_id, folded.change_id
        touched = folded.touched_accounts
        report = EvaluationReport()
        reference = self._references.get(org_id)
        if reference is None or not touched:
            return report
        rules = parse_rules(org_id, self._store.rule_documents(org_id))
        if not rules:
            return report
        current = kpi_period(reference.current_period, reference.period_status)
        now = self._clock()
        # Burn and runway rules judge the cash forecast, which the trends recompute after this change:
        # its write evaluates them (handle_forecast), never a month's figure here.
        monthly = [rule for rule in rules if not is_daily(rule) and not is_forecast_rule(rule)]
        plans = plan_evaluations(monthly, touched, chart=reference.chart, current_period=current)
        plans = _with_current_period(plans, current)
        # Daily anomaly rules judge the complete days (finance_core.daily_anomaly): the day in
        # progress is the clock's.
        daily = plan_daily_evaluations(rules, touched, chart=reference.chart, today=now.date())
        if not plans and not daily:
            return report
        needed = sorted({key for plan in plans for key in plan.keys()} | {key for p in daily for key in p.keys()})
        # Aggregations folded the change before announcing it: one read of every document the
        # evaluations need is enough.
        documents, updated = self._read(org_id, needed)
        definitions = self._add_defined_metrics(org_id, plans, documents)
        plans = _fitting_definitions(org_id, plans, definitions)
        evaluations = []
        for plan in plans:
            context = build_context(
                plan, documents, chart=reference.chart, currency=reference.reporting_currency, definitions=definitions
            )
            evaluation = evaluate(plan.rule, context)
            times = [updated[key] for key in plan.keys() if key in updated]
            evaluations.append((plan.rule, evaluation, max(times) if times else now))
        for day_plan in daily:
            times = [updated[key] for key in day_plan.keys() if key in updated]
            judged = daily_evaluations(
                day_plan, documents, chart=reference.chart, currency=reference.reporting_currency, today=now.date()
            )
            for evaluation in judged:
                evaluations.append((day_plan.rule, evaluation, max(times) if times else now))
        report.evaluated = len(evaluations)
        self._apply(org_id, change_id, now, evaluations, report)
        return report

    def handle_forecast(
        self, org_id: str, change_id: str, runway: Mapping[str, Any] | None, observed_at: datetime
    ) -> EvaluationReport:
        """Evaluate the org's burn and runway rules on a new cash forecast (`trends/cash__forecast.runway`).

        `change_id` names this forecast write (a redelivery applies nothing twice) and `observed_at`
        is its commit time: a forecast older than the one an alert last saw moves nothing. The
        rules are judged at the org's current period: the forecast is live.
        """
        report = EvaluationReport()
        reference = self._references.get(org_id)
        if reference is None:
            return report
        rules = [rule for rule in parse_rules(org_id, self._store.rule_documents(org_id)) if is_forecast_rule(rule)]
        if not rules:
            return report
        period = kpi_period(reference.current_period, reference.period_status)
        evaluations = []
        for rule in _fitting_forecast_definitions(org_id, rules):
            context = forecast_context(rule, runway, period=period, currency=reference.reporting_currency)
            evaluations.append((rule, evaluate(rule, context), observed_at))
        report.evaluated = len(evaluations)
        self._apply(org_id, change_id, self._clock(), evaluations, report)
        return report

    def _apply(
        self,
        org_id: str,
        change_id: str,
        now: datetime,
        evaluations: list[tuple[AlertRule, RuleEvaluation, datetime]],
        report: EvaluationReport,
    ) -> None:
        """Move the alerts of these evaluations (each once per change), notify, push history; raise a
        TransientError at the end when an update failed for a reason a redelivery can overcome."""
        existing = self._store.existing_alerts(org_id, [e.fingerprint for _, e, _ in evaluations])
        to_notify: list[AlertState] = []
        rows = []
        failures: list[Exception] = []
        for rule, evaluation, observed_at in evaluations:
            stored = existing.get(evaluation.fingerprint)
            if stored is None and not evaluation.firing:
                continue  # no alert and nothing to raise: no transaction needed
            if (
                stored is not None
                and change_id in (stored.get("applied_change_ids") or ())
                and stored.get("notify_pending_since") is None
            ):
                continue  # a redelivery this alert has already seen
            try:
                applied = self._store.apply(
                    org_id, rule, evaluation, change_id=change_id, now=now, observed_at=observed_at
                )
            except ProcessingError as exc:
                log.error(
                    "org %s: alert %s of rule %s not updated: %s", org_id, evaluation.fingerprint, rule.rule_id, exc
                )
                failures.append(exc)
                continue
            report.add(applied.decision.transition, evaluation.fingerprint)
            if applied.row is not None:
                rows.append(applied.row)
            if applied.needs_enqueue and applied.decision.state is not None:
                to_notify.append(applied.decision.state)
        if to_notify:
            try:
                report.notifications = self._notifier.enqueue(org_id, to_notify)
            except ProcessingError as exc:
                # The alerts keep notify_pending_since: a redelivery or the sweep enqueues them.
                log.error("org %s: notification of %d alert(s) deferred: %s", org_id, len(to_notify), exc)
                failures.append(exc)
        self._store.history.push(org_id, rows)
        if report.transitions:
            log.info(
                "org %s change %s: alerts %s",
                org_id,
                change_id,
                {name: len(ids) for name, ids in report.transitions.items()},
            )
        transient = [exc for exc in failures if is_transient(exc)]
        if transient:
            # Everything done so far is idempotent: a redelivery finishes the rest.
            raise TransientError(f"{len(transient)} alert update(s) failed: {transient[0]}")

    def _add_defined_metrics(
        self,
        org_id: str,
        plans: list[PlannedEvaluation],
        documents: dict[AggregateKey, dict[str, Any] | None],
    ) -> dict[str, dict[str, Any]]:
        """Put the values of defined metrics (from the metric series) beside the built-in ones of each document read.

        Returns the definitions (label, unit, direction) of the defined metrics the rules watch."""
        wanted = {metric for plan in plans if (metric := plan.rule.target.metric)} - BUILTIN_IDS
        if not wanted:
            return {}
        series = sorted(
            {
                (plan.rule.target.entity_id, scenario)
                for plan in plans
                if plan.rule.target.metric in wanted
                for scenario in scenarios_read(plan.rule)
            }
        )
        refs = [self._db.document(f"{org_path(org_id)}/metric_series/{series_id(*s)}") for s in series]
        with map_exceptions(f"reading the metric series of {org_id} for alert rules"):
            found = {snap.reference.id: snap.to_dict() for snap in self._db.get_all(refs) if snap.exists}
        definitions: dict[str, dict[str, Any]] = {}
        for body in found.values():
            for metric, definition in ((body or {}).get("definitions") or {}).items():
                if metric in wanted:
                    definitions.setdefault(metric, dict(definition))
        for key in list(documents):
            body = found.get(series_id(key.entity_id, key.scenario))
            period = key.period
            if body is None or period is None or period not in (body.get("periods") or ()):
                continue
            # A month without postings still has a closing balance or a year to date.
            values = {m: value_at(body, m, period) for m in wanted}
            document = dict(documents[key] or {})
            document["metrics"] = {**(document.get("metrics") or {}), **values}
            documents[key] = document
        return definitions

    def preview(self, org_id: str, rule_id: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """What a rule would say on the org's current data, without writing anything.

        Absolute and variance rules are judged at the current period, trend, forecast and anomaly
        rules at the last complete one, as a change there would judge them. The answer is JSON-ready:
        `valid` and `error` (the rule as written), then `period`, `evaluable`, `firing`, `title`,
        `description`, `current_value`, `threshold`.
        """
        # The admin may have changed the chart a moment ago: read the org's reference data afresh.
        self._references.invalidate(org_id)
        reference = self._references.get(org_id)
        if reference is None:
            return {"valid": False, "error": f"organization {org_id!r} does not exist"}
        body = {k: v for k, v in document.items() if k not in ("updated_at", "updated_by", "created_at")}
        body["rule_id"] = rule_id
        try:
            rule = parse_rule(body)
        except RuleError as exc:
            return {"valid": False, "error": str(exc)}
        if is_daily(rule):
            return self._preview_daily(org_id, rule, reference)
        current = kpi_period(reference.current_period, reference.period_status)
        if is_forecast_rule(rule):
            return self._preview_forecast(org_id, rule, current, reference.reporting_currency)
        period = current if rule.type in ("absolute", "variance") else add_months(current, -1)
        key = AggregateKey(rule.target.entity_id, period, rule.target.scenario.value)
        changed = {key: [account.account_id for account in reference.chart]}
        plans = [
            plan
            for plan in plan_evaluations([rule], changed, chart=reference.chart, current_period=current)
            if plan.period == period
        ]
        if not plans:
            return {
                "valid": True,
                "period": period,
                "evaluable": False,
                "firing": False,
                "title": rule.name,
                "description": "nothing of the chart feeds this target yet: check the account or metric",
            }
        documents, _ = self._read(org_id, sorted(set(plans[0].keys())))
        definitions = self._add_defined_metrics(org_id, plans, documents)
        if rule.target.is_defined:
            definition = definitions.get(rule.target.metric or "")
            if not definition:
                return {
                    "valid": True,
                    "period": period,
                    "evaluable": False,
                    "firing": False,
                    "title": rule.name,
                    "description": f"metric {rule.target.metric!r} has no values yet: is it defined, active, "
                    "and are there figures for this entity and scenario?",
                }
            problem = definition_problem(rule, str(definition.get("unit", "money")), str(definition.get("direction")))
            if problem:
                return {"valid": False, "error": problem}
        context = build_context(
            plans[0], documents, chart=reference.chart, currency=reference.reporting_currency, definitions=definitions
        )
        outcome = evaluate(rule, context)
        return _preview_answer(outcome)

    def _preview_forecast(self, org_id: str, rule: AlertRule, period: str, currency: str) -> dict[str, Any]:
        """A burn or runway rule's verdict on the stored cash forecast, as its next write would judge it."""
        definition = forecast_definition(str(rule.target.metric))
        problem = definition_problem(rule, str(definition["unit"]), str(definition["direction"]))
        if problem:
            return {"valid": False, "error": problem}
        with map_exceptions(f"reading the cash forecast of {org_id} for an alert rule"):
            snapshot = self._db.document(f"{org_path(org_id)}/trends/{CASH_DOC_ID}").get(field_paths=["runway"])
        runway = (snapshot.to_dict() or {}).get("runway") if snapshot.exists else None
        return _preview_answer(evaluate(rule, forecast_context(rule, runway, period=period, currency=currency)))

    def _preview_daily(self, org_id: str, rule: AnomalyRule, reference: OrgReference) -> dict[str, Any]:
        """A daily rule's verdict on the last complete day, as a change of its month would judge it."""
        today = self._clock().date()
        yesterday = today - timedelta(days=1)
        plan = DailyPlan(rule, yesterday.isoformat()[:7])
        documents, _ = self._read(org_id, sorted(set(plan.keys())))
        judged = daily_evaluations(
            plan, documents, chart=reference.chart, currency=reference.reporting_currency, today=today
        )
        if not judged or judged[-1].period != yesterday.isoformat():
            return {
                "valid": True,
                "period": yesterday.isoformat(),
                "evaluable": False,
                "firing": False,
                "title": rule.name,
                "description": "no dated records of this target in the last months: daily rules read booking dates",
            }
        outcome = judged[-1]
        return _preview_answer(outcome)

    def _read(
        self, org_id: str, keys: list[AggregateKey]
    ) -> tuple[dict[AggregateKey, dict[str, Any] | None], dict[AggregateKey, datetime]]:
        refs = [self._db.document(f"{org_path(org_id)}/aggregates/{key.doc_id}") for key in keys]
        with map_exceptions(f"reading aggregates of {org_id} for alert rules"):
            snapshots = {snap.id: snap for snap in self._db.get_all(refs)}
        documents: dict[AggregateKey, dict[str, Any] | None] = {}
        updated: dict[AggregateKey, datetime] = {}
        for key in keys:
            snap = snapshots.get(key.doc_id)
            if snap is not None and snap.exists:
                documents[key] = snap.to_dict() or {}
                updated[key] = snap.update_time
            else:
                documents[key] = None
        return documents, updated


def _preview_answer(outcome: RuleEvaluation) -> dict[str, Any]:
    """What the rule preview answers for one evaluation (monthly or daily)."""
    return {
        "valid": True,
        "period": outcome.period,
        "evaluable": outcome.evaluable,
        "firing": outcome.firing,
        "severity": outcome.severity.value,
        "title": outcome.title,
        "description": outcome.description,
        "current_value": _jsonable(outcome.current_value),
        "threshold": _jsonable(outcome.threshold),
    }


def _jsonable(value: Any) -> Any:
    """A measured quantity for JSON: exact decimals as text, numbers as they are."""
    return str(value) if isinstance(value, Decimal) else value
