#!/usr/bin/env python3
"""Post-deploy step: the delivery policy of the Pub/Sub triggers and the retry policy of the Firestore triggers.

`firebase deploy` creates one Pub/Sub subscription per Pub/Sub-triggered function, with a
generated name, so Terraform cannot own it. resources.json `pubsub.function_triggers` says what
each must get: a dead-letter topic, a delivery-attempt budget, a retry backoff and an ack
deadline. This script finds each subscription (function -> Eventarc trigger -> subscription) and
sets that policy with gcloud, and lets the Pub/Sub service agent acknowledge on it (required
for dead-lettering; publishing to the dead-letter topics is granted by Terraform).

    python3 infra/terraform/scripts/apply_trigger_policies.py --project P --region R          # print the commands
    python3 infra/terraform/scripts/apply_trigger_policies.py --project P --region R --run    # run them

The Python SDK deploys Firestore-triggered functions without retry-on-failure and cannot declare
it; resources.json `firestore.trigger_retry` lists those whose retry policy this script sets to
RETRY_POLICY_RETRY through the Cloud Functions v2 API (a PATCH of eventTrigger.retryPolicy).

Idempotent: run it after every `firebase deploy` (a redeploy may recreate a trigger and its
subscription with default settings, and resets the retry policy). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources.json"


@dataclass(frozen=True)
class TriggerPolicy:
    """Delivery policy one Pub/Sub-triggered function's subscription must have."""

    function: str
    topic: str
    dead_letter_topic: str
    max_delivery_attempts: int
    retry_minimum_backoff: str
    retry_maximum_backoff: str
    ack_deadline_seconds: int


def load_retried_functions(path: Path = RESOURCES) -> list[str]:
    """The Firestore-triggered functions whose retry policy is turned on (resources.json firestore.trigger_retry)."""
    return list(json.loads(path.read_text())["firestore"]["trigger_retry"]["functions"])


def retry_url(project: str, region: str, function: str) -> str:
    """Cloud Functions v2 API address that updates only the function's event trigger retry policy."""
    return (
        f"https://cloudfunctions.googleapis.com/v2/projects/{project}/locations/{region}/functions/{function}"
        "?updateMask=eventTrigger.retryPolicy"
    )


RETRY_BODY = '{"eventTrigger": {"retryPolicy": "RETRY_POLICY_RETRY"}}'


def retry_command(project: str, region: str, function: str) -> list[str]:
    """curl command that turns retry on for one Firestore-triggered function (token from gcloud)."""
    return [
        "curl", "--fail-with-body", "-sS", "-X", "PATCH",
        "-H", "Authorization: Bearer TOKEN", "-H", "Content-Type: application/json",
        "--data", RETRY_BODY, retry_url(project, region, function),
    ]  # fmt: skip


def load_policies(path: Path = RESOURCES) -> list[TriggerPolicy]:
    """The function_triggers of resources.json."""
    spec = json.loads(path.read_text())
    return [
        TriggerPolicy(
            function=t["function"],
            topic=t["topic"],
            dead_letter_topic=t["dead_letter_topic"],
            max_delivery_attempts=int(t["max_delivery_attempts"]),
            retry_minimum_backoff=t["retry_minimum_backoff"],
            retry_maximum_backoff=t["retry_maximum_backoff"],
            ack_deadline_seconds=int(t["ack_deadline_seconds"]),
        )
        for t in spec["pubsub"]["function_triggers"]
    ]


def pubsub_service_agent(project_number: str) -> str:
    """The Pub/Sub service agent, which moves undeliverable messages to the dead-letter topic."""
    return f"serviceAccount:service-{project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"


def update_command(policy: TriggerPolicy, project: str, subscription: str) -> list[str]:
    """gcloud command that sets the policy on the function's subscription."""
    return [
        "gcloud", "pubsub", "subscriptions", "update", subscription,
        f"--project={project}",
        f"--dead-letter-topic=projects/{project}/topics/{policy.dead_letter_topic}",
        f"--max-delivery-attempts={policy.max_delivery_attempts}",
        f"--min-retry-delay={policy.retry_minimum_backoff}",
        f"--max-retry-delay={policy.retry_maximum_backoff}",
        f"--ack-deadline={policy.ack_deadline_seconds}",
    ]  # fmt: skip


def grant_command(project: str, subscription: str, service_agent: str) -> list[str]:
    """gcloud command that lets the Pub/Sub service agent acknowledge dead-lettered messages."""
    return [
        "gcloud", "pubsub", "subscriptions", "add-iam-policy-binding", subscription,
        f"--project={project}", f"--member={service_agent}", "--role=roles/pubsub.subscriber",
    ]  # fmt: skip


def trigger_command(policy: TriggerPolicy, project: str, region: str) -> list[str]:
    """gcloud command that prints the Eventarc trigger of a deployed function."""
    return [
        "gcloud", "functions", "describe", policy.function,
        f"--project={project}", f"--region={region}", "--format=value(eventTrigger.trigger)",
    ]  # fmt: skip


def subscription_command(trigger: str, project: str) -> list[str]:
    """gcloud command that prints an Eventarc trigger's transport (topic and subscription) as JSON."""
    return [
        "gcloud", "eventarc", "triggers", "describe", trigger,
        f"--project={project}", "--format=json(transport.pubsub)",
    ]  # fmt: skip


def shell_script(policies: list[TriggerPolicy], project: str, region: str, retried: list[str] | None = None) -> str:
    """The whole step as a bash script (what --run does, for review or to paste)."""
    lines = [
        "#!/usr/bin/env bash",
        "# Generated by infra/terraform/scripts/apply_trigger_policies.py from infra/resources.json",
        "set -euo pipefail",
        f"PROJECT_NUMBER=$(gcloud projects describe {shlex.quote(project)} --format='value(projectNumber)')",
        'AGENT="serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"',
    ]
    for policy in policies:
        trigger = shlex.join(trigger_command(policy, project, region))
        lines += [
            "",
            f"# {policy.function} <- {policy.topic}: dead letters to {policy.dead_letter_topic} after "
            f"{policy.max_delivery_attempts} attempts, "
            f"backoff {policy.retry_minimum_backoff}..{policy.retry_maximum_backoff}",
            f"TRIGGER=$({trigger})",
            f'SUB=$(gcloud eventarc triggers describe "$TRIGGER" --project={shlex.quote(project)} '
            "--format='value(transport.pubsub.subscription)')",
            shlex.join(update_command(policy, project, "SUBSCRIPTION")).replace("SUBSCRIPTION", '"$SUB"'),
            shlex.join(grant_command(project, "SUBSCRIPTION", "AGENT"))
            .replace("SUBSCRIPTION", '"$SUB"')
            .replace("--member=AGENT", '--member="$AGENT"'),
        ]
    if retried:
        lines += [
            "",
            "# Firestore triggers: retry on failure (the Python SDK cannot declare it)",
            "TOKEN=$(gcloud auth print-access-token)",
        ]
        for function in retried:
            lines.append(
                shlex.join(retry_command(project, region, function)).replace(
                    "'Authorization: Bearer TOKEN'", '"Authorization: Bearer $TOKEN"'
                )
            )
    return "\n".join(lines) + "\n"


def _gcloud(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(command)}\n{result.stderr.strip()}")
    return result.stdout.strip()


def run(policies: list[TriggerPolicy], project: str, region: str) -> None:
    """Find each function's subscription and apply its policy."""
    number = _gcloud(["gcloud", "projects", "describe", project, "--format=value(projectNumber)"])
    agent = pubsub_service_agent(number)
    for policy in policies:
        trigger = _gcloud(trigger_command(policy, project, region))
        if not trigger:
            raise SystemExit(f"{policy.function}: no Eventarc trigger (is it deployed in {region}?)")
        transport = json.loads(_gcloud(subscription_command(trigger, project)) or "{}")
        pubsub = transport.get("transport", {}).get("pubsub", {})
        subscription, topic = pubsub.get("subscription"), pubsub.get("topic", "")
        if not subscription:
            raise SystemExit(f"{policy.function}: trigger {trigger} has no Pub/Sub subscription")
        if not topic.endswith(f"/topics/{policy.topic}"):
            raise SystemExit(f"{policy.function}: trigger listens to {topic!r}, resources.json says {policy.topic!r}")
        _gcloud(update_command(policy, project, subscription))
        _gcloud(grant_command(project, subscription, agent))
        print(f"{policy.function}: {subscription} -> dead letters to {policy.dead_letter_topic} "
              f"after {policy.max_delivery_attempts} attempts")  # fmt: skip


def set_retry(project: str, region: str, functions: list[str]) -> None:
    """Turn retry on for each Firestore-triggered function (Cloud Functions v2 API)."""
    import urllib.request

    token = _gcloud(["gcloud", "auth", "print-access-token"])
    for function in functions:
        request = urllib.request.Request(
            retry_url(project, region, function),
            data=RETRY_BODY.encode(),
            method="PATCH",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
        except OSError as exc:
            raise SystemExit(f"{function}: could not set its retry policy: {exc}") from exc
        print(f"{function}: retry on failure")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, help="project id")
    parser.add_argument("--region", required=True, help="region of the functions")
    parser.add_argument("--run", action="store_true", help="run the gcloud commands instead of printing them")
    parser.add_argument("--resources", type=Path, default=RESOURCES, help="path of resources.json")
    args = parser.parse_args(argv)
    policies = load_policies(args.resources)
    retried = load_retried_functions(args.resources)
    if args.run:
        run(policies, args.project, args.region)
        set_retry(args.project, args.region, retried)
    else:
        sys.stdout.write(shell_script(policies, args.project, args.region, retried))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
