"""firebase-tools runs with the preload that gives each request to a Python worker its own connection and port."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading

import pytest

from tools.setup_env import ROOT
from tools.stack.emulators import WORKER_CONNECTIONS_PRELOAD


def _connection_headers_sent_by_node(preload: bool) -> list[str]:
    """Two requests from Node's default HTTP agent; the Connection header the server saw on each."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run ./dev setup (firebase-tools needs it too)")
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - the http.server hook name
            seen.append(self.headers.get("Connection", ""))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "const http = require('http');"
        f"const get = () => new Promise(r => http.get({{host: '127.0.0.1', port: {server.server_port}}},"
        " res => { res.resume(); res.on('end', r); }));"
        "get().then(get).then(() => process.exit(0));"
    )
    command = [node, *(["--require", str(WORKER_CONNECTIONS_PRELOAD)] if preload else []), "-e", script]
    try:
        subprocess.run(command, check=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    return seen


def test_node_keeps_worker_connections_alive_by_default():
    # Why the preload exists: Node 20 reuses connections, which races gunicorn's 2 s idle close.
    assert _connection_headers_sent_by_node(preload=False) == ["keep-alive", "keep-alive"]


def test_the_preload_makes_node_close_each_connection():
    assert _connection_headers_sent_by_node(preload=True) == ["close", "close"]


def _ports_handed_to_two_workers(preload: bool) -> list[int]:
    """Two port requests as firebase-tools makes for two Python workers started within a second."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run ./dev setup (firebase-tools needs it too)")
    script = (
        "const pf = require('portfinder');"
        "(async () => { const a = await pf.getPortPromise({port: 8600});"
        " const b = await pf.getPortPromise({port: 8600}); console.log(JSON.stringify([a, b])); })();"
    )
    command = [node, *(["--require", str(WORKER_CONNECTIONS_PRELOAD)] if preload else []), "-e", script]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(result.stdout)


def test_two_workers_started_at_once_can_get_the_same_port_by_default():
    # Why: the worker binds its port a second later, so the second one would fail to serve.
    first, second = _ports_handed_to_two_workers(preload=False)
    assert first == second


def test_the_preload_never_hands_out_a_port_twice():
    first, second = _ports_handed_to_two_workers(preload=True)
    assert first != second
