// Entities (the companies of the group): currency and parent, a form and the import of a list.

import { deleteDoc, doc, setDoc } from 'firebase/firestore';
import { useMemo, useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { cell, entityProblem, parentProblems, type EntityInput } from '../../lib/reference';
import { orgPath, useSession } from '../../lib/session';
import type { Entity } from '../../lib/types';
import { LiveView } from '../States';
import { ImportPanel, type PlannedRow, type SheetRow } from './ImportPanel';

type Stored = Entity & { id: string };

function body(e: EntityInput) {
  return { name: e.name.trim(), currency: e.currency, parent_id: e.parent_id || null };
}

export function planEntities(rows: SheetRow[], stored: Stored[], orgId: string): PlannedRow[] {
  const inputs = rows.map(({ row, cells }) => ({
    row,
    entity: {
      id: cell(cells, 'entity_id', 'id', 'entity'), name: cell(cells, 'name', 'entity_name'),
      currency: cell(cells, 'currency').toUpperCase(), parent_id: cell(cells, 'parent_id', 'parent') || null,
    } satisfies EntityInput,
  }));
  const parents = new Map<string, string | null>(stored.map((e) => [e.id, e.parent_id ?? null]));
  for (const { entity } of inputs) if (!entityProblem(entity)) parents.set(entity.id, entity.parent_id);
  const structural = parentProblems(parents);
  const counts = new Map<string, number>();
  for (const { entity } of inputs) counts.set(entity.id, (counts.get(entity.id) ?? 0) + 1);
  return inputs.map(({ row, entity }) => ({
    row, key: entity.id,
    problem: entityProblem(entity) ?? ((counts.get(entity.id) ?? 0) > 1 ? `entity ${entity.id} appears more than once in the file` : null)
      ?? structural.get(entity.id) ?? null,
    path: orgPath(orgId, 'entities', entity.id), data: body(entity),
  }));
}

export function EntitiesScreen() {
  const { services, orgId, org } = useSession();
  const live = useQuery<Stored>(services.db, orgPath(orgId, 'entities'), [], 'all');
  const entities = useMemo(() => dataOf(live) ?? [], [live]);
  const empty: EntityInput = { id: '', name: '', currency: org.reporting_currency, parent_id: null };
  const [draft, setDraft] = useState<EntityInput>(empty);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const entity = { ...draft, currency: draft.currency.trim().toUpperCase() };
    const parents = new Map<string, string | null>(entities.map((e) => [e.id, e.parent_id ?? null]));
    parents.set(entity.id, entity.parent_id);
    const problem = entityProblem(entity) ?? parentProblems(parents).get(entity.id) ?? null;
    if (problem) { setMessage({ error: true, text: problem }); return; }
    try {
      await setDoc(doc(services.db, orgPath(orgId, 'entities', entity.id)), body(entity));
      setMessage({ error: false, text: `Entity ${entity.id} saved.` });
      setDraft(empty);
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    }
  }
  return (
    <>
      <section className="panel" aria-labelledby="entities-title">
        <header className="panel-header"><h2 id="entities-title">Entities</h2>
          <span className="sub">reporting currency {org.reporting_currency}: other currencies need FX rates</span></header>
        <LiveView live={live} what="the entities" empty="No entities yet: add them below or import a list.">
          {(list) => (
            <div className="table-scroll">
              <table data-testid="entities">
                <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Currency</th><th scope="col">Parent</th><th scope="col">Actions</th></tr></thead>
                <tbody>
                  {list.slice().sort((a, b) => a.id.localeCompare(b.id)).map((e) => (
                    <tr key={e.id} data-entity={e.id}>
                      <td><code>{e.id}</code></td><td>{e.name}</td><td>{e.currency}</td><td>{e.parent_id ?? ''}</td>
                      <td>
                        <button type="button" className="link" onClick={() => setDraft({ id: e.id, name: e.name, currency: e.currency, parent_id: e.parent_id ?? null })}>Edit</button>{' '}
                        <button type="button" className="link" aria-label={`Delete entity ${e.id}`}
                                onClick={() => { if (window.confirm(`Delete entity ${e.id}? Records of it will be rejected.`)) void deleteDoc(doc(services.db, orgPath(orgId, 'entities', e.id))); }}>Delete</button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </LiveView>
      </section>
      <section className="panel" aria-labelledby="entity-form-title">
        <header className="panel-header"><h2 id="entity-form-title">Add or edit an entity</h2></header>
        <form className="entry-form" onSubmit={submit} data-testid="entity-form" aria-label="Add or edit an entity">
          <label>Entity id <input value={draft.id} onChange={(e) => setDraft({ ...draft, id: e.target.value.trim() })} required placeholder="us-east" /></label>
          <label>Name <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} required maxLength={200} /></label>
          <label>Currency <input value={draft.currency} onChange={(e) => setDraft({ ...draft, currency: e.target.value })} required maxLength={3} placeholder="USD" /></label>
          <label>Parent
            <select value={draft.parent_id ?? ''} onChange={(e) => setDraft({ ...draft, parent_id: e.target.value || null })}>
              <option value="">(none)</option>
              {entities.filter((e) => e.id !== draft.id).map((e) => <option key={e.id} value={e.id}>{e.id} {e.name}</option>)}
            </select>
          </label>
          <button type="submit">Save entity</button>
          {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
        </form>
        <h3>Import entities</h3>
        <ImportPanel what="entities" columns="entity_id, name, currency, parent_id" plan={(rows) => planEntities(rows, entities, orgId)} />
      </section>
    </>
  );
}
