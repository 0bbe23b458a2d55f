"""Trend charts of the pack (matplotlib, drawn offscreen with Agg): actual, budget and the trend forecast."""

from __future__ import annotations

import io

from finance_core.money import from_minor

from reports.pack import TREND_METRICS, Pack

LABELS = {"revenue": "Revenue", "gross_profit": "Gross profit", "ebitda": "EBITDA", "net_income": "Net income"}


def _major(minor: int | None, currency: str) -> float | None:
    # Pixels only: a chart may use floats, the tables never do.
    return None if minor is None else float(from_minor(minor, currency))


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
        x = {p: i for i, p in enumerate(periods)}
        actual = [(x[r.period], _major(r.actual, currency)) for r in history if r.actual is not None]
        budget = [(x[r.period], _major(r.budget, currency)) for r in history if r.budget is not None]
        if actual:
            ax.plot(*zip(*actual, strict=True), color="#1f4e79", marker="o", markersize=3, label="Actual")
        if budget:
            ax.plot(*zip(*budget, strict=True), color="#9e9e9e", linestyle="--", label="Budget")
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
        ax.set_title(f"{LABELS[metric]} ({currency})", fontsize=10, loc="left")
        step = max(1, len(periods) // 6)
        ax.set_xticks(range(0, len(periods), step), [periods[i] for i in range(0, len(periods), step)], fontsize=7)
        ax.yaxis.set_major_formatter(thousands)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
        if not rows:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="#777777")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
