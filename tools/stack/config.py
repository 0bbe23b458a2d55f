"""Where everything of the local stack lives: ports (overridable by env), folders, project id."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = ROOT / ".stack"
LOG_DIR = STACK_DIR / "logs"
TOOLS_DIR = ROOT / ".tools"
STATE_FILE = STACK_DIR / "state.json"
# Written by the Pub/Sub dispatcher once it pulls every function's subscription (tools/stack/dispatcher.py).
DISPATCHER_READY_FILE = STACK_DIR / "dispatcher.ready"
# What the dispatcher is delivering now (tools.stack.dispatcher.DeliveryActivity), rewritten twice a second.
DISPATCHER_ACTIVITY_FILE = STACK_DIR / "dispatcher-activity.json"
DEFAULT_PROJECT = "demo-finance-live"
# Services outside firebase.json and their default ports (FINANCE_<NAME>_PORT overrides them too).
EXTRA_DEFAULT_PORTS = {"bigquery": 9050, "bigquery_grpc": 9060, "storage": 9199, "mail": 1025}


def _firebase_ports() -> dict[str, int]:
    config = json.loads((ROOT / "firebase.json").read_text())
    emulators = config["emulators"]
    ports = {name: int(spec["port"]) for name, spec in emulators.items() if isinstance(spec, dict) and "port" in spec}
    if "websocketPort" in emulators.get("firestore", {}):
        ports["firestore_websocket"] = int(emulators["firestore"]["websocketPort"])
    return ports


@dataclass(frozen=True)
class StackConfig:
    """Ports and names of one local stack. Env vars FINANCE_<SERVICE>_PORT override the defaults."""

    project_id: str = DEFAULT_PROJECT
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls) -> StackConfig:
        """Defaults from firebase.json plus the BigQuery and Cloud Storage emulators, overridden by the environment."""
        ports = _firebase_ports()
        for name, port in EXTRA_DEFAULT_PORTS.items():
            ports.setdefault(name, port)
        defaults = dict(ports)
        for name in list(ports):
            override = os.environ.get(f"FINANCE_{name.upper()}_PORT")
            if override:
                ports[name] = int(override)
        if not os.environ.get("FINANCE_MAIL_PORT"):
            # The mailbox is newer than most environments' port settings: it moves with the hub,
            # so stacks started with shifted ports each get their own mailbox.
            ports["mail"] = defaults["mail"] + ports["hub"] - defaults["hub"]
        project = os.environ.get("FINANCE_PROJECT_ID", DEFAULT_PROJECT)
        return cls(project_id=project, ports=ports)

    def address(self, service: str) -> str:
        """host:port of a service."""
        return f"{self.host}:{self.ports[service]}"

    @property
    def uses_default_ports(self) -> bool:
        """True when firebase.json can be used as is."""
        return self.ports == {**EXTRA_DEFAULT_PORTS, **_firebase_ports()}

    def client_env(self) -> dict[str, str]:
        """Environment variables that point the official client libraries at this stack."""
        env = {
            "GOOGLE_CLOUD_PROJECT": self.project_id,
            "GCLOUD_PROJECT": self.project_id,
            "FIRESTORE_EMULATOR_HOST": self.address("firestore"),
            "PUBSUB_EMULATOR_HOST": self.address("pubsub"),
            "FIREBASE_AUTH_EMULATOR_HOST": self.address("auth"),
            "BIGQUERY_EMULATOR_HOST": self.address("bigquery"),
        }
        # A stack started before the storage emulator existed has no port for it in its state file.
        if "storage" in self.ports:
            env["STORAGE_EMULATOR_HOST"] = f"http://{self.address('storage')}"
        return env

    def apply_client_env(self) -> None:
        """Set the client environment in this process."""
        os.environ.update(self.client_env())
