// Export a view as PDF and Excel (docs/reports.md#reports-of-views): the same flow as the Reports
// screen. The member asks (a report_requests document naming the view and the month the view shows),
// watches the report's progress live on reports/{same id}, and downloads its files through the
// authenticated download function. The backend renders the figures the widgets show, to the minor unit.

import { doc, serverTimestamp, setDoc } from 'firebase/firestore';
import { useState } from 'react';

import { useDocument } from '../../hooks/live';
import { orgPath, useSession } from '../../lib/session';
import { DownloadButton, type ReportDoc } from '../Reports';

export function ViewExport({ viewId, period }: { viewId: string; period: string }) {
  const { services, orgId, user } = useSession();
  const [requestId, setRequestId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const report = useDocument<ReportDoc>(services.db, requestId ? orgPath(orgId, 'reports', requestId) : null);

  async function exportView() {
    setBusy(true);
    setError(null);
    try {
      const id = `view-${crypto.randomUUID()}`;
      await setDoc(doc(services.db, orgPath(orgId, 'report_requests', id)), {
        period, view_id: viewId, requested_by: user.uid, requested_at: serverTimestamp(),
      });
      setRequestId(id);
    } catch (err) {
      setError(`Not exported: ${(err as { code?: string }).code ?? String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  const body = report.status === 'ready' ? report.data : null;
  const percent = body?.progress?.percent ?? 0;
  const files = (body?.files ?? []).filter((f) => f.format === 'pdf' || f.format === 'xlsx');
  return (
    <div className="view-export" data-testid="view-export" data-status={body?.status ?? (requestId ? 'queued' : 'idle')}>
      <button type="button" onClick={() => void exportView()} disabled={busy || body?.status === 'running'}>
        Export PDF / XLSX
      </button>
      {requestId && !body && <p role="status">Asked for the report of {period}…</p>}
      {body && (body.status === 'running' || body.status === 'queued') && (
        <p role="status">
          <progress max={100} value={percent} aria-label={`Progress of the view's report`} /> {body.progress?.step ?? 'waiting'} ({percent}%)
        </p>
      )}
      {body?.status === 'failed' && <p className="state error" role="alert">{body.error?.message ?? 'the report could not be made'}</p>}
      {body?.status === 'succeeded' && (
        <ul className="files" data-testid="view-export-files" aria-label={`The view's report of ${period}`}>
          {files.map((f) => <DownloadButton key={f.name} file={f} />)}
        </ul>
      )}
      {error && <p className="state error" role="alert">{error}</p>}
    </div>
  );
}
