// The P&L over a chosen range of months: sections of accounts with their subtotals, the derived
// lines and margins, and the columns a finance team compares with: budget (to date for the month
// in progress, docs/kpis.md), the prior period of the same length, the prior year and the year
// to date. Every line drills down to its records.

import { orderBy, where } from 'firebase/firestore';
import { useState, type ReactElement } from 'react';

import { dataOf, useQuery } from '../hooks/live';
import { useConsolidatedActuals } from '../hooks/liveMonth';
import { formatMoney, formatPercent } from '../lib/money';
import { addMonths, periodLabel, periodProgress, periodRange, periodState, toDate } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import { METRIC_LABELS, type Account, type AggregateDoc } from '../lib/types';
import { higherIsFavourable } from '../lib/variance';
import type { DrillTarget } from './DrillDown';
import { leafAccounts } from './PnlSection';
import { LiveView } from './States';

// The sections in statement order, each the total of one account type; labels from the standard
// metrics' one source (a type's total is the metric of the same id).
const SECTIONS = ['revenue', 'cogs', 'opex', 'other_income', 'other_expense', 'tax'].map((type) => ({ type, label: METRIC_LABELS[type] }));
// Derived lines after the section they close: signs of each section's total (the standard
// definitions: gross_profit = revenue - cogs, ebitda = gross_profit - opex,
// net_income = ebitda + other_income - other_expense - tax), each with its margin metric.
const DERIVED: { after: string; metric: string; margin: string; terms: Record<string, number> }[] = [
  { after: 'cogs', metric: 'gross_profit', margin: 'gross_margin_pct', terms: { revenue: 1, cogs: -1 } },
  { after: 'opex', metric: 'ebitda', margin: 'ebitda_margin_pct', terms: { revenue: 1, cogs: -1, opex: -1 } },
  { after: 'tax', metric: 'net_income', margin: 'net_margin_pct',
    terms: { revenue: 1, cogs: -1, opex: -1, other_income: 1, other_expense: -1, tax: -1 } },
];
const COLUMNS = ['actual', 'budget', 'variance', 'prior_period', 'prior_year', 'ytd', 'ytd_budget'] as const;
type Column = typeof COLUMNS[number];
const HEADINGS: Record<Column, string> = {
  actual: 'Actual', budget: 'Budget', variance: 'Variance', prior_period: 'Prior period', prior_year: 'Prior year',
  ytd: 'YTD', ytd_budget: 'YTD budget',
};

type Totals = Map<string, number>;

function sumAccounts(docs: Map<string, AggregateDoc>, periods: string[], inProgress: string | null = null): Totals {
  const totals: Totals = new Map();
  for (const period of periods) {
    const doc = docs.get(period);
    if (!doc) continue;
    const progress = inProgress ? periodProgress(period, inProgress) : null;
    for (const [account, minor] of Object.entries(doc.accounts ?? {})) {
      // A budget of the month in progress counts to date (docs/kpis.md, "The month in progress").
      const value = progress && progress.state === 'in-progress' ? toDate(minor, progress) ?? 0 : minor;
      totals.set(account, (totals.get(account) ?? 0) + value);
    }
  }
  return totals;
}

function fiscalYearStart(period: string, startMonth: number): string {
  const [year, month] = period.split('-').map(Number);
  return `${month >= startMonth ? year : year - 1}-${String(startMonth).padStart(2, '0')}`;
}

export function PnlStatement({ entityId, period, inProgress, entityName, onDrill }: {
  entityId: string; period: string; inProgress: string; entityName: string; onDrill: (target: DrillTarget) => void;
}) {
  const { services, orgId, org } = useSession();
  const currency = org.reporting_currency;
  const [from, setFrom] = useState<string | null>(null);
  const first = from && from <= period ? from : period;
  const path = orgPath(orgId, 'aggregates');
  // The consolidated actuals read the month of kpis/current from it (hooks/liveMonth.ts); an entity's from its documents.
  const consolidated = entityId === '_all';
  const consolidatedLive = useConsolidatedActuals(consolidated);
  const entityLive = useQuery<AggregateDoc>(services.db, consolidated ? null : path,
    [where('entity_id', '==', entityId), where('scenario', '==', 'actual'), orderBy('period')], `actual-${entityId}`);
  const actualLive = consolidated ? consolidatedLive : entityLive;
  const budgetLive = useQuery<AggregateDoc>(services.db, path,
    [where('entity_id', '==', entityId), where('scenario', '==', 'budget'), orderBy('period')], `budget-${entityId}`);
  const accountsLive = useQuery<Account>(services.db, orgPath(orgId, 'accounts'), [], 'all');
  const chart = dataOf(accountsLive) ?? [];
  const actual = new Map((dataOf(actualLive) ?? []).map((d) => [d.period, d]));
  const budget = new Map((dataOf(budgetLive) ?? []).map((d) => [d.period, d]));
  const known = [...new Set([...actual.keys(), ...budget.keys(), period])].sort();

  const range = periodRange(first, period);
  const months = range.length;
  const ytdRange = periodRange(fiscalYearStart(period, org.fiscal_year_start_month || 1), period);
  const columns: Record<Exclude<Column, 'variance'>, Totals> = {
    actual: sumAccounts(actual, range),
    budget: sumAccounts(budget, range, inProgress),
    prior_period: sumAccounts(actual, range.map((p) => addMonths(p, -months))),
    prior_year: sumAccounts(actual, range.map((p) => addMonths(p, -12))),
    ytd: sumAccounts(actual, ytdRange),
    ytd_budget: sumAccounts(budget, ytdRange, inProgress),
  };
  const partial = range.some((p) => periodState(p, inProgress) === 'in-progress');
  const leaves = (type: string) => leafAccounts(chart, [type]);
  const sectionTotal = (column: Totals, type: string) => leaves(type).reduce((sum, a) => sum + (column.get(a) ?? 0), 0);
  const lineValues = (value: (column: Totals) => number): Record<Column, number> => {
    const out = {} as Record<Column, number>;
    for (const c of COLUMNS) if (c !== 'variance') out[c] = value(columns[c]);
    out.variance = out.actual - out.budget;
    return out;
  };
  const rangeLabel = months === 1 ? periodLabel(period) : `${periodLabel(first)} – ${periodLabel(period)}`;
  const exportRows: (string | number)[][] = [];

  const rows: ReactElement[] = [];
  const line = (key: string, label: string, values: Record<Column, number>, kind: string, higher: boolean,
                drill: string[] | null, metric?: string) => {
    exportRows.push([label, ...COLUMNS.map((c) => values[c])]);
    const tone = values.variance === 0 ? 'favourable' : (values.variance > 0) === higher ? 'favourable' : 'unfavourable';
    rows.push(
      <tr key={key} className={`${kind}-line`} data-line={key}>
        <th scope="row">{label}
          {drill && drill.length > 0 && (
            <button type="button" className="link drill" data-testid={metric ? `drill-${metric}` : `drill-${key}`}
                    aria-label={`Records of ${label}`}
                    onClick={() => onDrill({ label, entityId, period, scenario: 'actual', accountIds: drill })}>records</button>
          )}
        </th>
        {COLUMNS.map((c) => (
          <td key={c} className={`num${c === 'variance' ? ` ${tone}` : ''}`}
              data-testid={metric && c === 'actual' ? `pnl-actual-${metric}` : undefined}>
            {formatMoney(values[c], currency, c === 'variance' ? { signed: true } : undefined)}
          </td>
        ))}
      </tr>,
    );
    return values;
  };
  const margin = (key: string, label: string, numerator: Record<Column, number>, revenue: Record<Column, number>) => {
    rows.push(
      <tr key={key} className="ratio-line" data-line={key}>
        <th scope="row">{label}</th>
        {COLUMNS.map((c) => (
          <td key={c} className="num">
            {c === 'variance' ? '' : formatPercent(revenue[c] ? (numerator[c] * 100) / revenue[c] : null, { signed: false })}
          </td>
        ))}
      </tr>,
    );
  };

  const totals: Record<string, Record<Column, number>> = {};
  for (const section of SECTIONS) {
    const accounts = leaves(section.type).filter((a) => COLUMNS.some((c) => c !== 'variance' && (columns[c].get(a) ?? 0) !== 0));
    const higher = higherIsFavourable(section.type as Account['type']);
    rows.push(<tr key={`h-${section.type}`} className="section-header"><th scope="rowgroup" colSpan={COLUMNS.length + 1}>{section.label}</th></tr>);
    for (const account of accounts) {
      const name = chart.find((a) => a.id === account)?.name ?? account;
      line(`account:${account}`, `${account} ${name}`, lineValues((col) => col.get(account) ?? 0), 'account', higher, [account]);
    }
    totals[section.type] = line(`total:${section.type}`, `Total ${section.label.charAt(0).toLowerCase()}${section.label.slice(1)}`,
      lineValues((col) => sectionTotal(col, section.type)), 'total', higher, leaves(section.type),
      section.type === 'revenue' || section.type === 'cogs' || section.type === 'opex' ? section.type : undefined);
    for (const derived of DERIVED.filter((d) => d.after === section.type)) {
      const types = Object.keys(derived.terms);
      const values = lineValues((col) => types.reduce((sum, t) => sum + derived.terms[t] * sectionTotal(col, t), 0));
      line(derived.metric, METRIC_LABELS[derived.metric], values, 'derived', true, types.flatMap((t) => leaves(t)), derived.metric);
      if (totals.revenue) margin(derived.margin, METRIC_LABELS[derived.margin], values, totals.revenue);
    }
  }

  return (
    <section aria-labelledby="pnl-title" className="panel">
      <header className="panel-header">
        <h2 id="pnl-title">P&amp;L · {entityName} · {rangeLabel}
          {partial && <span className="badge in-progress" data-testid="pnl-progress">so far: budget to date for {periodLabel(inProgress)}</span>}
        </h2>
        <label>From
          <select value={first} onChange={(e) => setFrom(e.target.value)} data-testid="pnl-from">
            {known.filter((p) => p <= period).map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <ExportButtons title={`P&L ${entityName} ${rangeLabel}`} rows={exportRows} />
      </header>
      <LiveView live={actualLive} what="the P&L" empty={`Nothing booked for ${entityName} yet.`}>
        {() => (
          <div className="table-scroll">
            <table className="pnl" data-testid="pnl-table" data-months={months}>
              <caption className="visually-hidden">P&amp;L of {entityName}, {rangeLabel}, with budget, prior period, prior year and year to date</caption>
              <thead>
                <tr><th scope="col">Line</th>{COLUMNS.map((c) => <th key={c} scope="col" className="num">{HEADINGS[c]}</th>)}</tr>
              </thead>
              <tbody>{rows}</tbody>
            </table>
          </div>
        )}
      </LiveView>
    </section>
  );
}

/** The statement on screen as CSV or XLSX, through the backend's neutralising export. */
function ExportButtons({ title, rows }: { title: string; rows: (string | number)[][] }) {
  const { orgId, org, user } = useSession();
  const [error, setError] = useState<string | null>(null);
  async function run(format: 'csv' | 'xlsx') {
    setError(null);
    const token = await user.getIdToken();
    const body = {
      org_id: orgId, title, format, currency: org.reporting_currency,
      columns: [{ label: 'Line', kind: 'text' }, ...COLUMNS.map((c) => ({ label: HEADINGS[c], kind: 'money' }))],
      rows,
    };
    const response = await fetch('/api/exports', {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    }).catch((err) => err as Error);
    if (response instanceof Error || !response.ok) {
      setError('The export failed: try again.');
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = (response.headers.get('Content-Disposition') ?? '').match(/filename="([^"]+)"/)?.[1] ?? `pnl.${format}`;
    link.click();
    URL.revokeObjectURL(url);
  }
  return (
    <span className="export">
      <button type="button" onClick={() => void run('csv')} data-testid="pnl-export-csv">CSV</button>
      <button type="button" onClick={() => void run('xlsx')} data-testid="pnl-export-xlsx">XLSX</button>
      {error && <span className="state error" role="alert">{error}</span>}
    </span>
  );
}
