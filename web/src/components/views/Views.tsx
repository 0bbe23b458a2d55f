// Views people build (docs/views.md): the list (mine, shared, ready-made, scorecards), one view
// live, and the builder: add, configure, arrange (drag and drop, or the keyboard) and remove
// widgets. Every change is written at once (a view and its widgets in one batch), so everyone
// who has the view open sees it change.

import {
  arrayRemove, arrayUnion, doc, limit, runTransaction, serverTimestamp, where, writeBatch, type FieldValue, type Firestore,
} from 'firebase/firestore';
import { useMemo, useState, type DragEvent, type KeyboardEvent } from 'react';

import { dataOf, useDocument, useQuery } from '../../hooks/live';
import type { MetricDescription } from '../../lib/metrics';
import { periodInProgress } from '../../lib/periods';
import { orgHref } from '../../lib/route';
import { canEdit, orgPath, useSession } from '../../lib/session';
import { STANDARD_METRICS } from '../../lib/standardMetrics';
import type { Entity, KpisDoc } from '../../lib/types';
import { VIEW_CATALOG } from '../../lib/viewCatalog';
import {
  LIMITS, moveInLayout, newWidgetId, readyMadeViews, WIDGET_KINDS, widgetSpec, type DimensionDeclaration, type ViewDoc,
  type Widget, type WidgetDoc, type WidgetKind,
} from '../../lib/views';
import { ViewExport } from './ViewExport';
import { describer, widgetTitle, WidgetBody, type Describe, type WidgetContext } from './ViewWidgets';

type Dimensions = Record<string, DimensionDeclaration>;

function useDimensions(): Dimensions {
  const { org } = useSession();
  return org.dimensions ?? {};
}

function useDefinitions(): Record<string, MetricDescription> | undefined {
  const { services, orgId } = useSession();
  return dataOf(useDocument<KpisDoc>(services.db, orgPath(orgId, 'kpis', 'current')))?.definitions;
}

/** #/org/{org}/views and #/org/{org}/views/{id}. */
export function ViewsPage({ viewId }: { viewId: string | null }) {
  return viewId ? <ViewScreen viewId={viewId} /> : <ViewList />;
}

function ViewList() {
  const { services, orgId, user } = useSession();
  const dimensions = useDimensions();
  const shared = useQuery<ViewDoc>(services.db, orgPath(orgId, 'views'), [where('visibility', '==', 'shared'), limit(100)], 'shared');
  const mine = useQuery<ViewDoc>(services.db, orgPath(orgId, 'views'), [where('owner', '==', user.uid), limit(100)], user.uid);
  const readyMade = readyMadeViews(dimensions);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  const own = (dataOf(mine) ?? []).filter((v) => v.visibility === 'personal').sort(byName);
  const everyone = (dataOf(shared) ?? []).sort(byName);

  async function create() {
    const id = `view-${crypto.randomUUID().slice(0, 12)}`;
    try {
      await saveNewView(services.db, orgId, id, { name: name.trim(), description: '', widgets: [] }, user.uid);
      window.location.hash = orgHref(orgId, `views/${id}`);
    } catch (e) {
      setError(`Could not create the view: ${(e as Error).message}`);
    }
  }

  const link = (id: string, label: string, extra?: string) => (
    <li key={id}><a href={orgHref(orgId, `views/${id}`)}>{label}</a>{extra && <span className="sub"> {extra}</span>}</li>
  );
  return (
    <section className="panel" aria-labelledby="views-title">
      <h2 id="views-title">Views</h2>
      <form className="new-view" onSubmit={(e) => { e.preventDefault(); if (name.trim()) void create(); }}>
        <label>New view <input value={name} maxLength={LIMITS.max_name_length} onChange={(e) => setName(e.target.value)} placeholder="Name" required /></label>
        <button type="submit">Create</button>
        {error && <p className="state error" role="alert">{error}</p>}
      </form>
      <div className="view-lists">
        <div><h3>Mine (personal)</h3>
          {own.length ? <ul data-testid="views-mine">{own.map((v) => link(v.id, v.name))}</ul> : <p className="state empty">None yet: create one, or duplicate a ready-made view.</p>}
        </div>
        <div><h3>Shared with the organisation</h3>
          {everyone.length ? <ul data-testid="views-shared">{everyone.map((v) => link(v.id, v.name))}</ul> : <p className="state empty">No shared views yet.</p>}
        </div>
        <div><h3>Ready-made</h3>
          <ul data-testid="views-ready-made">{readyMade.filter((v) => v.id.startsWith('starter-')).map((v) => link(v.id, v.name))}</ul>
        </div>
        <div><h3>Scorecards and heat maps</h3>
          {readyMade.some((v) => !v.id.startsWith('starter-'))
            ? <ul data-testid="views-scorecards">{readyMade.filter((v) => !v.id.startsWith('starter-')).map((v) => link(v.id, v.name))}</ul>
            : <p className="state empty">An admin declares dimensions with their values (console, Organisation) to get a scorecard per value.</p>}
        </div>
      </div>
    </section>
  );
}

interface Draft { name: string; description: string; widgets: Widget[] }

function widgetBody(w: Widget): WidgetDoc {
  const { id: _id, ...body } = w;
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== '')) as unknown as WidgetDoc;
}

async function saveNewView(db: Firestore, orgId: string, id: string, draft: Draft, uid: string, visibility: 'personal' | 'shared' = 'personal') {
  const batch = writeBatch(db);
  batch.set(doc(db, orgPath(orgId, 'views', id)), {
    name: draft.name, ...(draft.description ? { description: draft.description } : {}), visibility, owner: uid,
    layout: draft.widgets.map((w) => w.id), schema: 1,
    created_at: serverTimestamp(), updated_at: serverTimestamp(), updated_by: uid,
  });
  for (const w of draft.widgets) batch.set(doc(db, orgPath(orgId, 'views', id, 'widgets', w.id)), widgetBody(w));
  await batch.commit();
}

function ViewScreen({ viewId }: { viewId: string }) {
  const { services, orgId, org, user, role } = useSession();
  const dimensions = useDimensions();
  const definitions = useDefinitions();
  const describe = useMemo(() => describer(definitions), [definitions]);
  const readyMade = readyMadeViews(dimensions).find((v) => v.id === viewId) ?? null;
  const stored = useDocument<ViewDoc>(services.db, readyMade ? null : orgPath(orgId, 'views', viewId));
  const view = dataOf(stored);
  const layout = view?.layout ?? [];
  // One listener for the view's widgets (at most 24, the rules' bound), kept while the layout
  // changes, so arranging never reloads them; the layout decides their order.
  const widgetsLive = useQuery<WidgetDoc>(services.db, view ? orgPath(orgId, 'views', viewId, 'widgets') : null,
    [limit(LIMITS.max_widgets)], viewId);
  const [editing, setEditing] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const ctx: WidgetContext = { anchor: periodInProgress(org.current_period), fiscalYearStartMonth: org.fiscal_year_start_month || 1, describe, dimensions };

  if (!readyMade) {
    if (stored.status === 'loading') return <p className="state loading" role="status">Loading the view…</p>;
    if (stored.status === 'missing' || stored.status === 'denied') {
      return <p className="state denied" role="alert" data-testid="view-unavailable">This view does not exist, or it is someone else's personal view. <a href={orgHref(orgId, 'views')}>All views</a></p>;
    }
    if (stored.status === 'error') return <p className="state error" role="alert">Could not load the view: {stored.message}</p>;
  }
  const byId = new Map((dataOf(widgetsLive) ?? []).map((w) => [w.id, w]));
  const widgets: Widget[] = readyMade ? readyMade.widgets
    : layout.filter((id) => byId.has(id)).map((id) => ({ ...(byId.get(id) as WidgetDoc), id }));
  const name = readyMade?.name ?? view?.name ?? '';
  const description = readyMade?.description ?? view?.description ?? '';
  const mayEdit = !readyMade && view !== undefined
    && (view.visibility === 'personal' ? view.owner === user.uid : canEdit(role));
  const mayShare = !readyMade && view !== undefined && view.owner === user.uid && canEdit(role);
  const mayDelete = !readyMade && view !== undefined
    && (view.owner === user.uid ? view.visibility === 'personal' || canEdit(role) : view.visibility === 'shared' && role === 'admin');

  // Adding and removing change the stored layout in place (arrayUnion / arrayRemove) and a move
  // reads it in a transaction, so two editors of a shared view never drop each other's widgets.
  async function write(layout: FieldValue | null, changed: Widget[] = [], removed: string[] = [], extra: Partial<ViewDoc> = {}) {
    const batch = writeBatch(services.db);
    batch.update(doc(services.db, orgPath(orgId, 'views', viewId)), {
      ...(layout ? { layout } : {}), ...extra, updated_at: serverTimestamp(), updated_by: user.uid,
    });
    for (const w of changed) batch.set(doc(services.db, orgPath(orgId, 'views', viewId, 'widgets', w.id)), widgetBody(w));
    for (const id of removed) batch.delete(doc(services.db, orgPath(orgId, 'views', viewId, 'widgets', id)));
    try {
      await batch.commit();
    } catch (e) {
      setMessage(`Not saved: ${(e as Error).message}`);
      throw e;
    }
  }

  async function moveTo(id: string, target: string, after: boolean) {
    const ref = doc(services.db, orgPath(orgId, 'views', viewId));
    try {
      await runTransaction(services.db, async (tx) => {
        const stored = (await tx.get(ref)).data() as ViewDoc | undefined;
        if (!stored) return;
        tx.update(ref, { layout: moveInLayout(stored.layout, id, target, after), updated_at: serverTimestamp(), updated_by: user.uid });
      });
    } catch (e) {
      setMessage(`Not saved: ${(e as Error).message}`);
    }
  }

  async function duplicate() {
    const id = `view-${crypto.randomUUID().slice(0, 12)}`;
    await saveNewView(services.db, orgId, id, { name: `${name} (copy)`.slice(0, LIMITS.max_name_length), description, widgets }, user.uid);
    window.location.hash = orgHref(orgId, `views/${id}`);
  }

  async function remove() {
    if (!window.confirm(`Delete the view "${name}"?`)) return;
    const batch = writeBatch(services.db);
    for (const w of widgets) batch.delete(doc(services.db, orgPath(orgId, 'views', viewId, 'widgets', w.id)));
    batch.delete(doc(services.db, orgPath(orgId, 'views', viewId)));
    await batch.commit();
    window.location.hash = orgHref(orgId, 'views');
  }

  const move = (from: number, to: number) => {
    if (to < 0 || to >= widgets.length || from === to) return;
    const moved = widgets[from];
    setMessage(`Moved ${widgetTitle(moved, describe)} to position ${to + 1} of ${widgets.length}.`);
    void moveTo(moved.id, widgets[to].id, to > from);
  };

  return (
    <section className="view-screen" aria-labelledby="view-title" data-view={viewId}>
      <header className="panel view-header">
        <div>
          <h2 id="view-title">{name}
            <span className={`badge ${readyMade ? 'ready-made' : view?.visibility}`} data-testid="view-visibility">
              {readyMade ? 'ready-made' : view?.visibility}
            </span>
          </h2>
          {description && <p className="sub">{description}</p>}
        </div>
        <div className="view-actions" role="group" aria-label="View actions">
          <a href={orgHref(orgId, 'views')}>All views</a>
          {mayEdit && <button type="button" onClick={() => setEditing(!editing)} aria-pressed={editing}>{editing ? 'Done' : 'Edit'}</button>}
          {mayShare && view && (
            <button type="button" onClick={() => void write(null, [], [], { visibility: view.visibility === 'shared' ? 'personal' : 'shared' })}>
              {view.visibility === 'shared' ? 'Make personal' : 'Share with the organisation'}
            </button>
          )}
          <button type="button" onClick={() => void duplicate()}>Duplicate</button>
          {mayDelete && <button type="button" className="danger" onClick={() => void remove()}>Delete</button>}
        </div>
        <ViewExport viewId={viewId} period={ctx.anchor} />
      </header>
      <p className="visually-hidden" role="status" aria-live="polite">{message}</p>
      {message?.startsWith('Not saved') && <p className="state error" role="alert">{message}</p>}
      {editing && mayEdit && (
        <WidgetForm key="new" describe={describe} definitions={definitions} dimensions={dimensions}
                    onSave={(w) => {
                      const added = { ...w, id: newWidgetId(w.type, widgets.map((x) => x.id)) };
                      return write(arrayUnion(added.id), [added]);
                    }}
                    full={widgets.length >= LIMITS.max_widgets} />
      )}
      {!readyMade && layout.length > 0 && widgetsLive.status === 'loading'
        ? <p className="panel state loading" role="status">Loading the widgets…</p>
        : widgets.length === 0
        ? <p className="panel state empty">This view has no widgets yet{mayEdit ? ': press Edit, then add one.' : '.'}</p>
        : (
          <ol className="view-grid" data-testid="view-grid">
            {widgets.map((w, i) => (
              <WidgetTile key={w.id} widget={w} index={i} count={widgets.length} ctx={ctx} editing={editing && mayEdit}
                          describe={describe} definitions={definitions} dimensions={dimensions} move={move}
                          save={(changed) => write(null, [{ ...changed, id: w.id }])}
                          remove={() => write(arrayRemove(w.id), [], [w.id])} />
            ))}
          </ol>
        )}
    </section>
  );
}

function WidgetTile({ widget, index, count, ctx, editing, describe, definitions, dimensions, move, save, remove }: {
  widget: Widget; index: number; count: number; ctx: WidgetContext; editing: boolean; describe: Describe;
  definitions: Record<string, MetricDescription> | undefined; dimensions: Dimensions;
  move: (from: number, to: number) => void; save: (w: WidgetDoc) => Promise<void>; remove: () => Promise<void>;
}) {
  const [configuring, setConfiguring] = useState(false);
  const [over, setOver] = useState(false);
  const title = widgetTitle(widget, describe);
  const onKey = (e: KeyboardEvent<HTMLButtonElement>) => {
    if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') { e.preventDefault(); move(index, index - 1); }
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') { e.preventDefault(); move(index, index + 1); }
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const text = e.dataTransfer.getData('text/x-widget-index');
    if (/^[0-9]+$/.test(text)) move(Number(text), index);
  };
  return (
    <li className={`panel widget width-${Math.min(3, Math.max(1, widget.width ?? widgetSpec(widget.type).default_width))}${over ? ' drop-target' : ''}`}
        data-widget={widget.id} data-type={widget.type}
        // The whole tile is dragged (a drag may start on the handle or anywhere on the tile).
        draggable={(editing && !configuring) || undefined}
        onDragStart={editing ? (e) => { e.dataTransfer.setData('text/x-widget-index', String(index)); e.dataTransfer.effectAllowed = 'move'; } : undefined}
        onDragOver={editing ? (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; setOver(true); } : undefined}
        onDragLeave={editing ? () => setOver(false) : undefined} onDrop={editing ? drop : undefined}>
      <header className="panel-header">
        <h3>{title}</h3>
        {editing && (
          <div className="widget-tools" role="group" aria-label={`Arrange ${title}`}>
            <button type="button" className="drag-handle" aria-label={`Move ${title} (position ${index + 1} of ${count}): arrow keys or drag`}
                    onKeyDown={onKey}>
              ⠿
            </button>
            <button type="button" onClick={() => move(index, index - 1)} disabled={index === 0} aria-label={`Move ${title} earlier`}>◀</button>
            <button type="button" onClick={() => move(index, index + 1)} disabled={index === count - 1} aria-label={`Move ${title} later`}>▶</button>
            <button type="button" onClick={() => setConfiguring(!configuring)} aria-expanded={configuring}>Configure</button>
            <button type="button" className="danger" onClick={() => void remove()} aria-label={`Remove ${title}`}>Remove</button>
          </div>
        )}
      </header>
      {configuring && editing && (
        <WidgetForm describe={describe} definitions={definitions} dimensions={dimensions} initial={widget}
                    onSave={async (w) => { await save(w); setConfiguring(false); }} />
      )}
      <WidgetBody widget={widget} ctx={ctx} />
    </li>
  );
}

function WidgetForm({ describe, definitions, dimensions, initial, onSave, full = false }: {
  describe: Describe; definitions: Record<string, MetricDescription> | undefined; dimensions: Dimensions;
  initial?: Widget; onSave: (w: WidgetDoc) => Promise<void>; full?: boolean;
}) {
  const { services, orgId } = useSession();
  const entities = dataOf(useQuery<Entity>(services.db, orgPath(orgId, 'entities'), [], 'all')) ?? [];
  const [kind, setKind] = useState<WidgetKind>(initial?.type ?? 'kpi');
  const [metrics, setMetrics] = useState<string[]>(initial?.metrics ?? ['revenue']);
  const [range, setRange] = useState(initial?.range ?? 'this_month');
  const [compare, setCompare] = useState<string>(initial?.compare ?? 'none');
  const [target, setTarget] = useState(initial?.target && !['budget', 'forecast'].includes(initial.target) ? 'value' : initial?.target ?? 'budget');
  const [amount, setAmount] = useState(initial?.target && !['budget', 'forecast'].includes(initial.target) ? initial.target : '');
  const [entity, setEntity] = useState(initial?.entity_id ?? '_all');
  const [dimension, setDimension] = useState(initial?.dimension ?? '');
  const [value, setValue] = useState(initial?.value ?? '');
  const [width, setWidth] = useState(initial?.width ?? 0);
  const [title, setTitle] = useState(initial?.title ?? '');
  const [error, setError] = useState<string | null>(null);
  // One save at a time: the button says so until the server has the batch.
  const [saving, setSaving] = useState(false);
  const spec = widgetSpec(kind);
  const filtered = Boolean(dimension);
  // Per dimension value only the built-in metrics exist (docs/views.md).
  const metricIds = [...Object.keys(STANDARD_METRICS), ...(filtered ? [] : Object.keys(definitions ?? {}).filter((m) => !(m in STANDARD_METRICS)))];
  const declared = dimension ? dimensions[dimension] : undefined;
  const ranges = Object.keys(VIEW_CATALOG.ranges).filter((r) => !spec.single_month || r === 'this_month' || r === 'last_month')
    .filter((r) => kind !== 'heatmap' || r !== 'last_24_months'); // a heat map spans at most 13 months

  async function submit() {
    const chosen = metrics.slice(0, spec.max_metrics);
    if (chosen.length < spec.min_metrics) { setError(`A ${spec.label.toLowerCase()} needs ${spec.min_metrics} metric.`); return; }
    if (spec.needs_dimension && !dimension) { setError('A heat map needs a dimension.'); return; }
    if (dimension && !spec.needs_dimension && !value) { setError(`Choose the value of ${dimension}.`); return; }
    if (kind === 'gauge' && target === 'value' && !/^-?(0|[1-9][0-9]{0,17})([.][0-9]{1,6})?$/.test(amount)) {
      setError('Type the target as a number, e.g. 250000.00.'); return;
    }
    const w: WidgetDoc = {
      type: kind, range, ...(spec.max_metrics ? { metrics: chosen } : {}),
      ...(entity !== '_all' ? { entity_id: entity } : {}), ...(title.trim() ? { title: title.trim() } : {}),
      ...(spec.comparisons.length && compare !== 'none' ? { compare: compare as WidgetDoc['compare'] } : {}),
      ...(kind === 'gauge' ? { target: target === 'value' ? amount : target } : {}),
      ...(dimension && spec.dimension_filter ? { dimension, ...(spec.needs_dimension ? {} : { value }) } : {}),
      width: width || spec.default_width,
    };
    if (saving) return;
    setSaving(true);
    try { await onSave(w); setError(null); } catch (e) { setError((e as Error).message); } finally { setSaving(false); }
  }

  const metricPicker = spec.max_metrics === 0 ? null : spec.max_metrics === 1 ? (
    <label>Metric
      <select value={metrics[0] ?? ''} onChange={(e) => setMetrics([e.target.value])} data-testid="widget-metric">
        {metricIds.map((m) => <option key={m} value={m}>{describe(m).label}</option>)}
      </select>
    </label>
  ) : (
    <label>Metrics (up to {spec.max_metrics})
      <select multiple size={6} value={metrics} data-testid="widget-metrics"
              onChange={(e) => setMetrics([...e.target.selectedOptions].map((o) => o.value))}>
        {metricIds.map((m) => <option key={m} value={m}>{describe(m).label}</option>)}
      </select>
    </label>
  );

  return (
    <form className="widget-form panel" aria-label={initial ? 'Configure the widget' : 'Add a widget'}
          onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <h3>{initial ? 'Configure' : 'Add a widget'}</h3>
      <div className="form-grid">
        <label>Type
          <select value={kind} data-testid="widget-type" onChange={(e) => {
            const next = e.target.value as WidgetKind;
            setKind(next);
            if (widgetSpec(next).single_month && !['this_month', 'last_month'].includes(range)) setRange('this_month');
            if (next === 'heatmap' && range === 'last_24_months') setRange('last_6_months');
            if (next === 'heatmap' && !dimension) setDimension(Object.keys(dimensions)[0] ?? '');
            // A heat map's dimension is not a filter: other widgets start unfiltered after one.
            if (kind === 'heatmap' && next !== 'heatmap') { setDimension(''); setValue(''); }
          }}>
            {WIDGET_KINDS.map((k) => <option key={k} value={k}>{widgetSpec(k).label}</option>)}
          </select>
        </label>
        {metricPicker}
        <label>Months
          <select value={range} onChange={(e) => setRange(e.target.value)} data-testid="widget-range">
            {ranges.map((r) => <option key={r} value={r}>{(VIEW_CATALOG.ranges as Record<string, string>)[r]}</option>)}
          </select>
        </label>
        {spec.comparisons.length > 0 && (
          <label>Compare with
            <select value={compare} onChange={(e) => setCompare(e.target.value)} data-testid="widget-compare">
              {['none', ...spec.comparisons.filter((c) => c !== 'none')].map((c) => <option key={c} value={c}>{(VIEW_CATALOG.comparisons as Record<string, string>)[c]}</option>)}
            </select>
          </label>
        )}
        {kind === 'gauge' && (
          <>
            <label>Target
              <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="widget-target">
                {Object.entries(VIEW_CATALOG.targets).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
              </select>
            </label>
            {target === 'value' && <label>Target value <input value={amount} onChange={(e) => setAmount(e.target.value)} inputMode="decimal" data-testid="widget-target-value" /></label>}
          </>
        )}
        <label>Entity
          <select value={entity} onChange={(e) => setEntity(e.target.value)}>
            <option value="_all">Consolidated</option>
            {entities.map((en) => <option key={en.id} value={en.id}>{en.name}</option>)}
          </select>
        </label>
        {spec.dimension_filter && Object.keys(dimensions).length > 0 && (
          <label>{spec.needs_dimension ? 'Dimension' : 'Only one value of'}
            <select value={dimension} onChange={(e) => { setDimension(e.target.value); setValue(''); }} data-testid="widget-dimension">
              {!spec.needs_dimension && <option value="">(no filter)</option>}
              {Object.entries(dimensions).map(([d, decl]) => <option key={d} value={d}>{decl.label ?? d}</option>)}
            </select>
          </label>
        )}
        {dimension && !spec.needs_dimension && spec.dimension_filter && (
          declared?.values
            ? <label>Value
                <select value={value} onChange={(e) => setValue(e.target.value)} data-testid="widget-value-picker">
                  <option value="">Choose…</option>
                  {declared.values.map((v) => <option key={v} value={v}>{v}</option>)}
                </select>
              </label>
            : <label>Value <input value={value} onChange={(e) => setValue(e.target.value)} data-testid="widget-value-picker" /></label>
        )}
        <label>Width
          <select value={width || spec.default_width} onChange={(e) => setWidth(Number(e.target.value))}>
            {[1, 2, 3].map((n) => <option key={n} value={n}>{n === 1 ? 'one column' : `${n} columns`}</option>)}
          </select>
        </label>
        <label>Title <input value={title} maxLength={LIMITS.max_title_length} onChange={(e) => setTitle(e.target.value)} placeholder="(automatic)" /></label>
      </div>
      {error && <p className="state error" role="alert">{error}</p>}
      <button type="submit" disabled={full || saving}>
        {saving ? 'Saving…' : initial ? 'Save the widget' : full ? `A view holds ${LIMITS.max_widgets} widgets` : 'Add the widget'}
      </button>
    </form>
  );
}
