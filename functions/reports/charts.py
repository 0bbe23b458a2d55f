"""Trend charts of the pack (matplotlib, drawn offscreen with Agg): actual, budget and the trend forecast.

The x axis is time: one step per month from the first month shown to the last forecast month, so a
month without figures is a gap in the lines, and a forecast sits at its own month, never right
after the last actual. The month in progress is a hollow "so far" point, off the actual line.
"""

from __future__ import annotations

import io
from typing import Any

from finance_core.metrics import STANDARD_BY_ID
from finance_core.money import from_minor
from finance_core.periods import add_months, months_between

from reports.pack import TREND_METRICS, Pack


def _major(minor: int | None, currency: str) -> float | None:
    # Pixels only: a chart may use floats, the tables never do.
    return None if minor is None else float(from_minor(minor, currency))


def _gapped(values: list[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def trend_chart_png(pack: Pack, dpi: int = 110) -> bytes:
    """A 2x2 grid (revenue, gross profit, EBITDA, net income) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(10.5, 5.6), dpi=dpi, layout="constrained")
    axes = figure.subplots(2, 2)
    currency = pack.currency
    thousands = FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k")
    for ax, metric in zip(axes.flat, TREND_METRICS, strict=True):
        rows = [r for r in pack.trends if r.metric == metric]
        history = [r for r in rows if r.kind == "actual"]
        forecast = [r for r in rows if r.kind == "forecast"]
        periods = sorted({r.period for r in rows})
        first = periods[0] if periods else pack.period
        span = months_between(first, periods[-1]) + 1 if periods else 1
        months = [add_months(first, i) for i in range(span)]
        x = {p: i for i, p in enumerate(months)}
        complete = {r.period: r for r in history if not r.partial}
        # NaN where a month has no figure: the line breaks there instead of joining its neighbours.
        actual = [_major(complete[p].actual, currency) if p in complete else None for p in months]
        budget_by_period = {r.period: r.budget for r in history}
        budget = [_major(budget_by_period.get(p), currency) for p in months]
        if any(v is not None for v in actual):
            ax.plot(range(span), _gapped(actual), color="#1f4e79", marker="o", markersize=3, label="Actual")
        if any(v is not None for v in budget):
            ax.plot(range(span), _gapped(budget), color="#9e9e9e", linestyle="--", label="Budget")
        for row in (r for r in history if r.partial and r.actual is not None):
            ax.plot(
                [x[row.period]],
                [_major(row.actual, currency)],
                marker="o",
                markersize=5,
                markerfacecolor="white",
                color="#1f4e79",
                linestyle="none",
                label="So far (month in progress)",
            )
        if forecast:
            fx = [x[r.period] for r in forecast]
            ax.plot(
                fx,
                [_major(r.forecast, currency) for r in forecast],
                color="#c55a11",
                marker="s",
                markersize=3,
                linestyle=":",
                label="Trend forecast",
            )
            lows = [_major(r.lower, currency) for r in forecast]
            highs = [_major(r.upper, currency) for r in forecast]
            if None not in lows and None not in highs:
                ax.fill_between(fx, lows, highs, color="#c55a11", alpha=0.15, linewidth=0)
        if pack.period in x:
            ax.axvline(x[pack.period], color="#1f4e79", alpha=0.25, linewidth=6)
        ax.set_title(f"{STANDARD_BY_ID[metric].label} ({currency})", fontsize=10, loc="left")
        step = max(1, span // 6)
        ax.set_xticks(range(0, span, step), [months[i] for i in range(0, span, step)], fontsize=7)
        ax.set_xlim(-0.5, span - 0.5)
        ax.yaxis.set_major_formatter(thousands)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
        if not rows:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="#777777")
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    if legend:
        figure.legend(
            list(legend.values()), list(legend), loc="outside lower center", ncols=4, fontsize=8, frameon=False
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
