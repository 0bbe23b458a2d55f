"""Every BigQuery view created from infra/bigquery/views/*.sql and queried on the emulator against the core.

A scratch dataset of its own holds the tables (schemas generated from the core's row models) and
the views (the same SQL files and placeholder filling as provisioning and Terraform); synthetic
facts with duplicates, deletes, stale versions and exact half-way percentages go in, and every
view must return what finance_core computes from the same rows.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from finance_core.accounts import ChartOfAccounts
from finance_core.analytics_rows import AlertStateChange, FinancialFact
from finance_core.days import iso_week
from finance_core.facts import fact_row, latest_records
from finance_core.metrics import MetricGraph
from finance_core.records import RecordState
from finance_core.variance import account_variances, percent_change
from google.cloud import bigquery

from tests.bigquery_checks import assert_pnl_row_equals_core, cents
from tools.stack.provision import ProvisionReport, bigquery_client, provision_bigquery, resources
from tools.stack.seed import demo_reference

pytestmark = pytest.mark.emulators

REFERENCE = demo_reference()
CHART = ChartOfAccounts.from_documents({a["account_id"]: a for a in REFERENCE["accounts"]})
LEAVES = sorted(a.account_id for a in CHART if CHART.is_leaf(a.account_id))
ENTITIES = ["us-east", "us-west", "eu-central"]
PERIODS = [f"{2025 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(1, 17)]  # 2025-01 .. 2026-04
T0 = datetime(2026, 11, 1, tzinfo=UTC)
FOUR = Decimal("0.0001")


def _view_names() -> list[str]:
    return [v["name"] for v in resources()["bigquery"]["views"]]


@pytest.fixture(scope="module")
def scratch(stack):
    """(client, 'project.dataset') of a fresh dataset with the project's tables and views."""
    client = bigquery_client(stack.config)
    name = f"views_test_{uuid.uuid4().hex[:10]}"
    dataset = f"{stack.config.project_id}.{name}"
    try:
        provision_bigquery(stack.config, ProvisionReport(), client, dataset_name=name)
        yield client, dataset
    finally:
        client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def _state(
    org: str,
    record_id: str,
    version: int,
    entity: str,
    account: str,
    period: str,
    scenario: str,
    cents: int,
    day: str | None = None,
) -> RecordState:
    amount = Decimal(cents).scaleb(-2)
    return RecordState(
        org,
        record_id,
        version,
        f"{record_id}-v{version}",
        entity_id=entity,
        account_id=account,
        period=period,
        scenario=scenario,
        amount=amount,
        currency="USD",
        amount_minor=cents,
        reporting_amount_minor=cents,
        occurred_at="2026-10-05T12:00:00Z",
        source="test",
        date=day,
    )


def _row(
    s: RecordState, op: str = "upsert", version: int | None = None, event_id: str | None = None, at: datetime = T0
) -> FinancialFact:
    return fact_row(
        s,
        op=op,
        version=version or s.version,
        event_id=event_id or s.event_id,
        account_type=CHART.type_of(str(s.account_id)).value,
        reporting_currency="USD",
        ingested_at=at,
    )


def _history(org: str, rng: random.Random) -> list[FinancialFact]:
    """Rows as the streaming path (and its retries) may leave them: every kind of mess, in any order."""
    rows: list[FinancialFact] = []
    # Round budgets make exactly half-way percentages (x.xxxx5) common.
    round_cents = [8_000_000, 16_000_000, 20_000_000, 40_000_000, 200_000_000]
    record = 0
    for period in PERIODS:
        for entity in ENTITIES:
            for account in rng.sample(LEAVES, 6):
                for scenario in ("actual", "budget"):
                    if scenario == "actual" and rng.random() < 0.08:
                        continue  # a month without actuals: trends must not compare across the gap
                    record += 1
                    rid = f"r{record}"
                    amount_cents = rng.choice(round_cents) if scenario == "budget" else rng.randint(-50_000, 90_000_000)
                    day = f"{period}-{rng.randint(1, 28):02d}" if rng.random() < 0.6 else None
                    final = _state(org, rid, 1, entity, account, period, scenario, amount_cents, day)
                    rows.append(_row(final))
                    fate = rng.random()
                    if fate < 0.15:  # a newer version; the older row stays in the table
                        # A newer version may move the record to another day, or drop its date.
                        moved_day = rng.choice([day, None, f"{period}-{rng.randint(1, 28):02d}"])
                        final = _state(
                            org,
                            rid,
                            2,
                            entity,
                            account,
                            period,
                            scenario,
                            amount_cents + rng.randint(1, 99_999),
                            moved_day,
                        )
                        rows.append(_row(final, at=T0 + timedelta(seconds=1)))
                    elif fate < 0.22:  # deleted (the tombstone's version)
                        rows.append(_row(final, "delete", version=2, event_id=f"{rid}-del"))
                    elif fate < 0.26:  # deleted after its tombstone was gone: same version as the upsert
                        rows.append(_row(final, "delete", event_id=f"delete-{rid}"))
                    if rng.random() < 0.2:  # a redelivered copy of the last change
                        rows.append(rows[-1])
    # A move: the record changes entity and period between versions.
    moved = _state(org, "moved", 1, "us-east", "4100", PERIODS[0], "actual", 1_000)
    rows += [_row(moved), _row(_state(org, "moved", 3, "us-west", "4100", PERIODS[1], "actual", 2_000))]
    rng.shuffle(rows)
    return rows


@pytest.fixture(scope="module")
def facts(scratch):
    """Two orgs of messy history inserted into the scratch facts table (org 'b' is a copy: no cross-talk)."""
    client, dataset = scratch
    rng = random.Random(20261123)
    rows = _history("org-a", rng) + _history("org-b", random.Random(7))
    for start in range(0, len(rows), 500):
        batch = rows[start : start + 500]
        errors = client.insert_rows_json(
            f"{dataset}.financial_facts",
            [r.model_dump(mode="json") for r in batch],
            row_ids=[r.event_id for r in batch],
        )
        assert errors == []
    return rows


def query(client: bigquery.Client, sql: str) -> list[dict]:
    return [dict(row.items()) for row in client.query(sql).result()]


def test_every_view_is_created_from_its_sql_and_answers(scratch, facts):
    client, dataset = scratch
    for name in _view_names():
        table = client.get_table(f"{dataset}.{name}")
        assert table.table_type == "VIEW"
        assert query(client, f"SELECT COUNT(*) AS n FROM `{dataset}.{name}`")[0]["n"] >= 0


def test_the_provisioned_dataset_has_every_view_and_they_answer(stack):
    client = bigquery_client(stack.config)
    dataset = f"{stack.config.project_id}.{resources()['bigquery']['dataset']}"
    for name in _view_names():
        assert client.get_table(f"{dataset}.{name}").table_type == "VIEW"
        query(client, f"SELECT * FROM `{dataset}.{name}` LIMIT 1")


def test_latest_is_every_current_record_exactly_once(scratch, facts):
    client, dataset = scratch
    expected = latest_records(facts)
    got = query(client, f"SELECT * FROM `{dataset}.financial_records_latest`")
    keys = [(r["org_id"], r["record_id"]) for r in got]
    assert len(keys) == len(set(keys)), "a record appears twice"
    assert set(keys) == set(expected)
    for r in got:
        want = expected[(r["org_id"], r["record_id"])]
        assert (r["version"], r["event_id"], r["entity_id"], r["period"], r["reporting_amount"], r["booking_date"]) == (
            want.version,
            want.event_id,
            want.entity_id,
            want.period,
            want.reporting_amount,
            want.booking_date,
        )
    assert ("org-a", "moved") in expected and expected[("org-a", "moved")].entity_id == "us-west"


def _latest_by(org: str, facts: list[FinancialFact]):
    """(entity incl. '_all', period, scenario) -> {account: cents} of the current records of an org."""
    totals: dict[tuple[str, date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[tuple[str, date, str], int] = defaultdict(int)
    for (row_org, _), row in latest_records(facts).items():
        if row_org != org:
            continue
        for entity in (row.entity_id, "_all"):
            totals[(entity, row.period, row.scenario)][row.account_id] += cents(row.reporting_amount)
            counts[(entity, row.period, row.scenario)] += 1
    return totals, counts


def test_pnl_monthly_equals_the_core_metrics(scratch, facts):
    client, dataset = scratch
    graph = MetricGraph()
    totals, counts = _latest_by("org-a", facts)
    got = {
        (r["entity_id"], r["period"], r["scenario"]): r
        for r in query(client, f"SELECT * FROM `{dataset}.pnl_monthly` WHERE org_id = 'org-a'")
    }
    assert set(got) == set(totals)
    for key, accounts in totals.items():
        assert_pnl_row_equals_core(got[key], key, accounts, counts[key], CHART, graph)


def _daily_by(org: str, facts: list[FinancialFact], week: bool = False):
    """(entity incl. '_all', day or ISO week, scenario) -> {account type: cents}, records, of an org's dated records."""
    totals: dict[tuple[str, Any, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[tuple[str, Any, str], int] = defaultdict(int)
    for (row_org, _), row in latest_records(facts).items():
        if row_org != org or row.booking_date is None:
            continue
        when = iso_week(row.booking_date) if week else row.booking_date
        for entity in (row.entity_id, "_all"):
            totals[(entity, when, row.scenario)][row.account_type] += cents(row.reporting_amount)
            counts[(entity, when, row.scenario)] += 1
    return totals, counts


@pytest.mark.parametrize("grain", ["pnl_daily", "pnl_weekly"])
def test_daily_and_weekly_pnl_equal_the_core_sums_of_the_dated_records(scratch, facts, grain):
    client, dataset = scratch
    weekly = grain == "pnl_weekly"
    totals, counts = _daily_by("org-a", facts, week=weekly)
    assert len(totals) > 50, "the history has dated records"
    rows = query(client, f"SELECT * FROM `{dataset}.{grain}` WHERE org_id = 'org-a'")
    got = {(r["entity_id"], r["iso_week"] if weekly else r["booking_date"], r["scenario"]): r for r in rows}
    assert len(got) == len(rows) and set(got) == set(totals)
    for key, by_type in totals.items():
        row = got[key]
        assert row["record_count"] == counts[key]
        for account_type in ("revenue", "cogs", "opex", "other_income", "other_expense", "tax"):
            assert cents(row[account_type]) == by_type.get(account_type, 0), (key, account_type)
        gross = by_type.get("revenue", 0) - by_type.get("cogs", 0)
        assert cents(row["gross_profit"]) == gross and cents(row["ebitda"]) == gross - by_type.get("opex", 0), key
        income = by_type.get("revenue", 0) - by_type.get("cogs", 0) - by_type.get("opex", 0)
        income += by_type.get("other_income", 0) - by_type.get("other_expense", 0) - by_type.get("tax", 0)
        assert cents(row["net_income"]) == income
        if weekly:
            monday = date.fromisoformat(str(row["week_start"]))
            assert monday.weekday() == 0 and iso_week(monday) == row["iso_week"]


def test_budget_variance_equals_the_core_variance_with_half_even_percentages(scratch, facts):
    client, dataset = scratch
    totals, _ = _latest_by("org-a", facts)
    got = {
        (r["entity_id"], r["period"], r["account_id"]): r
        for r in query(client, f"SELECT * FROM `{dataset}.budget_variance` WHERE org_id = 'org-a'")
    }
    expected = {}
    for entity, period in {(k[0], k[1]) for k in totals}:
        actual, budget = totals.get((entity, period, "actual"), {}), totals.get((entity, period, "budget"), {})
        lines = account_variances(actual, budget, CHART)
        expected.update({(entity, period, line.account_id): line for line in lines})
    assert set(got) == set(expected)
    ties = 0
    for key, line in expected.items():
        row = got[key]
        assert (cents(row["actual"]), cents(row["budget"]), cents(row["variance"])) == (
            line.actual_minor,
            line.comparison_minor,
            line.variance_minor,
        ), key
        assert (None if row["variance_pct"] is None else Decimal(row["variance_pct"])) == line.variance_pct, key
        assert row["favourable"] is line.favourable, key
        # Exactly half-way at 4 decimals: variance * 10^6 / |budget| has a fraction of exactly one half.
        doubled = 2 * line.variance_minor * 1_000_000
        if line.comparison_minor and doubled % abs(line.comparison_minor) == 0:
            ties += (doubled // abs(line.comparison_minor)) % 2 == 1
    assert ties > 0, "the data must contain exactly half-way percentages to check half-even rounding"


def _half_even(value: Decimal, quantum: Decimal) -> Decimal:
    return value.quantize(quantum, ROUND_HALF_EVEN)


def test_account_trends_growth_and_moving_average(scratch, facts):
    client, dataset = scratch
    totals, _ = _latest_by("org-a", facts)
    monthly: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    for (entity, period, scenario), accounts in totals.items():
        if scenario == "actual":
            for account, amount_cents in accounts.items():
                monthly[(entity, account)][period] = amount_cents
    rows = query(client, f"SELECT * FROM `{dataset}.account_trends` WHERE org_id = 'org-a'")
    assert {(r["entity_id"], r["account_id"], r["period"]) for r in rows} == {
        (e, a, p) for (e, a), series in monthly.items() for p in series
    }
    gaps = 0
    for r in rows:
        series = monthly[(r["entity_id"], r["account_id"])]
        period = r["period"]
        assert r["account_type"] == CHART.type_of(r["account_id"]).value
        previous = series.get(date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1))
        last_year = series.get(date(period.year - 1, period.month, 1))
        assert (None if r["previous_month"] is None else cents(r["previous_month"])) == previous
        assert (None if r["same_month_last_year"] is None else cents(r["same_month_last_year"])) == last_year
        mom = None if previous is None else percent_change(series[period], previous)
        yoy = None if last_year is None else percent_change(series[period], last_year)
        assert (None if r["mom_growth_pct"] is None else Decimal(r["mom_growth_pct"])) == mom, r
        assert (None if r["yoy_growth_pct"] is None else Decimal(r["yoy_growth_pct"])) == yoy, r
        window = [date(period.year - (period.month <= k), (period.month - 1 - k) % 12 + 1, 1) for k in range(3)]
        if all(p in series for p in window):
            average = _half_even(Decimal(sum(series[p] for p in window)) / 300, Decimal("0.01"))
            assert Decimal(r["moving_avg_3m"]) == average, r
        else:
            gaps += 1
            assert r["moving_avg_3m"] is None
    assert gaps > 0


def test_views_keep_organisations_apart(scratch, facts):
    client, dataset = scratch
    a = query(client, f"SELECT COUNT(*) AS n FROM `{dataset}.financial_records_latest` WHERE org_id = 'org-a'")[0]["n"]
    b = query(client, f"SELECT COUNT(*) AS n FROM `{dataset}.financial_records_latest` WHERE org_id = 'org-b'")[0]["n"]
    assert a == len([k for k in latest_records(facts) if k[0] == "org-a"]) and b > 0


def test_alerts_latest_is_the_last_state_of_every_alert_once(scratch):
    client, dataset = scratch
    changes = []
    for alert in range(5):
        for step, status in enumerate(("active", "acknowledged", "resolved")[: alert % 3 + 1]):
            changes.append(
                AlertStateChange(
                    change_id=f"a{alert}-{step}",
                    org_id="org-a",
                    alert_id=f"alert-{alert}",
                    rule_id="r1",
                    severity="warning",
                    status=status,
                    change="fired" if step == 0 else status,
                    title="Revenue low",
                    current_value=Decimal("10.50"),
                    threshold=Decimal("12"),
                    escalation_level=0,
                    changed_at=T0 + timedelta(minutes=step),
                )
            )
    rows = changes + changes[:4]  # redelivered writes
    errors = client.insert_rows_json(f"{dataset}.alerts", [c.model_dump(mode="json") for c in rows])
    assert errors == []
    got = {r["alert_id"]: r for r in query(client, f"SELECT * FROM `{dataset}.alerts_latest` WHERE org_id = 'org-a'")}
    assert len(got) == 5
    for alert in range(5):
        assert got[f"alert-{alert}"]["status"] == ("active", "acknowledged", "resolved")[alert % 3]
    assert "rank_in_alert" not in next(iter(got.values()))
