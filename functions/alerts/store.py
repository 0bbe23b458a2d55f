"""Alert documents on Firestore: lifecycle writes, notification groups, the org's hourly budget, notifications."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.notification_channels.delivery import DeliveryOutcome
from adapters.notification_channels.documents import load_channel_documents
from adapters.preconditions import commit_or_lose_race, conditional_put
from adapters.retry import CONTENDED_WRITE, compare_and_set
from finance_core.alert_policy import (
    AlertDecision,
    AlertState,
    EscalationDecision,
    FlushDecision,
    GroupState,
    HeldRepeats,
    NotificationPolicy,
    OrgBudget,
    Transition,
    alert_document,
    alert_state_from_document,
    apply_evaluation,
    enqueue,
    held_document,
    held_from_document,
    hold,
    holds_repeat,
    plan_escalation,
    plan_flush,
    with_held,
)
from finance_core.alert_rules import AlertRule, Escalation, RuleEvaluation
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from alerts.history import OUTBOX, AlertHistory, state_change_row

log = logging.getLogger(__name__)

RULES = "alert_rules"
ALERTS = "alerts"
# Repeat firings held beside each alert (finance_core.alert_policy.HeldRepeats): a collection of
# its own, so the dashboards' queries on `alerts` never see (nor pay for) their writes.
REPEATS = "alert_repeats"
GROUPS = "alert_groups"
NOTIFICATIONS = "alert_notifications"
CHANNELS = "notification_channels"
SETTINGS = "alert_settings"
BUDGET_DOC = "alert_settings/notification_budget"
POLICY_DOC = "alert_settings/notification_policy"
TRANSACTION_ATTEMPTS = 15
# A notification still "sending" this long after its claim belongs to an invocation that died.
STUCK_AFTER = timedelta(minutes=2)


def stored_number(value: Any) -> int | float | None:
    """A measured value as Firestore stores it: ints stay ints, exact decimals become numbers, no infinities."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def readable_state(document: Mapping[str, Any] | None) -> AlertState | None:
    """The AlertState of a stored alert; None for no document or one the engine cannot read (logged).

    An unreadable alert (edited by hand, half deleted) is rewritten whole by its next firing
    evaluation instead of blocking its rule for ever.
    """
    if not document:
        return None
    try:
        return alert_state_from_document(document)
    except (KeyError, TypeError, ValueError) as exc:
        log.error(
            "alert %s is not a readable alert document (%s); its next firing rewrites it",
            document.get("fingerprint", "?"),
            exc,
        )
        return None


def _transaction(db: firestore.Client, run: Callable[[firestore.Transaction], Any], what: str) -> Any:
    """Run a transactional function; contention that outlasts its attempts is a TransientError."""
    with map_exceptions(what):
        return run(db.transaction(max_attempts=TRANSACTION_ATTEMPTS))


@dataclass(frozen=True)
class AppliedEvaluation:
    """What one evaluation did to its alert, and the BigQuery row it staged (if the alert changed)."""

    decision: AlertDecision
    row: dict[str, Any] | None
    needs_enqueue: bool = False
    """True when the alert wants its notification group: it just fired, or an earlier invocation
    decided so and died before the group had it (notify_pending_since is still set)."""


@dataclass(frozen=True)
class FlushClaim:
    """Result of a flush transaction: the decision and, when sending, the notification to deliver."""

    decision: FlushDecision
    started_group: bool
    """True if this call put the first pending alert into the group (it is the one that may wait)."""
    notification: dict[str, Any] | None
    alerts: Mapping[str, Mapping[str, Any]]
    """The alert documents the notification lists, as read in the transaction."""
    rows: Sequence[dict[str, Any]] = ()


@dataclass(frozen=True)
class EscalationClaim:
    """Result of an escalation transaction."""

    decision: EscalationDecision | None
    """None when the alert no longer exists."""
    notification: dict[str, Any] | None
    alert: Mapping[str, Any] | None
    rows: Sequence[dict[str, Any]] = ()


# What a held repeat keeps of its evaluation besides the state, for the write that takes it.
_EVALUATED_FIELDS = ("current_value", "threshold", "details", "target", "channels", "escalation")


def _group_state(group_key: str, document: Mapping[str, Any] | None) -> GroupState:
    document = document or {}
    return GroupState(
        group_key=group_key,
        pending=tuple(document.get("pending") or ()),
        pending_since=document.get("pending_since"),
        last_notified_at=document.get("last_notified_at"),
        notified=tuple(document.get("notified") or ()),
    )


class AlertStore:
    """Every Firestore read and write of the alert engine (paths under organizations/{org})."""

    def __init__(self, db: firestore.Client, history: AlertHistory):
        self._db = db
        self.history = history

    # --- paths ----------------------------------------------------------------------------

    def _ref(self, org_id: str, path: str) -> firestore.DocumentReference:
        return self._db.document(f"{org_path(org_id)}/{path}")

    def alert_ref(self, org_id: str, alert_id: str) -> firestore.DocumentReference:
        """organizations/{org}/alerts/{alert_id}."""
        return self._ref(org_id, f"{ALERTS}/{alert_id}")

    def repeats_ref(self, org_id: str, alert_id: str) -> firestore.DocumentReference:
        """organizations/{org}/alert_repeats/{alert_id}: the repeat firings not yet on the alert document."""
        return self._ref(org_id, f"{REPEATS}/{alert_id}")

    def group_ref(self, org_id: str, group_key: str) -> firestore.DocumentReference:
        """organizations/{org}/alert_groups/{group_key}."""
        return self._ref(org_id, f"{GROUPS}/{group_key}")

    def notification_ref(self, org_id: str, notification_id: str) -> firestore.DocumentReference:
        """organizations/{org}/alert_notifications/{notification_id}."""
        return self._ref(org_id, f"{NOTIFICATIONS}/{notification_id}")

    # --- reads ----------------------------------------------------------------------------

    def rule_documents(self, org_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(rule_id, document) of every rule of the org."""
        with map_exceptions(f"reading alert rules of {org_id}"):
            docs = self._db.collection(f"{org_path(org_id)}/{RULES}").stream()
            return [(doc.id, doc.to_dict() or {}) for doc in docs]

    def policy_document(self, org_id: str) -> dict[str, Any] | None:
        """The org's notification policy document, if any."""
        with map_exceptions(f"reading the notification policy of {org_id}"):
            snap = self._ref(org_id, POLICY_DOC).get()
        return snap.to_dict() if snap.exists else None

    def channel_documents(self, org_id: str, channel_ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Channel documents by id (None for a channel that does not exist), with their stored secrets."""
        return load_channel_documents(self._db, org_id, channel_ids)

    def existing_alerts(self, org_id: str, alert_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Alert documents that exist, by id."""
        refs = [self.alert_ref(org_id, alert_id) for alert_id in set(alert_ids)]
        if not refs:
            return {}
        with map_exceptions(f"reading alerts of {org_id}"):
            return {snap.id: snap.to_dict() or {} for snap in self._db.get_all(refs) if snap.exists}

    # --- scheduled work: one collection-group query per kind of work, whatever the number of orgs
    # (org_id given: the same query on that org only). Each needs a COLLECTION_GROUP single-field
    # index in production: firestore.indexes.json.

    def _scoped(self, collection: str, org_id: str | None) -> Any:
        if org_id is None:
            return self._db.collection_group(collection)
        return self._db.collection(f"{org_path(org_id)}/{collection}")

    def _found(self, query: Any, what: str) -> list[tuple[str, firestore.DocumentSnapshot]]:
        """(org id, snapshot) of every document a query returns (the org is the path's second part)."""
        with map_exceptions(what):
            return [(snap.reference.path.split("/")[1], snap) for snap in query.stream()]

    def alerts_with_status(self, status: str, org_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(org id, alert) of every alert with this status (escalation candidates, acknowledgements)."""
        query = self._scoped(ALERTS, org_id).where(filter=FieldFilter("status", "==", status))
        return [(org, snap.to_dict() or {}) for org, snap in self._found(query, f"listing {status} alerts")]

    def unqueued_alerts(self, before: datetime, org_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Alerts that decided to notify before `before` but never reached their group (a crash in between)."""
        query = self._scoped(ALERTS, org_id).where(filter=FieldFilter("notify_pending_since", "<=", before))
        return [(org, snap.to_dict() or {}) for org, snap in self._found(query, "listing unqueued alerts")]

    def due_groups(self, now: datetime, org_id: str | None = None) -> list[tuple[str, str, dict[str, str]]]:
        """(org id, group key, labels) of every notification group whose next check is due."""
        query = self._scoped(GROUPS, org_id).where(filter=FieldFilter("next_check_at", "<=", now))
        return [
            (org, snap.id, dict((snap.to_dict() or {}).get("labels") or {}))
            for org, snap in self._found(query, "listing due notification groups")
        ]

    def stuck_notifications(self, now: datetime, org_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Notifications claimed long ago and still 'sending' (their invocation died)."""
        query = self._scoped(NOTIFICATIONS, org_id).where(filter=FieldFilter("status", "==", "sending"))
        found = [(org, snap.to_dict() or {}) for org, snap in self._found(query, "listing pending notifications")]
        return [
            (org, doc)
            for org, doc in found
            if doc.get("claimed_at") is not None and now - doc["claimed_at"] >= STUCK_AFTER
        ]

    def due_repeats(self, now: datetime, org_id: str | None = None) -> list[tuple[str, str]]:
        """(org id, alert id) of every alert whose held repeat firings are due on its document."""
        query = self._scoped(REPEATS, org_id).where(filter=FieldFilter("due_at", "<=", now))
        return [(org, snap.id) for org, snap in self._found(query, "listing held alert repeats")]

    def orgs_with_unsent_history(self, now: datetime, org_id: str | None = None, limit: int = 500) -> set[str]:
        """Orgs whose alert history outbox holds rows BigQuery does not have yet."""
        query = self._scoped(OUTBOX, org_id).where(filter=FieldFilter("created_at", "<=", now)).limit(limit)
        return {org for org, _ in self._found(query, "listing the alert history outbox")}

    # --- lifecycle ------------------------------------------------------------------------

    def apply(
        self,
        org_id: str,
        rule: AlertRule,
        evaluation: RuleEvaluation,
        *,
        change_id: str,
        now: datetime,
        observed_at: datetime,
    ) -> AppliedEvaluation:
        """Apply one evaluation to its alert, idempotent on change_id, with an optimistic compare-and-set.

        Read the alert and its held repeats, decide (alert_policy.apply_evaluation on the alert as if
        every held repeat were written), then write in one batch that only commits if what was read
        is unchanged (update-time precondition; create-if-absent): a repeat firing within
        REPEAT_WRITE_INTERVAL of the alert's last count move goes to `alert_repeats/{id}` only; any
        other transition writes the alert document with every held repeat folded in and resets the
        held document. Every write of either stages the history row and touches the held document,
        so two evaluations racing on one alert always collide there and one reads again. A hot alert
        (a forecast re-evaluated by every change of a bulk load) makes Firestore's lock-based
        transactions time out under parallel writers; this stays live, as the aggregates' fold does.
        """
        ref = self.alert_ref(org_id, evaluation.fingerprint)
        repeats_ref = self.repeats_ref(org_id, evaluation.fingerprint)

        def attempt() -> AppliedEvaluation:
            with map_exceptions(f"reading alert {evaluation.fingerprint}"):
                found = {s.reference.path: s for s in self._db.get_all([ref, repeats_ref])}
            snap, repeats_snap = found[ref.path], found[repeats_ref.path]
            document = snap.to_dict() if snap.exists else None
            written = readable_state(document)
            held = held_from_document(repeats_snap.to_dict() if repeats_snap.exists else None)
            decision = apply_evaluation(
                with_held(written, held),
                evaluation,
                change_id=change_id,
                now=now,
                cooldown_seconds=rule.cooldown_seconds,
                observed_at=observed_at,
            )
            if decision.transition is Transition.UNCHANGED or decision.state is None:
                pending = (document or {}).get("notify_pending_since") is not None
                still_open = decision.state is not None and decision.state.is_open
                return AppliedEvaluation(decision, None, pending and still_open)
            new = decision.state
            row = state_change_row(
                org_id, new, decision.transition.value, change_id, now, evaluation.current_value, evaluation.threshold
            )
            batch = self._db.batch()
            if written is not None and holds_repeat(written, decision, now):
                body = {**held_document(hold(written, new)), **self._evaluated_fields(org_id, rule, evaluation, now)}
                conditional_put(self._db, batch, repeats_ref, repeats_snap, body)
                self.history.stage(batch, org_id, row)
                commit_or_lose_race(batch, f"holding a repeat of alert {evaluation.fingerprint}")
                return AppliedEvaluation(decision, row, False)
            body = {**alert_document(new), **self._evaluated_fields(org_id, rule, evaluation, now)}
            if decision.notify and rule.channels:
                # Cleared by the flush that puts the alert into its group; until then the alert
                # is re-enqueued by a redelivery or the scheduled sweep, so the decision survives a crash.
                body["notify_pending_since"] = now
            if new.acknowledged_at is None:
                # A fired-again alert is a new episode: whoever acknowledged the last one did not see it.
                body.update({"acknowledged_by": None, "acknowledgement_logged_at": None})
            conditional_put(self._db, batch, ref, snap, body)
            conditional_put(
                self._db, batch, repeats_ref, repeats_snap, held_document(HeldRepeats(base_count=new.count))
            )
            self.history.stage(batch, org_id, row)
            commit_or_lose_race(batch, f"writing alert {evaluation.fingerprint}")
            return AppliedEvaluation(decision, row, decision.notify and bool(rule.channels))

        return compare_and_set(
            attempt, CONTENDED_WRITE, what=f"applying an evaluation to alert {evaluation.fingerprint}"
        )

    @staticmethod
    def _evaluated_fields(org_id: str, rule: AlertRule, evaluation: RuleEvaluation, now: datetime) -> dict[str, Any]:
        """The alert document's fields of the latest evaluation beside its state (held with a repeat)."""
        return {
            "alert_id": evaluation.fingerprint,
            "org_id": org_id,
            "target": rule.target.model_dump(mode="json", exclude_none=True),
            "current_value": stored_number(evaluation.current_value),
            "threshold": stored_number(evaluation.threshold),
            "details": dict(evaluation.details) if evaluation.details else None,
            "channels": list(rule.channels),
            # A copy of the rule's escalation lets the escalation sweep skip alerts that never
            # escalate without reading their rules (it re-reads the rule before escalating).
            "escalation": rule.escalation.model_dump(mode="json") if rule.escalation else None,
            "updated_at": now,
        }

    def write_held_repeats(self, org_id: str, alert_id: str, now: datetime) -> bool:
        """The trailing write: move an alert's held repeats onto its document once due (False: nothing to do).

        Idempotent: the held document is reset in the same batch, and a lost race reads again.
        """
        ref = self.alert_ref(org_id, alert_id)
        repeats_ref = self.repeats_ref(org_id, alert_id)

        def attempt() -> bool:
            with map_exceptions(f"reading alert {alert_id}"):
                found = {s.reference.path: s for s in self._db.get_all([ref, repeats_ref])}
            snap, repeats_snap = found[ref.path], found[repeats_ref.path]
            if not repeats_snap.exists:
                return False
            repeats_document = repeats_snap.to_dict() or {}
            held = held_from_document(repeats_document)
            written = readable_state(snap.to_dict() if snap.exists else None)
            batch = self._db.batch()
            if written is None or held is None or not held.applies_to(written):
                # Nothing they add to any more (the alert resolved or was rewritten): stop listing them.
                base = written.count if written is not None else 0
                batch.update(
                    repeats_ref,
                    held_document(HeldRepeats(base_count=base)),
                    option=self._db.write_option(last_update_time=repeats_snap.update_time),
                )
                commit_or_lose_race(batch, f"clearing the held repeats of alert {alert_id}")
                return False
            if held.due_at is not None and held.due_at > now:
                return False
            caught_up = with_held(written, held) or written
            body = {**alert_document(caught_up), "updated_at": now}
            body.update({k: repeats_document[k] for k in _EVALUATED_FIELDS if k in repeats_document})
            conditional_put(self._db, batch, ref, snap, body)
            conditional_put(
                self._db, batch, repeats_ref, repeats_snap, held_document(HeldRepeats(base_count=caught_up.count))
            )
            commit_or_lose_race(batch, f"writing the held repeats of alert {alert_id}")
            return True

        return compare_and_set(attempt, CONTENDED_WRITE, what=f"writing the held repeats of alert {alert_id}")

    def log_acknowledgement(self, org_id: str, alert_id: str, now: datetime) -> dict[str, Any] | None:
        """Stage the history row of a client's acknowledgement once; returns the row (None if done already)."""
        ref = self.alert_ref(org_id, alert_id)
        history = self.history

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> dict[str, Any] | None:
            snap = ref.get(transaction=transaction)
            document = snap.to_dict() if snap.exists else None
            state = readable_state(document)
            if state is None or document is None:
                return None
            if document.get("status") != "acknowledged" or document.get("acknowledgement_logged_at"):
                return None
            acknowledged_at = state.acknowledged_at or now
            row = state_change_row(
                org_id,
                state,
                "acknowledged",
                acknowledged_at.isoformat(),
                acknowledged_at,
                document.get("current_value"),
                document.get("threshold"),
            )
            transaction.update(ref, {"acknowledgement_logged_at": now})
            history.stage(transaction, org_id, row)
            return row

        return _transaction(self._db, run, f"logging the acknowledgement of alert {alert_id}")

    # --- notification groups --------------------------------------------------------------

    def flush(
        self,
        org_id: str,
        group_key: str,
        policy: NotificationPolicy,
        now: datetime,
        add: Sequence[str] = (),
        labels: Mapping[str, Any] | None = None,
    ) -> FlushClaim:
        """Enqueue `add` into a group and decide its notification, in one transaction.

        When the decision is to send, the same transaction records it: the group's new state, the
        org's budget, each listed alert's last_notified_at (which starts its cooldown), and a
        notification document with status 'sending' that the delivery then completes. A crash
        between the two leaves that document for the scheduled sweep, so nothing is lost.
        """
        group_ref = self.group_ref(org_id, group_key)
        budget_ref = self._ref(org_id, BUDGET_DOC)
        history = self.history

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> FlushClaim:
            group_snap = group_ref.get(transaction=transaction)
            budget_snap = budget_ref.get(transaction=transaction)
            group = _group_state(group_key, group_snap.to_dict() if group_snap.exists else None)
            was_waiting = bool(group.pending)
            for fingerprint in add:
                group = enqueue(group, fingerprint, now)
            started = bool(add) and not was_waiting and bool(group.pending)
            members = list(dict.fromkeys([*group.pending, *group.notified]))
            alerts: dict[str, dict[str, Any]] = {}
            if members:
                refs = [self.alert_ref(org_id, fingerprint) for fingerprint in members]
                alerts = {s.id: s.to_dict() or {} for s in transaction.get_all(refs) if s.exists}
            open_alerts = {fp for fp, doc in alerts.items() if doc.get("status") in ("active", "acknowledged")}
            alert_updates: dict[str, dict[str, Any]] = {
                fp: {"notify_pending_since": None}
                for fp in add
                if fp in alerts and alerts[fp].get("notify_pending_since") is not None
            }
            budget = OrgBudget(tuple((budget_snap.to_dict() or {}).get("sent_at") or ()) if budget_snap.exists else ())
            decision = plan_flush(group, open_alerts=open_alerts, budget=budget, policy=policy, now=now)
            after = decision.group
            if decision.send:
                next_check = now + timedelta(seconds=policy.repeat_interval_seconds) if after.notified else None
            else:
                next_check = decision.next_check_at
            group_body: dict[str, Any] = {
                "group_key": group_key,
                "pending": list(after.pending),
                "pending_since": after.pending_since,
                "last_notified_at": after.last_notified_at,
                "notified": list(after.notified),
                "next_check_at": next_check,
                "group_wait_seconds": policy.group_wait_seconds,
                "updated_at": now,
            }
            if labels:
                group_body["labels"] = dict(labels)
            transaction.set(group_ref, group_body, merge=True)
            notification: dict[str, Any] | None = None
            rows: list[dict[str, Any]] = []
            listed = {fp: alerts[fp] for fp in decision.fingerprints if fp in alerts}
            if decision.send:
                transaction.set(budget_ref, {"sent_at": list(decision.budget.sent_at), "updated_at": now})
                channels = sorted({c for doc in listed.values() for c in doc.get("channels") or ()})
                notification = {
                    "notification_id": uuid.uuid4().hex,
                    "group_key": group_key,
                    "kind": decision.kind.value if decision.kind else "initial",
                    "alert_ids": list(decision.fingerprints),
                    "new_alert_ids": list(decision.new_fingerprints),
                    "channels": channels,
                    "status": "sending" if channels else "no_channels",
                    "claimed_at": now,
                    "created_at": now,
                    "escalation_level": 0,
                }
                transaction.set(self.notification_ref(org_id, notification["notification_id"]), notification)
                for fingerprint, document in listed.items():
                    alert_updates.setdefault(fingerprint, {})["last_notified_at"] = now
                    state = readable_state(document)
                    if state is None:
                        continue
                    row = state_change_row(
                        org_id,
                        state,
                        "notified",
                        notification["notification_id"],
                        now,
                        document.get("current_value"),
                        document.get("threshold"),
                    )
                    history.stage(transaction, org_id, row)
                    rows.append(row)
            for fingerprint, update in alert_updates.items():
                transaction.update(self.alert_ref(org_id, fingerprint), update)
            return FlushClaim(decision, started, notification, listed, rows)

        return _transaction(self._db, run, f"flushing notification group {group_key} of {org_id}")

    # --- escalation -----------------------------------------------------------------------

    def escalate(self, org_id: str, alert_id: str, escalation: Escalation | None, now: datetime) -> EscalationClaim:
        """Raise an alert's escalation level if due, with its notification document, in one transaction."""
        ref = self.alert_ref(org_id, alert_id)
        history = self.history

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> EscalationClaim:
            snap = ref.get(transaction=transaction)
            if not snap.exists:
                return EscalationClaim(None, None, None)
            document = snap.to_dict() or {}
            state = readable_state(document)
            if state is None:
                return EscalationClaim(None, None, None)
            decision = plan_escalation(state, escalation, now=now)
            if not decision.escalate:
                return EscalationClaim(decision, None, document)
            transaction.update(ref, {"escalation_level": decision.level, "last_escalated_at": now, "updated_at": now})
            notification: dict[str, Any] = {
                "notification_id": uuid.uuid4().hex,
                "group_key": None,
                "kind": "escalation",
                "alert_ids": [alert_id],
                "new_alert_ids": [alert_id],
                "channels": [decision.channel_id],
                "status": "sending",
                "claimed_at": now,
                "created_at": now,
                "escalation_level": decision.level,
            }
            transaction.set(self.notification_ref(org_id, notification["notification_id"]), notification)
            source = f"level-{decision.level}-{state.fired_at.isoformat()}"
            row = state_change_row(
                org_id,
                decision.state,
                "escalated",
                source,
                now,
                document.get("current_value"),
                document.get("threshold"),
            )
            history.stage(transaction, org_id, row)
            escalated = dict(document, escalation_level=decision.level, last_escalated_at=now)
            return EscalationClaim(decision, notification, escalated, [row])

        return _transaction(self._db, run, f"escalating alert {alert_id} of {org_id}")

    # --- delivery records -----------------------------------------------------------------

    def reclaim(self, org_id: str, notification_id: str, now: datetime) -> dict[str, Any] | None:
        """Take over a stuck notification (once, even with two sweeps running); None if someone else did."""
        ref = self.notification_ref(org_id, notification_id)

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> dict[str, Any] | None:
            snap = ref.get(transaction=transaction)
            document = snap.to_dict() if snap.exists else None
            if not document or document.get("status") != "sending" or now - document["claimed_at"] < STUCK_AFTER:
                return None
            transaction.update(ref, {"claimed_at": now})
            return dict(document, claimed_at=now)

        return _transaction(self._db, run, f"reclaiming notification {notification_id} of {org_id}")

    def record_delivery(
        self, org_id: str, notification: Mapping[str, Any], outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> str:
        """Store the outcome of each channel on the notification and on every alert it listed; returns the status."""
        previous = notification.get("deliveries") or {}
        delivered = {c for c, d in previous.items() if d.get("delivered")}
        delivered |= {o.channel_id for o in outcomes if o.delivered}
        channels = set(notification.get("channels") or ())
        if not channels:
            status = "no_channels"
        elif delivered >= channels:
            status = "delivered"
        elif delivered:
            status = "partial"
        else:
            status = "failed"
        batch = self._db.batch()
        per_channel = {
            o.channel_id: {
                "attempts": firestore.Increment(o.attempts),
                "last_error": o.last_error,
                "errors": o.errors[-5:],
                "delivered": o.delivered or bool((previous.get(o.channel_id) or {}).get("delivered")),
                "delivered_at": o.delivered_at,
                "last_attempt_at": o.last_attempt_at,
                "notification_id": notification["notification_id"],
            }
            for o in outcomes
        }
        batch.set(
            self.notification_ref(org_id, notification["notification_id"]),
            {"deliveries": per_channel, "status": status, "completed_at": now},
            merge=True,
        )
        for alert_id in notification.get("alert_ids") or ():
            body: dict[str, Any] = {"notifications": per_channel}
            if delivered:
                body["last_delivered_at"] = now
            batch.set(self.alert_ref(org_id, alert_id), body, merge=True)
        with map_exceptions(f"recording notification {notification['notification_id']} of {org_id}"):
            batch.commit()
        return status
