"""The HTTP endpoints' shared shape: one typed request and reply, the JSON error, and the common guard.

Every HTTP function of the backend answers through an endpoint class that takes an `HttpRequest` and
returns an `HttpReply`, so the endpoint is tested without a server and the trigger stays thin
(`serve`). Errors are JSON `{"error": code, "message": message}`: the dashboard and docs/ read the
codes. `EndpointGuard` holds what the endpoints share around their own logic: the one method they
accept (405 with `Allow` otherwise) and a transient failure answered as 503 `unavailable` with
`Retry-After`, never raised, so a client retries instead of seeing a crash.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from firebase_functions import https_fn

from adapters.errors import TransientError
from adapters.identity import Refusal
from adapters.request_body import discard_rest, read_limited

log = logging.getLogger(__name__)

E = TypeVar("E")


def _no_body(size: int) -> bytes:
    return b""


@dataclass(frozen=True)
class HttpRequest:
    """What the endpoints need of an HTTP request.

    `body` is what the function read of the body before handling it (at most one byte over the
    endpoint's limit); an endpoint that must know its caller before reading a file reads it itself
    with `read_body(n)` (at most n bytes).
    """

    method: str
    authorization: str | None = None
    path: str = ""
    args: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str | None = None
    content_length: int | None = None
    read_body: Callable[[int], bytes] = _no_body

    def arg(self, name: str) -> str:
        """A query parameter, stripped ('' when absent)."""
        return (self.args.get(name) or "").strip()


@dataclass(frozen=True)
class HttpReply:
    """Status, body (a JSON object, or the bytes of a file), headers and the body's content type."""

    status: int
    body: Mapping[str, Any] | bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @property
    def content(self) -> bytes:
        """The bytes the client receives."""
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


def error_reply(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HttpReply:
    """The JSON error every endpoint answers with: {"error": code, "message": message}."""
    return HttpReply(status, {"error": code, "message": message}, headers or {})


def refused(refusal: Refusal) -> HttpReply:
    """The reply to a caller refused by adapters.identity (401 with a challenge, or 403)."""
    return error_reply(refusal.status, refusal.code, refusal.message, refusal.headers)


def json_object(body: bytes, max_bytes: int) -> dict[str, Any] | HttpReply:
    """The JSON object of a request body, or the 413/400 reply saying why it is not one."""
    if len(body) > max_bytes:
        return error_reply(413, "too_large", f"the request body is over {max_bytes} bytes")
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return error_reply(400, "invalid_request", "the body must be JSON")
    if not isinstance(parsed, dict):
        return error_reply(400, "invalid_request", "the body must be a JSON object")
    return parsed


@dataclass(frozen=True)
class EndpointGuard:
    """What an endpoint does before and around its own logic, declared on its handler:

        @EndpointGuard("close status", "GET", interrupted="the check")
        def handle(self, request: HttpRequest) -> HttpReply: ...

    `endpoint` names it in the log line of a transient failure; `method` is the one it accepts
    (`method_hint` says how to call it instead, "use GET" by default); the 503 reads "a temporary
    failure interrupted {interrupted}: {retry_hint}" with `Retry-After: retry_after_seconds`.
    """

    endpoint: str
    method: str
    interrupted: str = "the request"
    retry_hint: str = "try again"
    retry_after_seconds: int = 5
    method_hint: str = ""

    def __call__(self, handler: Callable[[E, HttpRequest], HttpReply]) -> Callable[[E, HttpRequest], HttpReply]:
        """The handler (a method of the endpoint), guarded."""

        @functools.wraps(handler)
        def guarded(endpoint: E, request: HttpRequest) -> HttpReply:
            return self.respond(request, lambda checked: handler(endpoint, checked))

        return guarded

    def respond(self, request: HttpRequest, handle: Callable[[HttpRequest], HttpReply]) -> HttpReply:
        """The full response; never raises for the caller's mistakes nor for a transient failure."""
        if request.method.upper() != self.method:
            return error_reply(
                405, "method_not_allowed", self.method_hint or f"use {self.method}", {"Allow": self.method}
            )
        try:
            return handle(request)
        except TransientError as exc:
            log.warning("%s interrupted by a transient failure: %s", self.endpoint, exc)
            return error_reply(
                503,
                "unavailable",
                f"a temporary failure interrupted {self.interrupted}: {self.retry_hint}",
                {"Retry-After": str(self.retry_after_seconds)},
            )


def serve(
    request: https_fn.Request,
    handle: Callable[[HttpRequest], HttpReply],
    *,
    body_limit: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> https_fn.Response:
    """An HTTP trigger's whole work: the request as an HttpRequest, the endpoint's reply as the response.

    With `body_limit` the body is read first (one byte over the limit at most: enough to refuse it);
    without, the endpoint reads what it needs with `read_body`. Whatever is left of the body is
    dropped a chunk at a time (adapters.request_body), so a refused large body never sits in memory.
    `headers` are added to every reply (e.g. which headers a page of another origin may read).
    """
    try:
        reply = handle(
            HttpRequest(
                method=request.method,
                authorization=request.headers.get("Authorization"),
                path=request.path,
                args=dict(request.args.items()),
                body=read_limited(request.stream.read, body_limit) if body_limit is not None else b"",
                content_type=request.headers.get("Content-Type"),
                content_length=request.content_length,
                read_body=request.stream.read,
            )
        )
    finally:
        discard_rest(request.stream.read)
    return https_fn.Response(
        reply.content,
        status=reply.status,
        headers={**reply.headers, **(headers or {})},
        content_type=reply.content_type,
    )
