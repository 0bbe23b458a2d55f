// Many live dashboards in one Node process, each a Firebase JS SDK app of its own (its own sign-in,
// its own Firestore instance) reading what the web dashboard's overview reads for a viewer of an
// org: the listeners of web/src/App.tsx and components/ (Dashboard, KpiCards, DefinedKpis,
// TrendSection, DaysSection, PnlStatement, PnlSection, Alerts, Presence) for the consolidated
// view of one month, and the data-quality counters that DataQuality reads every
// DATA_QUALITY_POLL_MS (getDocs of the shards while the page is visible, not a listener). The
// list of recent rejections is only listened to when a person opens it: not here.
//
// Run by bench/bench_dashboards.py (several processes at once); reads commands on stdin:
//   "measure"  start counting the documents each dashboard reads (steady state, after the first snapshots)
//   "stop"     write the figures to OUT and exit
// Prints "READY <dashboards> <ms>" once every dashboard has its first snapshot of every listener.
//
// The month PERIOD (kpis/current's month) is read as the web reads it: its consolidated actual
// aggregate and variance from their copies in kpis/current (web/src/hooks/liveMonth.ts), every other
// month from a query that leaves PERIOD out.
//
// Per dashboard it keeps every snapshot of kpis/current in which the month's actual aggregate
// changed, as (arrival time, the fold's shards_read_at): with the change documents'
// applied_at, the benchmark knows when each event became visible to each dashboard
// (tools/visibility.py). Reads are counted as Firestore bills them: for a listener, one per
// document of a first result (one for an empty query), then one per document added, changed or
// dropped from a result; for a poll, one per document returned (one for none).
//
// Env: FIRESTORE_EMULATOR_HOST, FIREBASE_AUTH_EMULATOR_HOST, GCLOUD_PROJECT, DASHBOARD_ORG,
// DASHBOARD_PERIOD, DASHBOARD_EMAIL, DASHBOARD_PASSWORD, DASHBOARD_UID, DASHBOARDS, OUT, and
// DASHBOARD_LISTENERS: `all` (default), or `live` for only the listeners whose documents the
// stream changes (LIVE below): the same reads while streaming, fewer to open.

import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { initializeApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, signInWithEmailAndPassword } from 'firebase/auth';
import {
  Timestamp, collection, collectionGroup, connectFirestoreEmulator, doc, getCountFromServer, getDocs, getFirestore, limit,
  onSnapshot,
  orderBy, query, setLogLevel, where,
} from 'firebase/firestore';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see the header of bench/clients/dashboard_listeners.mjs)`);
  return value;
}

const PROJECT = required('GCLOUD_PROJECT');
const [FIRESTORE_HOST, FIRESTORE_PORT] = required('FIRESTORE_EMULATOR_HOST').split(':');
const AUTH = required('FIREBASE_AUTH_EMULATOR_HOST');
const ORG = required('DASHBOARD_ORG');
const PERIOD = required('DASHBOARD_PERIOD');
const EMAIL = required('DASHBOARD_EMAIL');
const PASSWORD = required('DASHBOARD_PASSWORD');
const UID = required('DASHBOARD_UID');
const COUNT = Number(required('DASHBOARDS'));
const OUT = required('OUT');
const SIGN_INS_AT_ONCE = 10;
const LISTENERS = process.env.DASHBOARD_LISTENERS || 'all';
// What a stream of ledger lines of the month changes: the rest (chart, entities, periods, members,
// budget, definitions, presence, resolved alerts) only costs reads and memory when a dashboard opens.
const LIVE = new Set(['kpis', 'actual_series', 'alerts_active', 'alerts_acknowledged', 'trend',
  'cash_forecast']);
// web/src/components/DataQuality.tsx: DATA_QUALITY_POLL_MS.
const DATA_QUALITY_POLL_MS = 10_000;
// web/src/components/Presence.tsx: PRESENCE_READ_MS, PRESENCE_SHOWN.
const PRESENCE_READ_MS = 30_000;
const PRESENCE_SHOWN = 8;

setLogLevel('silent');

// What the overview of the web dashboard listens to for a viewer, consolidated, month PERIOD. Queries
// equal to one of these (the revenue chart's and the P&L statement's consolidated series, the P&L's
// chart of accounts) share its listen target in the SDK and cost no read of their own.
function targets(db, openedAt) {
  const org = `organizations/${ORG}`;
  const all = (name) => query(collection(db, `${org}/${name}`));
  const series = (scenario, ...also) => query(collection(db, `${org}/aggregates`), where('entity_id', '==', '_all'),
    where('scenario', '==', scenario), ...also, orderBy('period'));
  const alerts = (status, n) => query(collection(db, `${org}/alerts`), where('status', '==', status),
    orderBy('last_seen', 'desc'), limit(n));
  return {
    org: doc(db, org), // App
    kpis: doc(db, `${org}/kpis/current`), // App -> KpiCards, DefinedKpis
    my_memberships: query(collectionGroup(db, 'members'), where('uid', '==', UID)), // App
    member: doc(db, `${org}/members/${UID}`), // App
    entities: all('entities'), // Dashboard
    accounts: all('accounts'), // Dashboard, PnlStatement
    periods: all('periods'), // Dashboard
    members: all('members'), // Dashboard
    metric_definitions: all('metric_definitions'), // DefinedKpis
    actual_series: series('actual', where('period', '!=', PERIOD)), // TrendSection, RevenueSection, PnlStatement (liveMonth)
    budget_series: series('budget'), // TrendSection, PnlStatement
    trend: doc(db, `${org}/trends/metric__revenue`), // TrendSection
    cash_forecast: doc(db, `${org}/trends/cash__forecast`), // CashSection
    alerts_active: alerts('active', 50), // Alerts
    alerts_acknowledged: alerts('acknowledged', 10), // Alerts
    alerts_resolved: alerts('resolved', 10), // Alerts
  };
}

// DataQuality's counters: the shards read at once, then every DATA_QUALITY_POLL_MS (a page that stays
// visible). Resolves after the first read.
function pollDataQuality(db, state) {
  const org = `organizations/${ORG}`;
  const shards = collection(db, `${org}/data_quality/current/shards`);
  let first = true;
  const read = () => getDocs(shards).then((snapshot) => {
    const reads = Math.max(1, snapshot.size);
    if (first) {
      state.readsInitial += reads;
      first = false;
    } else if (measuring) {
      state.readsSteady += reads;
      state.readsByTarget.data_quality_poll = (state.readsByTarget.data_quality_poll || 0) + reads;
    }
  }, (error) => {
    state.errors.push(`data_quality_poll: ${error.code || error.message}`);
  }).finally(() => {
    setTimeout(read, DATA_QUALITY_POLL_MS);
  });
  return read();
}

// Presence: who else is here, read (not listened to) every PRESENCE_READ_MS: at most PRESENCE_SHOWN + 1
// heartbeats and one count (a count query is billed one read per 1,000 entries). Resolves after the first read.
function pollPresence(db, state) {
  const org = `organizations/${ORG}`;
  let first = true;
  const read = () => {
    const current = query(collection(db, `${org}/presence`), where('dashboard_id', '==', 'overview'),
      where('expires_at', '>', Timestamp.now()));
    return Promise.all([getDocs(query(current, limit(PRESENCE_SHOWN + 1))), getCountFromServer(current)])
      .then(([found, counted]) => {
        const reads = Math.max(1, found.size) + Math.max(1, Math.ceil(counted.data().count / 1000));
        if (first) {
          state.readsInitial += reads;
          first = false;
        } else if (measuring) {
          state.readsSteady += reads;
          state.readsByTarget.presence_poll = (state.readsByTarget.presence_poll || 0) + reads;
        }
      }, (error) => {
        state.errors.push(`presence_poll: ${error.code || error.message}`);
      }).finally(() => {
        setTimeout(read, PRESENCE_READ_MS);
      });
  };
  return read();
}

let measuring = false;
let measureStartedAt = null;
const dashboards = [];

async function openDashboard(index, openedAt) {
  const app = initializeApp({ projectId: PROJECT, apiKey: 'demo-key', appId: `dashboard-${index}` }, `d${index}`);
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://${AUTH}`, { disableWarnings: true });
  await signInWithEmailAndPassword(auth, EMAIL, PASSWORD);
  const db = getFirestore(app);
  connectFirestoreEmulator(db, FIRESTORE_HOST, Number(FIRESTORE_PORT));
  const state = { aggregate: [], readsInitial: 0, readsSteady: 0, readsByTarget: {}, errors: [], pending: 0 };
  const chosen = Object.entries(targets(db, openedAt)).filter(([name]) => LISTENERS === 'all' || LIVE.has(name));
  const listening = chosen.map(([name, target]) => new Promise((resolve) => {
    let first = true;
    const isQuery = target.type !== 'document';
    const count = (reads) => {
      if (first) {
        state.readsInitial += reads;
      } else if (measuring) {
        state.readsSteady += reads;
        state.readsByTarget[name] = (state.readsByTarget[name] || 0) + reads;
      }
    };
    onSnapshot(target, (snapshot) => {
      const arrived = Date.now();
      if (isQuery) {
        count(first ? Math.max(1, snapshot.size) : snapshot.docChanges().length);
      } else {
        count(1);
        if (name === 'kpis' && snapshot.exists() && snapshot.get('period') === PERIOD) {
          // The month's actual aggregate as kpis/current carries it (TrendSection, RevenueSection, PnlStatement).
          const readAt = snapshot.get('month_actual.shards_read_at');
          const last = state.aggregate[state.aggregate.length - 1];
          if (readAt instanceof Timestamp && (!last || last[1] !== readAt.toMillis())) {
            state.aggregate.push([arrived, readAt.toMillis()]);
          }
        }
      }
      if (first) {
        first = false;
        resolve();
      }
    }, (error) => {
      state.errors.push(`${name}: ${error.code || error.message}`);
      if (first) {
        first = false;
        resolve();
      }
    });
  }));
  await Promise.all([...listening, pollDataQuality(db, state), pollPresence(db, state)]);
  dashboards[index] = state;
}

async function main() {
  const started = Date.now();
  const openedAt = Timestamp.now();
  let next = 0;
  const failures = [];
  const worker = async () => {
    while (next < COUNT) {
      const index = next++;
      try {
        await openDashboard(index, openedAt);
      } catch (error) {
        failures.push(`dashboard ${index}: ${error.code || error.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: SIGN_INS_AT_ONCE }, worker));
  console.log(`READY ${dashboards.filter(Boolean).length} ${Date.now() - started}`);
  const commands = createInterface({ input: process.stdin });
  for await (const line of commands) {
    const command = line.trim();
    if (command === 'measure') {
      measuring = true;
      measureStartedAt = Date.now();
    } else if (command === 'stop') {
      const stoppedAt = Date.now();
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      writeFileSync(OUT, JSON.stringify({
        dashboards: dashboards.filter(Boolean),
        failures,
        ready_ms: null,
        measured_ms: measureStartedAt === null ? 0 : stoppedAt - measureStartedAt,
        rss_bytes: memory.rss,
        cpu_seconds: (cpu.user + cpu.system) / 1e6,
      }));
      process.exit(0);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
