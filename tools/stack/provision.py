"""Creates the Pub/Sub topics/subscriptions, BigQuery dataset/tables/views and Storage bucket of
infra/resources.json, idempotently."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, pubsub_v1
from google.protobuf import duration_pb2

from tools.stack.config import ROOT, StackConfig

RESOURCES = ROOT / "infra" / "resources.json"


def resources() -> dict[str, Any]:
    """The declarative resource definition shared with Terraform."""
    return json.loads(RESOURCES.read_text())


def view_sql(relative_path: str, project_id: str, dataset: str) -> str:
    """View SQL with the `${project}.${dataset}` placeholders filled (the same files Terraform reads)."""
    text = (ROOT / "infra" / relative_path).read_text()
    return text.replace("${project}", project_id).replace("${dataset}", dataset)


@dataclass
class ProvisionReport:
    """What provisioning created, updated or found already in place."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True if anything was created or updated."""
        return bool(self.created or self.updated)


def _duration(text: str) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=int(text.rstrip("s")))


def bigquery_client(config: StackConfig) -> bigquery.Client:
    """BigQuery client for the local emulator."""
    return bigquery.Client(
        project=config.project_id,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=f"http://{config.address('bigquery')}"),
    )


def trigger_subscription(function: str) -> str:
    """The local subscription of a Pub/Sub-triggered function (tools/stack/dispatcher.py delivers it)."""
    return f"trigger-{function}"


def subscription_request(config: StackConfig, sub: dict[str, Any]) -> dict[str, Any]:
    """The create request of a subscription of infra/resources.json, with its retry and dead-letter policy."""
    publisher_paths = pubsub_v1.PublisherClient.topic_path
    request: dict[str, Any] = {
        "name": pubsub_v1.SubscriberClient.subscription_path(config.project_id, sub["name"]),
        "topic": publisher_paths(config.project_id, sub["topic"]),
        "ack_deadline_seconds": sub.get("ack_deadline_seconds", 10),
        "enable_message_ordering": sub.get("enable_message_ordering", False),
    }
    if sub.get("message_retention_duration"):
        request["message_retention_duration"] = _duration(sub["message_retention_duration"])
    if sub.get("dead_letter_topic"):
        request["dead_letter_policy"] = {
            "dead_letter_topic": publisher_paths(config.project_id, sub["dead_letter_topic"]),
            "max_delivery_attempts": sub.get("max_delivery_attempts", 5),
        }
    if sub.get("retry_minimum_backoff"):
        request["retry_policy"] = {
            "minimum_backoff": _duration(sub["retry_minimum_backoff"]),
            "maximum_backoff": _duration(sub.get("retry_maximum_backoff", "600s")),
        }
    return request


def provision_pubsub(config: StackConfig, report: ProvisionReport) -> None:
    """Topics first (dead-letter topics included), then subscriptions with their policies: those of
    infra/resources.json and one per Pub/Sub-triggered function, as production has."""
    spec = resources()["pubsub"]
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    subscriptions = list(spec["subscriptions"]) + [
        {**trigger, "name": trigger_subscription(trigger["function"])} for trigger in spec["function_triggers"]
    ]
    try:
        for topic in spec["topics"]:
            path = publisher.topic_path(config.project_id, topic["name"])
            try:
                publisher.create_topic(request={"name": path})
                report.created.append(f"topic {topic['name']}")
            except google_exceptions.AlreadyExists:
                report.unchanged.append(f"topic {topic['name']}")
        for sub in subscriptions:
            try:
                subscriber.create_subscription(request=subscription_request(config, sub))
                report.created.append(f"subscription {sub['name']}")
            except google_exceptions.AlreadyExists:
                report.unchanged.append(f"subscription {sub['name']}")
    finally:
        subscriber.close()


def _schema(relative_path: str) -> list[bigquery.SchemaField]:
    return _fields(json.loads((ROOT / "infra" / relative_path).read_text()))


def _fields(fields: list[dict[str, Any]]) -> list[bigquery.SchemaField]:
    return [
        bigquery.SchemaField(
            f["name"], f["type"], mode=f["mode"], description=f.get("description"), fields=_fields(f.get("fields", []))
        )
        for f in fields
    ]


def provision_bigquery(
    config: StackConfig, report: ProvisionReport, client: bigquery.Client | None = None, dataset_name: str | None = None
) -> None:
    """Dataset, tables (partitioning, clustering) and views, created or brought up to date.

    `dataset_name` provisions the same tables and views under another name (a scratch dataset
    for tests and benchmarks) instead of the one of infra/resources.json.
    """
    spec = resources()["bigquery"]
    client = client or bigquery_client(config)
    spec = dict(spec, dataset=dataset_name or spec["dataset"])
    dataset_id = f"{config.project_id}.{spec['dataset']}"
    try:
        client.get_dataset(dataset_id)
        report.unchanged.append(f"dataset {spec['dataset']}")
    except google_exceptions.NotFound:
        dataset = bigquery.Dataset(dataset_id)
        dataset.location = spec.get("location", "US")
        client.create_dataset(dataset)
        report.created.append(f"dataset {spec['dataset']}")
    for table_spec in spec["tables"]:
        table_id = f"{dataset_id}.{table_spec['name']}"
        try:
            existing_table = client.get_table(table_id)
        except google_exceptions.NotFound:
            existing_table = None
        if existing_table is not None:
            # A column added to a row model (e.g. financial_facts.dimensions) is added to a table
            # created before it: BigQuery takes new NULLABLE / REPEATED columns in place.
            schema = _schema(table_spec["schema"])
            known = {f.name for f in existing_table.schema}
            added = [f for f in schema if f.name not in known]
            if added:
                existing_table.schema = [*existing_table.schema, *added]
                client.update_table(existing_table, ["schema"])
                report.updated.append(f"table {table_spec['name']} (+{', '.join(f.name for f in added)})")
            else:
                report.unchanged.append(f"table {table_spec['name']}")
            continue
        table = bigquery.Table(table_id, schema=_schema(table_spec["schema"]))
        partitioning = table_spec.get("time_partitioning")
        if partitioning:
            table.time_partitioning = bigquery.TimePartitioning(type_=partitioning["type"], field=partitioning["field"])
        table.clustering_fields = table_spec.get("clustering")
        table.description = table_spec.get("description")
        client.create_table(table)
        report.created.append(f"table {table_spec['name']}")
    for view_spec in spec["views"]:
        view_id = f"{dataset_id}.{view_spec['name']}"
        sql = view_sql(view_spec["sql"], config.project_id, spec["dataset"])
        # The stored query text may be normalised by the server; compare a hash of our SQL instead.
        fingerprint = "sql-sha256:" + hashlib.sha256(sql.encode()).hexdigest()
        try:
            existing = client.get_table(view_id)
        except google_exceptions.NotFound:
            existing = None
        if existing is not None and (existing.description or "").endswith(fingerprint):
            report.unchanged.append(f"view {view_spec['name']}")
            continue
        if existing is not None:
            client.delete_table(view_id)
        view = bigquery.Table(view_id)
        view.view_query = sql
        view.description = f"{view_spec['name']} ({view_spec['sql']}) {fingerprint}"
        client.create_table(view)
        (report.updated if existing is not None else report.created).append(f"view {view_spec['name']}")


def reports_bucket_name(project_id: str) -> str:
    """The reports bucket of a project: `{project}-{name_suffix}` (bucket names are global)."""
    return f"{project_id}-{resources()['storage']['reports_bucket']['name_suffix']}"


def provision_storage(config: StackConfig, report: ProvisionReport) -> None:
    """The reports bucket in the Cloud Storage emulator (official client, STORAGE_EMULATOR_HOST)."""
    from google.cloud import storage

    client = storage.Client(project=config.project_id, credentials=AnonymousCredentials())
    name = reports_bucket_name(config.project_id)
    if client.lookup_bucket(name) is None:
        client.create_bucket(name)
        report.created.append(f"bucket {name}")
    else:
        report.unchanged.append(f"bucket {name}")


def provision(config: StackConfig, progress: Callable[[str], None] = print) -> ProvisionReport:
    """Provision everything; running it again changes nothing."""
    config.apply_client_env()
    report = ProvisionReport()
    provision_pubsub(config, report)
    provision_bigquery(config, report)
    provision_storage(config, report)
    progress(
        f"provisioned: {len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged"
    )
    return report


def dataset_tables(config: StackConfig) -> list[str]:
    """Names of the tables and views of the dataset (for status output)."""
    client = bigquery_client(config)
    dataset = resources()["bigquery"]["dataset"]
    return sorted(t.table_id for t in client.list_tables(f"{config.project_id}.{dataset}"))


def ensure_views_exist() -> list[Path]:
    """SQL files named in resources.json that are missing (an error for provisioning)."""
    return [
        ROOT / "infra" / v["sql"] for v in resources()["bigquery"]["views"] if not (ROOT / "infra" / v["sql"]).exists()
    ]
