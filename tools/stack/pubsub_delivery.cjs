// Preloaded into firebase-tools (NODE_OPTIONS --require): Pub/Sub messages reach the functions as
// they do in production, where each triggered function has its own subscription with the delivery
// policy of infra/resources.json.
//
// firebase-tools forwards every message of a topic with triggers to the Functions emulator from
// one streaming-pull subscriber per topic, calls the topic's functions one after another, and
// acknowledges the message whatever they answered: a function that failed (a transient error it
// raised on purpose so Pub/Sub retries) never gets the message again, and its work is silently
// lost. Measured, a burst of 10,000 single events also filled the Functions emulator's work queue
// with thousands of entries, each logged whole at every change (519 MB of debug log in a minute),
// until firebase-tools died of a JavaScript heap out-of-memory after 107 s. So:
// - each subscriber holds at most FINANCE_PUBSUB_MAX_OUTSTANDING messages (default 16, a few per
//   parallel function slot); the Pub/Sub emulator keeps the rest, as Pub/Sub does in production;
// - each function of a topic gets the message on its own; one that fails is called again after
//   its retry backoff (retry_minimum_backoff doubling up to retry_maximum_backoff), up to its
//   max_delivery_attempts, and then the message goes to its dead_letter_topic with the attributes
//   Pub/Sub adds (CloudPubSubDeadLetterSource*); a function without a policy is called once;
// - the work queue logs its length and what runs, not the name of every queued entry.
const fs = require("fs");
const path = require("path");

const firebaseTools = path.dirname(require.resolve("firebase-tools/package.json"));
const maxOutstanding = Number.parseInt(process.env.FINANCE_PUBSUB_MAX_OUTSTANDING || "16", 10);
// Tests shorten the backoff; 1 in the stack.
const backoffScale = Number.parseFloat(process.env.FINANCE_PUBSUB_BACKOFF_SCALE || "1");
const resourcesFile = process.env.FINANCE_RESOURCES_JSON || path.join(__dirname, "..", "..", "infra", "resources.json");
const policies = new Map(
  JSON.parse(fs.readFileSync(resourcesFile, "utf8")).pubsub.function_triggers.map((t) => [t.function, t]),
);

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

// "us-central1-ingest_financial_event" or "us-central1-ingest_financial_event-3" -> the function.
function functionName(triggerKey) {
  return triggerKey.replace(/^[a-z]+-[a-z]+[0-9]+-/, "").replace(/-[0-9]+$/, "");
}

function seconds(duration, fallback) {
  const value = Number.parseFloat(String(duration ?? "").replace(/s$/, ""));
  return Number.isFinite(value) ? value : fallback;
}

const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000 * backoffScale));

const { PubsubEmulator } = require(path.join(firebaseTools, "lib", "emulator", "pubsubEmulator.js"));

// The function's HTTP status tells whether it failed (functions-framework answers 500 when it
// raises). Its body is plain text, so it is read as text: parsing it as JSON, as firebase-tools
// does, fails for every delivery and hides the status.
PubsubEmulator.prototype.deliverToTrigger = async function (topicName, trigger, message) {
  const route = `/functions/projects/${this.args.projectId}/triggers/${trigger.triggerKey}`;
  const asText = { responseType: "xml", resolveOnHTTPError: true };
  let response;
  if (trigger.signatureType === "event") {
    response = await this.client.post(route, this.createLegacyEventRequestBody(topicName, message), asText);
  } else if (trigger.signatureType === "cloudevent") {
    response = await this.client.post(route, this.createCloudEventRequestBody(topicName, message), {
      ...asText,
      headers: { "Content-Type": "application/cloudevents+json; charset=UTF-8" },
    });
  } else {
    throw new Error(`Unsupported trigger signature: ${trigger.signatureType}`);
  }
  if (response.status >= 400) {
    throw new Error(`HTTP ${response.status}: ${String(response.body || "").slice(0, 300)}`);
  }
};

PubsubEmulator.prototype.deliverWithPolicy = async function (topicName, trigger, message) {
  const name = functionName(trigger.triggerKey);
  const policy = policies.get(name);
  const attempts = policy ? policy.max_delivery_attempts || 5 : 1;
  const first = seconds(policy?.retry_minimum_backoff, 10);
  const most = seconds(policy?.retry_maximum_backoff, 600);
  for (let attempt = 1; ; attempt++) {
    try {
      await this.deliverToTrigger(topicName, trigger, message);
      return;
    } catch (error) {
      const reason = error && error.message ? error.message : String(error);
      if (attempt >= attempts) {
        if (policy && policy.dead_letter_topic) {
          await this.pubsub.topic(policy.dead_letter_topic).publishMessage({
            data: message.data,
            attributes: {
              ...(message.attributes || {}),
              CloudPubSubDeadLetterSourceSubscription: `emulator-${name}`,
              CloudPubSubDeadLetterSourceTopicPublishTime: message.publishTime.toISOString(),
              CloudPubSubDeadLetterSourceDeliveryCount: String(attempt),
            },
          });
          this.logger.logLabeled("WARN", "pubsub",
            `${name} failed ${attempt} time(s) on message ${message.id} of ${topicName}: sent to ${policy.dead_letter_topic} (${reason})`);
        } else {
          this.logger.logLabeled("WARN", "pubsub", `${name} failed on message ${message.id} of ${topicName} (${reason})`);
        }
        return;
      }
      const delay = Math.min(most, first * 2 ** (attempt - 1));
      this.logger.logLabeled("WARN", "pubsub",
        `${name} failed on message ${message.id} of ${topicName} (attempt ${attempt} of ${attempts}); again in ${delay}s`);
      await sleep(delay);
    }
  }
};

PubsubEmulator.prototype.onMessage = async function (topicName, message) {
  const triggers = this.triggersForTopic.get(topicName) || [];
  if (triggers.length === 0) {
    message.ack();
    return;
  }
  this.ensureFunctionsClient();
  // Every function has its own delivery (and retries), as with one subscription each.
  await Promise.all(triggers.map((trigger) => this.deliverWithPolicy(topicName, trigger, message).catch((error) => {
    this.logger.logLabeled("WARN", "pubsub", `delivering message ${message.id} of ${topicName}: ${error}`);
  })));
  message.ack();
};
