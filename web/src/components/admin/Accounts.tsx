// The chart of accounts as a tree (types, parents, tags), an account form, and the import of a chart.

import { deleteDoc, doc, setDoc } from 'firebase/firestore';
import { useMemo, useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import {
  ACCOUNT_TYPES, accountProblem, cell, parentProblems, parseTags, type AccountInput,
} from '../../lib/reference';
import { orgPath, useSession } from '../../lib/session';
import type { Account } from '../../lib/types';
import { ImportPanel, type PlannedRow, type SheetRow } from './ImportPanel';

type Stored = Account & { id: string; tags?: string[] };

function body(a: AccountInput) {
  return { name: a.name.trim(), type: a.type, parent_id: a.parent_id || null, ...(a.tags.length ? { tags: a.tags } : {}) };
}

export function planAccounts(rows: SheetRow[], stored: Stored[], orgId: string): PlannedRow[] {
  const inputs = rows.map(({ row, cells }) => ({
    row,
    account: {
      id: cell(cells, 'account_id', 'id', 'account'), name: cell(cells, 'name', 'account_name'), type: cell(cells, 'type', 'account_type').toLowerCase(),
      parent_id: cell(cells, 'parent_id', 'parent') || null, tags: parseTags(cell(cells, 'tags', 'tag')),
    } satisfies AccountInput,
  }));
  const parents = new Map<string, string | null>(stored.map((a) => [a.id, a.parent_id ?? null]));
  const seen = new Map<string, number>();
  for (const { row, account } of inputs) {
    if (!accountProblem(account)) parents.set(account.id, account.parent_id);
    if (account.id) seen.set(account.id, seen.has(account.id) ? -1 : row);
  }
  const structural = parentProblems(parents);
  return inputs.map(({ row, account }) => {
    const problem = accountProblem(account)
      ?? (seen.get(account.id) === -1 ? `account ${account.id} appears more than once in the file` : null)
      ?? structural.get(account.id) ?? null;
    return { row, key: account.id, problem, path: orgPath(orgId, 'accounts', account.id), data: body(account) };
  });
}

function AccountForm({ accounts, draft, setDraft }: { accounts: Stored[]; draft: AccountInput; setDraft: (a: AccountInput) => void }) {
  const { services, orgId } = useSession();
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [tagsText, setTagsText] = useState(draft.tags.join(' '));
  const current = { ...draft, tags: parseTags(tagsText) };
  async function submit(event: FormEvent) {
    event.preventDefault();
    const parents = new Map<string, string | null>(accounts.map((a) => [a.id, a.parent_id ?? null]));
    parents.set(current.id, current.parent_id);
    const problem = accountProblem(current) ?? parentProblems(parents).get(current.id) ?? null;
    if (problem) { setMessage({ error: true, text: problem }); return; }
    try {
      await setDoc(doc(services.db, orgPath(orgId, 'accounts', current.id)), body(current));
      setMessage({ error: false, text: `Account ${current.id} saved.` });
      setDraft({ id: '', name: '', type: current.type, parent_id: current.parent_id, tags: [] });
      setTagsText('');
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    }
  }
  return (
    <form className="entry-form" onSubmit={submit} aria-label="Add or edit an account" data-testid="account-form">
      <label>Account id <input value={draft.id} onChange={(e) => setDraft({ ...draft, id: e.target.value.trim() })} required placeholder="4100" /></label>
      <label>Name <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} required maxLength={200} /></label>
      <label>Type
        <select value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.target.value })}>
          {ACCOUNT_TYPES.map((t) => <option key={t} value={t}>{t.replace('_', ' ')}</option>)}
        </select>
      </label>
      <label>Parent
        <select value={draft.parent_id ?? ''} onChange={(e) => setDraft({ ...draft, parent_id: e.target.value || null })}>
          <option value="">(none: a top-level account)</option>
          {accounts.filter((a) => a.id !== draft.id).map((a) => <option key={a.id} value={a.id}>{a.id} {a.name}</option>)}
        </select>
      </label>
      <label className="wide">Tags (for KPIs: cash, receivable, payable, current_asset, current_liability, debt, recurring)
        <input value={tagsText} onChange={(e) => setTagsText(e.target.value)} placeholder="cash current_asset" />
      </label>
      <button type="submit">Save account</button>
      {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
    </form>
  );
}

function Tree({ accounts, parent, depth, onEdit }: { accounts: Stored[]; parent: string | null; depth: number; onEdit: (a: Stored) => void }) {
  const { services, orgId } = useSession();
  const children = accounts.filter((a) => (a.parent_id ?? null) === parent || (parent === null && a.parent_id && !accounts.some((p) => p.id === a.parent_id)))
    .sort((a, b) => a.id.localeCompare(b.id));
  if (children.length === 0 || depth > 12) return null;
  return (
    <ul className={depth === 0 ? 'account-tree' : undefined}>
      {children.map((a) => (
        <li key={a.id} data-account={a.id} data-type={a.type}>
          <span className="tree-line">
            <code>{a.id}</code> {a.name} <span className="sub">{a.type.replace('_', ' ')}</span>
            {(a.tags ?? []).map((t) => <span key={t} className="tag">{t}</span>)}
            {' '}<button type="button" className="link" onClick={() => onEdit(a)} aria-label={`Edit account ${a.id}`}>Edit</button>
            {' '}<button type="button" className="link" aria-label={`Delete account ${a.id}`}
                         onClick={() => { if (window.confirm(`Delete account ${a.id} ${a.name}? Records that use it will be rejected.`)) void deleteDoc(doc(services.db, orgPath(orgId, 'accounts', a.id))); }}>Delete</button>
          </span>
          {a.id !== parent && <Tree accounts={accounts} parent={a.id} depth={depth + 1} onEdit={onEdit} />}
        </li>
      ))}
    </ul>
  );
}

export function AccountsScreen() {
  const { services, orgId } = useSession();
  const live = useQuery<Stored>(services.db, orgPath(orgId, 'accounts'), [], 'all');
  const accounts = useMemo(() => dataOf(live) ?? [], [live]);
  const [draft, setDraft] = useState<AccountInput>({ id: '', name: '', type: 'revenue', parent_id: null, tags: [] });
  const [formKey, setFormKey] = useState(0);
  return (
    <>
      <section className="panel" aria-labelledby="chart-title">
        <header className="panel-header"><h2 id="chart-title">Chart of accounts</h2><span className="sub">{accounts.length} accounts</span></header>
        {live.status === 'ready' && accounts.length === 0 && <p className="state empty">No accounts yet: add them below or import your chart.</p>}
        <div className="table-scroll" data-testid="account-tree"><Tree accounts={accounts} parent={null} depth={0}
          onEdit={(a) => { setDraft({ id: a.id, name: a.name, type: a.type, parent_id: a.parent_id ?? null, tags: a.tags ?? [] }); setFormKey((k) => k + 1); }} /></div>
      </section>
      <section className="panel" aria-labelledby="account-form-title">
        <header className="panel-header"><h2 id="account-form-title">Add or edit an account</h2></header>
        <AccountForm key={formKey} accounts={accounts} draft={draft} setDraft={setDraft} />
        <h3>Import a chart</h3>
        <ImportPanel what="accounts" columns="account_id, name, type (revenue, cogs, opex, other_income, other_expense, tax, asset, liability, equity), parent_id, tags (separated by spaces)"
                     plan={(rows) => planAccounts(rows, accounts, orgId)} />
      </section>
    </>
  );
}
