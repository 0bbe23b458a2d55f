import type { Live } from '../hooks/live';
import { formatMoney, formatPercent } from '../lib/money';
import { periodLabel, periodProgress, periodState, toDate } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import { runwayTexts } from '../lib/runway';
import { METRIC_LABELS, type CashRunway, type Kpi, type KpisDoc } from '../lib/types';
import { isPercentMetric, metricHigherIsFavourable, verdict } from '../lib/variance';
import { Sparkline } from './Charts';
import { CommentButton } from './Comments';
import { LiveView } from './States';

export const HEADLINE = ['revenue', 'gross_profit', 'gross_margin_pct', 'opex', 'ebitda', 'net_income', 'net_margin_pct'];

function KpiCard({ metric, kpi, currency, period, inProgress, onDrill }: {
  metric: string; kpi: Kpi | undefined; currency: string; period: string; inProgress: string;
  onDrill?: (metric: string, period: string) => void;
}) {
  const isPct = isPercentMetric(metric);
  const label = METRIC_LABELS[metric] ?? metric;
  const value = kpi?.value ?? null;
  const shown = isPct ? formatPercent(value, { signed: false }) : formatMoney(value, currency);
  const higher = metricHigherIsFavourable(metric);
  const state = isPct ? 'closed-books' : periodState(period, inProgress);
  // The month in progress (docs/kpis.md): a flow is judged against its budget and the previous
  // month pro-rated by the days elapsed, "so far"; a margin is compared as it is.
  const progress = periodProgress(period, inProgress);
  const partial = state === 'in-progress';
  const plan = partial ? toDate(kpi?.budget ?? null, progress) : (kpi?.budget ?? null);
  const vsBudget = verdict(value, plan, higher, partial ? 'closed-books' : state, { undefinedWhenMissing: isPct });
  let budgetText = isPct && value === null ? 'no actuals yet' : 'no budget';
  let budgetClass = 'neutral';
  if (vsBudget.kind === 'in-progress') {
    budgetText = 'month not started';
  } else if (vsBudget.kind !== 'no-plan') {
    const against = partial ? ` vs budget to date (day ${progress.elapsedDays} of ${progress.days})` : ' vs budget';
    budgetText = `${isPct ? formatPercent(vsBudget.variance, { points: true }) : formatPercent(vsBudget.pct)}${against}`;
    budgetClass = vsBudget.kind;
  }
  const previousToDate = toDate(kpi?.previous ?? null, progress);
  const previousPct = value !== null && previousToDate ? ((value - previousToDate) * 100) / Math.abs(previousToDate) : null;
  const previousText = partial
    ? `${formatPercent(previousPct)} vs previous month's first ${progress.elapsedDays} days (pro-rated)`
    : isPct ? `${formatPercent(kpi?.change ?? null, { points: true })} vs previous month`
      : `${formatPercent(kpi?.change_pct ?? null)} vs previous month`;
  return (
    <li className="kpi-card" data-kpi={metric}>
      <h3>{label}
        {onDrill && (
          <button type="button" className="link drill" data-testid={`kpi-drill-${metric}`}
                  aria-label={`Records of ${label}, ${periodLabel(period)}`} onClick={() => onDrill(metric, period)}>records</button>
        )}
      </h3>
      <p className="kpi-value" data-testid={`kpi-value-${metric}`} data-filled={value !== null}>{shown}</p>
      {partial && <p className="badge in-progress">{periodLabel(period)} so far</p>}
      <p className="kpi-change">{previousText}</p>
      <p className={`kpi-budget ${budgetClass}`} data-testid={`kpi-budget-${metric}`}>{budgetText}</p>
      <Sparkline values={(kpi?.series ?? []).map((p) => p.value)}
                 label={`${label}, last ${kpi?.series.length ?? 0} months`} />
    </li>
  );
}

/** Net burn and runway: the 13-week cash forecast's, as kpis/current carries them (docs/kpis.md, "Burn and runway"). */
function CashRunwayCards({ cash, currency }: { cash: CashRunway | undefined; currency: string }) {
  const texts = runwayTexts(cash, currency);
  const status = cash?.status ?? 'no_cash_accounts';
  return (
    <>
      {([['net_burn', 'Net burn', texts.burn], ['runway_months', 'Runway', texts.runway]] as const).map(([id, label, shown]) => (
        <li key={id} className="kpi-card" data-kpi={id} data-status={status}>
          <h3>{label}</h3>
          <p className="kpi-value" data-testid={`kpi-value-${id}`} data-filled={status === 'burning' || status === 'not_burning'}>{shown}</p>
          <p className="kpi-change" data-testid={`kpi-basis-${id}`}>{texts.note}</p>
        </li>
      ))}
    </>
  );
}

/** `live`: kpis/current, listened to by the org's page as soon as it opens. */
export function KpiCards({ inProgress, live, onDrill }: {
  inProgress: string; live: Live<KpisDoc & { id: string }>; onDrill?: (metric: string, period: string) => void;
}) {
  const { orgId } = useSession();
  if (live.status === 'ready' && !performance.getEntriesByName('kpis-received').length) {
    performance.mark('kpis-received', { startTime: live.receivedAt });
  }
  return (
    <section aria-labelledby="kpis-title" className="panel">
      <header className="panel-header">
        <h2 id="kpis-title">
          Headline KPIs{live.status === 'ready' && <span className="sub"> · {periodLabel(live.data.period)}</span>}
        </h2>
        {live.status === 'ready' && (
          <CommentButton target={orgPath(orgId, 'kpis', 'current')} count={live.data.comment_count}
                         label="the headline KPIs" />
        )}
      </header>
      <LiveView live={live} what="the KPIs" empty="No KPIs yet: they appear with the first record of the period.">
        {(doc) => (
          <ul className="kpi-grid" data-testid="kpi-cards">
            {HEADLINE.map((metric) => (
              <KpiCard key={metric} metric={metric} kpi={doc.kpis?.[metric]} currency={doc.currency} period={doc.period}
                       inProgress={inProgress} onDrill={onDrill} />
            ))}
            <CashRunwayCards cash={doc.cash} currency={doc.currency} />
          </ul>
        )}
      </LiveView>
    </section>
  );
}
