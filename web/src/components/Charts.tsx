// Charts drawn with uPlot: a canvas chart made for live time series (setData redraws in a few
// milliseconds without rebuilding the chart) at about 50 kB minified. See docs/web-dashboard.md.

import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { formatCompactMajor, minorToChart } from '../lib/money';
import { periodLabel, periodRange } from '../lib/periods';

/** A small line of a KPI's recent months; gaps where a month has no data. */
export function Sparkline({ values, label }: { values: (number | null)[]; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [values.map((_, i) => i), values.map((v) => v)];
  useEffect(() => {
    if (!host.current) return undefined;
    plot.current = new uPlot({
      width: 120, height: 32, pxAlign: false,
      cursor: { show: false }, legend: { show: false }, select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: false } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: '#2563eb', width: 1.5, spanGaps: false, points: { show: false } }],
    }, data, host.current);
    return () => { plot.current?.destroy(); plot.current = null; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useLayoutEffect(() => { plot.current?.setData(data); });
  return <div ref={host} className="sparkline" role="img" aria-label={label} />;
}

/** `partial`: the month in progress, drawn as a "so far" point beside the actual line (docs/kpis.md). */
export interface TrendPoint { period: string; actual: number | null; budget: number | null; partial?: boolean }
export interface ForecastPoint { period: string; value: number; lower: number; upper: number }

/**
 * Actual, budget and forecast with its 95 % interval, one point per month. `receivedAt` is when
 * the snapshot behind `points` arrived: each redraw records a `chart-render` performance
 * measure from it, which the browser benchmark reads (bench/bench_web.py).
 */
export function TrendChart({ points, forecast, currency, title, receivedAt }: {
  points: TrendPoint[]; forecast: ForecastPoint[]; currency: string; title: string; receivedAt: number | null;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const pending = useRef<number | null>(null);
  // x is time in months: every month from the first to the last shown has its place, so a month
  // without figures is a gap in the lines, never a step between its neighbours.
  const labels = useRef<string[]>([]);

  const known = [...points.map((p) => p.period), ...forecast.map((f) => f.period)].sort();
  const periods = known.length ? periodRange(known[0], known[known.length - 1]) : [];
  const byForecast = new Map(forecast.map((f) => [f.period, f]));
  const byPoint = new Map(points.map((p) => [p.period, p]));
  const complete = (p: string) => (byPoint.get(p)?.partial ? undefined : byPoint.get(p));
  const lastActual = [...points].reverse().find((p) => p.actual !== null && !p.partial);
  const value = (minor: number | null | undefined) => minorToChart(minor ?? null, currency);
  labels.current = periods;
  const data: uPlot.AlignedData = [
    periods.map((_, i) => i),
    periods.map((p) => value(complete(p)?.actual)),
    periods.map((p) => value(byPoint.get(p)?.budget)),
    // The forecast line starts at the last complete actual so the two read as one story.
    periods.map((p) => (p === lastActual?.period ? value(lastActual.actual) : value(byForecast.get(p)?.value))),
    periods.map((p) => value(byForecast.get(p)?.lower)),
    periods.map((p) => value(byForecast.get(p)?.upper)),
    periods.map((p) => (byPoint.get(p)?.partial ? value(byPoint.get(p)?.actual) : null)),
  ];

  useEffect(() => {
    if (!host.current) return undefined;
    const width = Math.max(240, host.current.clientWidth || 640);
    plot.current = new uPlot({
      width, height: 260,
      legend: { live: false },
      scales: { x: { time: false } },
      series: [
        { value: (_u, v) => (v == null ? '' : periodLabel(labels.current[v] ?? '')) },
        { label: 'Actual', stroke: '#1d4ed8', width: 2, points: { show: true, size: 4 } },
        { label: 'Budget', stroke: '#6b7280', width: 1.5, dash: [6, 4] },
        { label: 'Forecast', stroke: '#9333ea', width: 2, dash: [2, 3] },
        { label: 'Forecast low', stroke: 'rgba(147,51,234,0.35)', width: 1 },
        { label: 'Forecast high', stroke: 'rgba(147,51,234,0.35)', width: 1 },
        { label: 'So far (month in progress)', stroke: '#1d4ed8', width: 0, points: { show: true, size: 8, fill: '#ffffff' } },
      ],
      bands: [{ series: [5, 4], fill: 'rgba(147,51,234,0.12)' }],
      axes: [
        {
          splits: () => {
            const step = Math.max(1, Math.ceil(labels.current.length / 8));
            return labels.current.map((_, i) => i).filter((i) => i % step === 0);
          },
          values: (_u, ticks) => ticks.map((t) => (labels.current[t] ? periodLabel(labels.current[t]) : '')),
        },
        { size: 70, values: (_u, ticks) => ticks.map((t) => formatCompactMajor(t, currency)) },
      ],
      hooks: {
        draw: [() => {
          if (pending.current !== null) {
            performance.measure('chart-render', { start: pending.current, end: performance.now() });
            pending.current = null;
          }
        }],
      },
    }, data, host.current);
    const resize = () => host.current && plot.current?.setSize({ width: Math.max(240, host.current.clientWidth), height: 260 });
    window.addEventListener('resize', resize);
    return () => { window.removeEventListener('resize', resize); plot.current?.destroy(); plot.current = null; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [currency]);

  const measured = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (!plot.current) return;
    // Measure only redraws caused by a new snapshot (not by an unrelated re-render).
    if (receivedAt !== null && receivedAt !== measured.current) {
      pending.current = receivedAt;
      measured.current = receivedAt;
    }
    plot.current.setData(data);
  });

  return (
    <figure className="trend-chart">
      <div ref={host} role="img" aria-label={`${title}: actual, budget and forecast by month`} data-testid="trend-chart"
           data-points={points.filter((p) => p.actual !== null && !p.partial).length}
           data-months={periods.length} data-so-far={points.find((p) => p.partial)?.period ?? ''}
           data-last-actual={[...points].reverse().find((p) => p.actual !== null)?.actual ?? ''} />
    </figure>
  );
}
