"""The sheet endpoint: an admin's CSV or XLSX file of reference data read into rows for the console.

POST /api/sheets/read?org_id=ORG   (Content-Type text/csv or the .xlsx type; the file is the body)
-> 200 {"file_format", "columns": [...], "rows": [{"row": 2, "cells": {"account_id": "4100", ...}}]}
Admins of the org only (`Authorization: Bearer <ID token>`). Nothing is written: the console checks
each row and writes it under the security rules, and reports per row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.errors import TransientError, map_exceptions
from adapters.firestore_codec import org_path
from adapters.identity import Refusal, bearer_caller
from finance_core.identifiers import identifier_problem
from google.cloud import firestore

from organizations.sheets import MAX_BYTES, SheetRejected, read_sheet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SheetRequest:
    """What the endpoint needs of an HTTP request (the body is read only after the caller is known)."""

    method: str
    org_id: str | None
    authorization: str | None
    content_type: str | None
    content_length: int | None
    read_body: Callable[[int], bytes]


@dataclass(frozen=True)
class SheetReply:
    """Status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> SheetReply:
    return SheetReply(status, {"error": code, "message": message}, headers or {})


class SheetEndpoint:
    """Checks that the caller is an admin of the org, then reads the file."""

    def __init__(self, db: firestore.Client, verify_token: Callable[[str], Mapping[str, Any]]):
        self._db = db
        self._verify = verify_token

    def handle(self, request: SheetRequest) -> SheetReply:
        """The full response; never raises for the caller's mistakes."""
        try:
            return self._handle(request)
        except TransientError as exc:
            log.warning("sheet read interrupted by a transient failure: %s", exc)
            return _error(
                503, "unavailable", "a temporary failure interrupted the read: try again", {"Retry-After": "5"}
            )

    def _handle(self, request: SheetRequest) -> SheetReply:
        if request.method.upper() != "POST":
            return _error(405, "method_not_allowed", "use POST", {"Allow": "POST"})
        caller = bearer_caller(request.authorization, self._verify, "sheets", "import reference data")
        if isinstance(caller, Refusal):
            return _error(caller.status, caller.code, caller.message, caller.headers)
        problem = identifier_problem((request.org_id or "").strip(), "org_id")
        if problem:
            return _error(400, "invalid_request", f"{problem} (query parameter org_id)")
        org_id = (request.org_id or "").strip()
        with map_exceptions(f"reading the membership of {caller} in {org_id}"):
            member = self._db.document(f"{org_path(org_id)}/members/{caller}").get()
        if not member.exists or (member.to_dict() or {}).get("role") != "admin":
            return _error(403, "permission_denied", f"only admins of {org_id!r} import its reference data")
        if request.content_length is not None and request.content_length > MAX_BYTES:
            return _error(413, "too_large", f"the file is {request.content_length} bytes; the limit is 5 MB")
        try:
            sheet = read_sheet(request.read_body(MAX_BYTES + 1), request.content_type)
        except SheetRejected as exc:
            return _error(exc.status, "unreadable_file", exc.message)
        return SheetReply(
            200,
            {
                "file_format": sheet.file_format,
                "columns": sheet.columns,
                "rows": [{"row": number, "cells": cells} for number, cells in sheet.rows],
            },
        )
