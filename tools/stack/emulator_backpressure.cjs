// Preloaded into firebase-tools (NODE_OPTIONS --require): a burst of Pub/Sub messages waits in the
// Pub/Sub emulator instead of in firebase-tools' memory.
//
// firebase-tools forwards every message of a topic with triggers to the Functions emulator from
// one streaming-pull subscriber per topic. With the client's default flow control (1,000
// outstanding messages per subscriber) a burst of single events fills the Functions emulator's
// work queue with thousands of entries, and the queue logs its whole content at every change:
// measured, 10,000 events published at once wrote 519 MB of debug log in a minute and killed
// firebase-tools with a JavaScript heap out-of-memory after 107 s. Two changes:
// - each subscriber holds at most FINANCE_PUBSUB_MAX_OUTSTANDING messages (default 16, a few per
//   parallel function slot); the emulator keeps the rest, as Pub/Sub does in production;
// - the work queue logs its length and what runs, not the name of every queued entry.
const path = require("path");

const firebaseTools = path.dirname(require.resolve("firebase-tools/package.json"));
const maxOutstanding = Number.parseInt(process.env.FINANCE_PUBSUB_MAX_OUTSTANDING || "16", 10);

const { PubSub } = require(require.resolve("@google-cloud/pubsub", { paths: [firebaseTools] }));
const subscription = PubSub.prototype.subscription;
PubSub.prototype.subscription = function (name, options) {
  const withFlowControl = { ...(options || {}) };
  withFlowControl.flowControl = {
    maxMessages: maxOutstanding,
    allowExcessMessages: false,
    ...(withFlowControl.flowControl || {}),
  };
  return subscription.call(this, name, withFlowControl);
};

const { WorkQueue } = require(path.join(firebaseTools, "lib", "emulator", "workQueue.js"));
WorkQueue.prototype.logState = function () {
  this.logger.logLabeled(
    "DEBUG",
    "work-queue",
    JSON.stringify({ queueLength: this.queue.length, runningWork: this.running }),
  );
};
