"""The HTTP endpoints' shared guard and reply: one method (405 + Allow), a transient failure as 503 + Retry-After,
a caller's mistake answered and never raised, and the response a trigger sends."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import pytest
from adapters.errors import TransientError
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, json_object, serve
from aggregations.definition_check import DefinitionCheckEndpoint
from alerts.console import AlertConsole
from drilldown.endpoints import DrillDownEndpoints
from flask import Request
from ingestion.upload_service import UploadEndpoint
from operations.close import CloseStatusEndpoint
from organizations.access import AccessEndpoint
from organizations.imports import SheetEndpoint
from reports.download import DownloadEndpoint
from werkzeug.test import EnvironBuilder


def _ok(request: HttpRequest) -> HttpReply:
    return HttpReply(200, {"ok": True})


def test_another_method_is_refused_with_405_and_allow():
    reply = EndpointGuard("close status", "GET").respond(HttpRequest("POST"), _ok)
    assert (reply.status, reply.headers, reply.body) == (
        405,
        {"Allow": "GET"},
        {"error": "method_not_allowed", "message": "use GET"},
    )
    hinted = EndpointGuard("upload", "POST", method_hint="use POST with the file as the body").respond(
        HttpRequest("PUT"), _ok
    )
    assert hinted.status == 405 and hinted.body["message"] == "use POST with the file as the body"  # type: ignore[index]
    assert EndpointGuard("close status", "GET").respond(HttpRequest("get"), _ok).status == 200


def test_a_transient_failure_is_503_with_retry_after_and_a_log_line_naming_the_endpoint(caplog):
    def interrupted(request: HttpRequest) -> HttpReply:
        raise TransientError("Firestore unavailable")

    guard = EndpointGuard("definition check", "POST", interrupted="the check", retry_after_seconds=2)
    with caplog.at_level(logging.WARNING):
        reply = guard.respond(HttpRequest("POST"), interrupted)
    assert reply.status == 503 and reply.headers == {"Retry-After": "2"}
    assert reply.body == {"error": "unavailable", "message": "a temporary failure interrupted the check: try again"}
    assert "definition check interrupted by a transient failure: Firestore unavailable" in caplog.text


def test_a_guarded_handler_keeps_its_name_and_answers_through_the_guard():
    class Endpoint:
        @EndpointGuard("close status", "GET")
        def handle(self, request: HttpRequest) -> HttpReply:
            """Answers."""
            return _ok(request)

    assert Endpoint.handle.__name__ == "handle" and Endpoint.handle.__doc__ == "Answers."
    assert Endpoint().handle(HttpRequest("GET")).status == 200
    assert Endpoint().handle(HttpRequest("POST")).headers == {"Allow": "GET"}


def test_any_other_failure_is_not_swallowed():
    def broken(request: HttpRequest) -> HttpReply:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        EndpointGuard("download", "GET").respond(HttpRequest("GET"), broken)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"x" * 11, 413, "the request body is over 10 bytes"),
        (b"{not json", 400, "the body must be JSON"),
        (b"[1, 2]", 400, "the body must be a JSON object"),
        (b'"\xff"', 400, "the body must be JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_answered(body, status, message):
    reply = json_object(body, 10)
    assert isinstance(reply, HttpReply) and reply.status == status and reply.body["message"] == message  # type: ignore[index]
    assert json_object(b"", 10) == {} and json_object(b'{"a": 1}', 10) == {"a": 1}


class _Untouchable:
    """A dependency a refused request must never reach."""

    def __getattr__(self, name: str):
        raise AssertionError(f"a refused request reached {name}")


def _never_verified(token: str):
    raise AssertionError("no token to verify")


def _endpoints():
    nothing = _Untouchable()
    return {
        "history": lambda r: DrillDownEndpoints(nothing, nothing, nothing, _never_verified).handle("history", r),  # type: ignore[arg-type]
        "export": lambda r: DrillDownEndpoints(nothing, nothing, nothing, _never_verified).handle("export", r),  # type: ignore[arg-type]
        "definition check": DefinitionCheckEndpoint(nothing, nothing, _never_verified).handle,  # type: ignore[arg-type]
        "close status": CloseStatusEndpoint(nothing, _never_verified).handle,  # type: ignore[arg-type]
        "upload": UploadEndpoint(nothing, nothing, nothing, _never_verified).handle,  # type: ignore[arg-type]
        "access": AccessEndpoint(nothing, _never_verified).handle,  # type: ignore[arg-type]
        "sheets": SheetEndpoint(nothing, _never_verified).handle,  # type: ignore[arg-type]
        "download": DownloadEndpoint(nothing, nothing, _never_verified).handle,  # type: ignore[arg-type]
        "console": AlertConsole(nothing, nothing, nothing, nothing, _never_verified, lambda: datetime.now(UTC)).handle,  # type: ignore[arg-type]
    }


@pytest.mark.parametrize("name", list(_endpoints()))
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", ""])
@pytest.mark.parametrize("authorization", [None, "", "Basic abc", "Bearer "])
def test_every_endpoint_answers_a_caller_mistake_and_never_raises(name, method, authorization):
    request = HttpRequest(
        method,
        authorization,
        path="/api/nowhere/../\x00",
        args={"org_id": "../x", "period": "13", "file": "\x00"},
        body=b"\xff\xfe not json",
        content_type="text/html",
        content_length=-1,
        read_body=lambda n: b"\xff" * min(n, 10),
    )
    reply = _endpoints()[name](request)
    assert 400 <= reply.status < 500
    payload = json.loads(reply.content)
    assert set(payload) == {"error", "message"} and reply.content_type == "application/json"
    if reply.status == 405:
        assert reply.headers["Allow"] in {"GET", "POST"}
    elif reply.status == 401:
        assert reply.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_serve_sends_the_reply_and_drops_the_rest_of_the_body():
    body = io.BytesIO(b'{"org_id": "acme"}' + b" " * (3 * 1024 * 1024))
    environ = EnvironBuilder(
        method="POST",
        path="/api/alerts/test",
        query_string={"org_id": "acme"},
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
        input_stream=body,
    ).get_environ()
    seen: list[HttpRequest] = []

    def handle(request: HttpRequest) -> HttpReply:
        seen.append(request)
        return error_reply(503, "unavailable", "later", {"Retry-After": "5"})

    response = serve(Request(environ), handle, body_limit=20, headers={"Access-Control-Expose-Headers": "X"})
    (request,) = seen
    assert (request.method, request.path, request.authorization) == ("POST", "/api/alerts/test", "Bearer t")
    assert request.arg("org_id") == "acme" and request.content_type == "application/json"
    assert len(request.body) == 21 and body.read() == b""
    assert response.status_code == 503 and response.content_type == "application/json"
    assert json.loads(response.get_data()) == {"error": "unavailable", "message": "later"}
    assert response.headers["Retry-After"] == "5" and response.headers["Access-Control-Expose-Headers"] == "X"


def test_serve_sends_a_file_with_its_content_type():
    environ = EnvironBuilder(method="GET", path="/api/reports/download").get_environ()
    reply = HttpReply(200, b"%PDF-1.7", {"Content-Disposition": 'attachment; filename="pack.pdf"'}, "application/pdf")
    response = serve(Request(environ), lambda request: reply)
    assert response.get_data() == b"%PDF-1.7" and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="pack.pdf"'
