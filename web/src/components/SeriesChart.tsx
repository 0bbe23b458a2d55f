// A line chart of one or more series over a continuous axis (days, weeks or months): every step
// between the first and the last label has its place, so a missing step is a gap, never a join.

import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';

import { formatCompactMajor } from '../lib/money';

export interface ChartSeries { label: string; values: (number | null)[]; stroke: string; dash?: number[]; points?: boolean }

export function SeriesChart({ labels, series, band, currency, title, testId, tick, axis }: {
  labels: string[]; series: ChartSeries[]; band?: [number, number]; currency: string; title: string; testId: string;
  tick?: (label: string) => string;
  /** The value axis' labels; amounts in major units of `currency` by default. */
  axis?: (value: number) => string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const current = useRef({ labels, tick, axis });
  current.current = { labels, tick, axis };
  const data: uPlot.AlignedData = [labels.map((_, i) => i), ...series.map((s) => s.values)];
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    if (!host.current) return undefined;
    const width = Math.max(240, host.current.clientWidth || 640);
    plot.current = new uPlot({
      width, height: 220,
      legend: { live: false },
      scales: { x: { time: false } },
      series: [
        { value: (_u, v) => (v == null ? '' : current.current.labels[v] ?? '') },
        ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, dash: s.dash, spanGaps: false,
                                points: { show: s.points ?? false, size: 4 } })),
      ],
      bands: band ? [{ series: band, fill: 'rgba(147,51,234,0.12)' }] : [],
      axes: [
        {
          splits: () => {
            const n = current.current.labels.length;
            const step = Math.max(1, Math.ceil(n / 7));
            return current.current.labels.map((_, i) => i).filter((i) => i % step === 0);
          },
          values: (_u, ticks) => ticks.map((t) => {
            const label = current.current.labels[t] ?? '';
            return current.current.tick ? current.current.tick(label) : label;
          }),
        },
        { size: 64, values: (_u, ticks) => ticks.map((t) => (current.current.axis ? current.current.axis(t) : formatCompactMajor(t, currency))) },
      ],
    }, data, host.current);
    const resize = () => host.current && plot.current?.setSize({ width: Math.max(240, host.current.clientWidth), height: 220 });
    window.addEventListener('resize', resize);
    return () => { window.removeEventListener('resize', resize); plot.current?.destroy(); plot.current = null; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [currency, shape]);
  useLayoutEffect(() => { plot.current?.setData(data); });

  return (
    <figure className="trend-chart">
      <div ref={host} role="img" aria-label={title} data-testid={testId} data-steps={labels.length} />
    </figure>
  );
}
