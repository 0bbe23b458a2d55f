"""The dashboard's Hosting setup: its port follows FINANCE_HOSTING_PORT, the upload rewrite names a real function."""

from __future__ import annotations

import json

from tools.stack.config import ROOT, StackConfig
from tools.stack.emulators import FIREBASE_SERVICES, LocalStack, expected_functions


def test_the_hosting_port_defaults_to_firebase_json_and_follows_its_override(monkeypatch):
    monkeypatch.delenv("FINANCE_HOSTING_PORT", raising=False)
    assert StackConfig.load().ports["hosting"] == 5000
    monkeypatch.setenv("FINANCE_HOSTING_PORT", "6123")
    config = StackConfig.load()
    assert config.ports["hosting"] == 6123 and not config.uses_default_ports
    assert "hosting" in FIREBASE_SERVICES


def test_the_generated_firebase_config_moves_the_hosting_emulator(monkeypatch, tmp_path):
    from tools.stack import emulators

    # Written in a scratch folder: a running stack may be using the project's firebase.local.json.
    (tmp_path / "firebase.json").write_text((ROOT / "firebase.json").read_text())
    monkeypatch.setattr(emulators, "ROOT", tmp_path)
    monkeypatch.setenv("FINANCE_HOSTING_PORT", "6123")
    path = LocalStack(StackConfig.load())._firebase_config()
    assert path.parent == tmp_path
    assert json.loads(path.read_text())["emulators"]["hosting"]["port"] == 6123


def test_hosting_serves_the_built_app_and_rewrites_uploads_to_ingest_upload():
    hosting = json.loads((ROOT / "firebase.json").read_text())["hosting"]
    assert hosting["public"] == "web/dist"
    rewrites = {r["source"]: r for r in hosting["rewrites"]}
    assert rewrites["/api/upload"]["function"]["functionId"] in expected_functions()
    # The single-page app's catch-all comes last: Hosting applies the first matching rewrite.
    assert hosting["rewrites"][-1] == {"source": "**", "destination": "/index.html"}
    assert any("run build" in step for step in hosting["predeploy"])
