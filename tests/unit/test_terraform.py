"""Offline checks of infra/terraform: structure (python-hcl2), evaluated locals, fmt and checkov.

The hashicorp/google provider cannot be downloaded on the project's machines, so `terraform
validate/plan` cannot run here. Instead: every .tf file is parsed; the provider-free locals
(locals.tf + variables.tf) are evaluated by the real `terraform console` against the real
resources.json; `terraform fmt -check` and checkov run as they would on CI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TF_DIR = INFRA / "terraform"
RESOURCES = json.loads((INFRA / "resources.json").read_text())
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
CHECKOV_REQUIREMENTS = TF_DIR / "requirements-checkov.txt"
CHECKOV_INSTALL = (
    "python3 -m venv .tools/checkov && PIP_CONFIG_FILE=/dev/null "
    ".tools/checkov/bin/pip install -r infra/terraform/requirements-checkov.txt   (or: ./dev setup)"
)
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
REQUIRED_APIS = {
    "firestore.googleapis.com",
    "pubsub.googleapis.com",
    "bigquery.googleapis.com",
    "eventarc.googleapis.com",
    "run.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
}
_PLAIN = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


# --- parsing helpers -------------------------------------------------------------------------


def tf_files() -> list[Path]:
    files = sorted(TF_DIR.rglob("*.tf"))
    assert files, f"no .tf files under {TF_DIR}"
    return files


def parse(path: Path, options: SerializationOptions = _PLAIN) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=options)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """All .tf files merged: {"resource": {type: {name: body}}, "locals": {...}, "variable": {...}, ...}."""
    merged: dict[str, Any] = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "output": {}, "terraform": []}
    for path in tf_files():
        tree = parse(path)
        for block in tree.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    assert name not in merged["resource"].setdefault(rtype, {}), f"duplicate {rtype}.{name}"
                    merged["resource"][rtype][name] = body
        for block in tree.get("data", []):
            for dtype, named in block.items():
                merged["data"].setdefault(dtype, {}).update(named)
        for block in tree.get("locals", []):
            merged["locals"].update(block)
        for kind in ("variable", "output"):
            for block in tree.get(kind, []):
                merged[kind].update(block)
        merged["terraform"] += tree.get("terraform", [])
    return merged


def resource(config: dict[str, Any], rtype: str, name: str) -> dict[str, Any]:
    assert rtype in config["resource"] and name in config["resource"][rtype], f"missing resource {rtype}.{name}"
    return config["resource"][rtype][name]


def dynamic(body: dict[str, Any], block: str) -> dict[str, Any]:
    for entry in body.get("dynamic", []):
        if block in entry:
            return entry[block]
    raise AssertionError(f"no dynamic {block!r} block")


def strings(value: Any) -> Iterator[str]:
    """Every string value (not key) of a parsed tree."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def quoted_keys(value: Any) -> Iterator[str]:
    """Keys written as quoted strings in the source (block labels, "name" = ... map keys)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith('"'):
                yield key.strip('"')
            yield from quoted_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from quoted_keys(item)


def compact(expression: str) -> str:
    return re.sub(r"\s+", "", expression)


# --- evaluating the locals with the real terraform --------------------------------------------


def _terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail(
            "terraform is not on PATH: install Terraform >= 1.11 (it is preinstalled on the project's machines)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> dict[str, Any]:
    """locals.tf evaluated by `terraform console` on a copy of infra/ (no provider needed)."""
    terraform = _terraform()
    work = tmp_path_factory.mktemp("tf")
    shutil.copy(INFRA / "resources.json", work / "resources.json")
    shutil.copytree(INFRA / "bigquery", work / "bigquery")
    module = work / "terraform"
    module.mkdir()
    for name in ("locals.tf", "variables.tf"):
        shutil.copy(TF_DIR / name, module / name)
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}
    init = subprocess.run(
        [terraform, "init", "-input=false", "-no-color"], cwd=module, env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, (
        f"terraform init of the locals failed (locals.tf must stay provider-free):\n{init.stderr}"
    )
    names = [
        "topics", "dead_letter_topic_names", "schema_topics", "internal_topics", "subscriptions",
        "dead_lettered_subscriptions", "function_triggers", "tables", "view_references", "views_base",
        "views_derived", "ttl_fields", "function_families", "unmapped_trigger_functions", "family_project_roles",
        "family_topic_publishers", "family_secret_readers",
    ]  # fmt: skip
    expression = "jsonencode({" + ", ".join(f"{n} = local.{n}" for n in names) + "})\n"
    result = subprocess.run(
        [terraform, "console", "-no-color", "-var", "project_id=finance-live-test", "-var", "environment=dev"],
        cwd=module, env=env, input=expression, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, f"terraform console failed:\n{result.stderr}"
    return json.loads(json.loads(result.stdout.strip()))


# --- Pub/Sub ---------------------------------------------------------------------------------


def test_resources_json_is_decoded_from_the_one_file(config):
    assert compact(config["locals"]["resources"]) == compact('${jsondecode(file("${path.module}/../resources.json"))}')
    assert "local.resources.pubsub.topics" in config["locals"]["topics"]
    assert "local.resources.pubsub.subscriptions" in config["locals"]["subscriptions"]
    assert "local.resources.firestore.ttl_fields" in config["locals"]["ttl_fields"]


def test_topics_and_subscriptions_are_created_for_each_entry_of_resources_json(config, evaluated):
    topics = resource(config, "google_pubsub_topic", "topics")
    assert topics["for_each"] == "${local.topics}" and topics["name"] == "${each.key}"
    subs = resource(config, "google_pubsub_subscription", "subscriptions")
    assert subs["for_each"] == "${local.subscriptions}" and subs["name"] == "${each.key}"
    assert subs["topic"] == "${google_pubsub_topic.topics[each.value.topic].id}"
    assert set(evaluated["topics"]) == {t["name"] for t in RESOURCES["pubsub"]["topics"]}
    assert set(evaluated["subscriptions"]) == {s["name"] for s in RESOURCES["pubsub"]["subscriptions"]}
    for spec in RESOURCES["pubsub"]["subscriptions"]:
        got = evaluated["subscriptions"][spec["name"]]
        for key in ("topic", "ack_deadline_seconds", "message_retention_duration"):
            assert got[key] == spec[key], (spec["name"], key)
        assert got["enable_message_ordering"] == spec.get("enable_message_ordering", False)
    # Only these two resources create topics/subscriptions: nothing else can hide a name.
    assert set(config["resource"]["google_pubsub_topic"]) == {"topics"}
    assert set(config["resource"]["google_pubsub_subscription"]) == {"subscriptions"}


def _resource_names() -> set[str]:
    bq = RESOURCES["bigquery"]
    return (
        {t["name"] for t in RESOURCES["pubsub"]["topics"]}
        | {s["name"] for s in RESOURCES["pubsub"]["subscriptions"]}
        | {bq["dataset"]}
        | {t["name"] for t in bq["tables"]}
        | {v["name"] for v in bq["views"]}
    )


def test_no_resource_name_of_resources_json_is_hard_coded_in_tf_files():
    names = _resource_names()
    # A name as a whole token: "fn-alerts" or "finance-live" do not contain the table "alerts"
    # or the dataset "finance"; "financial-events" or ".../financial_facts.json" would.
    patterns = {name: re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(name)}(?![A-Za-z0-9_-])") for name in names}
    found = []
    for path in tf_files():
        tree = parse(path, SerializationOptions(with_comments=False))
        for text in [*strings(tree), *quoted_keys(tree)]:
            found += [f"{path.name}: {name!r} in {text!r}" for name, rx in patterns.items() if rx.search(text)]
    assert not found, "names must come from resources.json:\n" + "\n".join(found)


def test_hard_coded_name_detector_catches_a_literal_name(tmp_path):
    # The check above must be able to fail: a topic written as a literal is caught.
    probe = tmp_path / "probe.tf"
    probe.write_text('resource "google_pubsub_topic" "x" {\n  name = "financial-events"\n}\n')
    tree = parse(probe, SerializationOptions(with_comments=False))
    rx = re.compile(r"(?<![A-Za-z0-9_.-])financial-events(?![A-Za-z0-9_-])")
    assert any(rx.search(text) for text in strings(tree))


def test_every_source_topic_has_a_dead_letter_topic_in_resources_json(evaluated):
    topics = {t["name"]: t for t in RESOURCES["pubsub"]["topics"]}
    dead_letter = {t["dead_letter_topic"] for t in topics.values() if "dead_letter_topic" in t}
    assert set(evaluated["dead_letter_topic_names"]) == dead_letter
    for name, topic in topics.items():
        if name in dead_letter:
            assert "dead_letter_topic" not in topic, f"dead-letter topic {name} must not chain to another"
            continue
        assert topic.get("dead_letter_topic") in topics, f"topic {name} has no declared dead-letter topic"
    for entry in [*RESOURCES["pubsub"]["subscriptions"], *RESOURCES["pubsub"]["function_triggers"]]:
        if "dead_letter_topic" in entry:
            assert entry["dead_letter_topic"] in dead_letter, entry
            assert 5 <= entry["max_delivery_attempts"] <= 100, f"{entry}: Pub/Sub allows 5..100 delivery attempts"


def test_subscriptions_with_a_dead_letter_topic_get_a_dead_letter_policy(config, evaluated):
    subs = resource(config, "google_pubsub_subscription", "subscriptions")
    policy = dynamic(subs, "dead_letter_policy")
    assert compact(policy["for_each"]) == compact("${each.value.dead_letter_topic != null ? [each.value] : []}")
    content = policy["content"][0]
    assert (
        content["dead_letter_topic"] == "${google_pubsub_topic.topics[dead_letter_policy.value.dead_letter_topic].id}"
    )
    assert content["max_delivery_attempts"] == "${dead_letter_policy.value.max_delivery_attempts}"
    retry = dynamic(subs, "retry_policy")
    assert retry["content"][0]["minimum_backoff"] == "${retry_policy.value.retry_minimum_backoff}"
    assert subs["expiration_policy"][0]["ttl"] == "", "subscriptions must never expire (hold subscriptions are idle)"
    expected = {s["name"] for s in RESOURCES["pubsub"]["subscriptions"] if "dead_letter_topic" in s}
    assert set(evaluated["dead_lettered_subscriptions"]) == expected
    for name in expected:
        spec = next(s for s in RESOURCES["pubsub"]["subscriptions"] if s["name"] == name)
        got = evaluated["subscriptions"][name]
        assert (got["dead_letter_topic"], got["max_delivery_attempts"]) == (
            spec["dead_letter_topic"],
            spec["max_delivery_attempts"],
        )
        assert (got["retry_minimum_backoff"], got["retry_maximum_backoff"]) == (
            spec.get("retry_minimum_backoff"),
            spec.get("retry_maximum_backoff"),
        )


def test_pubsub_service_agent_can_dead_letter(config):
    publisher = resource(config, "google_pubsub_topic_iam_member", "dead_letter_publisher")
    assert publisher["for_each"] == "${local.dead_letter_topic_names}"
    assert publisher["role"] == "roles/pubsub.publisher" and publisher["member"] == "${local.pubsub_service_agent}"
    subscriber = resource(config, "google_pubsub_subscription_iam_member", "dead_letter_source_subscriber")
    assert subscriber["for_each"] == "${local.dead_lettered_subscriptions}"
    assert subscriber["role"] == "roles/pubsub.subscriber" and subscriber["member"] == "${local.pubsub_service_agent}"
    assert "gcp-sa-pubsub.iam.gserviceaccount.com" in config["locals"]["pubsub_service_agent"]


def test_event_schema_is_declared_and_bound_only_behind_the_variable(config, evaluated):
    schema = resource(config, "google_pubsub_schema", "event")
    assert schema["type"] == "AVRO"
    assert "../pubsub/" in schema["definition"] and ".avsc" in schema["definition"]
    names = {t["schema"] for t in RESOURCES["pubsub"]["topics"] if "schema" in t}
    assert set(evaluated["schema_topics"]) == {t["name"] for t in RESOURCES["pubsub"]["topics"] if "schema" in t}
    for name in names:  # the file the replace() in pubsub.tf points at must be the generated one
        file = INFRA / "pubsub" / (re.sub(r"-(v[0-9]+)$", r".\1", name) + ".avsc")
        assert file.exists(), f"schema {name}: {file} missing (run ./dev generate)"
    binding = dynamic(resource(config, "google_pubsub_topic", "topics"), "schema_settings")
    assert binding["for_each"].startswith("${var.enforce_event_schema &&")
    assert binding["content"][0]["encoding"] == "JSON"
    assert config["variable"]["enforce_event_schema"]["default"] is False
    for example in TF_DIR.glob("*.example.tfvars"):
        assert re.search(r"^enforce_event_schema\s*=\s*false\s*$", example.read_text(), re.M), example.name


# --- BigQuery --------------------------------------------------------------------------------


def test_dataset_and_tables_come_from_resources_json(config, evaluated):
    dataset = resource(config, "google_bigquery_dataset", "analytics")
    assert dataset["dataset_id"] == "${local.bigquery.dataset}" and dataset["location"] == "${local.bigquery.location}"
    tables = resource(config, "google_bigquery_table", "tables")
    assert tables["for_each"] == "${local.tables}" and tables["table_id"] == "${each.key}"
    assert compact(tables["schema"]) == compact('${file("${path.module}/../${each.value.schema}")}')
    assert tables["time_partitioning"][0] == {
        "type": "${each.value.time_partitioning.type}",
        "field": "${each.value.time_partitioning.field}",
    }
    assert tables["clustering"] == "${each.value.clustering}"
    assert tables["deletion_protection"] is True
    assert set(evaluated["tables"]) == {t["name"] for t in RESOURCES["bigquery"]["tables"]}


def test_table_schemas_are_the_generated_files_and_current():
    from tools.generated_artifacts import artifacts, stale_artifacts

    generated = artifacts()
    stale = set(stale_artifacts())
    for table in RESOURCES["bigquery"]["tables"]:
        path = INFRA / table["schema"]
        assert path in generated, f"{table['name']}: {path} is not generated from a core row model"
        assert path not in stale, f"{path} differs from finance_core.analytics_rows.bigquery_schema (./dev generate)"
        fields = {f["name"]: f for f in json.loads(path.read_text())}
        assert table["time_partitioning"]["field"] in fields, table["name"]
        assert all(c in fields for c in table["clustering"]), table["name"]
        assert any(f["mode"] == "REQUIRED" for f in fields.values())


def _sql(view: dict[str, str]) -> str:
    return (INFRA / view["sql"]).read_text()


def test_views_come_from_the_sql_files_with_project_and_dataset_filled(config):
    assert "templatefile(" in config["locals"]["view_sql"]
    assert "project = var.project_id" in config["locals"]["view_sql"]
    assert "dataset = local.bigquery.dataset" in config["locals"]["view_sql"]
    for view in RESOURCES["bigquery"]["views"]:
        sql = _sql(view)
        # templatefile() fails on any other interpolation or directive.
        assert set(re.findall(r"\$\{([^}]*)\}", sql)) <= {"project", "dataset"}, view["sql"]
        assert "%{" not in sql, view["sql"]
        assert "${project}.${dataset}." in sql, view["sql"]
    for name in ("views_base", "views_derived"):
        body = resource(config, "google_bigquery_table", name)
        assert body["for_each"] == f"${{local.{name}}}"
        assert body["view"][0] == {"query": "${each.value}", "use_legacy_sql": False}
        assert "${google_bigquery_table.tables}" in body["depends_on"]
    assert (
        "${google_bigquery_table.views_base}"
        in resource(config, "google_bigquery_table", "views_derived")["depends_on"]
    )


def test_views_are_created_after_the_views_they_read(evaluated):
    views = [v["name"] for v in RESOURCES["bigquery"]["views"]]
    dataset = RESOURCES["bigquery"]["dataset"]
    for position, view in enumerate(RESOURCES["bigquery"]["views"]):
        reads = {other for other in views if other != view["name"] and f"${{dataset}}.{other}`" in _sql(view)}
        assert set(evaluated["view_references"][view["name"]]) == reads, view["name"]
        # resources.json lists them in dependency order (local provisioning creates them in it).
        assert reads <= set(views[:position]), f"{view['name']} reads {reads} listed after it"
        if reads:
            assert view["name"] in evaluated["views_derived"]
            assert reads <= set(evaluated["views_base"]), f"{view['name']}: three levels of views need a new tier"
        else:
            assert view["name"] in evaluated["views_base"]
        assert f"{dataset}." not in _sql(view).replace("${dataset}.", ""), f"{view['sql']}: hard-coded dataset"


# --- Firestore -------------------------------------------------------------------------------


def test_firestore_database_has_pitr_and_delete_protection(config):
    db = resource(config, "google_firestore_database", "default")
    assert db["type"] == "FIRESTORE_NATIVE" and db["name"] == "(default)"
    assert db["location_id"] == "${var.firestore_location}"
    assert db["point_in_time_recovery_enablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
    assert db["delete_protection_state"] == "DELETE_PROTECTION_ENABLED"
    assert db["deletion_policy"] == "ABANDON"


def test_ttl_policy_for_every_ttl_field_of_resources_json(config, evaluated):
    field = resource(config, "google_firestore_field", "ttl")
    assert field["for_each"] == "${local.ttl_fields}"
    assert field["collection"] == "${each.value.collection_group}" and field["field"] == "${each.value.field}"
    assert field["ttl_config"] == [{}]
    # Exempt from single-field indexes except those the TTL field lists in resources.json.
    (index_config,) = field["index_config"]
    assert set(index_config) == {"dynamic"}
    indexes = dynamic(index_config, "indexes")
    assert indexes["for_each"] == "${try(each.value.indexes, [])}"
    assert indexes["content"] == [{"order": "${indexes.value.order}", "query_scope": "${indexes.value.query_scope}"}]
    wanted = {(f["collection_group"], f["field"]) for f in RESOURCES["firestore"]["ttl_fields"]}
    got = {(f["collection_group"], f["field"]) for f in evaluated["ttl_fields"].values()}
    assert got == wanted and len(evaluated["ttl_fields"]) == len(RESOURCES["firestore"]["ttl_fields"])
    for ttl in evaluated["ttl_fields"].values():
        spec = next(f for f in RESOURCES["firestore"]["ttl_fields"] if f["collection_group"] == ttl["collection_group"])
        assert ttl.get("indexes", []) == spec.get("indexes", [])


def test_ttl_fields_agree_with_firestore_indexes_json():
    # Terraform exempts TTL fields from single-field indexes (index_config) except the indexes
    # resources.json lists; firebase deploy applies firestore.indexes.json. If the file did not
    # declare exactly the same indexes, each tool would undo the other, and
    # `firebase deploy --force` would delete the TTL policy of a field it does not list.
    overrides = json.loads((ROOT / "firestore.indexes.json").read_text()).get("fieldOverrides", [])
    by_field = {(o["collectionGroup"], o["fieldPath"]): o for o in overrides}
    for ttl in RESOURCES["firestore"]["ttl_fields"]:
        key = (ttl["collection_group"], ttl["field"])
        assert key in by_field, f'firestore.indexes.json must declare {key} with "indexes" as resources.json'
        declared = sorted((i["order"], i["queryScope"]) for i in by_field[key]["indexes"])
        wanted = sorted((i["order"], i["query_scope"]) for i in ttl.get("indexes", []))
        assert declared == wanted, f"{key}: indexes {declared} differ from Terraform's index_config {wanted}"
        assert by_field[key].get("ttl", True) is not False, f'{key}: "ttl": false would delete the TTL policy'


# --- IAM, secrets, APIs ----------------------------------------------------------------------


def test_no_primitive_roles_anywhere():
    for path in tf_files():
        text = path.read_text()
        for role in PRIMITIVE_ROLES:
            assert not re.search(rf"{re.escape(role)}(?![A-Za-z.])", text), f"{path.name} grants {role}"
    for path in tf_files():
        tree = parse(path)
        for block in tree.get("resource", []):
            for rtype in block:
                # Authoritative bindings would silently remove grants made by firebase deploy.
                assert not rtype.endswith(("_iam_policy", "_iam_binding")), f"{path.name}: {rtype}"


def test_project_level_roles_are_few_and_dataset_access_is_dataset_level(config, evaluated):
    project_roles = {binding["role"] for binding in evaluated["family_project_roles"].values()}
    assert project_roles <= {
        "roles/datastore.user",
        "roles/run.invoker",
        "roles/eventarc.eventReceiver",
        "roles/bigquery.jobUser",
    }, project_roles
    assert not (project_roles & PRIMITIVE_ROLES)
    assert resource(config, "google_project_iam_member", "functions")["for_each"] == "${local.family_project_roles}"
    assert set(config["resource"]["google_project_iam_member"]) == {"functions"}
    editor = resource(config, "google_bigquery_dataset_iam_member", "functions_write")
    assert editor["role"] == "roles/bigquery.dataEditor"
    assert editor["dataset_id"] == "${google_bigquery_dataset.analytics.dataset_id}"
    families = evaluated["function_families"]
    assert set(families) == {"ingestion", "realtime", "analytics_sink", "alerts", "scheduled", "reports", "access"}
    assert evaluated["unmapped_trigger_functions"] == []
    owners = [fn for family in families.values() for fn in family["functions"]]
    assert len(owners) == len(set(owners)), "a function belongs to one family"
    # Publishers are granted on specific topics only: the internal change topics and the
    # dead-letter topics of the triggers a family owns.
    topics = {t["name"] for t in RESOURCES["pubsub"]["topics"]}
    for binding in evaluated["family_topic_publishers"].values():
        assert binding["topic"] in topics
    integrator_topics = {t["name"] for t in RESOURCES["pubsub"]["topics"] if "schema" in t}
    assert not any(b["topic"] in integrator_topics for b in evaluated["family_topic_publishers"].values())


def test_secrets_are_declared_without_values(config, evaluated):
    assert "google_secret_manager_secret_version" not in config["resource"], "secret values must not be in the repo"
    for path in tf_files():
        assert not re.search(r"\bsecret_data\b", path.read_text()), f"{path.name} contains secret_data"
    secrets = resource(config, "google_secret_manager_secret", "notification")
    assert secrets["for_each"] == "${var.notification_secrets}" and secrets["secret_id"] == "${each.key}"
    readers = resource(config, "google_secret_manager_secret_iam_member", "readers")
    assert readers["role"] == "roles/secretmanager.secretAccessor"
    assert {b["family"] for b in evaluated["family_secret_readers"].values()} == {"alerts", "reports", "access"}
    assert set(config["variable"]["notification_secrets"]["default"]) == {"SLACK_WEBHOOK_URL", "SMTP_PASSWORD"}


def test_required_apis_are_enabled(config):
    apis = resource(config, "google_project_service", "required")
    assert apis["for_each"] == "${local.required_apis}"
    assert apis["disable_on_destroy"] is False
    listed = set(re.findall(r'"([a-z0-9.-]+\.googleapis\.com)"', (TF_DIR / "apis.tf").read_text()))
    assert REQUIRED_APIS <= listed, REQUIRED_APIS - listed


def test_terraform_and_provider_versions_are_pinned(config):
    block = config["terraform"][0]
    assert block["required_version"] == ">= 1.11"
    google = block["required_providers"][0]["google"]
    assert google["source"] == "hashicorp/google"
    assert re.fullmatch(r"~> \d+\.\d+", google["version"]), google["version"]


def test_outputs_give_the_functions_what_they_need(config):
    assert {"function_service_accounts", "topic_ids", "bigquery_dataset_id", "notification_secret_ids"} <= set(
        config["output"]
    )


# --- post-deploy trigger policies ------------------------------------------------------------


def _trigger_script():
    spec = importlib.util.spec_from_file_location(
        "apply_trigger_policies", TF_DIR / "scripts" / "apply_trigger_policies.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_trigger_policy_script_sets_every_function_trigger_policy_of_resources_json():
    script = _trigger_script()
    policies = script.load_policies(INFRA / "resources.json")
    assert [p.function for p in policies] == [t["function"] for t in RESOURCES["pubsub"]["function_triggers"]]
    for spec, policy in zip(RESOURCES["pubsub"]["function_triggers"], policies, strict=True):
        command = script.update_command(policy, "p1", "projects/p1/subscriptions/s")
        assert command[:5] == ["gcloud", "pubsub", "subscriptions", "update", "projects/p1/subscriptions/s"]
        assert f"--dead-letter-topic=projects/p1/topics/{spec['dead_letter_topic']}" in command
        assert f"--max-delivery-attempts={spec['max_delivery_attempts']}" in command
        assert f"--min-retry-delay={spec['retry_minimum_backoff']}" in command
        assert f"--max-retry-delay={spec['retry_maximum_backoff']}" in command
        assert f"--ack-deadline={spec['ack_deadline_seconds']}" in command
    grant = script.grant_command("p1", "s", script.pubsub_service_agent("123"))
    assert "--role=roles/pubsub.subscriber" in grant
    assert "--member=serviceAccount:service-123@gcp-sa-pubsub.iam.gserviceaccount.com" in grant
    shell = script.shell_script(policies, "p1", "us-central1")
    assert shell.count("gcloud pubsub subscriptions update") == len(policies)
    assert shell.count("add-iam-policy-binding") == len(policies)
    checked = subprocess.run(["bash", "-n"], input=shell, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


# --- tools: fmt and checkov ------------------------------------------------------------------


def test_terraform_fmt_check():
    terraform = _terraform()
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", str(TF_DIR)],
        capture_output=True, text=True, env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    assert result.returncode == 0, f"run: terraform fmt -recursive infra/terraform\n{result.stdout}{result.stderr}"


def _pinned_checkov() -> str:
    pins = re.findall(r"^checkov==(\S+)$", CHECKOV_REQUIREMENTS.read_text(), re.M)
    assert len(pins) == 1, f"{CHECKOV_REQUIREMENTS} must pin checkov exactly once"
    return pins[0]


def test_checkov_has_no_failed_check():
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed in .tools/checkov. Install it with:\n  {CHECKOV_INSTALL}", pytrace=False)
    version = subprocess.run([str(CHECKOV), "--version"], capture_output=True, text=True).stdout.strip()
    assert version == _pinned_checkov(), f"checkov {version} installed, {_pinned_checkov()} pinned: {CHECKOV_INSTALL}"
    result = subprocess.run(
        [str(CHECKOV), "-d", str(TF_DIR), "--framework", "terraform", "--skip-download", "--compact", "-o", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0 and not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0, report["results"]["parsing_errors"]
    assert summary["passed"] > 0
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 20, f"skip of {skipped['check_id']} on {skipped['resource']} needs a written reason"


def test_the_post_deploy_step_turns_retry_on_for_every_firestore_trigger():
    script = _trigger_script()
    retried = script.load_retried_functions(INFRA / "resources.json")
    declared = set()
    for path in (ROOT / "functions").glob("*/triggers.py"):
        declared |= set(
            re.findall(r"@firestore_fn\.on_document_\w+\([^@]*?\)\n(?:@[^\n]+\n)*def (\w+)", path.read_text())
        )
    assert declared and set(retried) == declared, "every Firestore-triggered function gets retry on failure"
    shell = script.shell_script(script.load_policies(INFRA / "resources.json"), "p1", "us-central1", retried)
    for function in retried:
        assert f"projects/p1/locations/us-central1/functions/{function}?updateMask=eventTrigger.retryPolicy" in shell
    assert shell.count("RETRY_POLICY_RETRY") == len(retried) and '"Authorization: Bearer $TOKEN"' in shell
    checked = subprocess.run(["bash", "-n"], input=shell, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
