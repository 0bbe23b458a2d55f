// Importing reference data from a CSV or XLSX file: the backend reads the file into rows
// (/api/sheets/read), this screen checks each row as the rules and the backend would, writes the good
// ones under the rules, and reports on every row: written, or refused and why.

import { doc, setDoc, writeBatch, type DocumentData } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { failure } from '../../lib/api';
import { useSession } from '../../lib/session';

export interface SheetRow { row: number; cells: Record<string, string> }

/** What to do with one row: write `data` at `path` (merged when `merge`), or refuse it with `problem`. */
export interface PlannedRow { row: number; key: string; problem: string | null; path?: string; data?: DocumentData; merge?: boolean }

interface Outcome { row: number; key: string; ok: boolean; text: string }

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export function ImportPanel({ what, columns, plan }: {
  what: string; columns: string; plan: (rows: SheetRow[]) => PlannedRow[];
}) {
  const { services, orgId, user } = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [outcomes, setOutcomes] = useState<Outcome[] | null>(null);

  async function write(planned: PlannedRow[]): Promise<Outcome[]> {
    const results: Outcome[] = planned.filter((p) => p.problem).map((p) => ({ row: p.row, key: p.key, ok: false, text: p.problem! }));
    const good = planned.filter((p) => !p.problem && p.path);
    for (let start = 0; start < good.length; start += 400) {
      const chunk = good.slice(start, start + 400);
      const batch = writeBatch(services.db);
      for (const p of chunk) batch.set(doc(services.db, p.path!), p.data!, { merge: p.merge ?? false });
      try {
        await batch.commit();
        results.push(...chunk.map((p) => ({ row: p.row, key: p.key, ok: true, text: 'written' })));
      } catch {
        // One refused document refuses its batch: write the chunk one by one to say which.
        for (const p of chunk) {
          try {
            await setDoc(doc(services.db, p.path!), p.data!, { merge: p.merge ?? false });
            results.push({ row: p.row, key: p.key, ok: true, text: 'written' });
          } catch (err) {
            const code = (err as { code?: string }).code ?? String(err);
            results.push({ row: p.row, key: p.key, ok: false, text: code === 'permission-denied' ? 'refused by the security rules (check the values)' : code });
          }
        }
      }
    }
    return results.sort((a, b) => a.row - b.row);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) { setError('Choose a CSV or XLSX file first.'); return; }
    setBusy(true);
    setError(null);
    setOutcomes(null);
    try {
      const token = await user.getIdToken();
      const type = file.name.toLowerCase().endsWith('.xlsx') ? XLSX : 'text/csv';
      const response = await fetch(`/api/sheets/read?org_id=${encodeURIComponent(orgId)}`, {
        method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': type }, body: file,
      });
      const body = await response.json().catch(() => ({ message: `the file reader answered ${response.status}` }));
      if (!response.ok) { setError(failure({ ok: false, status: response.status, body })); return; }
      setOutcomes(await write(plan(body.rows as SheetRow[])));
    } catch (err) {
      setError(`Import failed: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  const written = outcomes?.filter((o) => o.ok).length ?? 0;
  return (
    <div className="import">
      <form onSubmit={submit} className="upload-form" aria-label={`Import ${what}`} data-testid={`import-${what.replace(/\s+/g, '-')}`}>
        <label>Import {what} (CSV or XLSX)
          <input type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                 onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <button type="submit" disabled={busy}>{busy ? 'Importing…' : 'Import'}</button>
      </form>
      <p className="sub">Columns: {columns}. The first row names the columns.</p>
      {error && <p className="state error" role="alert">{error}</p>}
      {outcomes && (
        <div role="status" data-testid="import-report">
          <p>{outcomes.length} rows: {written} written, {outcomes.length - written} refused.</p>
          {outcomes.some((o) => !o.ok) && (
            <div className="table-scroll">
              <table className="rejections">
                <thead><tr><th scope="col">Row</th><th scope="col">Id</th><th scope="col">Why it was refused</th></tr></thead>
                <tbody>
                  {outcomes.filter((o) => !o.ok).map((o) => (
                    <tr key={o.row} data-row={o.row}><td>{o.row}</td><td><code>{o.key}</code></td><td>{o.text}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
