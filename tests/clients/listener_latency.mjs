// A real dashboard client (Firebase JS SDK, modular API) measuring how long a financial event
// takes to reach its live listeners: publish to `financial-events` -> ingestion -> record ->
// on_record_written -> change topic -> aggregate fold -> kpis/current -> onSnapshot here.
//
// It signs in to the Auth emulator as a member of an existing org, listens to the consolidated
// aggregate of one month and to kpis/current, then publishes N events (one new ledger line each,
// SPACING ms apart, without waiting for the previous one to be seen) through the Pub/Sub
// emulator's REST API. Event i adds 2^i cents to revenue account 4100, so every value a listener
// receives tells exactly which events it includes, whatever order they were applied in. The org
// must have no other record in that month.
//
// Run by tests/e2e/test_js_client.py, which seeds the org, the user and the member document:
//   FIRESTORE_EMULATOR_HOST=127.0.0.1:8080 FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:9099 \
//   PUBSUB_EMULATOR_HOST=127.0.0.1:8085 GCLOUD_PROJECT=demo-finance-live \
//   LATENCY_ORG=acme LATENCY_EMAIL=a@example.com LATENCY_PASSWORD=... node tests/clients/listener_latency.mjs
//
// Prints a readable summary, then one JSON line (the last line) with the figures. Exit code 0
// when every event was seen by both listeners, 1 otherwise.

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { initializeApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, signInWithEmailAndPassword } from 'firebase/auth';
import { connectFirestoreEmulator, doc, getFirestore, onSnapshot, setLogLevel } from 'firebase/firestore';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see the header of tests/clients/listener_latency.mjs)`);
  return value;
}

function hostPort(address) {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
}

const PROJECT = process.env.GCLOUD_PROJECT || 'demo-finance-live';
const FIRESTORE = hostPort(required('FIRESTORE_EMULATOR_HOST'));
const AUTH = required('FIREBASE_AUTH_EMULATOR_HOST');
const PUBSUB = required('PUBSUB_EMULATOR_HOST');
const ORG = required('LATENCY_ORG');
const EMAIL = required('LATENCY_EMAIL');
const PASSWORD = required('LATENCY_PASSWORD');
const PERIOD = process.env.LATENCY_PERIOD || '2026-11'; // the org's KPI period, so kpis/current moves too
const EVENTS = Number(process.env.LATENCY_EVENTS || 30);
const SPACING_MS = Number(process.env.LATENCY_SPACING_MS || 300);
const TIMEOUT_MS = Number(process.env.LATENCY_TIMEOUT_MS || 300_000);
const ACCOUNT = '4100';

if (EVENTS > 50) throw new Error('LATENCY_EVENTS <= 50: event i adds 2^i cents, which must stay an exact integer');

// Amount of event i: 2^i cents as a decimal string ("0.01", "0.02", "0.04", ...).
function amountOf(i) {
  const cents = (2n ** BigInt(i)).toString().padStart(3, '0');
  return `${cents.slice(0, -2)}.${cents.slice(-2)}`;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summary(name, seenAt, publishedAt) {
  const latencies = [];
  for (let i = 0; i < EVENTS; i++) {
    if (seenAt[i] !== undefined && publishedAt[i] !== undefined) latencies.push(seenAt[i] - publishedAt[i]);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (x) => (x === null ? null : Math.round(x));
  return {
    listener: name,
    seen: latencies.length,
    min_ms: round(sorted[0] ?? null),
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted[sorted.length - 1] ?? null),
    missing: [...Array(EVENTS).keys()].filter((i) => seenAt[i] === undefined),
  };
}

async function publish(i, run) {
  const event = {
    event_id: `latency-${run}-${i}`,
    type: 'record.upserted',
    org_id: ORG,
    record_id: `latency-${run}-${i}`,
    version: 1,
    occurred_at: new Date().toISOString(),
    record: {
      entity_id: 'us-east', account_id: ACCOUNT, period: PERIOD, scenario: 'actual',
      amount: amountOf(i), currency: 'USD', source: 'latency-test',
    },
  };
  const url = `http://${PUBSUB}/v1/projects/${PROJECT}/topics/financial-events:publish`;
  const body = { messages: [{ data: Buffer.from(JSON.stringify(event)).toString('base64'), attributes: { org_id: ORG } }] };
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`publish of event ${i} failed: ${response.status} ${await response.text()}`);
}

async function main() {
  setLogLevel('error');
  const app = initializeApp({ projectId: PROJECT, apiKey: 'demo-api-key', authDomain: `${PROJECT}.firebaseapp.com` });
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://${AUTH}`, { disableWarnings: true });
  const db = getFirestore(app);
  connectFirestoreEmulator(db, FIRESTORE.host, FIRESTORE.port);
  const { user } = await signInWithEmailAndPassword(auth, EMAIL, PASSWORD);

  const run = randomUUID().slice(0, 8);
  const publishedAt = [];
  const seen = { aggregate: [], kpis: [] };
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  const firstSnapshot = { aggregate: null, kpis: null };
  const ready = {};
  const readyPromises = Object.keys(firstSnapshot).map((name) => new Promise((resolve) => { ready[name] = resolve; }));
  const errors = [];

  // A listener's value includes event i if bit i is set (2^i cents each, nothing else in the month).
  const record = (name, minor) => {
    const now = performance.now();
    if (typeof minor !== 'number') return;
    for (let i = 0; i < EVENTS; i++) {
      if (seen[name][i] === undefined && Math.floor(minor / 2 ** i) % 2 === 1) seen[name][i] = now;
    }
    if (Object.values(seen).every((s) => s.filter((t) => t !== undefined).length === EVENTS)) resolveDone();
  };
  const onError = (name) => (err) => { errors.push(`${name}: ${err.code || err.message}`); resolveDone(); };

  const stops = [
    onSnapshot(doc(db, 'organizations', ORG, 'aggregates', `_all__${PERIOD}__actual`), (snap) => {
      ready.aggregate();
      record('aggregate', snap.data()?.accounts?.[ACCOUNT]);
    }, onError('aggregate')),
    onSnapshot(doc(db, 'organizations', ORG, 'kpis', 'current'), (snap) => {
      ready.kpis();
      const data = snap.data();
      if (data && data.period === PERIOD) record('kpis', data.kpis?.revenue?.value);
    }, onError('kpis')),
  ];
  await Promise.all(readyPromises); // listeners are live before the first event leaves

  const started = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    const due = started + i * SPACING_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    publishedAt[i] = performance.now();
    await publish(i, run);
  }
  const timer = setTimeout(resolveDone, TIMEOUT_MS);
  await done;
  clearTimeout(timer);
  stops.forEach((stop) => stop());

  const result = {
    client: 'firebase-js-sdk 12.9.0 (Node ' + process.versions.node + ')',
    org: ORG,
    uid: user.uid,
    events: EVENTS,
    spacing_ms: SPACING_MS,
    aggregate: summary(`aggregates/_all__${PERIOD}__actual accounts.${ACCOUNT}`, seen.aggregate, publishedAt),
    kpis: summary('kpis/current kpis.revenue.value', seen.kpis, publishedAt),
    errors,
  };
  for (const s of [result.aggregate, result.kpis]) {
    console.log(`${s.listener}: ${s.seen}/${EVENTS} seen; p50 ${s.p50_ms} ms, p90 ${s.p90_ms} ms, p99 ${s.p99_ms} ms, max ${s.max_ms} ms`);
  }
  if (errors.length) console.log(`listener errors: ${errors.join('; ')}`);
  console.log(JSON.stringify(result));
  const complete = result.aggregate.seen === EVENTS && result.kpis.seen === EVENTS && !errors.length;
  // The SDK keeps sockets open; exit explicitly once the figures are out.
  process.exit(complete ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
