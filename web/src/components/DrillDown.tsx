// From a number to the records behind it: the ledger lines of a P&L line, KPI or variance, paged
// and filtered by entity, dimension and booking day, each with its source, memo, version and last
// change; from a record to its history (every version, from BigQuery); and what is on screen as
// CSV or XLSX through the backend's export (finance_core.export_text neutralises every text cell).

import { documentId, limit, orderBy, startAfter, where, type QueryConstraint, type Timestamp } from 'firebase/firestore';
import { useEffect, useRef, useState } from 'react';

import { useMergedQuery } from '../hooks/live';
import { callApi, failure } from '../lib/api';
import { formatMoney } from '../lib/money';
import { daysInPeriod, periodLabel } from '../lib/periods';
import { orgPath, useSession } from '../lib/session';
import type { Entity } from '../lib/types';
import { LiveView } from './States';

export const PAGE_SIZE = 25;
// Firestore's `in` takes at most 30 values: a line of more leaf accounts is read as several queries of
// at most 30 accounts each, merged in document-id order (accountChunks, mergePage).
export const MAX_IN_VALUES = 30;

/** The accounts in groups of at most MAX_IN_VALUES (one query each); none: one query without an account filter. */
export function accountChunks(accountIds: string[]): string[][] {
  const chunks: string[][] = [];
  for (let start = 0; start < accountIds.length; start += MAX_IN_VALUES) chunks.push(accountIds.slice(start, start + MAX_IN_VALUES));
  return chunks.length ? chunks : [[]];
}

/**
 * One page (and one more record, telling whether there is a next page) from the answers of the chunk queries.
 * Each query returns its own first `size` records after the cursor, in document-id order, and the chunks hold
 * different accounts, so the first `size` of their union are the first `size` of the line: paging stays exact.
 */
export function mergePage<T extends { id: string }>(lists: T[][], size: number): T[] {
  return lists.flat().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, size);
}

export interface DrillTarget { label: string; entityId: string; period: string; scenario: string; accountIds: string[] }

interface RecordDoc {
  record_id: string; entity_id: string; account_id: string; period: string; scenario: string; date?: string | null;
  amount: string; currency: string; reporting_amount_minor: number; source?: string | null; memo?: string | null;
  version: number; updated_at?: Timestamp | null; dimensions?: Record<string, string> | null;
}

interface HistoryVersion {
  version: number; op: string; event_id: string; entity_id: string; account_id: string; period: string;
  booking_date: string | null; amount: string; currency: string; reporting_amount: string; source: string | null;
  occurred_at: string; ingested_at: string;
}

function when(value: Timestamp | null | undefined): string {
  return value ? value.toDate().toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '–';
}

/** The records of a line, paged (cursor on the record id) and filtered, live. */
export function DrillDown({ target, entities, onClose }: { target: DrillTarget; entities: (Entity & { id: string })[]; onClose: () => void }) {
  const { services, orgId, org, user } = useSession();
  const [entityId, setEntityId] = useState(target.entityId);
  const [dimension, setDimension] = useState('');
  const [day, setDay] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const [history, setHistory] = useState<string | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const chunks = accountChunks(target.accountIds);
  const [dimName, dimValue] = dimension.includes('=') ? dimension.split('=', 2).map((s) => s.trim()) : ['', ''];
  const dimensionOk = /^[a-z][a-z0-9_]{0,63}$/.test(dimName) && dimValue !== '';

  // The query records_drilldown (docs/dashboard-clients.md), once per group of at most 30 accounts.
  const constraintSets: QueryConstraint[][] = chunks.map((accounts) => [
    where('period', '==', target.period), where('scenario', '==', target.scenario),
    ...(entityId !== '_all' ? [where('entity_id', '==', entityId)] : []),
    ...(accounts.length ? [where('account_id', 'in', accounts)] : []),
    ...(dimensionOk ? [where(`dimensions.${dimName}`, '==', dimValue)] : []),
    ...(day ? [where('date', '==', day)] : []),
    orderBy(documentId()),
    ...(cursors.length ? [startAfter(cursors[cursors.length - 1])] : []),
    limit(PAGE_SIZE + 1),
  ]);
  const key = JSON.stringify([target, entityId, dimensionOk ? dimension : '', day, cursors]);
  const records = useMergedQuery<RecordDoc>(services.db, orgPath(orgId, 'financial_records'), constraintSets, key,
    (lists) => mergePage(lists, PAGE_SIZE + 1));
  const currency = org.reporting_currency;
  const resetPaging = () => { setCursors([]); setHistory(null); };
  // Opened from a KPI card far above: bring the records into view.
  const section = useRef<HTMLElement>(null);
  useEffect(() => { section.current?.scrollIntoView?.({ block: 'start' }); }, [target]);

  async function exportPage(format: 'csv' | 'xlsx', rows: RecordDoc[]) {
    setExportError(null);
    const token = await user.getIdToken();
    const body = {
      org_id: orgId, format, currency,
      title: `Records of ${target.label}, ${periodLabel(target.period)}`,
      columns: [
        { label: 'Record', kind: 'text' }, { label: 'Date', kind: 'text' }, { label: 'Entity', kind: 'text' },
        { label: 'Account', kind: 'text' }, { label: `Amount (${currency})`, kind: 'money' },
        { label: 'Original amount', kind: 'text' }, { label: 'Source', kind: 'text' }, { label: 'Memo', kind: 'text' },
        { label: 'Version', kind: 'number' }, { label: 'Last changed', kind: 'text' },
      ],
      rows: rows.map((r) => [r.record_id, r.date ?? '', r.entity_id, r.account_id, r.reporting_amount_minor,
        `${r.amount} ${r.currency}`, r.source ?? '', r.memo ?? '', r.version, when(r.updated_at)]),
    };
    const response = await fetch('/api/exports', {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    }).catch((err) => err as Error);
    if (response instanceof Error || !response.ok) {
      const reason = response instanceof Error ? String(response) : (await response.json().catch(() => ({}))).message;
      setExportError(`Export failed: ${reason ?? 'the service did not answer'}`);
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = (response.headers.get('Content-Disposition') ?? '').match(/filename="([^"]+)"/)?.[1] ?? `records.${format}`;
    link.click();
    URL.revokeObjectURL(url);
  }

  return (
    <section aria-labelledby="drill-title" className="panel drilldown" data-testid="drilldown" ref={section}>
      <header className="panel-header">
        <h2 id="drill-title">Records of {target.label} · {periodLabel(target.period)} · {target.scenario}</h2>
        <button type="button" onClick={onClose} data-testid="drilldown-back">Back to the P&amp;L</button>
      </header>
      <p className="note" data-testid="drilldown-accounts" data-accounts={target.accountIds.length} data-queries={chunks.length}>
        {target.accountIds.length === 0 ? 'every account' : target.accountIds.length === 1 ? '1 account' : `${target.accountIds.length} accounts`}
      </p>
      <div className="toolbar" role="group" aria-label="Filter the records">
        <label>Entity
          <select value={entityId} onChange={(e) => { setEntityId(e.target.value); resetPaging(); }} data-testid="drilldown-entity">
            <option value="_all">All entities</option>
            {entities.map((e) => <option key={e.id} value={e.id}>{e.name}</option>)}
          </select>
        </label>
        <label>Dimension (name=value)
          <input value={dimension} placeholder="region=emea" onChange={(e) => { setDimension(e.target.value); resetPaging(); }}
                 data-testid="drilldown-dimension" />
        </label>
        <label>Booking day
          <input type="date" value={day} min={`${target.period}-01`}
                 max={`${target.period}-${String(daysInPeriod(target.period)).padStart(2, '0')}`}
                 onChange={(e) => { setDay(e.target.value); resetPaging(); }} data-testid="drilldown-day" />
        </label>
      </div>
      <LiveView live={records} what="the records" empty="No record matches.">
        {(list) => {
          const page = list.slice(0, PAGE_SIZE);
          const more = list.length > PAGE_SIZE;
          return (
            <>
              <div className="table-scroll">
                <table className="entries" data-testid="drilldown-records" data-count={page.length}>
                  <thead>
                    <tr><th scope="col">Record</th><th scope="col">Date</th><th scope="col">Entity</th><th scope="col">Account</th>
                      <th scope="col" className="num">Amount</th><th scope="col">Source</th><th scope="col">Memo</th>
                      <th scope="col" className="num">Version</th><th scope="col">Last changed</th></tr>
                  </thead>
                  <tbody>
                    {page.map((r) => (
                      <tr key={r.id} data-record-id={r.id}>
                        <td><button type="button" className="link" onClick={() => setHistory(r.id)}
                                    aria-label={`History of record ${r.id}`}>{r.record_id ?? r.id}</button></td>
                        <td>{r.date ?? '–'}</td>
                        <td>{r.entity_id}</td>
                        <td>{r.account_id}</td>
                        <td className="num" title={`${r.amount} ${r.currency}`}>{formatMoney(r.reporting_amount_minor, currency)}</td>
                        <td>{r.source ?? '–'}</td>
                        <td className="memo">{r.memo ?? ''}</td>
                        <td className="num">{r.version}</td>
                        <td>{when(r.updated_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <div className="toolbar" role="group" aria-label="Pages and export">
                <button type="button" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}
                        data-testid="drilldown-previous">Previous page</button>
                <span data-testid="drilldown-page">Page {cursors.length + 1}</span>
                <button type="button" disabled={!more} onClick={() => setCursors([...cursors, page[page.length - 1].id])}
                        data-testid="drilldown-next">Next page</button>
                <button type="button" onClick={() => void exportPage('csv', page)} data-testid="drilldown-export-csv">Export CSV</button>
                <button type="button" onClick={() => void exportPage('xlsx', page)} data-testid="drilldown-export-xlsx">Export XLSX</button>
              </div>
              {exportError && <p className="state error" role="alert">{exportError}</p>}
            </>
          );
        }}
      </LiveView>
      {history && <RecordHistory recordId={history} onClose={() => setHistory(null)} />}
    </section>
  );
}

/** Every version of one record, from the BigQuery changelog (GET /api/records/history). */
function RecordHistory({ recordId, onClose }: { recordId: string; onClose: () => void }) {
  const { orgId, user } = useSession();
  const [state, setState] = useState<{ versions: HistoryVersion[] } | { error: string } | null>(null);
  const [asked, setAsked] = useState<string | null>(null);
  if (asked !== recordId) {
    setAsked(recordId);
    setState(null);
    const query = new URLSearchParams({ org_id: orgId, record_id: recordId });
    void callApi<{ versions: HistoryVersion[] }>(user, `/api/records/history?${query.toString()}`, null, 'GET').then((reply) => {
      setState(reply.ok ? { versions: reply.body.versions ?? [] } : { error: failure(reply) });
    });
  }
  return (
    <div className="record-history" data-testid="record-history" data-record-id={recordId}>
      <h3>History of {recordId}</h3>
      {state === null && <p className="state loading">Loading the history…</p>}
      {state && 'error' in state && <p className="state error" role="alert">{state.error}</p>}
      {state && 'versions' in state && (
        <ol>
          {state.versions.map((v) => (
            <li key={`${v.version}-${v.op}-${v.event_id}`} data-version={v.version}>
              v{v.version} {v.op}: {v.entity_id} · {v.account_id} · {v.period}{v.booking_date ? ` · ${v.booking_date}` : ''} ·{' '}
              {v.amount} {v.currency} · {v.source ?? 'no source'} · changed {v.occurred_at}
            </li>
          ))}
        </ol>
      )}
      <button type="button" onClick={onClose}>Close the history</button>
    </div>
  );
}
