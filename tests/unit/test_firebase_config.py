"""firebase.json is valid for firebase-tools, and its predeploy step packages the core the functions install."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]
FIREBASE_JSON = ROOT / "firebase.json"
SCHEMA = ROOT / "node_modules" / "firebase-tools" / "schema" / "firebase-config.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SCHEMA.exists():
        pytest.fail(f"{SCHEMA.relative_to(ROOT)} is missing: run `npm ci` (or ./dev setup)", pytrace=False)
    schema = json.loads(SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _errors(validator: Draft7Validator, config: object) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(config)]


def test_firebase_json_validates_against_the_firebase_tools_schema(validator):
    errors = _errors(validator, json.loads(FIREBASE_JSON.read_text()))
    assert not errors, "firebase.json does not match firebase-tools' schema:\n" + "\n".join(errors)


def test_the_schema_rejects_a_broken_config(validator):
    # The check above must be able to fail.
    broken = json.loads(FIREBASE_JSON.read_text())
    broken["functions"][0]["runtime"] = 311
    broken["firestore"]["rulez"] = "firestore.rules"
    assert _errors(validator, broken)


def test_functions_are_python_311_and_packaged_by_the_predeploy_step():
    (codebase,) = json.loads(FIREBASE_JSON.read_text())["functions"]
    assert codebase["source"] == "functions" and codebase["runtime"] == "python311"
    assert any("tools/package_core.py" in step for step in codebase["predeploy"]), codebase["predeploy"]
    # The local venv is never uploaded.
    assert "venv" in codebase["ignore"]


@pytest.fixture(scope="module")
def core_wheel(tmp_path_factory) -> Path:
    """The wheel the predeploy step builds, built into a temporary folder instead of functions/wheels."""
    from tools import package_core

    target = tmp_path_factory.mktemp("wheels")
    original = package_core.WHEELS
    package_core.WHEELS = target
    try:
        return package_core.build_core_wheel()
    finally:
        package_core.WHEELS = original


def test_core_wheel_contains_the_contract_and_its_data(core_wheel):
    with zipfile.ZipFile(core_wheel) as wheel:
        names = set(wheel.namelist())
    for required in ("finance_core/events.py", "finance_core/data/iso4217.json", "finance_core/avro_schema.py"):
        assert required in names, f"{core_wheel.name} lacks {required}"
    assert not any(name.startswith(("tests/", "functions/")) for name in names)


def test_functions_requirements_are_a_lock_with_hashes_of_pypi_packages_only():
    lock = (ROOT / "functions" / "requirements.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2].strip())
    assert len(entries) > 30, "the lock pins every transitive dependency"
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9._-]+==\S+ \\", entry), f"not a pinned requirement: {entry[:80]!r}"
        assert "--hash=sha256:" in entry, f"no hash: {entry[:80]!r}"
    assert "wheels/" not in lock and "file:" not in lock
    locked = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock, re.M))
    locked = {name.lower().replace("_", "-"): version for name, version in locked.items()}
    for line in (ROOT / "functions" / "requirements.in").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            assert locked.get(name.lower().replace("_", "-")) == version.strip(), (
                f"{line} is not what requirements.txt locks: run .venv/bin/python tools/lock_functions.py"
            )


def test_the_predeploy_copy_of_the_core_carries_the_contract_and_its_data(tmp_path):
    from tools import package_core

    target = package_core.vendor_core(tmp_path / "finance_core")
    for required in ("events.py", "data/iso4217.json", "avro_schema.py", "health.py"):
        assert (target / required).is_file(), required
    assert not list(target.rglob("__pycache__"))
    (codebase,) = json.loads(FIREBASE_JSON.read_text())["functions"]
    assert any("--clean" in step for step in codebase["postdeploy"]) and "wheels" in codebase["ignore"]


def test_deploying_the_functions_applies_the_trigger_policies_in_the_same_command(tmp_path):
    """firebase deploy resets the triggers' dead letters and retries; its postdeploy hook sets them again.

    The hook runs with firebase-tools' environment (PROJECT_DIR, GCLOUD_PROJECT); here the same
    command line runs without --run, so it prints the commands it would run for that project.
    """
    (codebase,) = json.loads(FIREBASE_JSON.read_text())["functions"]
    [hook] = [step for step in codebase["postdeploy"] if "apply_trigger_policies.py" in step]
    assert codebase["postdeploy"][-1] == hook, "the policies come last, once the deployed triggers exist"
    assert hook.endswith(" --run") and '--project "$GCLOUD_PROJECT"' in hook
    env = {**os.environ, "PROJECT_DIR": str(ROOT), "GCLOUD_PROJECT": "finance-prod"}
    printed = subprocess.run(
        ["bash", "-c", hook.removesuffix(" --run")], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "gcloud pubsub subscriptions update" in printed and "--project=finance-prod" in printed
    assert "RETRY_POLICY_RETRY" in printed and "locations/us-central1/functions/" in printed
