"""Generates the bundled demo data set (demo_data/) with a fixed seed: a three-entity, two-currency group."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
from finance_core.days import period_days
from finance_core.periods import add_months, period_range

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo_data"
SEED = 20261123

ORG = {
    "org_id": "northwind",
    "name": "Northwind Trading Group",
    "reporting_currency": "USD",
    "fiscal_year_start_month": 1,
}
ENTITIES = [
    {"entity_id": "us-east", "name": "Northwind US East Inc.", "parent_id": None, "currency": "USD", "scale": 1.0},
    {"entity_id": "us-west", "name": "Northwind US West Inc.", "parent_id": None, "currency": "USD", "scale": 0.7},
    {"entity_id": "eu-central", "name": "Northwind Europe GmbH", "parent_id": None, "currency": "EUR", "scale": 0.55},
]
# account_id, name, type, parent_id, monthly base in thousands (None for groups)
ACCOUNTS = [
    ("4000", "Revenue", "revenue", None, None),
    ("4100", "Product revenue", "revenue", "4000", 1450),
    ("4200", "Subscription revenue", "revenue", "4000", 820),
    ("4300", "Professional services", "revenue", "4000", 260),
    ("5000", "Cost of goods sold", "cogs", None, None),
    ("5100", "Materials and freight", "cogs", "5000", 610),
    ("5200", "Hosting and delivery", "cogs", "5000", 190),
    ("6000", "Operating expenses", "opex", None, None),
    ("6100", "Salaries and benefits", "opex", "6000", 640),
    ("6200", "Marketing", "opex", "6000", 230),
    ("6300", "Rent and facilities", "opex", "6000", 95),
    ("6400", "Software and tools", "opex", "6000", 70),
    ("7000", "Other income", "other_income", None, None),
    ("7100", "Interest income", "other_income", "7000", 12),
    ("8000", "Other expenses", "other_expense", None, None),
    ("8100", "Interest expense", "other_expense", "8000", 28),
    ("8200", "Depreciation and amortisation", "other_expense", "8000", 55),
    ("9000", "Income tax", "tax", None, None),
    ("9100", "Income tax expense", "tax", "9000", 150),
]
# Balance-sheet accounts (movements per month; the backend keeps the positions): account_id, name,
# type, tags, opening balance and monthly drift / noise in thousands (scaled per entity). Kept out
# of ACCOUNTS so the P&L lines (and their random draws) stay what they were.
BALANCE_ACCOUNTS = [
    ("1000", "Cash and cash equivalents", "asset", ["cash", "current_asset"], 5200, -140, 60),
    ("1200", "Accounts receivable", "asset", ["receivable", "current_asset"], 2100, 15, 40),
    ("2100", "Accounts payable", "liability", ["payable", "current_liability"], 900, 5, 25),
    ("2500", "Long-term debt", "liability", ["debt"], 3000, -25, 0),
    ("3000", "Share capital and reserves", "equity", [], 3400, 0, 0),
]
# The cash account is fed from the bank: each movement carries the day it cleared (its booking date),
# one net settlement per week of the month (on the week's last weekday inside the month), so the
# 13-week cash forecast has complete weeks to fit on. A month's movements add up to the monthly
# movement above, to the cent; the opening balance is a position brought forward, not a flow of a
# day, and stays undated. The bank feed also holds the month in progress (its cash has cleared; its
# P&L is booked at month end), which pays the income tax of the three months before in one
# instalment: the forecast fits that on and the group's runway falls under six months
# (docs/kpis.md, "The demo's KPIs").
CASH_ACCOUNT = "1000"
BANK_SOURCE = "demo-bank"
TAX_ACCOUNT = "9100"
TAX_INSTALMENT_DAY = 16
TAX_INSTALMENT_MONTHS = 3
# Tags of P&L accounts: subscriptions are the recurring revenue (MRR, ARR).
TAGS = {"4200": ["recurring"]}
FIRST_ACTUAL = "2024-11"
LAST_ACTUAL = "2026-10"
CURRENT_PERIOD = "2026-11"
BUDGET_PERIODS = period_range("2026-01", "2026-12")
FORECAST_PERIODS = period_range("2026-11", "2027-01")
CLOSED_THROUGH = "2026-08"

# Seasonality by calendar month for revenue-like accounts (Q4 peak, summer dip).
SEASON = [0.94, 0.92, 1.0, 0.98, 1.0, 0.97, 0.9, 0.92, 1.02, 1.05, 1.1, 1.22]
# Known injected anomalies: (entity, account, period, multiplier): the anomaly rule must find them.
ANOMALIES = [
    ("eu-central", "6200", "2026-03", 3.1),
    ("us-west", "4100", "2025-07", 0.35),
    ("us-east", "5200", "2026-06", 2.6),
]
MEMBERS = [
    {"uid": "demo-admin", "role": "admin", "display_name": "Alex Admin"},
    {"uid": "demo-editor", "role": "editor", "display_name": "Erin Editor"},
    {"uid": "demo-viewer", "role": "viewer", "display_name": "Victor Viewer"},
]


def _money(value: float, exponent: int = 2) -> str:
    # Amounts are produced as floats by the random model and fixed to cents once, here, as text.
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_EVEN))


def _fx_rates(rng: np.random.Generator, periods: list[str]) -> dict[str, dict[str, str]]:
    rate = 1.085
    rates = {}
    for period in periods:
        rate = min(1.18, max(1.02, rate + rng.normal(0, 0.012)))
        rates[period] = {"EUR": f"{rate:.6f}", "USD": "1"}
    return rates


def _amount(rng, base_thousands, scale, month_index, period, account_type, growth=0.012):
    month = int(period[5:]) - 1
    seasonal = SEASON[month] if account_type in {"revenue", "cogs"} else 1.0
    trend = (1 + growth) ** month_index
    noise = rng.normal(1.0, 0.025)
    return base_thousands * 1000 * scale * seasonal * trend * noise


def generate() -> dict[str, object]:
    """The whole demo data set as plain data (deterministic for the fixed seed)."""
    rng = np.random.default_rng(SEED)
    actual_periods = period_range(FIRST_ACTUAL, LAST_ACTUAL)
    all_periods = period_range(FIRST_ACTUAL, FORECAST_PERIODS[-1])
    fx = _fx_rates(rng, all_periods)
    leaves = [a for a in ACCOUNTS if a[4] is not None]
    records = []
    anomalies = {(e, a, p): m for e, a, p, m in ANOMALIES}
    for entity in ENTITIES:
        for account_id, _, account_type, _, base in leaves:
            for index, period in enumerate(actual_periods):
                value = _amount(rng, base, entity["scale"], index, period, account_type)
                value *= anomalies.get((entity["entity_id"], account_id, period), 1.0)
                records.append((entity, account_id, period, "actual", value))
            for period in BUDGET_PERIODS:
                index = actual_periods.index(period) if period in actual_periods else len(actual_periods)
                # Budgets were set with a smooth plan: growth a bit above what happened, no noise.
                month = int(period[5:]) - 1
                seasonal = SEASON[month] if account_type in {"revenue", "cogs"} else 1.0
                plan = base * 1000 * entity["scale"] * seasonal * (1.014**index)
                records.append((entity, account_id, period, "budget", plan))
            for offset, period in enumerate(FORECAST_PERIODS):
                index = len(actual_periods) + offset
                value = _amount(rng, base, entity["scale"], index, period, account_type, growth=0.011)
                records.append((entity, account_id, period, "forecast", value))
    rows = []
    for entity, account_id, period, scenario, value in records:
        record_id = f"{entity['entity_id']}-{account_id}-{period}-{scenario}"
        rows.append(
            {
                "record_id": record_id,
                "entity_id": entity["entity_id"],
                "account_id": account_id,
                "period": period,
                "scenario": scenario,
                "amount": _money(value),
                "currency": entity["currency"],
                "source": "demo-erp" if scenario == "actual" else "demo-planning",
            }
        )
    balance_rows = _balance_sheet(actual_periods, rows)
    periods = {
        p: {"status": "closed" if p <= CLOSED_THROUGH else "open"}
        for p in period_range(FIRST_ACTUAL, FORECAST_PERIODS[-1])
    }
    return {
        "org": ORG,
        "entities": [{k: v for k, v in e.items() if k != "scale"} for e in ENTITIES],
        "accounts": [
            {"account_id": a[0], "name": a[1], "type": a[2], "parent_id": a[3]}
            | ({"tags": TAGS[a[0]]} if a[0] in TAGS else {})
            for a in ACCOUNTS
        ]
        + [{"account_id": a[0], "name": a[1], "type": a[2], "parent_id": None, "tags": a[3]} for a in BALANCE_ACCOUNTS],
        "fx_rates": fx,
        "periods": periods,
        "members": MEMBERS,
        "current_period": CURRENT_PERIOD,
        "anomalies": [{"entity_id": e, "account_id": a, "period": p, "multiplier": m} for e, a, p, m in ANOMALIES],
        "records": rows,
        "balance_sheet": balance_rows,
    }


def _balance_sheet(actual_periods: list[str], ledger: list[dict[str, str]]) -> list[dict[str, str]]:
    """Balance-sheet movements of the actual months: the opening balance in the first, drift and noise after.

    The cash account's movements are the bank feed's, dated (`_bank_feed`); the other accounts'
    are one undated movement per month.
    """
    rng = np.random.default_rng(SEED + 1)
    # The feed's own draws: the monthly movements above are the same draws as before dates existed.
    bank_rng = np.random.default_rng(SEED + 2)
    rows = []
    for entity in ENTITIES:
        for account_id, _, _, _, opening, drift, noise in BALANCE_ACCOUNTS:
            for index, period in enumerate(actual_periods):
                thousands = opening if index == 0 else drift + (rng.normal(0, noise) if noise else 0.0)
                if thousands == 0:
                    continue
                row = _balance_row(entity, account_id, period, _money(thousands * 1000 * entity["scale"]))
                if account_id == CASH_ACCOUNT and index > 0:
                    rows += _bank_feed(bank_rng, row)
                else:
                    rows.append(row)
            if account_id == CASH_ACCOUNT:
                rows += _month_in_progress_cash(bank_rng, entity, ledger, drift, noise)
    return rows


def _balance_row(entity: dict, account_id: str, period: str, amount: str, day: date | None = None) -> dict[str, str]:
    return {
        "record_id": f"{entity['entity_id']}-{account_id}-{day or period}-actual",
        "entity_id": entity["entity_id"],
        "account_id": account_id,
        "period": period,
        "scenario": "actual",
        "amount": amount,
        "currency": entity["currency"],
        "source": BANK_SOURCE if day else "demo-erp",
        "date": day.isoformat() if day else "",
    }


def _settlement_days(period: str) -> list[tuple[date, int]]:
    """The last weekday of each ISO week inside the month, with how many weekdays of the month that week has."""
    weeks: dict[date, list[date]] = {}
    for day in period_days(period):
        if day.weekday() < 5:
            weeks.setdefault(day - timedelta(days=day.weekday()), []).append(day)
    return [(days[-1], len(days)) for _, days in sorted(weeks.items())]


def _bank_feed(rng: np.random.Generator, month: dict[str, str]) -> list[dict[str, str]]:
    """A month's cash movement as its weekly settlements: shares by weekdays with noise, exact to the cent."""
    settlements = _settlement_days(month["period"])
    weights = [weekdays * rng.lognormal(0, 0.35) for _, weekdays in settlements]
    total = int(Decimal(month["amount"]) * 100)
    cents = [int(total * weight / sum(weights)) for weight in weights]
    cents[-1] += total - sum(cents)
    entity = next(e for e in ENTITIES if e["entity_id"] == month["entity_id"])
    return [
        _balance_row(entity, month["account_id"], month["period"], f"{Decimal(amount).scaleb(-2):.2f}", day)
        for (day, _), amount in zip(settlements, cents, strict=True)
    ]


def _month_in_progress_cash(
    rng: np.random.Generator, entity: dict, ledger: list[dict[str, str]], drift: float, noise: float
) -> list[dict[str, str]]:
    """The bank feed of the month in progress: its weekly settlements, and the income tax instalment of the
    three months before (their `TAX_ACCOUNT` actuals, paid on `TAX_INSTALMENT_DAY`)."""
    thousands = drift + rng.normal(0, noise)
    month = _balance_row(entity, CASH_ACCOUNT, CURRENT_PERIOD, _money(thousands * 1000 * entity["scale"]))
    taxed = period_range(add_months(CURRENT_PERIOD, -TAX_INSTALMENT_MONTHS), add_months(CURRENT_PERIOD, -1))
    tax = sum(
        Decimal(row["amount"])
        for row in ledger
        if row["entity_id"] == entity["entity_id"]
        and row["account_id"] == TAX_ACCOUNT
        and row["scenario"] == "actual"
        and row["period"] in taxed
    )
    day = date.fromisoformat(f"{CURRENT_PERIOD}-{TAX_INSTALMENT_DAY:02d}")
    instalment = _balance_row(entity, CASH_ACCOUNT, CURRENT_PERIOD, f"{-tax:.2f}", day)
    instalment["record_id"] = f"{entity['entity_id']}-{CASH_ACCOUNT}-{day}-tax-actual"
    return [*_bank_feed(rng, month), instalment]


def write(data: dict[str, object], out: Path = OUT) -> list[Path]:
    """Write the data set: reference data as JSON, records as CSV (the upload format)."""
    out.mkdir(parents=True, exist_ok=True)
    reference = {k: v for k, v in data.items() if k not in ("records", "balance_sheet")}
    paths = [out / "reference.json", out / "records.csv", out / "balance_sheet.csv"]
    paths[0].write_text(json.dumps(reference, indent=2) + "\n")
    for path, key in ((paths[1], "records"), (paths[2], "balance_sheet")):
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(data[key][0]), lineterminator="\n")  # type: ignore[index]
            writer.writeheader()
            writer.writerows(data[key])  # type: ignore[arg-type]
    return paths


if __name__ == "__main__":
    written = write(generate())
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    sys.exit(0)
