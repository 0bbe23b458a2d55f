# Topics and subscriptions of infra/resources.json (names, retention, delivery policies).

# Avro schema of the event contract, generated from finance_core.events.FinancialEvent by
# tools/generated_artifacts.py. The schema is always declared (a registry entry integrators can
# fetch and validate against); it is bound to the topic only when enforce_event_schema is true.
# Why off by default: Pub/Sub validates JSON messages with Avro's JSON encoding, where an
# optional (union) value must be wrapped with its type ({"string": "netsuite"}, and the record
# under its full name). Contract-v1 messages send plain values, so with the binding every upsert
# (record, memo, source) would be rejected at publish time. The ingestion function validates
# the contract anyway and dead-letters what is invalid with a readable reason.
resource "google_pubsub_schema" "event" {
  for_each = toset([for t in local.schema_topics : t.schema])

  project = var.project_id
  name    = each.value
  type    = "AVRO"
  # Schema "financial-event-v1" is generated into ../pubsub/financial-event.v1.avsc.
  definition = file("${path.module}/../pubsub/${replace(each.value, "/-(v[0-9]+)$/", ".$1")}.avsc")

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "topics" {
  for_each = local.topics
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest by default. CMEK needs a Cloud KMS key ring per environment, key rotation and grants to every service agent; adopt it when a compliance regime requires customer-managed keys (docs/deploy.md).

  project                    = var.project_id
  name                       = each.key
  message_retention_duration = each.value.message_retention_duration
  labels = {
    role = contains(local.dead_letter_topic_names, each.key) ? "dead-letter" : "source"
  }

  dynamic "schema_settings" {
    for_each = var.enforce_event_schema && each.value.schema != null ? [each.value.schema] : []
    content {
      schema   = google_pubsub_schema.event[schema_settings.value].id
      encoding = "JSON"
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_pubsub_subscription" "subscriptions" {
  for_each = local.subscriptions

  project                    = var.project_id
  name                       = each.key
  topic                      = google_pubsub_topic.topics[each.value.topic].id
  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = each.value.message_retention_duration
  enable_message_ordering    = each.value.enable_message_ordering
  labels = {
    role = contains(local.dead_letter_topic_names, each.value.topic) ? "dead-letter-hold" : "consumer"
  }

  # Never expire: a hold subscription on a dead-letter topic has no reader for weeks by design,
  # and the default policy would delete it after 31 days of inactivity.
  expiration_policy {
    ttl = ""
  }

  dynamic "retry_policy" {
    for_each = each.value.retry_minimum_backoff != null ? [each.value] : []
    content {
      minimum_backoff = retry_policy.value.retry_minimum_backoff
      maximum_backoff = retry_policy.value.retry_maximum_backoff
    }
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic != null ? [each.value] : []
    content {
      dead_letter_topic     = google_pubsub_topic.topics[dead_letter_policy.value.dead_letter_topic].id
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }
}

# Dead-lettering is done by the Pub/Sub service agent: it must be able to publish to every
# dead-letter topic and to acknowledge the forwarded message on the source subscription.
# (For the Eventarc subscriptions of the functions, the subscriber grant is made per
# subscription by scripts/apply_trigger_policies.py, since their names are generated.)
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topic_names

  project = var.project_id
  topic   = google_pubsub_topic.topics[each.value].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_source_subscriber" {
  for_each = local.dead_lettered_subscriptions

  project      = var.project_id
  subscription = google_pubsub_subscription.subscriptions[each.value].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# The pipeline health refresh (functions/operations, realtime family) counts the dead letters
# waiting on the hold subscriptions: it pulls and releases them at once (never acknowledges), so
# it needs subscriber on those subscriptions only.
resource "google_pubsub_subscription_iam_member" "health_dead_letter_reader" {
  for_each = toset([for name, s in local.subscriptions : name if endswith(name, "-dead-letter-hold")])

  project      = var.project_id
  subscription = google_pubsub_subscription.subscriptions[each.value].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.functions["realtime"].email}"
}
