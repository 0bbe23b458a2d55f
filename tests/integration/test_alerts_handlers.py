"""Alert handlers called directly on the Firestore emulator: BigQuery down, crash recovery, series rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from adapters.notification_channels.sender import ChannelSender
from adapters.reference_store import ReferenceStore
from aggregations.store import AggregateStore
from alerts.evaluator import AlertEvaluator
from alerts.history import OUTBOX, AlertHistory
from alerts.notifier import Notifier
from alerts.store import AlertStore
from finance_core.aggregates import AggregateDelta, AggregateKey
from finance_core.folded import AggregatesFolded

from tests.alert_receivers import WebhookReceiver
from tests.integration.test_alerts import (
    MARKER_ACCOUNT,
    MARKER_ENTITY,
    MARKER_RULE,
    add_channel,
    alerts_of,
    exact_count,
    expense,
    marker_rule,
    rule,
    wait_alerts,
)
from tests.support import publish, seed_org, wait_for_events, wait_until

pytestmark = pytest.mark.emulators


class FlakyBigQuery:
    """An insert function for AlertHistory that fails while `down` and keeps what it accepted."""

    def __init__(self, down: bool):
        self.down = down
        self.rows: list[dict[str, Any]] = []

    def __call__(self, rows: list[dict[str, Any]]) -> list[Any]:
        if self.down:
            raise ConnectionError("BigQuery is unavailable")
        self.rows.extend(rows)
        return []


def _engine(db, bigquery: FlakyBigQuery) -> tuple[AlertEvaluator, Notifier, AlertStore]:
    store = AlertStore(db, AlertHistory(db, bigquery))
    # The test's receivers listen on loopback: allow-listed as the local stack's functions/.env.local does.
    settings = {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1,localhost", "SMTP_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    notifier = Notifier(store, ChannelSender(store.channel_documents, lambda name: "", lambda: settings))
    evaluator = AlertEvaluator(db, ReferenceStore(db, ttl_seconds=0), store, notifier)
    return evaluator, notifier, store


def _change(org_id: str, change_id: str, *keys: AggregateKey, account: str = "6100") -> AggregatesFolded:
    """The announcement of a folded change that moved `account` in `keys` (what evaluate_alerts receives)."""
    return AggregatesFolded.of(org_id, change_id, "2026-11-23T10:00:00+00:00", None, dict.fromkeys(keys, [account]))


def _salaries_without_the_pipeline(db, org_id: str) -> AggregateKey:
    """Salaries of 1,500.00 in us-east 2026-10, written straight into the aggregates.

    Through the pipeline, the deployed evaluate_alerts would judge the rule too (racing the
    handlers under test whenever its change message comes late); here no function sees the org.
    """
    key = AggregateKey("us-east", "2026-10", "actual")
    aggregates = AggregateStore(db, 8)
    delta = AggregateDelta({"6100": 150000}, 1)
    aggregates.apply_once(org_id, f"seed-{org_id}", {key: delta, key.consolidated(): delta})
    reference = ReferenceStore(db, ttl_seconds=0).get(org_id)
    aggregates.fold_many(org_id, [key, key.consolidated()], reference.chart, reference.reporting_currency)
    return key


def _outbox(db, org_id: str) -> list[dict[str, Any]]:
    return [s.to_dict()["row"] for s in db.collection(f"organizations/{org_id}/{OUTBOX}").stream()]


def test_an_unavailable_bigquery_never_fails_the_evaluation_and_the_sweep_sends_the_rows_later(stack, db, org_id):
    # The rule is written after the pipeline has the data, so only this test's handler evaluates it.
    seed_org(db, org_id)
    key = _salaries_without_the_pipeline(db, org_id)
    db.document(f"organizations/{org_id}/alert_rules/salaries-high").set(rule("salaries-high", channels=()))
    bigquery = FlakyBigQuery(down=True)
    evaluator, notifier, _ = _engine(db, bigquery)
    report = evaluator.handle(_change(org_id, "c-1", key, key.consolidated()))
    assert list(report.transitions) == ["fired"]
    [alert] = alerts_of(db, org_id)
    assert alert["status"] == "active"
    [row] = _outbox(db, org_id)
    assert (row["change"], row["alert_id"], row["org_id"]) == ("fired", alert["fingerprint"], org_id)
    assert row["change_id"] == f"{alert['fingerprint']}:fired:c-1" and row["current_value"] == "150000.000000000"
    bigquery.down = False
    notifier.sweep(org_id)
    assert [r["change_id"] for r in bigquery.rows] == [row["change_id"]]
    assert _outbox(db, org_id) == []


def test_an_alert_whose_invocation_died_before_its_group_is_notified_by_a_redelivery_or_the_sweep(stack, db, org_id):
    seed_org(db, org_id)
    key = _salaries_without_the_pipeline(db, org_id)
    with WebhookReceiver() as hook:
        add_channel(db, org_id, "hook", {"type": "webhook", "url": f"{hook.url}/ops"})
        db.document(f"organizations/{org_id}/alert_rules/salaries-high").set(rule("salaries-high"))
        evaluator, notifier, store = _engine(db, FlakyBigQuery(down=False))

        class Crash(Exception):
            pass

        def crash(*args, **kwargs):
            raise Crash("the instance died")

        notifier.enqueue = crash  # the alert is raised, the group never hears of it
        with pytest.raises(Crash):
            evaluator.handle(_change(org_id, "c-1", key))
        [alert] = alerts_of(db, org_id)
        assert alert["notify_pending_since"] is not None and hook.all() == []
        # A redelivery of the same change finishes the job without counting it twice.
        del notifier.enqueue
        report = evaluator.handle(_change(org_id, "c-1", key))
        assert report.transitions == {"unchanged": [alert["fingerprint"]]}
        assert len(hook.delivered("/ops")) == 1
        [alert] = alerts_of(db, org_id)
        assert alert["count"] == 1 and alert["notify_pending_since"] is None

        # Another rule, another crash, and no redelivery (the local emulator never redelivers):
        # the scheduled sweep enqueues alerts left behind for more than a minute.
        db.document(f"organizations/{org_id}/alert_rules/salaries-very-high").set(rule("salaries-very-high", "1200.00"))
        notifier.enqueue = crash
        with pytest.raises(Crash):
            evaluator.handle(_change(org_id, "c-2", key))
        del notifier.enqueue
        [left] = [a for a in alerts_of(db, org_id) if a["rule_id"] == "salaries-very-high"]
        assert notifier.sweep(org_id) == [], "not before the grace period"
        db.document(f"organizations/{org_id}/alerts/{left['fingerprint']}").update(
            {"notify_pending_since": left["notify_pending_since"] - timedelta(minutes=2)}
        )
        [sent] = notifier.sweep(org_id)
        assert sent.alert_ids == (left["fingerprint"],) and sent.status == "delivered"
        assert len(hook.delivered("/ops")) == 2


def _marker_evaluated(stack, db, org_id: str, version: int) -> None:
    """Publish version `version` of the marker line and wait until its rule counted it: what was
    published before has been evaluated too (the positive signal before asserting what did not change)."""
    publish(
        stack,
        [expense(org_id, MARKER_RULE, f"{version}.00", version=version, entity=MARKER_ENTITY, account=MARKER_ACCOUNT)],
    )
    wait_until(
        lambda: any(
            a["rule_id"] == MARKER_RULE and exact_count(db, org_id, a) >= version
            for a in alerts_of(db, org_id, markers=True)
        ),
        300,
        what=f"version {version} of the marker line to be evaluated",
    )


def test_a_revenue_decline_over_three_months_fires_a_trend_alert_that_resolves_on_recovery(stack, db, org_id):
    trend = {
        "rule_id": "revenue-decline",
        "name": "Product revenue declining",
        "type": "trend",
        "severity": "warning",
        "target": {"entity_id": "us-west", "account_id": "4100"},
        "direction": "decline",
        "periods": 3,
        "channels": [],
    }
    seed_org(db, org_id, all_periods_open=True, rules=[trend, marker_rule()])
    amounts = {"2026-07": "4000.00", "2026-08": "3000.00", "2026-09": "2000.00", "2026-10": "1000.00"}
    publish(
        stack, [expense(org_id, f"r-{p}", a, period=p, entity="us-west", account="4100") for p, a in amounts.items()]
    )
    wait_for_events(db, org_id, len(amounts), timeout=300)
    wait_alerts(db, org_id, lambda docs: docs[0]["status"] == "active", "the trend alert")
    _marker_evaluated(stack, db, org_id, 1)
    [alert] = alerts_of(db, org_id)
    assert alert["period"] == "2026-10" and alert["rule_type"] == "trend" and alert["status"] == "active"
    declined = "declined 3 periods in a row, from 4,000.00 USD in 2026-07 to 1,000.00 USD in 2026-10"
    assert declined in alert["description"]
    # A booking in the month in progress does not count: the trend is judged on complete months
    # (counted, it would extend the decline to 10.00 USD in 2026-11).
    publish(stack, [expense(org_id, "r-nov", "10.00", period="2026-11", entity="us-west", account="4100")])
    wait_for_events(db, org_id, len(amounts) + 1, timeout=300)
    _marker_evaluated(stack, db, org_id, 2)
    [alert] = alerts_of(db, org_id)
    assert alert["period"] == "2026-10" and alert["status"] == "active" and declined in alert["description"]
    publish(
        stack, [expense(org_id, "r-2026-10", "2500.00", version=2, period="2026-10", entity="us-west", account="4100")]
    )
    [alert] = wait_alerts(db, org_id, lambda docs: docs[0]["status"] == "resolved", "the trend alert resolved")


def test_parallel_evaluations_of_one_hot_alert_all_count_and_none_fails(stack, db, org_id):
    """A forecast alert re-evaluated by every change of a bulk load: 8 writers, 10 changes each."""
    from concurrent.futures import ThreadPoolExecutor

    from adapters.firestore_codec import utc_now
    from finance_core.alert_rules import RuleContext, evaluate, parse_rule

    forecast = parse_rule(
        {
            "rule_id": "ni-forecast",
            "name": "Net income forecast",
            "type": "forecast",
            "target": {"metric": "net_income"},
            "direction": "below",
            "threshold_minor": 10**9,
        }
    )
    evaluation = evaluate(
        forecast, RuleContext(period="2026-10", current_value=100, history=(("2026-08", 300), ("2026-09", 200)))
    )
    assert evaluation.firing
    bigquery = FlakyBigQuery(down=False)
    _, _, store = _engine(db, bigquery)

    def writer(index: int) -> list[str]:
        return [
            store.apply(
                org_id, forecast, evaluation, change_id=f"w{index}-c{n}", now=utc_now(), observed_at=utc_now()
            ).decision.transition.value
            for n in range(10)
        ]

    with ThreadPoolExecutor(8) as pool:
        transitions = [t for batch in pool.map(writer, range(8)) for t in batch]
    [alert] = alerts_of(db, org_id)
    # Equal data times may arrive out of order: an evaluation older than the alert's is ignored.
    applied = [t for t in transitions if t != "unchanged"]
    assert transitions.count("fired") == 1 and exact_count(db, org_id, alert) == len(applied)
    # Within a minute of the firing, the repeats are held beside the alert: its document was written once.
    assert alert["count"] == 1
    assert len(_outbox(db, org_id)) == len(applied), "one history row per applied evaluation"


def test_repeats_held_beside_an_alert_reach_it_by_the_next_write_or_the_sweep(stack, db, org_id):
    """No evaluation after the repeats: the sweep writes them once due, exactly once."""
    from finance_core.alert_policy import REPEAT_WRITE_INTERVAL
    from finance_core.alert_rules import RuleContext, evaluate, parse_rule

    seed_org(db, org_id, rules=[])
    cash = parse_rule(
        {
            "rule_id": "cash-low",
            "name": "Cash below 50,000",
            "type": "absolute",
            "target": {"account_id": "1000", "entity_id": "_all"},
            "direction": "below",
            "threshold_minor": 5_000_000,
        }
    )
    _, _, store = _engine(db, FlakyBigQuery(down=False))
    start = datetime.now(UTC)

    def apply(change_id: str, seconds: float, value: int) -> str:
        evaluation = evaluate(cash, RuleContext(period="2026-10", current_value=value))
        at = start + timedelta(seconds=seconds)
        return store.apply(org_id, cash, evaluation, change_id=change_id, now=at, observed_at=at).decision.transition

    assert apply("c1", 0, 4_000_000) == "fired"
    assert [apply(f"c{n}", n, 4_000_000 - n) for n in range(2, 6)] == ["updated"] * 4
    assert apply("c5", 6, 1) == "unchanged", "a redelivered held repeat counts once"
    [alert] = alerts_of(db, org_id)
    assert alert["count"] == 1 and exact_count(db, org_id, alert) == 5
    assert store.due_repeats(start + timedelta(seconds=59), org_id) == []
    due = start + REPEAT_WRITE_INTERVAL
    assert store.due_repeats(due, org_id) == [(org_id, alert["fingerprint"])]
    # The scheduled sweep (its clock a minute on) takes them onto the alert document.
    Notifier(store, ChannelSender(store.channel_documents, lambda name: "", dict), clock=lambda: due).sweep(org_id)
    [alert] = alerts_of(db, org_id)
    assert (alert["count"], alert["last_seen"], alert["current_value"]) == (5, start + timedelta(seconds=5), 3_999_995)
    assert "39,999.95" in alert["description"]
    assert exact_count(db, org_id, alert) == 5 and store.due_repeats(due, org_id) == []
    assert store.write_held_repeats(org_id, alert["fingerprint"], due) is False, "nothing left to write"
    # A repeat more than a minute after the document's last move is written at once.
    assert apply("c6", 66, 4_000_000) == "updated"
    [alert] = alerts_of(db, org_id)
    assert alert["count"] == 6 and alert["last_seen"] == start + timedelta(seconds=66)
