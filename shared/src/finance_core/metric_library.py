"""The standard KPI library: definitions an org enables (copies into `metric_definitions/{id}`) and may edit.

Balance-sheet and cash KPIs select accounts by tag, so they work with any chart once its accounts
carry the tags: `cash`, `receivable`, `payable`, `current_asset`, `current_liability`, `debt`, and
`recurring` on recurring revenue accounts (MRR, ARR). An untagged chart gives 0 (or undefined
ratios) for them, and the validation of an enabled definition warns about it.
"""

from __future__ import annotations

from collections.abc import Mapping

from finance_core.metric_language import parse_expression, references

LIBRARY_TAGS = ("cash", "receivable", "payable", "current_asset", "current_liability", "debt", "recurring")

_M, _P, _R, _D, _MO = "money", "percent", "ratio", "days", "months"
_UP, _DOWN, _FLAT = "higher_is_better", "lower_is_better", "neutral"

# id: (label, expression, unit, direction, description)
_LIBRARY: dict[str, tuple[str, str, str, str, str]] = {
    "opex_ratio_pct": (
        "Opex ratio %",
        "100 * opex / revenue",
        _P,
        _DOWN,
        "Operating expenses as a percent of revenue.",
    ),
    "cogs_ratio_pct": (
        "COGS ratio %",
        "100 * cogs / revenue",
        _P,
        _DOWN,
        "Cost of goods sold as a percent of revenue.",
    ),
    "revenue_growth_mom_pct": (
        "Revenue growth MoM %",
        "growth(revenue)",
        _P,
        _UP,
        "Revenue against the previous month.",
    ),
    "revenue_growth_yoy_pct": (
        "Revenue growth YoY %",
        "growth_yoy(revenue)",
        _P,
        _UP,
        "Revenue against the same month last year.",
    ),
    "ebitda_growth_yoy_pct": (
        "EBITDA growth YoY %",
        "growth_yoy(ebitda)",
        _P,
        _UP,
        "EBITDA against the same month last year.",
    ),
    "revenue_ytd": ("Revenue YTD", "ytd(revenue)", _M, _UP, "Revenue since the start of the fiscal year."),
    "revenue_qtd": ("Revenue QTD", "qtd(revenue)", _M, _UP, "Revenue since the start of the fiscal quarter."),
    "revenue_ttm": ("Revenue TTM", "ttm(revenue)", _M, _UP, "Revenue of the trailing twelve months."),
    "revenue_avg_3m": (
        "Revenue, 3-month average",
        "avg(revenue, 3)",
        _M,
        _UP,
        "Average monthly revenue of the last 3 months.",
    ),
    "ebitda_ytd": ("EBITDA YTD", "ytd(ebitda)", _M, _UP, "EBITDA since the start of the fiscal year."),
    "ebitda_ttm": ("EBITDA TTM", "ttm(ebitda)", _M, _UP, "EBITDA of the trailing twelve months."),
    "net_income_ytd": ("Net income YTD", "ytd(net_income)", _M, _UP, "Net income since the start of the fiscal year."),
    "cash_position": (
        "Cash position",
        'closing(tagged("cash"))',
        _M,
        _UP,
        "Closing balance of the accounts tagged cash.",
    ),
    "net_cash_flow": ("Net cash flow", 'tagged("cash")', _M, _UP, "Change of the cash balance in the period."),
    "net_burn": (
        "Net burn",
        'opening(tagged("cash")) - closing(tagged("cash"))',
        _M,
        _DOWN,
        "Cash spent in the period (negative when cash grew).",
    ),
    "runway_months": (
        "Runway (months)",
        "cash_position / positive(avg(net_burn, 3))",
        _MO,
        _UP,
        "Months the cash lasts at the average burn of the last 3 months; undefined when cash is not burning.",
    ),
    "dso_days": (
        "DSO (days)",
        'closing(tagged("receivable")) * days() / revenue',
        _D,
        _DOWN,
        "Days sales outstanding: receivables over the period's revenue, times the days of the period.",
    ),
    "dpo_days": (
        "DPO (days)",
        'closing(tagged("payable")) * days() / cogs',
        _D,
        _UP,
        "Days payables outstanding: payables over the period's cost of goods sold, times its days.",
    ),
    "current_ratio": (
        "Current ratio",
        'closing(tagged("current_asset")) / closing(tagged("current_liability"))',
        _R,
        _UP,
        "Current assets over current liabilities at the end of the period.",
    ),
    "working_capital": (
        "Working capital",
        'closing(tagged("current_asset")) - closing(tagged("current_liability"))',
        _M,
        _UP,
        "Current assets minus current liabilities at the end of the period.",
    ),
    "debt_to_equity": (
        "Debt to equity",
        'closing(tagged("debt")) / closing(type("equity"))',
        _R,
        _DOWN,
        "Debt over equity at the end of the period.",
    ),
    "total_assets": ("Total assets", 'closing(type("asset"))', _M, _FLAT, "Closing balance of every asset account."),
    "mrr": ("MRR", 'tagged("recurring")', _M, _UP, "Monthly recurring revenue: the accounts tagged recurring."),
    "arr": ("ARR", "12 * mrr", _M, _UP, "Annual recurring revenue: 12 times MRR."),
    "mrr_growth_pct": ("MRR growth MoM %", "growth(mrr)", _P, _UP, "MRR against the previous month."),
}


def library() -> dict[str, dict[str, object]]:
    """The library's definitions as `metric_definitions` documents (plus `requires`: other metrics they read)."""
    from finance_core.metric_series import BUILTIN_IDS

    found: dict[str, dict[str, object]] = {}
    for metric_id, (label, expression, unit, direction, description) in _LIBRARY.items():
        reads = sorted(references(parse_expression(expression)) - BUILTIN_IDS)
        found[metric_id] = {
            "label": label,
            "expression": expression,
            "unit": unit,
            "direction": direction,
            "description": description,
            "source": f"library:{metric_id}",
            "requires": reads,
        }
    return found


def with_requirements(metric_ids: list[str], available: Mapping[str, Mapping[str, object]] | None = None) -> list[str]:
    """The ids and every library metric they read, dependencies first."""
    entries = available or library()
    ordered: list[str] = []

    def visit(metric_id: str) -> None:
        if metric_id in ordered:
            return
        required = entries[metric_id].get("requires", ())
        for dependency in required if isinstance(required, (list, tuple)) else ():
            visit(str(dependency))
        ordered.append(metric_id)

    for metric_id in metric_ids:
        visit(metric_id)
    return ordered
