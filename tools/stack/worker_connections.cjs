// Preloaded into firebase-tools (NODE_OPTIONS --require): one fresh connection per request to a
// Python function worker.
//
// Node 20 reuses idle HTTP connections (keep-alive) while gunicorn, which serves each Python
// worker, closes them after 2 s idle. A request sent on a connection at the moment gunicorn
// closes it fails with "socket hang up"; the Functions emulator then drops that invocation (a
// Firestore trigger event is never redelivered) and kills the worker. Measured on the local
// stack: the failed requests all followed exactly 2.0 s of worker idleness.
const http = require("http");
http.globalAgent = new http.Agent({ keepAlive: false });

// Each Python worker gets a port from portfinder (a random start in 8081-9081, then the first free
// one), but gunicorn binds it only about a second later, when Python has started: two workers
// started within that second can be handed the same port, and the second one never serves
// ("Connection in use", then "Can't connect"), which drops the invocation it was started for.
// Never hand out the same port twice in this process.
const path = require("path");
const portfinder = require(require.resolve("portfinder", {
  paths: [path.dirname(require.resolve("firebase-tools/package.json"))],
}));
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
