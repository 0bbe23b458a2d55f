"""Every deployed function runs as the service account of the Terraform family that lists it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hcl2
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]


def _families() -> dict[str, dict]:
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    with (ROOT / "infra" / "terraform" / "locals.tf").open() as handle:
        tree = hcl2.load(handle, serialization_options=options)
    for block in tree.get("locals", []):
        if "function_families" in block:
            return block["function_families"]
    raise AssertionError("infra/terraform/locals.tf declares no function_families")


def _endpoints() -> dict[str, dict]:
    # Import main in a fresh interpreter: params and triggers register themselves globally.
    code = (
        "import json, main\n"
        "out = {}\n"
        "for name in main.__all__:\n"
        "    e = getattr(main, name).__firebase_endpoint__\n"
        "    pick = lambda v: v if isinstance(v, (int, str)) else None\n"
        "    out[name] = {'service_account': pick(e.serviceAccountEmail), 'concurrency': pick(e.concurrency),"
        " 'cpu': pick(e.cpu), 'memory': pick(e.availableMemoryMb)}\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions",
        capture_output=True,
        text=True,
        env={"GCLOUD_PROJECT": "demo-finance-live", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_each_function_belongs_to_exactly_one_family_and_runs_as_its_account():
    families = _families()
    endpoints = _endpoints()
    owners: dict[str, list[str]] = {}
    for family, spec in families.items():
        for function in spec["functions"]:
            owners.setdefault(function, []).append(family)
    problems = []
    for function, endpoint in sorted(endpoints.items()):
        family = owners.get(function, [])
        if len(family) != 1:
            problems.append(f"{function}: listed in families {family or 'none'} of infra/terraform/locals.tf")
            continue
        expected = families[family[0]]["account_id"] + "@"
        if endpoint["service_account"] != expected:
            problems.append(
                f"{function}: service_account {endpoint['service_account']!r}, expected {expected!r} "
                "(use functions/adapters/deployment.py)"
            )
    unknown = sorted(set(owners) - set(endpoints))
    if unknown:
        problems.append(f"functions in Terraform families but not exported by functions/main.py: {unknown}")
    assert problems == []


def test_concurrent_functions_get_a_whole_cpu():
    for function, endpoint in _endpoints().items():
        if (endpoint["concurrency"] or 1) > 1:
            assert endpoint["cpu"] is not None and endpoint["cpu"] >= 1, f"{function}: concurrency needs cpu >= 1"
