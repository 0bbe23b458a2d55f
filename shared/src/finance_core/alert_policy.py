"""Alert fatigue policy: alert lifecycle, cooldown, notification grouping, org cap and escalation, as pure values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict

from finance_core.alert_rules import Escalation, RuleEvaluation, Severity

# Change ids remembered per alert: enough to absorb redeliveries that arrive after a few newer
# changes, small enough for the alert document.
MAX_REMEMBERED_CHANGES = 20
GROUP_KEY_LENGTH = 32
GROUPABLE_FIELDS = frozenset({"rule_id", "rule_type", "severity", "entity_id", "period"})
CAP_WINDOW = timedelta(hours=1)
# An open alert that fires again moves its count and last_seen at most this often: every listener
# of the org's alerts pays a document read per write, and a rule that holds is evaluated again by
# every fold (docs/performance.md, "On paper: read cost per dashboard-hour"). The repeats in
# between are held beside the alert (HeldRepeats) and folded into its next write, so count stays
# exact; a new firing, a change of severity, a resolution, an acknowledgement and an escalation
# are written at once.
REPEAT_WRITE_INTERVAL = timedelta(minutes=1)


class AlertStatus(StrEnum):
    """Lifecycle of an alert document; clients may only move active -> acknowledged."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Transition(StrEnum):
    """What one evaluation did to an alert."""

    FIRED = "fired"
    """A new alert."""
    UPDATED = "updated"
    """The condition persists: count + 1, last_seen moves."""
    RESOLVED = "resolved"
    """The condition cleared."""
    REFIRED = "refired"
    """A resolved alert fires again."""
    UNCHANGED = "unchanged"
    """Nothing to do: no alert and no condition, a repeated change, or an undecidable evaluation."""


def _aware(moment: datetime, name: str) -> datetime:
    # Naive times are ambiguous across function instances and Firestore stores UTC instants.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment


@dataclass(frozen=True)
class AlertState:
    """The stored state of one alert (`alerts/{fingerprint}`)."""

    fingerprint: str
    rule_id: str
    rule_type: str
    entity_id: str
    period: str
    """Period of the latest evaluation that touched the alert."""
    severity: Severity
    status: AlertStatus
    title: str
    description: str
    count: int
    """Evaluations that found the condition (one per applied change while it holds); on the stored
    document, without the repeats held beside it (HeldRepeats, with_held)."""
    first_seen: datetime
    last_seen: datetime
    fired_at: datetime
    """Start of the current firing episode (first_seen, or the time it fired again)."""
    last_notified_at: datetime | None = None
    escalation_level: int = 0
    last_escalated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    applied_change_ids: tuple[str, ...] = ()
    """Ids of the latest applied changes, oldest first; a change seen again is a no-op."""
    last_observed_at: datetime | None = None
    """Time of the data behind the latest applied evaluation; older evaluations are stale."""

    @property
    def last_change_id(self) -> str | None:
        """Id of the last change applied to this alert."""
        return self.applied_change_ids[-1] if self.applied_change_ids else None

    @property
    def is_open(self) -> bool:
        """Active or acknowledged: the condition still held at the last evaluation."""
        return self.status is not AlertStatus.RESOLVED


@dataclass(frozen=True)
class AlertDecision:
    """Result of applying one evaluation to an alert."""

    transition: Transition
    state: AlertState | None
    """The alert after the change; None when there is no alert and nothing fires."""
    notify: bool
    """True when the alert should join its notification group (the group decides when it is sent)."""
    reason: str


class _Wording(TypedDict):
    """The fields every evaluation of an existing alert rewrites."""

    severity: Severity
    title: str
    description: str
    period: str
    applied_change_ids: tuple[str, ...]
    last_observed_at: datetime


def _remember(change_ids: tuple[str, ...], change_id: str) -> tuple[str, ...]:
    return (*change_ids, change_id)[-MAX_REMEMBERED_CHANGES:]


def _cooled_down(state: AlertState, now: datetime, cooldown_seconds: int) -> bool:
    return state.last_notified_at is None or now - state.last_notified_at >= timedelta(seconds=cooldown_seconds)


def apply_evaluation(
    state: AlertState | None,
    evaluation: RuleEvaluation,
    *,
    change_id: str,
    now: datetime,
    cooldown_seconds: int,
    observed_at: datetime | None = None,
    notify_on_resolve: bool = False,
) -> AlertDecision:
    """Transition of the alert `evaluation.fingerprint` caused by one change, and whether to notify.

    new + firing -> fired (notify); open + firing -> updated (count + 1, no new notification:
    the group's repeat interval reminds); open + clear -> resolved; resolved + firing -> refired
    (notify only once `cooldown_seconds` have passed since the last notification, so a flapping
    condition does not page again and again). An evaluation that could not decide (`evaluable`
    False) neither fires nor resolves.

    Idempotent and order-safe: a `change_id` already applied changes nothing, and neither does an
    evaluation whose `observed_at` (the commit time of the data it read; default `now`) is older
    than the last applied one, e.g. a redelivered message evaluated before the alert existed.
    """
    _aware(now, "now")
    observed_at = _aware(observed_at, "observed_at") if observed_at is not None else now
    if state is not None and state.fingerprint != evaluation.fingerprint:
        raise ValueError(f"evaluation {evaluation.fingerprint} does not belong to alert {state.fingerprint}")
    if state is not None and change_id in state.applied_change_ids:
        return AlertDecision(Transition.UNCHANGED, state, False, f"change {change_id} was already applied")
    if state is not None and state.last_observed_at is not None and observed_at < state.last_observed_at:
        return AlertDecision(Transition.UNCHANGED, state, False, "the evaluation is older than the alert's last one")
    if not evaluation.evaluable:
        reason = "the evaluation could not decide: " + evaluation.description
        return AlertDecision(Transition.UNCHANGED, state, False, reason)
    if state is None:
        if not evaluation.firing:
            return AlertDecision(Transition.UNCHANGED, None, False, "no alert and the condition does not hold")
        created = AlertState(
            fingerprint=evaluation.fingerprint,
            rule_id=evaluation.rule_id,
            rule_type=evaluation.rule_type,
            entity_id=evaluation.target.entity_id,
            period=evaluation.period,
            severity=evaluation.severity,
            status=AlertStatus.ACTIVE,
            title=evaluation.title,
            description=evaluation.description,
            count=1,
            first_seen=now,
            last_seen=now,
            fired_at=now,
            applied_change_ids=(change_id,),
            last_observed_at=observed_at,
        )
        return AlertDecision(Transition.FIRED, created, True, "new alert")
    wording: _Wording = {
        "severity": evaluation.severity,
        "title": evaluation.title,
        "description": evaluation.description,
        "period": evaluation.period,
        "applied_change_ids": _remember(state.applied_change_ids, change_id),
        "last_observed_at": observed_at,
    }
    if state.is_open and evaluation.firing:
        updated = replace(state, count=state.count + 1, last_seen=now, **wording)
        return AlertDecision(Transition.UPDATED, updated, False, "the condition persists")
    if state.is_open:
        resolved = replace(state, status=AlertStatus.RESOLVED, resolved_at=now, **wording)
        return AlertDecision(Transition.RESOLVED, resolved, notify_on_resolve, "the condition cleared")
    if not evaluation.firing:
        seen = replace(state, applied_change_ids=wording["applied_change_ids"], last_observed_at=observed_at)
        reason = "the alert is resolved and the condition still does not hold"
        return AlertDecision(Transition.UNCHANGED, seen, False, reason)
    refired = replace(
        state,
        status=AlertStatus.ACTIVE,
        count=state.count + 1,
        last_seen=now,
        fired_at=now,
        escalation_level=0,
        last_escalated_at=None,
        acknowledged_at=None,
        resolved_at=None,
        **wording,
    )
    if _cooled_down(state, now, cooldown_seconds):
        return AlertDecision(Transition.REFIRED, refired, True, "the condition holds again")
    return AlertDecision(Transition.REFIRED, refired, False, f"fired again within the {cooldown_seconds} s cooldown")


@dataclass(frozen=True)
class HeldRepeats:
    """Repeat firings of an open alert applied since its document last moved (`alert_repeats/{fingerprint}`).

    `base_count` is the alert document's count they add to: repeats held against another count
    (the document was rewritten since) no longer apply. The wording and change ids are those of
    the latest repeat, which the next write of the alert document takes.
    """

    repeats: int = 0
    base_count: int = 0
    last_seen: datetime | None = None
    title: str = ""
    description: str = ""
    period: str = ""
    applied_change_ids: tuple[str, ...] = ()
    last_observed_at: datetime | None = None
    due_at: datetime | None = None
    """When the held repeats are written even if no evaluation comes (the trailing write)."""

    def applies_to(self, written: AlertState | None) -> bool:
        """True when these repeats add to `written` (the alert document as stored)."""
        return written is not None and written.is_open and self.repeats > 0 and self.base_count == written.count


def with_held(written: AlertState | None, held: HeldRepeats | None) -> AlertState | None:
    """The alert as if every held repeat had been written: what evaluations and the next write start from."""
    if written is None or held is None or not held.applies_to(written) or held.last_seen is None:
        return written
    return replace(
        written,
        count=written.count + held.repeats,
        last_seen=held.last_seen,
        title=held.title,
        description=held.description,
        period=held.period,
        applied_change_ids=held.applied_change_ids,
        last_observed_at=held.last_observed_at,
    )


def holds_repeat(
    written: AlertState | None,
    decision: AlertDecision,
    now: datetime,
    interval: timedelta = REPEAT_WRITE_INTERVAL,
) -> bool:
    """True when `decision` is a repeat firing to hold rather than write: the alert is open with the same
    severity, and its document's count moved less than `interval` before `now`."""
    _aware(now, "now")
    return (
        written is not None
        and decision.transition is Transition.UPDATED
        and decision.state is not None
        and decision.state.severity is written.severity
        and now - written.last_seen < interval
    )


def hold(written: AlertState, repeated: AlertState, interval: timedelta = REPEAT_WRITE_INTERVAL) -> HeldRepeats:
    """The held repeats after `repeated` (the alert with every repeat so far) over `written` (the document)."""
    return HeldRepeats(
        repeats=repeated.count - written.count,
        base_count=written.count,
        last_seen=repeated.last_seen,
        title=repeated.title,
        description=repeated.description,
        period=repeated.period,
        applied_change_ids=repeated.applied_change_ids,
        last_observed_at=repeated.last_observed_at,
        due_at=written.last_seen + interval,
    )


def held_document(held: HeldRepeats) -> dict[str, Any]:
    """Firestore body of `alert_repeats/{fingerprint}` (due_at None: nothing waits, the sweep skips it)."""
    return {
        "repeats": held.repeats,
        "base_count": held.base_count,
        "last_seen": held.last_seen,
        "title": held.title,
        "description": held.description,
        "period": held.period,
        "applied_change_ids": list(held.applied_change_ids),
        "last_observed_at": held.last_observed_at,
        "due_at": held.due_at if held.repeats > 0 else None,
    }


def held_from_document(document: Mapping[str, Any] | None) -> HeldRepeats | None:
    """Inverse of held_document; None for no document or an unreadable one (its repeats are not applied)."""
    if not document:
        return None
    try:
        return HeldRepeats(
            repeats=int(document["repeats"]),
            base_count=int(document["base_count"]),
            last_seen=document.get("last_seen"),
            title=str(document.get("title", "")),
            description=str(document.get("description", "")),
            period=str(document.get("period", "")),
            applied_change_ids=tuple(document.get("applied_change_ids") or ()),
            last_observed_at=document.get("last_observed_at"),
            due_at=document.get("due_at"),
        )
    except (KeyError, TypeError, ValueError):
        return None


def acknowledge(state: AlertState, now: datetime) -> AlertState:
    """An active alert acknowledged by a person; other states are returned unchanged."""
    _aware(now, "now")
    if state.status is not AlertStatus.ACTIVE:
        return state
    return replace(state, status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now)


def mark_notified(state: AlertState, at: datetime) -> AlertState:
    """Record that a notification including this alert went out at `at` (starts the cooldown)."""
    return replace(state, last_notified_at=_aware(at, "at"))


@dataclass(frozen=True)
class NotificationPolicy:
    """Grouping and rate limits of an org's notifications, in the manner of Grafana notification policies.

    - group_by: alert fields whose equal values share one notification group;
    - group_wait: a new group waits this long before its first notification, so alerts that fire
      together (one import touching many accounts) arrive as one message;
    - group_interval: after a notification, alerts new to the group wait until this long after it;
    - repeat_interval: a group with unchanged open alerts is re-sent this long after the last send;
    - max_notifications_per_hour: cap of group notifications per org over any sliding hour.
    """

    group_by: tuple[str, ...] = ("rule_id",)
    group_wait_seconds: int = 30
    group_interval_seconds: int = 300
    repeat_interval_seconds: int = 4 * 3600
    max_notifications_per_hour: int = 20

    def __post_init__(self) -> None:
        unknown = set(self.group_by) - GROUPABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot group alerts by {sorted(unknown)}; use some of {sorted(GROUPABLE_FIELDS)}")
        for name in ("group_wait_seconds", "group_interval_seconds", "repeat_interval_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.max_notifications_per_hour < 1:
            raise ValueError("max_notifications_per_hour must be >= 1")


def group_key(org_id: str, state: AlertState, policy: NotificationPolicy) -> str:
    """Notification group of an alert: sha256 of the org and the grouped fields, 32 hex characters."""
    labels = {name: str(getattr(state, name)) for name in sorted(policy.group_by)}
    canonical = json.dumps([org_id, labels], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:GROUP_KEY_LENGTH]


@dataclass(frozen=True)
class GroupState:
    """Notification state of one group."""

    group_key: str
    pending: tuple[str, ...] = ()
    """Alerts (fingerprints) waiting for the group's next notification, in arrival order."""
    pending_since: datetime | None = None
    last_notified_at: datetime | None = None
    notified: tuple[str, ...] = ()
    """Alerts included in the last notification (what a repeat re-sends while they stay open)."""


def enqueue(group: GroupState, fingerprint: str, now: datetime) -> GroupState:
    """Add an alert that wants a notification to its group (once, however often it is enqueued)."""
    _aware(now, "now")
    if fingerprint in group.pending:
        return group
    return replace(group, pending=(*group.pending, fingerprint), pending_since=group.pending_since or now)


@dataclass(frozen=True)
class OrgBudget:
    """Times of an org's recent notifications, for the hourly cap (a sliding hour, not a clock hour)."""

    sent_at: tuple[datetime, ...] = ()

    def recent(self, now: datetime) -> tuple[datetime, ...]:
        """Sends within the hour before `now`."""
        return tuple(moment for moment in self.sent_at if now - moment < CAP_WINDOW)

    def allows(self, now: datetime, cap: int) -> bool:
        """True if one more notification at `now` stays within `cap` per hour."""
        return len(self.recent(now)) < cap

    def record(self, now: datetime) -> OrgBudget:
        """The budget after one more notification at `now` (older entries dropped)."""
        return OrgBudget((*self.recent(_aware(now, "now")), now))

    def free_at(self, now: datetime, cap: int) -> datetime:
        """Earliest time a notification fits under the cap again."""
        recent = sorted(self.recent(now))
        if len(recent) < cap:
            return now
        return recent[len(recent) - cap] + CAP_WINDOW


class NotificationKind(StrEnum):
    """Why a group notification goes out."""

    INITIAL = "initial"
    UPDATE = "update"
    REPEAT = "repeat"


@dataclass(frozen=True)
class FlushDecision:
    """Whether a group notification goes out now, with what, and the states to store afterwards."""

    send: bool
    kind: NotificationKind | None
    fingerprints: tuple[str, ...]
    """Open alerts the notification lists (new ones first)."""
    new_fingerprints: tuple[str, ...]
    """The alerts that are new to the group since its last notification."""
    group: GroupState
    budget: OrgBudget
    next_check_at: datetime | None
    """When to look at the group again if nothing was sent (None: nothing is waiting)."""
    reason: str


def plan_flush(
    group: GroupState,
    *,
    open_alerts: Collection[str],
    budget: OrgBudget,
    policy: NotificationPolicy,
    now: datetime,
) -> FlushDecision:
    """Decide the group's notification at `now`, given which of its alerts are still open.

    Pending alerts that resolved before being sent are dropped silently. A group whose
    previously notified alerts are all closed counts as new again (it waits group_wait).
    """
    _aware(now, "now")
    pending = tuple(f for f in group.pending if f in open_alerts)
    still_open = tuple(f for f in group.notified if f in open_alerts and f not in pending)
    if not pending and group.pending:
        group = replace(group, pending=(), pending_since=None)

    def wait(due: datetime, why: str) -> FlushDecision:
        return FlushDecision(False, None, (), (), group, budget, due, why)

    if pending:
        since = group.pending_since or now
        if group.last_notified_at is None or not still_open:
            kind = NotificationKind.INITIAL
            due = since + timedelta(seconds=policy.group_wait_seconds)
        else:
            kind = NotificationKind.UPDATE
            due = max(since, group.last_notified_at + timedelta(seconds=policy.group_interval_seconds))
    elif still_open and group.last_notified_at is not None:
        kind = NotificationKind.REPEAT
        due = group.last_notified_at + timedelta(seconds=policy.repeat_interval_seconds)
    else:
        return FlushDecision(False, None, (), (), group, budget, None, "nothing to notify")
    if now < due:
        return wait(due, f"{kind.value} notification due at {due.isoformat()}")
    if not budget.allows(now, policy.max_notifications_per_hour):
        free = budget.free_at(now, policy.max_notifications_per_hour)
        return wait(free, f"the org reached {policy.max_notifications_per_hour} notifications in the last hour")
    listed = (*pending, *still_open)
    after = GroupState(group.group_key, (), None, now, listed)
    return FlushDecision(True, kind, listed, pending, after, budget.record(now), None, f"{kind.value} notification")


@dataclass(frozen=True)
class EscalationDecision:
    """Whether an unacknowledged critical alert moves up one escalation level now."""

    escalate: bool
    level: int
    channel_id: str | None
    """Channel of the new level (escalation.channels[level - 1]); None when not escalating."""
    state: AlertState
    reason: str


def plan_escalation(state: AlertState, escalation: Escalation | None, *, now: datetime) -> EscalationDecision:
    """Raise the level of an active critical alert unacknowledged for `escalate_after_seconds`.

    The wait runs from the last escalation, or from the start of the firing episode. One level
    per call: a scheduler that ran late escalates one step, then waits again. Acknowledged and
    resolved alerts never escalate.
    """
    _aware(now, "now")

    def stay(reason: str) -> EscalationDecision:
        return EscalationDecision(False, state.escalation_level, None, state, reason)

    if state.status is not AlertStatus.ACTIVE:
        return stay(f"the alert is {state.status.value}")
    if state.severity is not Severity.CRITICAL:
        return stay(f"only critical alerts escalate (this one is {state.severity.value})")
    if escalation is None:
        return stay("the rule has no escalation")
    if state.escalation_level >= len(escalation.channels):
        return stay("every escalation level has been notified")
    since = state.last_escalated_at or state.fired_at
    due = since + timedelta(seconds=escalation.escalate_after_seconds)
    if now < due:
        return stay(f"unacknowledged for less than {escalation.escalate_after_seconds} s (due {due.isoformat()})")
    level = state.escalation_level + 1
    escalated = replace(state, escalation_level=level, last_escalated_at=now)
    return EscalationDecision(True, level, escalation.channels[level - 1], escalated, f"escalated to level {level}")


_TIME_FIELDS = (
    "first_seen",
    "last_seen",
    "fired_at",
    "last_notified_at",
    "last_escalated_at",
    "acknowledged_at",
    "resolved_at",
    "last_observed_at",
)


def alert_document(state: AlertState) -> dict[str, Any]:
    """Firestore body of `alerts/{fingerprint}` (times stay datetimes: Firestore stores them as timestamps)."""
    body: dict[str, Any] = {
        "fingerprint": state.fingerprint,
        "rule_id": state.rule_id,
        "rule_type": state.rule_type,
        "entity_id": state.entity_id,
        "period": state.period,
        "severity": state.severity.value,
        "status": state.status.value,
        "title": state.title,
        "description": state.description,
        "count": state.count,
        "escalation_level": state.escalation_level,
        "applied_change_ids": list(state.applied_change_ids),
    }
    body.update({name: getattr(state, name) for name in _TIME_FIELDS})
    return body


def alert_state_from_document(document: Mapping[str, Any]) -> AlertState:
    """Inverse of alert_document (extra fields, e.g. who acknowledged, are ignored)."""
    # The stored times as Firestore returns them: datetimes, None where a time is not set.
    times: dict[str, Any] = {name: document.get(name) for name in _TIME_FIELDS}
    return AlertState(
        fingerprint=str(document["fingerprint"]),
        rule_id=str(document["rule_id"]),
        rule_type=str(document["rule_type"]),
        entity_id=str(document["entity_id"]),
        period=str(document["period"]),
        severity=Severity(document["severity"]),
        status=AlertStatus(document["status"]),
        title=str(document["title"]),
        description=str(document["description"]),
        count=int(document["count"]),
        escalation_level=int(document.get("escalation_level", 0)),
        applied_change_ids=tuple(document.get("applied_change_ids") or ()),
        **times,
    )
