// Preloaded into firebase-tools (NODE_OPTIONS --require): one fresh connection per request to a
// Python function worker, and never the same port for two workers.
//
// It relies on how the pinned firebase-tools starts and calls its Python workers, so it first
// checks that this is the pinned version and that every symbol it touches is still there, and
// stops the emulators with a message naming what changed rather than run a stack whose local
// fixes silently no longer apply (tests/unit/test_worker_connections_preload.py).
const fs = require("fs");
const http = require("http");
const path = require("path");

const PRELOAD = "tools/stack/worker_connections.cjs";
const ROOT = path.resolve(__dirname, "..", "..");

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    return { unreadable: `${path.relative(ROOT, file) || file}: ${error.message}` };
  }
}

function readText(file) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

// The source text between a start marker and the next marker (a method or class of the emulator).
function section(text, start, end) {
  const from = text.indexOf(start);
  if (from < 0) return null;
  const to = text.indexOf(end, from + start.length);
  return text.slice(from, to < 0 ? undefined : to);
}

// Every way the pinned firebase-tools could have moved under this preload; returns what changed.
function problems() {
  const found = [];
  const manifest = readJson(path.join(ROOT, "package.json"));
  const lock = readJson(path.join(ROOT, "package-lock.json"));
  const pinned = (manifest.devDependencies || {})["firebase-tools"] || (manifest.dependencies || {})["firebase-tools"];
  const locked = ((lock.packages || {})["node_modules/firebase-tools"] || {}).version;
  if (!pinned) found.push(`package.json pins no firebase-tools version ${manifest.unreadable || ""}`.trim());
  if (!locked) found.push(`package-lock.json locks no firebase-tools version ${lock.unreadable || ""}`.trim());
  if (pinned && locked && pinned !== locked) {
    found.push(`package.json pins firebase-tools ${pinned} but package-lock.json locks ${locked}`);
  }
  let toolsDir;
  try {
    toolsDir = path.dirname(require.resolve("firebase-tools/package.json", { paths: [ROOT] }));
  } catch {
    found.push("firebase-tools is not installed in node_modules");
    return found;
  }
  const installed = readJson(path.join(toolsDir, "package.json")).version;
  if (pinned && installed !== pinned) {
    found.push(`firebase-tools ${installed} is installed, but this preload was checked against the pinned ${pinned}`);
  }

  // Worker ports: the Functions emulator asks portfinder.getPortPromise for each Python worker's port.
  const emulator = readText(path.join(toolsDir, "lib", "emulator", "functionsEmulator.js"));
  if (emulator === null) {
    found.push("firebase-tools has no lib/emulator/functionsEmulator.js");
  } else {
    if (!emulator.includes('require("portfinder")')) {
      found.push('lib/emulator/functionsEmulator.js no longer requires "portfinder"');
    }
    const startPython = section(emulator, "async startPython(", "\n    async ");
    if (startPython === null) found.push("lib/emulator/functionsEmulator.js has no startPython method");
    else if (!startPython.includes("portfinder.getPortPromise(")) {
      found.push("startPython (lib/emulator/functionsEmulator.js) no longer takes its port from portfinder.getPortPromise");
    }
    // Worker requests: sent with http.request and no agent of their own, so through http.globalAgent.
    const tcp = section(emulator, "class TCPConn", "exports.TCPConn");
    if (tcp === null || !tcp.includes("httpReqOpts()")) {
      found.push("lib/emulator/functionsEmulator.js has no TCPConn.httpReqOpts (how worker requests are addressed)");
    } else if (/agent/i.test(tcp)) {
      found.push("TCPConn.httpReqOpts (lib/emulator/functionsEmulator.js) now sets an HTTP agent of its own");
    }
  }
  const worker = readText(path.join(toolsDir, "lib", "emulator", "functionsRuntimeWorker.js"));
  if (worker === null) {
    found.push("firebase-tools has no lib/emulator/functionsRuntimeWorker.js");
  } else if (!worker.includes('require("http")') || !worker.includes("http.request(")) {
    found.push("lib/emulator/functionsRuntimeWorker.js no longer sends worker requests with http.request");
  } else if (/\bagent\s*:/.test(worker)) {
    found.push("lib/emulator/functionsRuntimeWorker.js now passes an HTTP agent of its own");
  }
  let portfinder = null;
  try {
    portfinder = require(require.resolve("portfinder", { paths: [toolsDir] }));
  } catch {
    found.push("portfinder cannot be resolved from firebase-tools");
  }
  if (portfinder && typeof portfinder.getPortPromise !== "function") {
    found.push("portfinder.getPortPromise is not a function");
  }
  const descriptor = Object.getOwnPropertyDescriptor(http, "globalAgent");
  if (!descriptor || !(descriptor.writable || descriptor.set) || typeof http.Agent !== "function") {
    found.push("Node's http.globalAgent cannot be replaced");
  }
  return found.length ? found : { portfinder };
}

const checked = problems();
if (Array.isArray(checked)) {
  process.stderr.write(
    `\n${PRELOAD}: firebase-tools is not the version this local stack was checked against:\n` +
      checked.map((problem) => `  - ${problem}\n`).join("") +
      "Run ./dev setup to install the pinned version (package.json, package-lock.json). After an upgrade on\n" +
      `purpose, check that the two local fixes of ${PRELOAD} are still needed and still apply, then\n` +
      "update the pins and this preload's checks together (docs/local-development.md).\n\n",
  );
  process.exit(1);
}

// Node 20 reuses idle HTTP connections (keep-alive) while gunicorn, which serves each Python
// worker, closes them after 2 s idle. A request sent on a connection at the moment gunicorn
// closes it fails with "socket hang up"; the Functions emulator then drops that invocation (a
// Firestore trigger event is never redelivered) and kills the worker. Measured on the local
// stack: the failed requests all followed exactly 2.0 s of worker idleness.
http.globalAgent = new http.Agent({ keepAlive: false });

// Each Python worker gets a port from portfinder (a random start in 8081-9081, then the first free
// one), but gunicorn binds it only about a second later, when Python has started: two workers
// started within that second can be handed the same port, and the second one never serves
// ("Connection in use", then "Can't connect"), which drops the invocation it was started for.
// Never hand out the same port twice in this process.
const portfinder = checked.portfinder;
const handedOut = new Set();
const getPortPromise = portfinder.getPortPromise;
portfinder.getPortPromise = async function (options = {}) {
  let start = options.port ?? 8000;
  for (;;) {
    const port = await getPortPromise.call(this, { ...options, port: start });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
    start = port + 1;
  }
};
