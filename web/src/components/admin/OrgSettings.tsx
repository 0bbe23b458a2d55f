// The organisation itself: name, fiscal year, reporting currency, and its record dimensions (docs/kpis.md).

import { doc, updateDoc } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { orgPath, useSession } from '../../lib/session';

export interface DimensionSpec { label?: string; values?: string[] }

const NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Why a dimension cannot be declared as typed, or null (the bounds of firestore.rules). */
export function dimensionProblem(name: string, label: string, values: string[] | null): string | null {
  if (!NAME.test(name) || name.length > 64) return `name "${name}": lower-case letters and digits in words joined by single underscores, starting with a letter, at most 64 characters (e.g. cost_centre)`;
  if (label && (label.trim().length === 0 || label.length > 100)) return 'the label is 1-100 characters';
  if (values) {
    if (values.length > 500) return `${values.length} values; at most 500`;
    const bad = values.find((v) => !VALUE.test(v) || v.includes('__'));
    if (bad !== undefined) return `value "${bad.slice(0, 40)}" must be 1-128 letters, digits, '.', '_' or '-', without "__"`;
    if (values.join(',').length > 10000) return 'the values take more than 10,000 characters in all';
  }
  return null;
}

function splitValues(text: string): string[] | null {
  const values = [...new Set(text.split(/[\s,;]+/).map((v) => v.trim()).filter(Boolean))];
  return values.length ? values : null;
}

export function OrgSettingsScreen() {
  const { services, orgId, org } = useSession();
  const dims = ((org as unknown as { dimensions?: Record<string, DimensionSpec> }).dimensions) ?? {};
  const ref = doc(services.db, orgPath(orgId));
  const [name, setName] = useState(org.name);
  const [fyStart, setFyStart] = useState(org.fiscal_year_start_month ?? 1);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [dimName, setDimName] = useState('');
  const [dimLabel, setDimLabel] = useState('');
  const [dimValues, setDimValues] = useState('');
  const [dimMessage, setDimMessage] = useState<{ error: boolean; text: string } | null>(null);

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!name.trim() || name.length > 200) { setMessage({ error: true, text: 'The name is 1-200 characters.' }); return; }
    try {
      await updateDoc(ref, { name: name.trim(), fiscal_year_start_month: Number(fyStart) });
      setMessage({ error: false, text: 'Saved.' });
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    }
  }

  async function saveDimensions(next: Record<string, DimensionSpec>, done: string) {
    try {
      await updateDoc(ref, { dimensions: next });
      setDimMessage({ error: false, text: done });
      return true;
    } catch (err) {
      setDimMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
      return false;
    }
  }

  async function addDimension(event: FormEvent) {
    event.preventDefault();
    const values = splitValues(dimValues);
    const key = dimName.trim();
    const problem = dimensionProblem(key, dimLabel, values)
      ?? (!(key in dims) && Object.keys(dims).length >= 5 ? 'at most 5 dimensions: each one adds aggregate writes to every record that carries it' : null);
    if (problem) { setDimMessage({ error: true, text: problem }); return; }
    const spec: DimensionSpec = { ...(dimLabel.trim() ? { label: dimLabel.trim() } : {}), ...(values ? { values } : {}) };
    if (await saveDimensions({ ...dims, [key]: spec }, `Dimension ${key} saved: records may carry it from now on.`)) {
      setDimName(''); setDimLabel(''); setDimValues('');
    }
  }

  return (
    <>
      <section className="panel" aria-labelledby="org-title">
        <header className="panel-header"><h2 id="org-title">Organisation</h2><span className="sub">{orgId}</span></header>
        <form className="entry-form" onSubmit={save} aria-label="Organisation settings">
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} /></label>
          <label>Fiscal year starts in
            <select value={fyStart} onChange={(e) => setFyStart(Number(e.target.value))}>
              {Array.from({ length: 12 }, (_, i) => <option key={i + 1} value={i + 1}>month {i + 1}</option>)}
            </select>
          </label>
          <label>Reporting currency <input value={org.reporting_currency} readOnly aria-readonly /></label>
          <button type="submit">Save</button>
          {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
        </form>
        <p className="sub">The reporting currency is set when the organisation is created: changing it would not convert the history.</p>
      </section>
      <section className="panel" aria-labelledby="dimensions-title">
        <header className="panel-header"><h2 id="dimensions-title">Dimensions</h2><span className="sub">up to 5 (department, region, product ...)</span></header>
        {Object.keys(dims).length === 0 ? <p className="state empty">No dimensions declared.</p> : (
          <div className="table-scroll">
            <table data-testid="dimensions">
              <thead><tr><th scope="col">Name</th><th scope="col">Label</th><th scope="col">Values</th><th scope="col">Actions</th></tr></thead>
              <tbody>
                {Object.entries(dims).sort(([a], [b]) => a.localeCompare(b)).map(([key, spec]) => (
                  <tr key={key} data-dimension={key}>
                    <td><code>{key}</code></td><td>{spec.label ?? ''}</td>
                    <td>{spec.values ? `${spec.values.length}: ${spec.values.slice(0, 8).join(', ')}${spec.values.length > 8 ? ', …' : ''}` : 'any identifier'}</td>
                    <td>
                      <button type="button" className="link" onClick={() => { setDimName(key); setDimLabel(spec.label ?? ''); setDimValues((spec.values ?? []).join(', ')); }}>Edit</button>{' '}
                      <button type="button" className="link" aria-label={`Remove dimension ${key}`} onClick={() => {
                        const next = { ...dims };
                        delete next[key];
                        void saveDimensions(next, `Dimension ${key} removed: records that carry it keep their values.`);
                      }}>Remove</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <form className="entry-form" onSubmit={addDimension} aria-label="Declare a dimension" data-testid="dimension-form">
          <label>Name <input value={dimName} onChange={(e) => setDimName(e.target.value)} required placeholder="region" maxLength={64} /></label>
          <label>Label <input value={dimLabel} onChange={(e) => setDimLabel(e.target.value)} placeholder="Region" maxLength={100} /></label>
          <label className="wide">Allowed values (separated by commas or spaces; empty: any identifier)
            <textarea value={dimValues} onChange={(e) => setDimValues(e.target.value)} rows={2} placeholder="emea, amer, apac" />
          </label>
          <button type="submit">Save dimension</button>
          {dimMessage && <p className={`state wide ${dimMessage.error ? 'error' : 'ok'}`} role={dimMessage.error ? 'alert' : 'status'}>{dimMessage.text}</p>}
        </form>
      </section>
    </>
  );
}
