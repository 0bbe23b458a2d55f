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
