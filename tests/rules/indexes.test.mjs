// firestore.indexes.json against the documented dashboard queries (tests/rules/client_queries.json):
// the file's shape, that every query is served by an index (and every composite index by a query),
// and that every query really runs, as a signed-in member, against the Firestore emulator under
// firestore.rules and returns what was seeded.
//
//   FIRESTORE_EMULATOR_HOST=127.0.0.1:8181 node --test tests/rules/
//
// The emulator does not enforce indexes, so index coverage is checked by analysis here; the
// emulator run proves the rules allow each query and that filters/orders mean what we think.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { initializeTestEnvironment } from '@firebase/rules-unit-testing';
import {
  Timestamp,
  collection,
  collectionGroup,
  doc,
  getDocs,
  limit,
  orderBy,
  query,
  setDoc,
  setLogLevel,
  where,
} from 'firebase/firestore';

const ROOT = new URL('../../', import.meta.url);
const readJson = (rel) => JSON.parse(readFileSync(new URL(rel, ROOT), 'utf8'));
const INDEXES = readJson('firestore.indexes.json');
const QUERIES = readJson('tests/rules/client_queries.json').queries;
const BACKEND_QUERIES = readJson('tests/rules/backend_queries.json').queries;
const DOCS_PATH = new URL('docs/dashboard-clients.md', ROOT);

const EMULATOR = process.env.FIRESTORE_EMULATOR_HOST;
if (!EMULATOR) {
  throw new Error(
    'FIRESTORE_EMULATOR_HOST is not set. These tests need a running Firestore emulator, e.g.\n' +
      '  java -cp <SDK>/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar ' +
      'com.google.cloud.datastore.emulator.firestore.CloudFirestore start --host=127.0.0.1 --port=8181 &\n' +
      '  FIRESTORE_EMULATOR_HOST=127.0.0.1:8181 node --test tests/rules/',
  );
}
const EMULATOR_HOST = EMULATOR.slice(0, EMULATOR.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
const EMULATOR_PORT = Number(EMULATOR.slice(EMULATOR.lastIndexOf(':') + 1));
const PROJECT_ID = process.env.GCLOUD_PROJECT || 'demo-finance-live';

const EQUALITY_OPS = new Set(['==', 'in']);
// Inequalities: `!=` is served like a range (two ranges on the field, which sorts by it).
const RANGE_OPS = new Set(['<', '<=', '>', '>=', '!=']);
const SCOPES = ['COLLECTION', 'COLLECTION_GROUP'];
const ORDERS = ['ASCENDING', 'DESCENDING'];

// ------------------------------------------------------------------ index analysis

// What a query needs from an index: its equality fields (any order among themselves) and then
// its sort order. A range filter's field sorts implicitly (ascending) after the explicit orders;
// ordering by a field that is also an equality filter is a no-op.
function requirement(q) {
  const eq = q.filters.filter((f) => EQUALITY_OPS.has(f.op)).map((f) => f.field);
  const order = q.orderBy
    .filter((o) => !eq.includes(o.field))
    .map((o) => ({ field: o.field, order: o.direction === 'desc' ? 'DESCENDING' : 'ASCENDING' }));
  for (const f of q.filters.filter((x) => RANGE_OPS.has(x.op))) {
    if (!order.some((o) => o.field === f.field)) order.push({ field: f.field, order: 'ASCENDING' });
  }
  return { eq, order };
}

// Firestore serves without a composite index: equality filters alone (single-field indexes
// merged) and a query on one field (equality and/or range/order on that same field).
function needsComposite(req) {
  const fields = new Set([...req.eq, ...req.order.map((o) => o.field)]);
  return req.order.length > 0 && fields.size > 1;
}

function indexServes(index, q, req) {
  if (index.collectionGroup !== q.collection || index.queryScope !== q.scope) return false;
  const fields = index.fields.filter((f) => f.fieldPath !== '__name__');
  if (fields.length !== req.eq.length + req.order.length) return false;
  const prefix = fields.slice(0, req.eq.length);
  if (!prefix.every((f) => f.order && req.eq.includes(f.fieldPath))) return false;
  if (new Set(prefix.map((f) => f.fieldPath)).size !== req.eq.length) return false;
  return req.order.every((o, i) => {
    const f = fields[req.eq.length + i];
    return f.fieldPath === o.field && f.order === o.order;
  });
}

// Single-field index (field, scope, order) exists: automatic for collection scope unless a field
// override replaces it; collection-group scope only through an override.
function singleFieldIndexExists(collectionGroup, fieldPath, scope, order) {
  const override = (INDEXES.fieldOverrides || []).find(
    (o) => o.collectionGroup === collectionGroup && o.fieldPath === fieldPath,
  );
  if (!override) return scope === 'COLLECTION';
  return override.indexes.some((i) => (i.queryScope || 'COLLECTION') === scope && i.order === order);
}

// Human-readable reason why a query is not served ('' when it is).
function coverageProblem(q) {
  const req = requirement(q);
  if (needsComposite(req)) {
    if (INDEXES.indexes.some((index) => indexServes(index, q, req))) return '';
    const fields = [...req.eq.map((f) => `${f} ASCENDING`), ...req.order.map((o) => `${o.field} ${o.order}`)];
    return `no composite index on ${q.collection} (${q.scope}) with fields [${fields.join(', ')}]`;
  }
  const needed = [
    ...req.eq.map((field) => ({ field, order: 'ASCENDING' })),
    ...req.order,
  ];
  const missing = needed.filter((n) => !singleFieldIndexExists(q.collection, n.field, q.scope, n.order));
  return missing.length
    ? `missing single-field index (${q.scope}) on ${missing.map((m) => `${q.collection}.${m.field} ${m.order}`).join(', ')}`
    : '';
}

describe('firestore.indexes.json', () => {
  test('has the shape firebase-tools deploys (its own validator) and ours', () => {
    const { FirestoreApi } = createRequire(import.meta.url)('firebase-tools/lib/firestore/api.js');
    const api = new FirestoreApi();
    api.validateSpec(api.upgradeOldSpec(structuredClone(INDEXES)));

    assert.deepEqual(Object.keys(INDEXES).sort(), ['fieldOverrides', 'indexes']);
    for (const index of INDEXES.indexes) {
      const where = JSON.stringify(index);
      assert.equal(typeof index.collectionGroup, 'string', where);
      assert.ok(SCOPES.includes(index.queryScope), `queryScope of ${where}`);
      assert.ok(index.fields.length >= 2, `a composite index has at least 2 fields: ${where}`);
      for (const f of index.fields) {
        assert.equal(typeof f.fieldPath, 'string', where);
        assert.ok(ORDERS.includes(f.order) !== (f.arrayConfig === 'CONTAINS'), `order xor arrayConfig in ${where}`);
      }
      assert.equal(new Set(index.fields.map((f) => f.fieldPath)).size, index.fields.length, `repeated field in ${where}`);
    }
    const keys = INDEXES.indexes.map((i) => JSON.stringify([i.collectionGroup, i.queryScope, i.fields]));
    assert.equal(new Set(keys).size, keys.length, 'duplicate composite index');

    const overrideKeys = INDEXES.fieldOverrides.map((o) => `${o.collectionGroup}.${o.fieldPath}`);
    assert.equal(new Set(overrideKeys).size, overrideKeys.length, 'duplicate field override');
    for (const o of INDEXES.fieldOverrides) {
      const where = JSON.stringify(o);
      assert.ok(Array.isArray(o.indexes), where);
      // TTL policies are owned by infra/terraform; leaving `ttl` out makes `firebase deploy`
      // patch only the index config (updateMask=indexConfig) and never toggle a TTL policy.
      assert.equal(o.ttl, undefined, `ttl is managed by terraform, not here: ${where}`);
      for (const i of o.indexes) {
        assert.ok(SCOPES.includes(i.queryScope), `queryScope of ${where}`);
        assert.ok(ORDERS.includes(i.order) !== (i.arrayConfig === 'CONTAINS'), `order xor arrayConfig in ${where}`);
      }
    }
  });

  test('exempts the fields that are never queried but costly to index', () => {
    const exempt = new Set(
      INDEXES.fieldOverrides.filter((o) => o.indexes.length === 0).map((o) => `${o.collectionGroup}.${o.fieldPath}`),
    );
    for (const field of ['aggregates.accounts', 'aggregates.rollups', 'record_changes.expires_at', 'applied_changes.expires_at']) {
      assert.ok(exempt.has(field), `${field} should be exempt from single-field indexing`);
    }
  });

  test('client_queries.json is well formed', () => {
    const ids = QUERIES.map((q) => q.id);
    assert.ok(QUERIES.length >= 9, 'documented queries are missing');
    assert.equal(new Set(ids).size, ids.length, 'duplicate query id');
    for (const q of QUERIES) {
      assert.match(q.id, /^[a-z0-9_]+$/, `id of ${q.id}`);
      assert.equal(typeof q.collection, 'string', q.id);
      assert.ok(SCOPES.includes(q.scope), `scope of ${q.id}`);
      assert.ok(['viewer', 'editor', 'admin'].includes(q.role), `role of ${q.id}`);
      assert.ok(typeof q.purpose === 'string' && q.purpose.length > 10, `purpose of ${q.id}`);
      assert.ok(Array.isArray(q.filters) && Array.isArray(q.orderBy), q.id);
      for (const f of q.filters) {
        assert.ok(EQUALITY_OPS.has(f.op) || RANGE_OPS.has(f.op), `operator ${f.op} in ${q.id}`);
        assert.equal(typeof f.field, 'string', q.id);
      }
      const ranges = new Set(q.filters.filter((f) => RANGE_OPS.has(f.op)).map((f) => f.field));
      assert.ok(ranges.size <= 1, `${q.id}: at most one range field keeps the index story simple`);
      for (const o of q.orderBy) assert.ok(['asc', 'desc'].includes(o.direction), `direction in ${q.id}`);
      if (q.limit !== undefined) assert.ok(Number.isInteger(q.limit) && q.limit > 0, `limit of ${q.id}`);
    }
  });

  for (const q of QUERIES) {
    test(`serves query ${q.id}`, () => {
      assert.equal(coverageProblem(q), '', `${q.id}: ${q.purpose}`);
    });
  }

  // Queries the backend runs with the admin SDK (tests/rules/backend_queries.json): the rules do not apply
  // to it, the indexes do.
  for (const q of BACKEND_QUERIES) {
    test(`serves backend query ${q.id}`, () => {
      assert.equal(coverageProblem(q), '', `${q.id}: ${q.purpose}`);
    });
  }

  test('every composite index serves at least one documented query (no index writes for nothing)', () => {
    const unused = INDEXES.indexes.filter(
      (index) => ![...QUERIES, ...BACKEND_QUERIES].some((q) => {
        const req = requirement(q);
        return needsComposite(req) && indexServes(index, q, req);
      }),
    );
    assert.deepEqual(unused.map((i) => `${i.collectionGroup}: ${i.fields.map((f) => f.fieldPath).join(', ')}`), []);
  });

  test('the analysis itself flags a missing index and an exempted field', () => {
    // Guards the checks above against passing vacuously.
    const unindexed = { id: 'x', collection: 'financial_records', scope: 'COLLECTION', filters: [{ field: 'account_id', op: '==', value: '1' }], orderBy: [{ field: 'updated_at', direction: 'desc' }] };
    assert.match(coverageProblem(unindexed), /no composite index/);
    const exempted = { id: 'y', collection: 'aggregates', scope: 'COLLECTION', filters: [], orderBy: [{ field: 'accounts', direction: 'asc' }] };
    assert.match(coverageProblem(exempted), /missing single-field index/);
    const groupScope = { id: 'z', collection: 'alerts', scope: 'COLLECTION_GROUP', filters: [{ field: 'rule_id', op: '==', value: 'a' }], orderBy: [] };
    assert.match(coverageProblem(groupScope), /COLLECTION_GROUP/);
    const wrongDirection = { ...QUERIES.find((q) => q.id === 'records_by_entity_period'), orderBy: [{ field: 'updated_at', direction: 'asc' }] };
    assert.match(coverageProblem(wrongDirection), /no composite index/);
  });

  test('docs/dashboard-clients.md documents every query', () => {
    const docs = readFileSync(DOCS_PATH, 'utf8');
    const missing = QUERIES.filter((q) => !docs.includes(q.id)).map((q) => q.id);
    assert.deepEqual(missing, [], 'queries not mentioned in docs/dashboard-clients.md');
  });
});

// ------------------------------------------------------------------ running the queries

const RUN = randomUUID().slice(0, 8);
const USERS = { viewer: `idx-viewer-${RUN}`, editor: `idx-editor-${RUN}`, admin: `idx-admin-${RUN}` };
const NOW = Date.now();

let testEnv;
const seeded = new Map(); // path -> data: the oracle's view of this run's documents

// Example value of a query field for the i-th generated document (sortable, distinct).
function sampleValue(field, i) {
  if (/(_at|^last_seen)$/.test(field)) return Timestamp.fromMillis(NOW - (i + 1) * 60_000);
  if (field === 'period') return `2026-0${i + 1}`;
  throw new Error(`no sample values for field ${field}: extend sampleValue()`);
}

function resolve(value, ctx) {
  if (value === '$now') return Timestamp.fromMillis(ctx.now);
  return typeof value === 'string' ? value.replaceAll('{org}', ctx.org).replaceAll('{uid}', ctx.uid) : value;
}

function compare(a, b) {
  const x = a instanceof Timestamp ? a.toMillis() : a;
  const y = b instanceof Timestamp ? b.toMillis() : b;
  return x < y ? -1 : x > y ? 1 : 0;
}

// Document names sort segment by segment (not as one string).
function comparePaths(a, b) {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compare(x[i], y[i]);
    if (c) return c;
  }
  return x.length - y.length;
}

function matches(data, f, ctx) {
  if (!(f.field in data)) return false;
  const c = compare(data[f.field], resolve(f.value, ctx));
  return { '==': c === 0, '!=': c !== 0, '>': c > 0, '>=': c >= 0, '<': c < 0, '<=': c <= 0 }[f.op]
    ?? (f.op === 'in' && resolve(f.value, ctx).some((v) => compare(data[f.field], v) === 0));
}

// Inclusive bounds of a field's range filters on plain values ('2026-06' <= period <= '2026-11').
function inclusiveBounds(q, field) {
  const bounds = {};
  for (const f of q.filters.filter((x) => x.field === field && RANGE_OPS.has(x.op))) {
    if (f.op === '>=') bounds.low = f.value;
    else if (f.op === '<=') bounds.high = f.value;
    else throw new Error(`${q.id}: a range on plain values must be inclusive (>=, <=): extend documentsFor()`);
  }
  return bounds;
}

// Documents of the query: two or three that match (distinct sort values), one that fails
// the first filter, and for a range on plain values one below it. Every value of an `in` is used.
function documentsFor(q, ctx) {
  const docs = [];
  for (let i = 0; i < 3; i++) {
    const d = {};
    for (const f of q.filters) {
      if (EQUALITY_OPS.has(f.op)) {
        const values = f.op === 'in' ? resolve(f.value, ctx) : null;
        d[f.field] = values ? values[i % values.length] : resolve(f.value, ctx);
      } else if (f.op === '!=') {
        const left = resolve(f.value, ctx);
        d[f.field] = [`${left}-0`, `${left}-1`, ''][i]; // values on both sides of the excluded one
      } else if (f.value === '$now') d[f.field] = Timestamp.fromMillis(ctx.now + (f.op.startsWith('>') ? 1 : -1) * (i + 1) * 60_000);
      else {
        const { low, high } = inclusiveBounds(q, f.field);
        d[f.field] = [low ?? high, high ?? low, low ?? high][i];
      }
    }
    for (const o of q.orderBy) if (!(o.field in d)) d[o.field] = sampleValue(o.field, i);
    docs.push(d);
  }
  if (q.filters.length) {
    const f = q.filters[0];
    const bad = { ...docs[0] };
    if (EQUALITY_OPS.has(f.op)) bad[f.field] = `${bad[f.field]}-other`;
    else bad[f.field] = Timestamp.fromMillis(ctx.now + (f.op.startsWith('>') ? -1 : 1) * 60_000);
    docs.push(bad);
  }
  const ranged = q.filters.find((f) => RANGE_OPS.has(f.op) && f.value !== '$now' && f.op === '>=');
  if (ranged) docs.push({ ...docs[0], [ranged.field]: '' }); // sorts before any lower bound
  const excluded = q.filters.find((f) => f.op === '!=');
  if (excluded) docs.push({ ...docs[0], [excluded.field]: resolve(excluded.value, ctx) }); // the one left out
  return docs;
}

// What Firestore must return, computed from this run's seeded documents.
function expectedIds(q, ctx) {
  const inScope = [...seeded.entries()].filter(([path]) => {
    const parts = path.split('/');
    if (q.scope === 'COLLECTION_GROUP') return parts.length % 2 === 0 && parts[parts.length - 2] === q.collection;
    return parts.slice(0, -1).join('/') === `organizations/${ctx.org}/${q.collection}`;
  });
  const hits = inScope.filter(([, data]) => q.filters.every((f) => matches(data, f, ctx)));
  const req = requirement(q);
  const lastDirection = req.order.length ? req.order[req.order.length - 1].order : 'ASCENDING';
  hits.sort(([pa, a], [pb, b]) => {
    for (const o of req.order) {
      const c = compare(a[o.field], b[o.field]);
      if (c) return o.order === 'DESCENDING' ? -c : c;
    }
    const c = comparePaths(pa, pb); // ties: by document name, in the direction of the last order
    return lastDirection === 'DESCENDING' ? -c : c;
  });
  return hits.slice(0, q.limit ?? hits.length).map(([path]) => path);
}

async function seed(docs) {
  await testEnv.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    await Promise.all(Object.entries(docs).map(([path, data]) => setDoc(doc(db, path), data)));
  });
  for (const [path, data] of Object.entries(docs)) seeded.set(path, data);
}

describe('documented queries on the emulator, as signed-in members', () => {
  before(async () => {
    setLogLevel('silent');
    testEnv = await initializeTestEnvironment({
      projectId: PROJECT_ID,
      firestore: {
        host: EMULATOR_HOST,
        port: EMULATOR_PORT,
        rules: readFileSync(new URL('firestore.rules', ROOT), 'utf8'),
      },
    });
  });

  after(async () => {
    if (testEnv) await testEnv.cleanup(); // closes apps only; the shared emulator keeps its data
  });

  for (const q of QUERIES) {
    test(`${q.id} (${q.role}): ${q.purpose}`, async () => {
      const uid = USERS[q.role];
      // Orgs of their own per query: what the backend may write in reaction to the seeded
      // documents (when the emulator is shared with the functions) cannot reach another query.
      const orgs = [`idx-${RUN}-${q.id}`, `idx-${RUN}-${q.id}-2`];
      await seed(Object.fromEntries(orgs.flatMap((org) => [
        [`organizations/${org}`, { name: org, reporting_currency: 'USD', fiscal_year_start_month: 1 }],
        ...Object.entries(USERS).map(([role, u]) => [`organizations/${org}/members/${u}`, { role, uid: u, display_name: role }]),
      ])));
      const ctx = { org: orgs[0], uid, now: Date.now() };
      const docs = {};
      documentsFor(q, ctx).forEach((data, i) => {
        // Collection-group documents are spread over both orgs (that is the point of the query).
        const org = q.scope === 'COLLECTION_GROUP' ? orgs[i % 2] : ctx.org;
        docs[`organizations/${org}/${q.collection}/${q.id}-${i}`] = data;
      });
      await seed(docs);

      const db = testEnv.authenticatedContext(uid, { firebase: { sign_in_provider: 'password', identities: {} } }).firestore();
      const base = q.scope === 'COLLECTION_GROUP'
        ? collectionGroup(db, q.collection)
        : collection(db, 'organizations', ctx.org, q.collection);
      const constraints = [
        ...q.filters.map((f) => where(f.field, f.op, resolve(f.value, ctx))),
        ...q.orderBy.map((o) => orderBy(o.field, o.direction)),
        ...(q.limit ? [limit(q.limit)] : []),
      ];
      const snap = await getDocs(query(base, ...constraints));
      const expected = expectedIds(q, ctx);
      assert.ok(expected.some((p) => p.includes(`/${q.id}-`)), `${q.id}: the oracle expects none of the seeded documents`);
      assert.deepEqual(snap.docs.map((d) => d.ref.path), expected);
    });
  }
});
