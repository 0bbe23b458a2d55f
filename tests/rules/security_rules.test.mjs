// Allow/deny matrix of firestore.rules, run against a Firestore emulator shared with other tests.
//
//   FIRESTORE_EMULATOR_HOST=127.0.0.1:8181 node --test tests/rules/
//
// Shared-emulator etiquette: every run uses its own org ids and uids (random suffix) and never
// clears the database. Each case is a single client operation that must be allowed or denied;
// deny cases are built from an allowed case by changing one thing, so a deny can only pass
// because of the rule it targets (and an allow fails as soon as a rule is too strict).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { assertFails, assertSucceeds, initializeTestEnvironment } from '@firebase/rules-unit-testing';
import {
  Timestamp,
  writeBatch,
  limit,
  collection,
  collectionGroup,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  query,
  serverTimestamp,
  setDoc,
  setLogLevel,
  updateDoc,
  where,
} from 'firebase/firestore';

// ------------------------------------------------------------------ environment

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
const RULES_PATH = fileURLToPath(new URL('../../firestore.rules', import.meta.url));

const RUN = randomUUID().slice(0, 8);
const ORG_A = `rules-${RUN}-a`;
const ORG_B = `rules-${RUN}-b`;
const U = {
  admin: `admin-${RUN}`,
  admin2: `admin2-${RUN}`,
  editor: `editor-${RUN}`,
  viewer: `viewer-${RUN}`,
  anon: `anon-${RUN}`, // has a viewer member doc in A, but signs in anonymously
  outsider: `outsider-${RUN}`, // signed in, member of nothing
  bAdmin: `badmin-${RUN}`, // admin of org B only
};
const WHO = ['unauthenticated', 'anonymous', 'outsider', 'viewer', 'editor', 'admin', 'admin2', 'bAdmin'];

const A = (p = '') => `organizations/${ORG_A}${p ? `/${p}` : ''}`;
const B = (p = '') => `organizations/${ORG_B}${p ? `/${p}` : ''}`;
const MIN = 60 * 1000;
const at = (offsetMs) => Timestamp.fromMillis(Date.now() + offsetMs);

let testEnv;

// ------------------------------------------------------------------ fixtures

const member = (uid, role) => ({ role, uid, display_name: uid });
const AGG_ID = 'us-east__2026-10__actual';

function fixtures() {
  const past = at(-10 * MIN);
  return {
    [A()]: { name: 'Acme', reporting_currency: 'USD', fiscal_year_start_month: 1, current_period: '2026-10' },
    [A(`members/${U.admin}`)]: member(U.admin, 'admin'),
    [A(`members/${U.admin2}`)]: member(U.admin2, 'admin'),
    [A(`members/${U.editor}`)]: member(U.editor, 'editor'),
    [A(`members/${U.viewer}`)]: member(U.viewer, 'viewer'),
    [A(`members/${U.anon}`)]: member(U.anon, 'viewer'),
    [A('periods/2026-10')]: { status: 'open' },
    [A('periods/2026-09')]: { status: 'closed' },
    [A('accounts/4000')]: { name: 'Revenue', type: 'revenue' },
    [A('entities/us-east')]: { name: 'US East', currency: 'USD' },
    [A('fx_rates/2026-10')]: { rates: { EUR: '1.08' } },
    [A('alert_rules/r1')]: { type: 'absolute', severity: 'warning', target: 'revenue', threshold: '1000' },
    [A('financial_records/rec-1')]: {
      entity_id: 'us-east', account_id: '4000', period: '2026-10', scenario: 'actual', amount: '10.00',
      amount_minor: 1000, currency: 'USD', reporting_amount_minor: 1000, version: 1,
      occurred_at: '2026-10-05T12:00:00Z', updated_at: past, source: 'netsuite',
    },
    [A(`aggregates/${AGG_ID}`)]: {
      entity_id: 'us-east', period: '2026-10', scenario: 'actual', accounts: { 4000: 1000 },
      rollups: {}, metrics: { revenue: 1000 }, record_count: 1, currency: 'USD', updated_at: past,
    },
    [A(`aggregates/${AGG_ID}/shards/000`)]: { accounts: { 4000: 1000 }, record_count: 1, seq: 1 },
    [A('kpis/current')]: { period: '2026-10', revenue: { value: 1000 } },
    [A('dimension_aggregates/region__emea__us-east__2026-10__actual')]: {
      dimension: 'region', value: 'emea', entity_id: 'us-east', period: '2026-10', scenario: 'actual',
      accounts: { 4000: 1000 }, record_count: 1, currency: 'USD',
    },
    [A('metric_definitions/arr')]: { label: 'ARR', expression: '12 * mrr', unit: 'money', status: 'active', checked_hash: 'abc' },
    [A('metric_series/_all__actual')]: { periods: ['2026-10'], metrics: { arr: [1200] } },
    [A('metrics_status/current')]: { revision: 1, state: 'done' },
    [A('variance/us-east__2026-10')]: { entity_id: 'us-east', period: '2026-10', items: [] },
    [A('trends/4000')]: { slope: 1.5, r_squared: 0.9, pattern: 'growing', forecast: [] },
    [A('data_quality/current')]: { counts: { applied: 1 } },
    [A('data_quality/current/shards/000')]: { counts: { applied: 1 }, seq: 1 },
    [A('ingestion_errors/ev-bad-1')]: { raw: '{}', reason: 'bad json', code: 'invalid_json', received_at: past },
    [A('record_changes/ch-9')]: { state: 'published', changes: [], expires_at: at(7 * 24 * 60 * MIN) },
    [A('applied_changes/ch-1')]: { expires_at: at(7 * 24 * 60 * MIN) },
    [A('comment_events/ce-1')]: { changes: [], expires_at: at(7 * 24 * 60 * MIN) },
    [A('deleted_records/rec-9')]: { version: 4 },
    [A('secrets/x')]: { token: 'nope' },
    [A('notification_channels/ch-1')]: { type: 'webhook', name: 'Ops', secret_set: true, secret_hint: 'https://hooks.slack.com/…' },
    [A('channel_secrets/ch-1')]: { value: 'https://hooks.slack.com/services/T0/B0/secret' },
    [A('invitations/inv-1')]: { email: 'x@example.com', role: 'viewer', invited_by: U.admin, created_at: past, expires_at: at(60 * MIN), status: 'sent' },
    ['invitation_tokens/any']: { org_id: ORG_A, invitation_id: 'inv-1', expires_at: at(60 * MIN) },
    [A('alerts/alert-read')]: { rule_id: 'r1', severity: 'warning', title: 't', status: 'active', count: 1, last_seen: past },
    [A(`presence/${U.viewer}`)]: { dashboard_id: 'pnl', display_name: 'V', last_seen: past, expires_at: at(2 * MIN) },
    [A('comments/c-read')]: { target_path: A('kpis/current'), uid: U.editor, text: 'hello', created_at: past },
    [A('manual_entries/me-1')]: {
      record_id: 'JE-1', entity_id: 'us-east', account_id: '4000', period: '2026-10', scenario: 'actual',
      amount: '1.00', currency: 'USD', created_by: U.editor, created_at: past, status: 'accepted', reason: null,
    },
    [B()]: { name: 'Beta', reporting_currency: 'EUR', fiscal_year_start_month: 1 },
    [B(`members/${U.bAdmin}`)]: member(U.bAdmin, 'admin'),
    [B('kpis/current')]: { period: '2026-10' },
    [B('financial_records/rec-b')]: { entity_id: 'eu', period: '2026-10', amount: '5.00', updated_at: past },
    [B('periods/2026-10')]: { status: 'open' },
    [B('alerts/alert-b')]: { rule_id: 'r1', severity: 'critical', title: 't', status: 'active', count: 1, last_seen: past },
    [A('reports/rep-1')]: { report_id: 'rep-1', period: '2026-10', status: 'succeeded', files: [], created_at: past },
    [A('report_requests/rep-1')]: { period: '2026-10', requested_by: U.viewer, requested_at: past },
    [A('report_schedules/s1')]: { trigger: 'month_end', enabled: true, recipients: ['cfo@example.com'], updated_by: U.admin, updated_at: past },
    [A('report_deliveries/s1__2026-10')]: { schedule_id: 's1', period: '2026-10', status: 'delivered' },
    [B('reports/rep-b')]: { report_id: 'rep-b', period: '2026-10', status: 'succeeded', files: [], created_at: past },
    [A('views/personal-of-editor')]: storedView(U.editor, 'personal'),
    [A('views/personal-of-viewer')]: storedView(U.viewer, 'personal'),
    [A('views/shared-by-editor')]: storedView(U.editor, 'shared'),
    [A('views/shared-by-editor/widgets/kpi')]: storedWidget,
    [A('views/personal-of-editor/widgets/kpi')]: storedWidget,
    [B('views/shared-in-b')]: storedView(U.bAdmin, 'shared'),
  };
}

// ------------------------------------------------------------------ valid documents and variants

// A valid manual entry by `uid`; `over` changes fields, `drop` removes some.
const entry = (over = {}, drop = []) => (uid) => {
  const d = {
    record_id: 'JE-10023-1', entity_id: 'us-east', account_id: '4000', period: '2026-10', scenario: 'actual',
    amount: '12345.67', currency: 'USD', memo: 'accrual', source: 'dashboard',
    created_by: uid, created_at: serverTimestamp(), ...over,
  };
  for (const k of drop) delete d[k];
  return d;
};

const ack = (over = {}) => (uid) => ({
  status: 'acknowledged', acknowledged_by: uid, acknowledged_at: serverTimestamp(), ...over,
});
const activeAlert = (over = {}) => ({
  rule_id: 'r1', severity: 'warning', title: 'Revenue below threshold', description: 'd', status: 'active',
  count: 1, first_seen: at(-60 * MIN), last_seen: at(-5 * MIN), escalation_level: 0, ...over,
});

const presence = (over = {}, drop = []) => () => {
  const d = { dashboard_id: 'pnl-overview', display_name: 'Victor', last_seen: serverTimestamp(), expires_at: at(2 * MIN), ...over };
  for (const k of drop) delete d[k];
  return d;
};

const comment = (over = {}) => (uid) => ({
  target_path: A(`aggregates/${AGG_ID}`), uid, text: 'Why did revenue jump?', created_at: serverTimestamp(), ...over,
});
const storedComment = (uid, ageMs) => ({ target_path: A('kpis/current'), uid, text: 'first', created_at: at(-ageMs) });
const commentEdit = (over = {}) => () => ({ text: 'fixed typo', edited_at: serverTimestamp(), ...over });

const periodDoc = (status, over = {}) => (uid) => ({ status, updated_by: uid, updated_at: serverTimestamp(), ...over });
const fxDoc = (over = {}) => (uid) => ({ rates: { EUR: '1.07' }, updated_by: uid, updated_at: serverTimestamp(), ...over });

const reportRequest = (over = {}, drop = []) => (uid) => {
  const d = { period: '2026-10', requested_by: uid, requested_at: serverTimestamp(), ...over };
  for (const k of drop) delete d[k];
  return d;
};
const schedule = (over = {}) => (uid) => ({
  name: 'CFO pack', trigger: 'month_end', enabled: true, days_after_month_end: 3, channel_id: 'email-cfo',
  recipients: ['cfo@example.com'], updated_by: uid, updated_at: serverTimestamp(), ...over,
});

// A widget with every field a widget may have, each at its bound.
const fullWidget = (over = {}) => () => ({
  type: 'gauge', title: 'T'.repeat(100), metrics: ['revenue', 'gross_profit', 'opex', 'ebitda', 'net_income', 'm'.repeat(64)],
  entity_id: 'e'.repeat(128), range: '2025-01..2026-12', compare: 'none', target: '-123456789012345678.123456',
  dimension: 'cost_centre', value: 'v'.repeat(128), width: 3, ...over,
});
const widget = (over = {}) => () => ({ type: 'kpi', metrics: ['revenue'], range: 'this_month', compare: 'budget', ...over });
const view = (over = {}, drop = []) => (uid) => {
  const d = {
    name: 'Revenue watch', description: 'What sales looks at', visibility: 'personal', owner: uid, entity_id: '_all',
    layout: ['kpi', 'trend', 'heat'], schema: 1, created_at: serverTimestamp(), updated_at: serverTimestamp(), updated_by: uid, ...over,
  };
  for (const k of drop) delete d[k];
  return d;
};
function storedView(owner, visibility) {
  const past = at(-60 * MIN);
  return { name: `${visibility} of ${owner}`, visibility, owner, layout: ['kpi'], schema: 1, created_at: past, updated_at: past, updated_by: owner };
}
const storedWidget = { type: 'kpi', metrics: ['revenue'], range: 'this_month' };
const viewEdit = (over = {}) => (uid) => ({ name: 'Renamed', updated_by: uid, updated_at: serverTimestamp(), ...over });
// A view and its widgets in one batch, as the builder saves a new view.
const newView = (id, over = {}, widgetOver = {}) => ({
  op: 'batch', path: A(`views/${id}`),
  writes: [[A(`views/${id}`), view(over)], [A(`views/${id}/widgets/kpi`), widget(widgetOver)]],
});

const X = 'x'; // filler for long strings
const channel = (over = {}) => (uid) => ({ type: 'webhook', name: 'Ops', enabled: true, timeout_seconds: 5, updated_by: uid, updated_at: serverTimestamp(), ...over });
const storedChannel = () => ({ type: 'webhook', name: 'Ops', secret_set: true, secret_hint: 'https://hooks.slack.com/…', updated_by: 'someone', updated_at: Timestamp.now() });
const DAY = 24 * 60 * MIN;

const invitation = (over = {}) => (uid) => ({
  email: 'new.person@example.com', role: 'editor', invited_by: uid, created_at: serverTimestamp(), expires_at: at(7 * DAY), ...over,
});
const storedInvitation = (over = {}) => ({
  email: 'new.person@example.com', role: 'editor', invited_by: U.admin, created_at: at(-MIN), expires_at: at(7 * DAY), status: 'sent', ...over,
});

// ------------------------------------------------------------------ the matrix
//
// who:    see WHO; expect: 'allow' | 'deny'; op: get | list | group | create | set | update | delete.
// path:   a '*' is replaced by a fresh id for the case. data: (uid) => document.
// seed:   {path: doc} written with rules disabled just before the case.

const CASES = [
  // --- identity and tenancy
  { who: 'unauthenticated', expect: 'deny', op: 'get', path: A(), name: 'read an org' },
  { who: 'unauthenticated', expect: 'deny', op: 'get', path: A('kpis/current'), name: 'read KPIs' },
  { who: 'unauthenticated', expect: 'deny', op: 'list', path: A('financial_records'), name: 'list records' },
  { who: 'unauthenticated', expect: 'deny', op: 'create', path: A('comments/*'), data: comment(), name: 'comment' },
  { who: 'anonymous', expect: 'deny', op: 'get', path: A('kpis/current'), name: 'read KPIs despite a member doc' },
  { who: 'anonymous', expect: 'deny', op: 'list', path: A('financial_records'), name: 'list records despite a member doc' },
  { who: 'anonymous', expect: 'deny', op: 'create', path: A('comments/*'), data: comment(), name: 'comment despite a member doc' },
  { who: 'anonymous', expect: 'deny', op: 'group', path: 'members', where: [['uid', '==', U.anon]], name: 'list own memberships' },
  { who: 'outsider', expect: 'deny', op: 'get', path: A(), name: 'read an org it is not a member of' },
  { who: 'outsider', expect: 'deny', op: 'get', path: A('kpis/current'), name: 'read KPIs of a foreign org' },
  { who: 'outsider', expect: 'deny', op: 'list', path: A('alerts'), name: 'list alerts of a foreign org' },
  { who: 'outsider', expect: 'deny', op: 'set', path: A(`presence/${U.outsider}`), data: presence(), name: 'announce presence in a foreign org' },
  { who: 'outsider', expect: 'deny', op: 'create', path: A(`members/${U.outsider}`), data: () => member(U.outsider, 'admin'), name: 'enrol itself as admin' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A(), name: 'read its org' },
  { who: 'viewer', expect: 'deny', op: 'list', path: 'organizations', name: 'list all orgs' },
  { who: 'viewer', expect: 'deny', op: 'get', path: B('kpis/current'), name: 'cross-org: read KPIs of org B' },
  { who: 'viewer', expect: 'deny', op: 'list', path: B('financial_records'), name: 'cross-org: list records of org B' },
  { who: 'bAdmin', expect: 'allow', op: 'get', path: B('kpis/current'), name: 'control: reads its own org B' },
  { who: 'bAdmin', expect: 'deny', op: 'get', path: A(`aggregates/${AGG_ID}`), name: 'cross-org: read an aggregate of org A' },
  { who: 'bAdmin', expect: 'deny', op: 'create', path: A('members/*'), data: () => ({ role: 'viewer', uid: 'SELF' }), name: 'cross-org: add a member to org A' },
  { who: 'admin', expect: 'deny', op: 'update', path: B(), data: () => ({ name: 'Taken over' }), name: 'cross-org: rename org B' },
  { who: 'editor', expect: 'deny', op: 'create', path: B('manual_entries/*'), data: entry(), name: 'cross-org: manual entry in org B' },
  { who: 'editor', expect: 'deny', op: 'update', path: B('alerts/alert-b'), data: ack(), name: 'cross-org: acknowledge an alert of org B' },

  // --- every readable collection, read by the weakest role
  { who: 'viewer', expect: 'allow', op: 'list', path: A('members'), name: 'list members' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('accounts/4000'), name: 'read an account' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('entities/us-east'), name: 'read an entity' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('periods'), name: 'list periods' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('fx_rates/2026-10'), name: 'read FX rates' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('alert_rules'), name: 'list alert rules' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('financial_records/rec-1'), name: 'read a record' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('financial_records'), where: [['period', '==', '2026-10']], name: 'query records' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('financial_records'), where: [['period', '==', '2026-10'], ['scenario', '==', 'actual'], ['account_id', 'in', ['4000', '4100']], ['date', '==', '2026-10-05']], name: 'drill-down query of a line' },
  { who: 'viewer', expect: 'deny', op: 'list', path: B('financial_records'), where: [['period', '==', '2026-10'], ['scenario', '==', 'actual'], ['account_id', 'in', ['4000', '4100']]], name: 'cross-org: drill-down query of a line of org B' },
  { who: 'outsider', expect: 'deny', op: 'list', path: A('financial_records'), where: [['period', '==', '2026-10'], ['account_id', 'in', ['4000']]], name: 'drill-down query by a non-member' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A(`aggregates/${AGG_ID}`), name: 'read an aggregate' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A(`aggregates/${AGG_ID}/shards`), name: 'list aggregate shards' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('kpis/current'), name: 'read KPIs' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('variance/us-east__2026-10'), name: 'read variance' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('trends/4000'), name: 'read a trend' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('data_quality/current'), name: 'read data quality' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('data_quality/current/shards/000'), name: 'read a data-quality shard' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('ingestion_errors'), name: 'list ingestion errors' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('alerts/alert-read'), name: 'read an alert' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('presence'), where: [['dashboard_id', '==', 'pnl']], name: 'query presence' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('comments'), name: 'list comments' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('manual_entries/me-1'), name: 'read a manual entry and its status' },

  // --- internal backend collections and anything unlisted: not even admins
  { who: 'admin', expect: 'deny', op: 'get', path: A('record_changes/ch-9'), name: 'read record_changes' },
  { who: 'admin', expect: 'deny', op: 'list', path: A('applied_changes'), name: 'list applied_changes' },
  { who: 'admin', expect: 'deny', op: 'get', path: A('deleted_records/rec-9'), name: 'read deleted_records' },
  { who: 'admin', expect: 'deny', op: 'get', path: A('comment_events/ce-1'), name: 'read comment_events' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comment_events/*'), data: () => ({ changes: [], expires_at: at(MIN) }), name: 'forge a comment event marker' },
  { who: 'admin', expect: 'deny', op: 'get', path: A('secrets/x'), name: 'read an unlisted collection' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('record_changes/*'), data: () => ({ state: 'pending', changes: [] }), name: 'forge a change document' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('secrets/*'), data: () => ({ a: 1 }), name: 'write an unlisted collection' },
  { who: 'admin', expect: 'deny', op: 'get', path: 'ingestion_errors/any', name: 'read the global ingestion_errors' },

  // --- server-owned numbers: read-only for everybody
  { who: 'admin', expect: 'deny', op: 'set', path: A('financial_records/rec-1'), data: () => ({ amount: '999999.00' }), name: 'overwrite a record' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('financial_records/*'), data: entry(), name: 'write a record directly' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A('financial_records/rec-1'), name: 'delete a record' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(`aggregates/${AGG_ID}`), data: () => ({ record_count: 0 }), name: 'edit an aggregate' },
  { who: 'editor', expect: 'deny', op: 'create', path: A(`aggregates/${AGG_ID}/shards/*`), data: () => ({ accounts: { 4000: 1 } }), name: 'add an aggregate shard' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('kpis/current'), data: () => ({ revenue: 1 }), name: 'overwrite KPIs' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('variance/us-east__2026-10'), data: () => ({ items: [] }), name: 'overwrite variance' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('trends/4000'), data: () => ({ slope: 0 }), name: 'overwrite a trend' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('data_quality/current'), data: () => ({ counts: {} }), name: 'reset data quality' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A('ingestion_errors/ev-bad-1'), name: 'delete an ingestion error' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('alerts/*'), data: () => activeAlert(), name: 'raise an alert' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A('alerts/alert-read'), name: 'delete an alert' },

  // --- manual entries
  { who: 'editor', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry(), name: 'manual entry' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry(), name: 'manual entry' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry({}, ['memo', 'source']), name: 'manual entry without memo/source' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry({ amount: '-1500.5' }), name: 'manual entry, negative amount' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry({ memo: X.repeat(500) }), name: 'manual entry, memo of 500 chars' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry({ period: '2026-12' }), name: 'manual entry, period without a document (backend rejects it)' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry({ dimensions: { region: 'emea' } }), name: 'manual entry with dimensions' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('manual_entries/*'), data: entry({ date: '2026-10-31' }), name: 'manual entry with a booking date inside its period' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ date: '2026-11-01' }), name: 'manual entry dated outside its period' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ date: '2026-10-32' }), name: 'manual entry with a date that is no day' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ date: 20261005 }), name: 'manual entry with a numeric date' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ dimensions: 'emea' }), name: 'manual entry with dimensions that are not a map' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry(), name: 'manual entry' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ status: 'accepted' }), name: 'forged server field status' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ reason: null }), name: 'forged server field reason' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ event_id: 'manual-x' }), name: 'forged server field event_id' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ amount: 12345.67 }), name: 'amount as a number' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ amount: '1e5' }), name: 'amount in exponent notation' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ amount: '1.1234567' }), name: 'amount with 7 decimals' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ amount: '007' }), name: 'amount with leading zeros' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ amount: '1'.repeat(19) }), name: 'amount with 19 integer digits' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ period: '2026-13' }), name: 'period month 13' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ period: '2026-09' }), name: 'closed period' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ scenario: 'plan' }), name: 'unknown scenario' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ currency: 'usd' }), name: 'lower-case currency' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({}, ['currency']), name: 'missing currency' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ record_id: 'JE__1' }), name: "record_id containing '__'" },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ entity_id: '_all' }), name: 'post to the consolidated entity _all' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ account_id: 4000 }), name: 'account_id as a number' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ memo: X.repeat(501) }), name: 'memo of 501 chars' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ source: X.repeat(65) }), name: 'source of 65 chars' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ created_by: U.admin }), name: 'created_by another user' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ created_at: at(0) }), name: 'client-chosen created_at' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/bad__id'), data: entry(), name: "entry id containing '__'" },
  { who: 'editor', expect: 'deny', op: 'update', path: A('manual_entries/me-1'), data: () => ({ memo: 'changed' }), name: 'edit a manual entry' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('manual_entries/me-1'), data: () => ({ status: 'rejected' }), name: 'set status of a manual entry' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A('manual_entries/me-1'), name: 'delete a manual entry' },

  // --- alerts: acknowledgement only
  { who: 'editor', expect: 'allow', op: 'update', path: A('alerts/ack-1'), seed: { [A('alerts/ack-1')]: activeAlert() }, data: ack(), name: 'acknowledge an active alert' },
  { who: 'admin', expect: 'allow', op: 'update', path: A('alerts/ack-2'), seed: { [A('alerts/ack-2')]: activeAlert() }, data: ack(), name: 'acknowledge an active alert' },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('alerts/ack-3'), seed: { [A('alerts/ack-3')]: activeAlert() }, data: ack(), name: 'acknowledge an alert' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('alerts/ack-cc'), seed: { [A('alerts/ack-cc')]: activeAlert() }, data: () => ({ comment_count: 99 }), name: 'set the server-owned comment_count of an alert' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('alerts/ack-4'), seed: { [A('alerts/ack-4')]: activeAlert() }, data: ack({ acknowledged_by: U.admin }), name: 'acknowledge in the name of another user' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('alerts/ack-5'), seed: { [A('alerts/ack-5')]: activeAlert() }, data: ack({ acknowledged_at: at(0) }), name: 'acknowledge with a client time' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('alerts/ack-6'), seed: { [A('alerts/ack-6')]: activeAlert() }, data: ack({ severity: 'info' }), name: 'acknowledge and downgrade severity' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('alerts/ack-7'), seed: { [A('alerts/ack-7')]: activeAlert({ status: 'resolved' }) }, data: ack(), name: 'acknowledge a resolved alert' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('alerts/ack-8'), seed: { [A('alerts/ack-8')]: activeAlert() }, data: ack({ status: 'resolved' }), name: 'resolve an alert' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('alerts/ack-9'), seed: { [A('alerts/ack-9')]: activeAlert() }, data: () => ({ status: 'acknowledged' }), name: 'acknowledge without who/when' },

  // --- reports: members request and read; only the backend writes reports and deliveries; admins schedule
  { who: 'viewer', expect: 'allow', op: 'get', path: A('reports/rep-1'), name: 'read a report and its links' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('reports'), name: 'list reports' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('report_requests/rep-1'), name: 'read a report request' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('report_schedules/s1'), name: 'read a report schedule' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('report_deliveries/s1__2026-10'), name: 'read a report delivery' },
  { who: 'unauthenticated', expect: 'deny', op: 'get', path: A('reports/rep-1'), name: 'read a report' },
  { who: 'anonymous', expect: 'deny', op: 'get', path: A('reports/rep-1'), name: 'read a report despite a member doc' },
  { who: 'outsider', expect: 'deny', op: 'list', path: A('reports'), name: 'list reports of a foreign org' },
  { who: 'bAdmin', expect: 'deny', op: 'get', path: A('reports/rep-1'), name: 'cross-org: read a report of org A' },
  { who: 'viewer', expect: 'deny', op: 'get', path: B('reports/rep-b'), name: 'cross-org: read a report of org B' },
  { who: 'viewer', expect: 'allow', op: 'create', path: A('report_requests/*'), data: reportRequest(), name: 'request a monthly pack' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('report_requests/*'), data: reportRequest({ period: '2025-12' }), name: 'request a monthly pack' },
  { who: 'anonymous', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest(), name: 'request a pack despite a member doc' },
  { who: 'outsider', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest(), name: 'request a pack of a foreign org' },
  { who: 'bAdmin', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest(), name: 'cross-org: request a pack of org A' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ requested_by: U.admin }), name: 'request a pack in the name of another user' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ requested_at: at(0) }), name: 'request with a client requested_at' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ period: '2026-13' }), name: 'request for period month 13' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ status: 'succeeded' }), name: 'request with a forged status' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({}, ['period']), name: 'request without a period' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/bad__id'), data: reportRequest(), name: "request id containing '__'" },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('report_requests/rep-1'), data: () => ({ period: '2026-09' }), name: 'change a report request' },
  // The report of a view: only of a view the caller can read (docs/reports.md#reports-of-views).
  { who: 'viewer', expect: 'allow', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'personal-of-viewer' }), name: 'request the report of its own personal view' },
  { who: 'viewer', expect: 'allow', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'shared-by-editor' }), name: "request the report of another member's shared view" },
  { who: 'viewer', expect: 'allow', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'starter-overview' }), name: 'request the report of a starter view' },
  { who: 'viewer', expect: 'allow', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'scorecard.department.sales' }), name: 'request the report of a scorecard' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'personal-of-editor' }), name: "request the report of another member's personal view" },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'personal-of-editor' }), name: "an admin requests the report of a member's personal view" },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'no-such-view' }), name: 'request the report of a view that does not exist' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'shared-in-b' }), name: "cross-org: request the report of org B's shared view in org A" },
  { who: 'bAdmin', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'shared-by-editor' }), name: "cross-org: request the report of org A's shared view" },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'v'.repeat(129) }), name: 'view id of 129 characters' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: 'a__b' }), name: "view id containing '__'" },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('report_requests/*'), data: reportRequest({ view_id: ['shared-by-editor'] }), name: 'view id that is a list' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('reports/rep-1'), data: () => ({ status: 'succeeded', files: [{ path: 'x' }] }), name: 'forge a report and its links' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A('reports/rep-1'), name: 'delete a report' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_deliveries/*'), data: () => ({ status: 'delivered' }), name: 'forge a report delivery' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('report_schedules/s2'), data: schedule(), name: 'schedule the monthly pack' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('report_schedules/s3'), data: schedule({ trigger: 'period_close' }), name: 'send the pack when a period closes' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('report_schedules/s4'), data: schedule(), name: 'schedule the monthly pack' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s5'), data: schedule({ trigger: 'weekly' }), name: 'schedule with an unknown trigger' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('report_schedules/s6'), data: schedule({ view_id: 'shared-by-editor' }), name: 'schedule the report of a shared view' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('report_schedules/s7'), data: schedule({ view_id: 'starter-budget' }), name: 'schedule the report of a starter view' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s8'), data: schedule({ view_id: 'personal-of-editor' }), name: "schedule the report of a member's personal view" },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s9'), data: schedule({ view_id: 'no-such-view' }), name: 'schedule the report of a view that does not exist' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s10'), data: schedule({ view_id: 'x'.repeat(129) }), name: 'schedule a view id of 129 characters' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s6'), data: schedule({ days_after_month_end: 29 }), name: 'schedule 29 days after month end' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s7'), data: schedule({ recipients: 'cfo@example.com' }), name: 'schedule recipients not a list' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s8'), data: schedule({ updated_by: U.editor }), name: 'schedule stamped with another user' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s9'), data: schedule({ format: 'pdf' }), name: 'schedule with an unknown field' },
  { who: 'bAdmin', expect: 'deny', op: 'create', path: A('report_schedules/s10'), data: schedule(), name: 'cross-org: schedule a pack of org A' },
  { who: 'admin', expect: 'allow', op: 'delete', path: A('report_schedules/s1'), name: 'delete a report schedule' },

  // --- presence
  { who: 'viewer', expect: 'allow', op: 'set', path: A(`presence/${U.viewer}`), data: presence(), name: 'heartbeat of its own presence' },
  { who: 'editor', expect: 'allow', op: 'set', path: A(`presence/${U.editor}`), data: presence({ expires_at: at(4.5 * MIN) }), name: 'presence expiring in 4.5 minutes' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.editor}`), data: presence(), name: "write another user's presence" },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({ expires_at: at(10 * MIN) }), name: 'presence expiring in 10 minutes' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({ expires_at: at(-MIN) }), name: 'presence already expired' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({ expires_at: '2099-01-01' }), name: 'expires_at as a string' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({ last_seen: at(0) }), name: 'client-chosen last_seen' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({ role: 'admin' }), name: 'extra presence field' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({ display_name: X.repeat(101) }), name: 'display_name of 101 chars' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({ dashboard_id: X.repeat(129) }), name: 'dashboard_id of 129 chars' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A(`presence/${U.viewer}`), data: presence({}, ['display_name']), name: 'presence without display_name' },
  { who: 'admin', expect: 'allow', op: 'delete', path: A(`presence/${U.admin}`), seed: { [A(`presence/${U.admin}`)]: { dashboard_id: 'x', display_name: 'a', last_seen: at(0), expires_at: at(MIN) } }, name: 'delete its own presence' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A(`presence/${U.viewer}`), name: "delete another user's presence" },

  // --- comments
  { who: 'viewer', expect: 'allow', op: 'create', path: A('comments/*'), data: comment(), name: 'comment (viewers may comment)' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('comments/*'), data: comment({ text: X.repeat(2000) }), name: 'comment of 2000 chars' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ target_path: B('kpis/current') }), name: 'comment targeting another org' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ target_path: `organizations/${ORG_A}x/kpis/current` }), name: 'comment targeting an org id with the same prefix' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ target_path: A('kpis') }), name: 'comment targeting a collection' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ target_path: A(`aggregates/${'a'.repeat(300)}`) }), name: 'target_path over 300 chars' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ uid: U.editor }), name: 'comment in the name of another user' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ text: '   ' }), name: 'blank comment' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ text: X.repeat(2001) }), name: 'comment of 2001 chars' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ comment_count: 1 }), name: 'comment with a server field' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('comments/*'), data: comment({ created_at: at(0) }), name: 'comment with a client created_at' },
  { who: 'outsider', expect: 'deny', op: 'create', path: A('comments/*'), data: comment(), name: 'comment in a foreign org' },
  { who: 'viewer', expect: 'allow', op: 'update', path: A('comments/ed-1'), seed: { [A('comments/ed-1')]: storedComment(U.viewer, MIN) }, data: commentEdit(), name: 'edit own comment after 1 minute' },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('comments/ed-2'), seed: { [A('comments/ed-2')]: storedComment(U.viewer, 20 * MIN) }, data: commentEdit(), name: 'edit own comment after 20 minutes' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('comments/ed-3'), seed: { [A('comments/ed-3')]: storedComment(U.viewer, MIN) }, data: commentEdit(), name: "edit another member's comment" },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('comments/ed-4'), seed: { [A('comments/ed-4')]: storedComment(U.viewer, MIN) }, data: commentEdit({ target_path: A('trends/4000') }), name: 'move own comment to another target' },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('comments/ed-5'), seed: { [A('comments/ed-5')]: storedComment(U.viewer, MIN) }, data: () => ({ text: 'no stamp' }), name: 'edit own comment without edited_at' },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('comments/ed-6'), seed: { [A('comments/ed-6')]: storedComment(U.viewer, MIN) }, data: commentEdit({ comment_count: 3 }), name: 'set comment_count' },
  { who: 'viewer', expect: 'allow', op: 'delete', path: A('comments/del-1'), seed: { [A('comments/del-1')]: storedComment(U.viewer, 60 * MIN) }, name: 'delete own comment' },
  { who: 'editor', expect: 'deny', op: 'delete', path: A('comments/del-2'), seed: { [A('comments/del-2')]: storedComment(U.viewer, MIN) }, name: "delete another member's comment" },
  { who: 'admin', expect: 'allow', op: 'delete', path: A('comments/del-3'), seed: { [A('comments/del-3')]: storedComment(U.viewer, MIN) }, name: "moderate (delete) another member's comment" },
  { who: 'bAdmin', expect: 'deny', op: 'delete', path: A('comments/del-4'), seed: { [A('comments/del-4')]: storedComment(U.viewer, MIN) }, name: 'cross-org: delete a comment of org A' },

  // --- members: written by the backend only (invitations, manage_access), read by members
  { who: 'admin', expect: 'deny', op: 'create', path: A('members/new-1'), data: () => member('new-1', 'viewer'), name: 'add a member directly (members join through invitations)' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('members/m-2'), seed: { [A('members/m-2')]: member('m-2', 'viewer') }, data: () => ({ role: 'editor' }), name: 'change a role directly (manage_access does it)' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A('members/m-4'), seed: { [A('members/m-4')]: member('m-4', 'editor') }, name: 'remove a member directly (manage_access does it)' },
  { who: 'admin', expect: 'deny', op: 'set', path: A(`members/${U.admin}`), data: () => ({ ...member(U.admin, 'admin'), display_name: 'Alex' }), name: 'rewrite its own member document' },
  { who: 'admin2', expect: 'deny', op: 'update', path: A(`members/${U.admin2}`), data: () => ({ role: 'editor' }), name: 'demote itself directly' },
  { who: 'admin2', expect: 'deny', op: 'delete', path: A(`members/${U.admin2}`), name: 'remove itself directly' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('members/new-5'), data: () => member('new-5', 'viewer'), name: 'add a member' },
  { who: 'editor', expect: 'deny', op: 'update', path: A(`members/${U.editor}`), data: () => ({ role: 'admin' }), name: 'promote itself' },
  { who: 'viewer', expect: 'deny', op: 'update', path: A(`members/${U.viewer}`), data: () => ({ role: 'editor' }), name: 'promote itself' },

  // --- invitations: admins invite by e-mail with a role; the backend sends and answers
  { who: 'admin', expect: 'allow', op: 'create', path: A('invitations/*'), data: invitation(), name: 'invite someone by e-mail' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('invitations/*'), data: invitation({ role: 'admin', display_name: 'Ada', expires_at: at(29 * DAY) }), name: 'invite an admin for 29 days, with a name' },
  { who: 'admin', expect: 'allow', op: 'list', path: A('invitations'), name: 'list invitations' },
  { who: 'admin', expect: 'allow', op: 'delete', path: A('invitations/inv-del'), seed: { [A('invitations/inv-del')]: storedInvitation() }, name: 'withdraw an invitation' },
  { who: 'admin', expect: 'allow', op: 'update', path: A('invitations/inv-re1'), seed: { [A('invitations/inv-re1')]: storedInvitation({ status: 'send_failed' }) }, data: () => ({ resend_requested_at: serverTimestamp() }), name: 'send an invitation again' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('invitations/inv-re2'), seed: { [A('invitations/inv-re2')]: storedInvitation({ status: 'accepted', accepted_by: U.viewer }) }, data: () => ({ resend_requested_at: serverTimestamp() }), name: 'send an accepted invitation again' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('invitations/inv-re3'), seed: { [A('invitations/inv-re3')]: storedInvitation() }, data: () => ({ role: 'admin' }), name: 'change the role of a sent invitation' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('invitations/inv-re4'), seed: { [A('invitations/inv-re4')]: storedInvitation() }, data: () => ({ status: 'accepted', accepted_by: U.admin }), name: 'mark an invitation accepted' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ status: 'sent' }), name: 'invitation with a server field' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ email: 'Someone@Example.com' }), name: 'invitation to an address not in lower case' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ email: 'not-an-address' }), name: 'invitation to something that is not an address' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ email: `${X.repeat(250)}@example.com` }), name: 'invitation to an address of 262 characters' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ role: 'owner' }), name: 'invitation with an unknown role' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ expires_at: at(31 * DAY) }), name: 'invitation valid for 31 days' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ expires_at: at(-MIN) }), name: 'invitation already expired' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ invited_by: U.admin2 }), name: 'invitation in the name of another admin' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ created_at: at(0) }), name: 'invitation with a client created_at' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation({ display_name: X.repeat(101) }), name: 'invitation with a 101-character name' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation(), name: 'invite someone' },
  { who: 'viewer', expect: 'deny', op: 'list', path: A('invitations'), name: 'list invitations' },
  { who: 'editor', expect: 'deny', op: 'get', path: A('invitations/inv-1'), name: 'read an invitation' },
  { who: 'outsider', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation(), name: 'invite itself into a foreign org' },
  { who: 'bAdmin', expect: 'deny', op: 'create', path: A('invitations/*'), data: invitation(), name: 'cross-org: invite into org A' },
  { who: 'bAdmin', expect: 'deny', op: 'get', path: A('invitations/inv-1'), name: 'cross-org: read an invitation of org A' },
  { who: 'viewer', expect: 'deny', op: 'delete', path: A('invitations/inv-1'), name: 'withdraw an invitation' },
  { who: 'admin', expect: 'deny', op: 'get', path: 'invitation_tokens/any', name: 'read an invitation token' },
  { who: 'outsider', expect: 'deny', op: 'create', path: 'invitation_tokens/*', data: () => ({ org_id: ORG_A, invitation_id: 'inv-1' }), name: 'forge an invitation token' },
  { who: 'viewer', expect: 'allow', op: 'group', path: 'members', where: [['uid', '==', U.viewer]], name: 'list own memberships (collection group)' },
  { who: 'viewer', expect: 'deny', op: 'group', path: 'members', where: [['uid', '==', U.editor]], name: "list another user's memberships" },
  { who: 'viewer', expect: 'deny', op: 'group', path: 'members', name: 'list all memberships' },

  // --- the org document
  { who: 'admin', expect: 'allow', op: 'update', path: A(), data: () => ({ name: 'Acme Corp' }), name: 'rename the org' },
  { who: 'admin', expect: 'allow', op: 'update', path: A(), data: () => ({ fiscal_year_start_month: 4, reporting_currency: 'USD' }), name: 'set the fiscal year start' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ fiscal_year_start_month: 13 }), name: 'fiscal_year_start_month 13' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ reporting_currency: 'eur' }), name: 'lower-case reporting currency' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ current_period: '2026-11' }), name: 'change a server field of the org' },
  { who: 'editor', expect: 'deny', op: 'update', path: A(), data: () => ({ name: 'Mine' }), name: 'rename the org' },
  { who: 'admin', expect: 'allow', op: 'update', path: A(), data: () => ({ dimensions: { region: { label: 'Region', values: ['emea', 'amer'] }, customer_segment: {} } }), name: 'declare record dimensions' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { d1: {}, d2: {}, d3: {}, d4: {}, d5: {}, d6: {} } }), name: 'declare six dimensions' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { region: {}, Cost__Centre: {} } }), name: 'declare a dimension with a bad name' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { region: { values: 'emea' } } }), name: 'declare dimension values that are not a list' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { region: { colour: 'red' } } }), name: 'declare a dimension with an unknown field' },
  { who: 'editor', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { region: {} } }), name: 'declare record dimensions' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('dimension_aggregates/region__emea__us-east__2026-10__actual'), name: 'read a dimension aggregate' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('dimension_aggregates/region__emea__us-east__2026-10__actual'), data: () => ({ record_count: 9 }), name: 'write a dimension aggregate' },
  { who: 'admin', expect: 'deny', op: 'create', path: 'organizations/*', data: () => ({ name: 'New org' }), name: 'create an org' },
  { who: 'admin', expect: 'deny', op: 'delete', path: A(), name: 'delete the org' },

  // --- reference data
  { who: 'admin', expect: 'allow', op: 'create', path: A('accounts/4100'), data: () => ({ name: 'Services', type: 'revenue', parent_id: '4000' }), name: 'add an account' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('accounts/4200'), data: () => ({ name: 'X', type: 'income' }), name: 'account with an unknown type' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('accounts/4300'), data: () => ({ name: 'X', type: 'revenue', parent_id: '4300' }), name: 'account that is its own parent' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('accounts/4400'), data: () => ({ name: 'X', type: 'revenue' }), name: 'add an account' },
  { who: 'admin', expect: 'allow', op: 'delete', path: A('accounts/9999'), seed: { [A('accounts/9999')]: { name: 'Old', type: 'opex' } }, name: 'delete an account' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('entities/eu-west'), data: () => ({ name: 'EU West', currency: 'EUR', parent_id: null }), name: 'add an entity' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('entities/_all'), data: () => ({ name: 'All', currency: 'USD' }), name: 'entity named _all' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('entities/apac'), data: () => ({ name: 'APAC', currency: 'usd' }), name: 'entity with a lower-case currency' },
  { who: 'admin', expect: 'allow', op: 'set', path: A('periods/2026-08'), seed: { [A('periods/2026-08')]: { status: 'open' } }, data: periodDoc('closed'), name: 'close a period' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('periods/2026-07'), data: () => ({ status: 'closed' }), name: 'close a period without who/when' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('periods/2026-06'), data: periodDoc('locked'), name: 'period with an unknown status' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('periods/october'), data: periodDoc('open'), name: 'period id not YYYY-MM' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('periods/2026-10'), data: periodDoc('closed'), name: 'close a period' },
  { who: 'admin', expect: 'allow', op: 'set', path: A('fx_rates/2026-11'), data: fxDoc(), name: 'set FX rates' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('fx_rates/2026-12'), data: fxDoc({ rates: '1.07' }), name: 'FX rates not a map' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('fx_rates/2026-11'), data: fxDoc(), name: 'set FX rates' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('alert_rules/r2'), data: () => ({ type: 'variance', severity: 'critical', target: 'opex', threshold: '0.1', cooldown: 3600, channels: ['email'] }), name: 'add an alert rule' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('alert_rules/r3'), data: () => ({ type: 'magic', severity: 'critical' }), name: 'alert rule with an unknown type' },
  // Size limits on what an admin writes (every dashboard of the org reads these documents).
  { who: 'admin', expect: 'allow', op: 'create', path: A('alert_rules/r5'), data: () => ({ type: 'absolute', severity: 'critical', name: 'Cash below plan', direction: 'below', threshold_minor: 100000, target: { entity_id: '_all', metric: 'cash', scenario: 'actual' }, channels: ['ops', 'cfo'], escalation: { channels: ['cfo'], escalate_after_seconds: 3600 }, cooldown_seconds: 600, enabled: true }), name: 'add a full alert rule' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('alert_rules/r6'), data: () => ({ type: 'absolute', severity: 'info', name: 'x'.repeat(900 * 1024) }), name: 'alert rule with a 900 KB name' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('alert_rules/r7'), data: () => ({ type: 'absolute', severity: 'info', target: { entity_id: 'y'.repeat(5000) } }), name: 'alert rule with a 5,000-character target field' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('alert_rules/r8'), data: () => ({ type: 'absolute', severity: 'info', channels: Array.from({ length: 51 }, (_, i) => `c${i}`) }), name: 'alert rule with 51 channels' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('alert_rules/r9'), data: () => ({ type: 'absolute', severity: 'info', target: { deep: { deeper: 'x' } } }), name: 'alert rule nested three levels' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('fx_rates/2026-12'), data: fxDoc({ rates: { EUR: '1.08', GBP: '9'.repeat(5000) } }), name: 'FX rate of 5,000 digits' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('fx_rates/2026-12'), data: fxDoc({ rates: { eur: '1.08' } }), name: 'FX rates keyed by a non-currency' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s11'), data: schedule({ recipients: ['a'.repeat(20000) + '@example.com'] }), name: 'schedule recipient of 20,000 characters' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('alert_rules/r4'), data: () => ({ type: 'absolute', severity: 'info' }), name: 'add an alert rule' },
  { who: 'viewer', expect: 'deny', op: 'delete', path: A('alert_rules/r1'), name: 'delete an alert rule' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('metric_definitions/arr'), name: 'read a metric definition' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('metric_series/_all__actual'), name: 'read a metric series' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('metrics_status/current'), name: 'read the metrics status' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('metric_definitions/cash_position'), data: () => ({ label: 'Cash', expression: 'closing(tagged("cash"))', unit: 'money', direction: 'higher_is_better', enabled: true }), name: 'define a metric' },
  { who: 'admin', expect: 'allow', op: 'update', path: A('metric_definitions/arr2'), seed: { [A('metric_definitions/arr2')]: { label: 'ARR', expression: '12 * mrr', unit: 'money', status: 'active', checked_hash: 'abc' } }, data: () => ({ expression: '12 * mrr + 1' }), name: 'edit a metric definition' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('metric_definitions/arr3'), seed: { [A('metric_definitions/arr3')]: { label: 'ARR', expression: '12 * mrr', status: 'active', checked_hash: 'abc' } }, data: () => ({ status: 'invalid' }), name: 'forge the status of a definition' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x1'), data: () => ({ label: 'X', expression: '1', status: 'active' }), name: 'create a definition with a status' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/Bad-Id'), data: () => ({ label: 'X', expression: '1' }), name: 'metric id that is not lower case' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x2'), data: () => ({ label: 'X', expression: '1', unit: 'euros' }), name: 'metric with an unknown unit' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('metric_definitions/x3'), data: () => ({ label: 'X', expression: '1' }), name: 'define a metric' },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('metric_definitions/arr'), data: () => ({ expression: '1' }), name: 'edit a metric definition' },
  { who: 'editor', expect: 'deny', op: 'delete', path: A('metric_definitions/arr'), name: 'delete a metric definition' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_series/_all__budget'), data: () => ({ metrics: {} }), name: 'write a metric series' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('metrics_status/current'), data: () => ({ revision: 9 }), name: 'write the metrics status' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('accounts/1000'), data: () => ({ name: 'Cash', type: 'asset', tags: ['cash', 'current_asset'] }), name: 'add a tagged account' },

  // --- size bounds on every admin-writable value (docs/dashboard-clients.md, "Size bounds"), and
  // dimension names exactly as docs/kpis.md states them
  { who: 'admin', expect: 'allow', op: 'update', path: A(), data: () => ({ dimensions: { [`${'a'.repeat(31)}_${'b'.repeat(32)}`]: {} } }), name: 'dimension named with 64 characters and a 32-character word' },
  { who: 'admin', expect: 'allow', op: 'update', path: A(), data: () => ({ dimensions: { a_b_c_d_e_f_g_h_i: { label: 'Nine words' } } }), name: 'dimension named with nine words' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { ['a'.repeat(65)]: {} } }), name: 'dimension named with 65 characters' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { region_: {} } }), name: 'dimension name ending with an underscore' },
  { who: 'admin', expect: 'allow', op: 'update', path: A(), data: () => ({ dimensions: { sku: { values: Array.from({ length: 500 }, (_, i) => `sku-${i}`) } } }), name: 'declare 500 dimension values' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { sku: { values: Array.from({ length: 500 }, (_, i) => `${i}`.padEnd(2000, 'x')) } } }), name: 'declare 500 dimension values of 2,000 characters (1 MB)' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { sku: { values: Array.from({ length: 90 }, (_, i) => `${i}`.padEnd(120, 'x')) } } }), name: 'declare dimension values of 10,800 characters in all' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { region: { values: ['emea', 'not ok'] } } }), name: 'declare a dimension value with a space' },
  { who: 'admin', expect: 'deny', op: 'update', path: A(), data: () => ({ dimensions: { region: { values: ['emea', 'a__b'] } } }), name: "declare a dimension value containing '__'" },
  { who: 'admin', expect: 'deny', op: 'create', path: A('accounts/1001'), data: () => ({ name: 'Cash', type: 'asset', tags: ['cash', X.repeat(5000)] }), name: 'account tag of 5,000 characters' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('accounts/1002'), data: () => ({ name: 'Cash', type: 'asset', tags: ['petty cash'] }), name: 'account tag with a space' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('accounts/1003'), data: () => ({ name: 'Cash', type: 'asset', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), name: 'account with 21 tags' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('accounts/1004'), data: () => ({ name: 'Cash', type: 'asset', tags: ['cash', 1000] }), name: 'account tag that is a number' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('metric_definitions/runway_months'), data: () => ({ label: 'Runway', expression: 'cash_position / positive(avg(net_burn, 3))', unit: 'months', decimals: 1, description: X.repeat(500), source: 'library:runway_months', requires: ['cash_position', 'net_burn'] }), name: 'define a library metric with every field' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x4'), data: () => ({ label: 'X', expression: '1', description: X.repeat(500000) }), name: 'metric with a 500,000-character description' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x5'), data: () => ({ label: 'X', expression: '1', requires: Array.from({ length: 5000 }, (_, i) => `m${i}`) }), name: 'metric requiring 5,000 metrics' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x6'), data: () => ({ label: 'X', expression: '1', requires: ['Not An Id'] }), name: 'metric requiring something that is not a metric id' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x7'), data: () => ({ label: 'X', expression: '1', decimals: 5 }), name: 'metric with 5 decimals' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x8'), data: () => ({ label: 'X', expression: '1', decimals: '2' }), name: 'metric with decimals as text' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x9'), data: () => ({ label: 'X', expression: '1', source: X.repeat(101) }), name: 'metric with a 101-character source' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('metric_definitions/x10'), data: () => ({ label: X.repeat(101), expression: '1' }), name: 'metric with a 101-character label' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ dimensions: { region: X.repeat(5000) } }), name: 'manual entry with a 5,000-character dimension value' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ dimensions: { region: 7 } }), name: 'manual entry with a dimension value that is a number' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('manual_entries/*'), data: entry({ dimensions: { 'Not A Name': 'emea' } }), name: 'manual entry with a dimension name that is not one' },
  // --- notification channels: admins write how to send; secrets only through the backend
  { who: 'admin', expect: 'allow', op: 'create', path: A('notification_channels/ops-hook'), data: channel(), name: 'add a webhook channel (its URL is set through the backend)' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('notification_channels/cfo-mail'), data: channel({ type: 'email', recipients: ['cfo@example.com', 'ctl@example.com'], smtp_host: 'smtp.example.com', smtp_port: 587, smtp_user: 'alerts', security: 'starttls' }), name: 'add an e-mail channel' },
  { who: 'admin', expect: 'allow', op: 'get', path: A('notification_channels/ch-1'), name: 'read a channel (with its masked secret hint)' },
  { who: 'admin', expect: 'allow', op: 'update', path: A('notification_channels/ch-2'), seed: { [A('notification_channels/ch-2')]: storedChannel() }, data: (uid) => ({ name: 'Renamed', updated_by: uid, updated_at: serverTimestamp() }), name: 'rename a channel that has a secret' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-1'), data: channel({ url: 'https://hooks.slack.com/services/T0/B0/secret' }), name: 'write a webhook URL in the readable channel document' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-2'), data: channel({ secret_set: true, secret_hint: 'forged' }), name: 'claim a secret is set' },
  { who: 'admin', expect: 'deny', op: 'update', path: A('notification_channels/ch-3'), seed: { [A('notification_channels/ch-3')]: storedChannel() }, data: (uid) => ({ last_test: { delivered: true }, updated_by: uid, updated_at: serverTimestamp() }), name: 'forge the outcome of a test' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-3'), data: channel({ type: 'sms' }), name: 'channel of an unknown type' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-4'), data: channel({ name: X.repeat(201) }), name: 'channel with a 201-character name' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-5'), data: channel({ type: 'email', recipients: ['not an address'] }), name: 'e-mail channel to something that is not an address' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-6'), data: channel({ type: 'email', recipients: ['a@example.com'], password_secret: 'OTHER_SECRET' }), name: 'channel naming a secret param that is not a notification secret' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-7'), data: channel({ timeout_seconds: 300 }), name: 'channel with a 300 s timeout' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('notification_channels/bad-8'), data: channel({ updated_by: U.admin2 }), name: 'channel stamped with another admin' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('notification_channels/ed-1'), data: channel(), name: 'add a channel' },
  { who: 'viewer', expect: 'deny', op: 'get', path: A('notification_channels/ch-1'), name: 'read a channel' },
  { who: 'admin', expect: 'deny', op: 'get', path: A('channel_secrets/ch-1'), name: 'read a channel secret' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('channel_secrets/ch-1'), data: () => ({ value: 'https://evil.example.com/' }), name: 'write a channel secret directly' },
  { who: 'admin', expect: 'deny', op: 'create', path: A('report_schedules/s12'), data: schedule({ recipients: ['cfo@example.com', 'not an address'] }), name: 'schedule with a recipient that is not an address' },

  // --- views: personal to their owner, shared with every member by an editor or admin
  { who: 'viewer', expect: 'allow', ...newView('nv-1'), name: 'create a personal view with a widget' },
  { who: 'editor', expect: 'allow', ...newView('nv-2', { visibility: 'shared' }), name: 'create a shared view with a widget' },
  { who: 'admin', expect: 'allow', op: 'create', path: A('views/*'), data: view({ visibility: 'shared' }, ['description', 'entity_id']), name: 'create a shared view without optional fields' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('views/*'), data: view({ layout: Array.from({ length: 24 }, (_, i) => `w-${i}-${'x'.repeat(26)}`) }), name: 'create a view laying out 24 widgets with the longest ids' },
  { who: 'editor', expect: 'allow', op: 'create', path: A('views/*'), data: view({ layout: [] }), name: 'create an empty view' },
  { who: 'viewer', expect: 'deny', ...newView('nv-3', { visibility: 'shared' }), name: 'share a new view' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('views/*'), data: view({ owner: U.editor }), name: 'create a view owned by someone else' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('views/*'), data: view({ created_at: at(0) }), name: 'create a view with a client created_at' },
  { who: 'viewer', expect: 'deny', op: 'create', path: A('views/*'), data: view({ updated_by: U.editor }), name: 'create a view stamped by someone else' },
  { who: 'anonymous', expect: 'deny', op: 'create', path: A('views/*'), data: view(), name: 'create a view despite a member doc' },
  { who: 'outsider', expect: 'deny', op: 'create', path: A('views/*'), data: view(), name: 'create a view in a foreign org' },
  { who: 'bAdmin', expect: 'deny', op: 'create', path: A('views/*'), data: view({ visibility: 'shared' }), name: 'cross-org: share a view in org A' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/bad__id'), data: view(), name: "view id containing '__'" },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ layout: Array.from({ length: 25 }, (_, i) => `w-${i}`) }), name: 'create a view laying out 25 widgets' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ layout: ['kpi', 'x'.repeat(33)] }), name: 'layout naming a widget id of 33 characters' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ layout: 'kpi,trend' }), name: 'layout that is not a list' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ name: X.repeat(101) }), name: 'view name of 101 characters' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ name: '  ' }), name: 'blank view name' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ description: X.repeat(501) }), name: 'view description of 501 characters' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ visibility: 'public' }), name: 'view visible to the public' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ schema: 2 }), name: 'view of an unknown schema' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ colour: 'red' }), name: 'view with an unknown field' },
  { who: 'editor', expect: 'deny', op: 'create', path: A('views/*'), data: view({ entity_id: 'a__b' }), name: "view entity containing '__'" },
  { who: 'editor', expect: 'allow', op: 'get', path: A('views/personal-of-editor'), name: 'read its personal view' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('views/shared-by-editor'), name: 'read a shared view' },
  { who: 'viewer', expect: 'deny', op: 'get', path: A('views/personal-of-editor'), name: "read someone else's personal view" },
  { who: 'admin', expect: 'deny', op: 'get', path: A('views/personal-of-viewer'), name: "read a viewer's personal view" },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('views'), where: [['visibility', '==', 'shared']], name: 'list the shared views' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('views'), where: [['owner', '==', U.viewer]], name: 'list its own views' },
  { who: 'viewer', expect: 'deny', op: 'list', path: A('views'), name: 'list every view' },
  { who: 'viewer', expect: 'deny', op: 'list', path: A('views'), where: [['owner', '==', U.editor]], name: "list someone else's views" },
  { who: 'bAdmin', expect: 'deny', op: 'get', path: A('views/shared-by-editor'), name: 'cross-org: read a shared view of org A' },
  { who: 'bAdmin', expect: 'deny', op: 'list', path: A('views'), where: [['visibility', '==', 'shared']], name: 'cross-org: list the shared views of org A' },
  { who: 'viewer', expect: 'deny', op: 'get', path: B('views/shared-in-b'), name: 'cross-org: read a shared view of org B' },
  { who: 'outsider', expect: 'deny', op: 'get', path: A('views/shared-by-editor'), name: 'read a shared view of a foreign org' },
  { who: 'unauthenticated', expect: 'deny', op: 'get', path: A('views/shared-by-editor'), name: 'read a shared view' },
  { who: 'viewer', expect: 'allow', op: 'update', path: A('views/vv-1'), seed: { [A('views/vv-1')]: storedView(U.viewer, 'personal') }, data: viewEdit(), name: 'edit its personal view' },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('views/vv-2'), seed: { [A('views/vv-2')]: storedView(U.viewer, 'personal') }, data: viewEdit({ visibility: 'shared' }), name: 'share its personal view' },
  { who: 'editor', expect: 'allow', op: 'update', path: A('views/ve-1'), seed: { [A('views/ve-1')]: storedView(U.editor, 'personal') }, data: viewEdit({ visibility: 'shared' }), name: 'share its personal view' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('views/ve-2'), seed: { [A('views/ve-2')]: storedView(U.viewer, 'personal') }, data: viewEdit(), name: "edit someone else's personal view" },
  { who: 'admin', expect: 'deny', op: 'update', path: A('views/ve-3'), seed: { [A('views/ve-3')]: storedView(U.viewer, 'personal') }, data: viewEdit(), name: "edit a viewer's personal view" },
  { who: 'admin', expect: 'allow', op: 'update', path: A('views/vs-1'), seed: { [A('views/vs-1')]: storedView(U.editor, 'shared') }, data: viewEdit(), name: "edit an editor's shared view" },
  { who: 'editor', expect: 'allow', op: 'update', path: A('views/vs-2'), seed: { [A('views/vs-2')]: storedView(U.admin, 'shared') }, data: viewEdit({ layout: ['trend', 'kpi'] }), name: "rearrange an admin's shared view" },
  { who: 'viewer', expect: 'deny', op: 'update', path: A('views/vs-3'), seed: { [A('views/vs-3')]: storedView(U.editor, 'shared') }, data: viewEdit(), name: 'edit a shared view' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('views/vs-4'), seed: { [A('views/vs-4')]: storedView(U.admin, 'shared') }, data: viewEdit({ visibility: 'personal' }), name: "make an admin's shared view personal" },
  { who: 'admin', expect: 'allow', op: 'update', path: A('views/vs-5'), seed: { [A('views/vs-5')]: storedView(U.editor, 'shared') }, data: viewEdit({ visibility: 'personal' }), name: "make an editor's shared view personal again" },
  { who: 'editor', expect: 'deny', op: 'update', path: A('views/vs-6'), seed: { [A('views/vs-6')]: storedView(U.editor, 'shared') }, data: viewEdit({ owner: U.admin }), name: 'give its view to someone else' },
  { who: 'editor', expect: 'deny', op: 'update', path: A('views/vs-7'), seed: { [A('views/vs-7')]: storedView(U.editor, 'shared') }, data: viewEdit({ created_at: at(0) }), name: 'change when a view was created' },
  { who: 'bAdmin', expect: 'deny', op: 'update', path: A('views/vs-9'), seed: { [A('views/vs-9')]: storedView(U.editor, 'shared') }, data: viewEdit(), name: 'cross-org: edit a shared view of org A' },
  { who: 'viewer', expect: 'allow', op: 'delete', path: A('views/vd-1'), seed: { [A('views/vd-1')]: storedView(U.viewer, 'personal') }, name: 'delete its personal view' },
  { who: 'editor', expect: 'allow', op: 'delete', path: A('views/vd-2'), seed: { [A('views/vd-2')]: storedView(U.editor, 'shared') }, name: 'delete its shared view' },
  { who: 'admin', expect: 'allow', op: 'delete', path: A('views/vd-3'), seed: { [A('views/vd-3')]: storedView(U.editor, 'shared') }, name: "delete an editor's shared view" },
  { who: 'editor', expect: 'deny', op: 'delete', path: A('views/vd-4'), seed: { [A('views/vd-4')]: storedView(U.admin, 'shared') }, name: "delete an admin's shared view" },
  { who: 'admin', expect: 'deny', op: 'delete', path: A('views/vd-5'), seed: { [A('views/vd-5')]: storedView(U.viewer, 'personal') }, name: "delete a viewer's personal view" },

  // --- widgets: read with their view, written by whoever may change it, every field bounded
  { who: 'editor', expect: 'allow', op: 'set', path: A('views/personal-of-editor/widgets/full'), data: fullWidget(), name: 'a widget with every field at its bound' },
  { who: 'editor', expect: 'allow', op: 'set', path: A('views/personal-of-editor/widgets/pnl'), data: () => ({ type: 'pnl', range: 'this_month' }), name: 'a widget with the required fields only' },
  { who: 'viewer', expect: 'allow', op: 'set', path: A('views/personal-of-viewer/widgets/kpi'), data: widget(), name: 'a widget of its personal view' },
  { who: 'admin', expect: 'allow', op: 'set', path: A('views/shared-by-editor/widgets/trend'), data: widget({ type: 'timeseries', range: 'last_13_months', width: 2 }), name: 'a widget of a shared view' },
  { who: 'viewer', expect: 'deny', op: 'set', path: A('views/shared-by-editor/widgets/kpi'), data: widget(), name: 'a widget of a shared view' },
  { who: 'admin', expect: 'deny', op: 'set', path: A('views/personal-of-viewer/widgets/kpi'), data: widget(), name: "a widget of a viewer's personal view" },
  { who: 'bAdmin', expect: 'deny', op: 'set', path: A('views/shared-by-editor/widgets/kpi'), data: widget(), name: 'cross-org: a widget of a shared view of org A' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/no-such-view/widgets/kpi'), data: widget(), name: 'a widget of a view that does not exist' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/Bad Id'), data: widget(), name: 'a widget id that is not an id' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w1'), data: widget({ type: 'pie' }), name: 'a widget of an unknown type' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w2'), data: widget({ script: 'alert(1)' }), name: 'a widget with an unknown field' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w3'), data: fullWidget({ title: X.repeat(101) }), name: 'a widget title of 101 characters' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w4'), data: widget({ metrics: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }), name: 'a widget of 7 metrics' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w5'), data: widget({ metrics: ['revenue', X.repeat(65)] }), name: 'a metric id of 65 characters' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w6'), data: widget({ metrics: [7] }), name: 'a metric id that is a number' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w7'), data: widget({ range: 'last_100_months' }), name: 'a range of 100 months' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w8'), data: widget({ range: 'forever' }), name: 'a range that is not a range' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w9'), data: widget({ target: '1e9' }), name: 'a target in exponent notation' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w10'), data: widget({ width: 4 }), name: 'a widget 4 columns wide' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w11'), data: widget({ value: 'a__b' }), name: "a dimension value containing '__'" },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w12'), data: widget({ dimension: 'Not A Name' }), name: 'a dimension that is not a dimension name' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w13'), data: fullWidget({ entity_id: X.repeat(129) }), name: 'an entity of 129 characters' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w14'), data: fullWidget({ value: X.repeat(129) }), name: 'a dimension value of 129 characters' },
  { who: 'editor', expect: 'deny', op: 'set', path: A('views/personal-of-editor/widgets/w15'), data: widget({ compare: 'last_decade' }), name: 'an unknown comparison' },
  { who: 'viewer', expect: 'allow', op: 'get', path: A('views/shared-by-editor/widgets/kpi'), name: 'read a widget of a shared view' },
  { who: 'viewer', expect: 'allow', op: 'list', path: A('views/shared-by-editor/widgets'), limit: 24, name: 'list the widgets of a shared view' },
  { who: 'viewer', expect: 'deny', op: 'list', path: A('views/shared-by-editor/widgets'), name: 'list the widgets of a shared view without a limit' },
  { who: 'viewer', expect: 'deny', op: 'get', path: A('views/personal-of-editor/widgets/kpi'), name: "read a widget of someone else's personal view" },
  { who: 'bAdmin', expect: 'deny', op: 'list', path: A('views/shared-by-editor/widgets'), limit: 24, name: 'cross-org: list the widgets of a shared view of org A' },
  { who: 'viewer', expect: 'deny', op: 'delete', path: A('views/shared-by-editor/widgets/kpi'), name: 'remove a widget of a shared view' },
  { who: 'editor', expect: 'allow', op: 'delete', path: A('views/wd-1/widgets/kpi'), seed: { [A('views/wd-1')]: storedView(U.admin, 'shared'), [A('views/wd-1/widgets/kpi')]: storedWidget }, name: 'remove a widget of a shared view' },
  { who: 'viewer', expect: 'allow', op: 'batch', path: A('views/wd-2'), seed: { [A('views/wd-2')]: storedView(U.viewer, 'personal'), [A('views/wd-2/widgets/kpi')]: storedWidget }, writes: [[A('views/wd-2'), null], [A('views/wd-2/widgets/kpi'), null]], name: 'delete its personal view with its widgets' },
];

// ------------------------------------------------------------------ runner

const contexts = new Map();
function contextFor(who) {
  if (!contexts.has(who)) {
    let ctx;
    if (who === 'unauthenticated') ctx = testEnv.unauthenticatedContext();
    else if (who === 'anonymous') ctx = testEnv.authenticatedContext(U.anon, { firebase: { sign_in_provider: 'anonymous', identities: {} } });
    else ctx = testEnv.authenticatedContext(U[who], { firebase: { sign_in_provider: 'password', identities: {} } });
    contexts.set(who, ctx);
  }
  return contexts.get(who);
}

function uidOf(who) {
  return who === 'unauthenticated' ? 'nobody' : who === 'anonymous' ? U.anon : U[who];
}

async function seed(docs) {
  await testEnv.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    await Promise.all(Object.entries(docs).map(([path, data]) => setDoc(doc(db, path), data)));
  });
}

function operation(db, c, index) {
  const path = c.path.replace('*', `case-${index}`);
  const filters = (c.where || []).map(([f, op, v]) => where(f, op, v));
  const data = () => {
    const d = c.data(uidOf(c.who));
    if (d.uid === 'SELF') d.uid = path.split('/').pop();
    return d;
  };
  switch (c.op) {
    case 'get': return getDoc(doc(db, path));
    case 'list': return getDocs(query(collection(db, path), ...filters, ...(c.limit ? [limit(c.limit)] : [])));
    case 'batch': {
      // Several writes committed together (a null document deletes).
      const batch = writeBatch(db);
      for (const [p, d] of c.writes) {
        if (d === null) batch.delete(doc(db, p));
        else batch.set(doc(db, p), d(uidOf(c.who)));
      }
      return batch.commit();
    }
    case 'group': return getDocs(query(collectionGroup(db, path), ...filters));
    case 'create':
    case 'set': return setDoc(doc(db, path), data());
    case 'update': return updateDoc(doc(db, path), data());
    case 'delete': return deleteDoc(doc(db, path));
    default: throw new Error(`unknown op ${c.op}`);
  }
}

// The collection a case exercises (for the coverage check).
function collectionOf(c) {
  if (c.op === 'group') return c.path;
  const parts = c.path.split('/');
  if (parts[0] !== 'organizations') return `(root) ${parts[0]}`;
  if (parts.length <= 2) return 'organizations';
  return parts.length > 4 ? `${parts[2]}/${parts[4]}` : parts[2];
}

before(async () => {
  setLogLevel('silent'); // permission-denied warnings are the expected outcome of half the cases
  testEnv = await initializeTestEnvironment({
    projectId: PROJECT_ID,
    firestore: { host: EMULATOR_HOST, port: EMULATOR_PORT, rules: readFileSync(RULES_PATH, 'utf8') },
  });
  await seed(fixtures());
});

after(async () => {
  // cleanup() only closes this process's apps; it does not touch the shared emulator's data.
  if (testEnv) await testEnv.cleanup();
});

test('the matrix covers every collection, every kind of caller and both outcomes', () => {
  const covered = new Set(CASES.map(collectionOf));
  const required = [
    'organizations', 'members', 'entities', 'accounts', 'fx_rates', 'periods', 'financial_records',
    'aggregates', 'aggregates/shards', 'kpis', 'variance', 'trends', 'alert_rules', 'alerts', 'presence',
    'comments', 'ingestion_errors', 'manual_entries', 'data_quality', 'data_quality/shards',
    'record_changes', 'applied_changes', 'deleted_records', 'comment_events',
    'reports', 'report_requests', 'report_schedules', 'report_deliveries',
    'metric_definitions', 'metric_series', 'metrics_status', 'dimension_aggregates', 'invitations',
    'notification_channels', 'channel_secrets', 'views', 'views/widgets',
    '(root) invitation_tokens',
  ];
  assert.deepEqual(required.filter((c) => !covered.has(c)), [], 'collections without a case');
  const callers = new Set(CASES.map((c) => c.who));
  assert.deepEqual(WHO.filter((w) => !callers.has(w)), [], 'callers without a case');
  const allowed = CASES.filter((c) => c.expect === 'allow').length;
  const denied = CASES.filter((c) => c.expect === 'deny').length;
  assert.ok(allowed >= 20 && denied >= 30 && CASES.length >= 50, `too few cases: ${allowed} allow / ${denied} deny`);
  for (const c of CASES) {
    assert.ok(WHO.includes(c.who), `unknown caller ${c.who}`);
    assert.ok(['allow', 'deny'].includes(c.expect), `bad expectation in ${c.name}`);
  }
  const names = CASES.map((c) => `${c.who} ${c.name}`);
  assert.equal(new Set(names).size, names.length, 'case names must be unique');
});

CASES.forEach((c, index) => {
  test(`${c.expect.padEnd(5)} ${c.who}: ${c.name} [${c.op} ${c.path.replace(/organizations\/rules-[0-9a-f]+-/, 'org:')}]`, async () => {
    if (c.seed) await seed(c.seed);
    const db = contextFor(c.who).firestore();
    if (c.expect === 'allow') await assertSucceeds(operation(db, c, index));
    else await assertFails(operation(db, c, index));
  });
});

test('summary', (t) => {
  const allowed = CASES.filter((c) => c.expect === 'allow').length;
  t.diagnostic(`${CASES.length} rule cases: ${allowed} allowed, ${CASES.length - allowed} denied (run ${RUN})`);
});
