"""The sheet endpoint: an admin's CSV or XLSX file of reference data read into rows for the console.

POST /api/sheets/read?org_id=ORG   (Content-Type text/csv or the .xlsx type; the file is the body)
-> 200 {"file_format", "columns": [...], "rows": [{"row": 2, "cells": {"account_id": "4100", ...}}]}
Admins of the org only (`Authorization: Bearer <ID token>`). Nothing is written: the console checks
each row and writes it under the security rules, and reports per row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, refused
from adapters.identity import Refusal, bearer_caller
from finance_core.identifiers import identifier_problem
from google.cloud import firestore

from organizations.sheets import MAX_BYTES, SheetRejected, read_sheet


class SheetEndpoint:
    """Checks that the caller is an admin of the org, then reads the file."""

    def __init__(self, db: firestore.Client, verify_token: Callable[[str], Mapping[str, Any]]):
        self._db = db
        self._verify = verify_token

    @EndpointGuard("sheet read", "POST", interrupted="the read")
    def handle(self, request: HttpRequest) -> HttpReply:
        """The full response; never raises for the caller's mistakes."""
        caller = bearer_caller(request.authorization, self._verify, "sheets", "import reference data")
        if isinstance(caller, Refusal):
            return refused(caller)
        org_id = request.arg("org_id")
        problem = identifier_problem(org_id, "org_id")
        if problem:
            return error_reply(400, "invalid_request", f"{problem} (query parameter org_id)")
        with map_exceptions(f"reading the membership of {caller} in {org_id}"):
            member = self._db.document(f"{org_path(org_id)}/members/{caller}").get()
        if not member.exists or (member.to_dict() or {}).get("role") != "admin":
            return error_reply(403, "permission_denied", f"only admins of {org_id!r} import its reference data")
        if request.content_length is not None and request.content_length > MAX_BYTES:
            return error_reply(413, "too_large", f"the file is {request.content_length} bytes; the limit is 5 MB")
        try:
            sheet = read_sheet(request.read_body(MAX_BYTES + 1), request.content_type)
        except SheetRejected as exc:
            return error_reply(exc.status, "unreadable_file", exc.message)
        return HttpReply(
            200,
            {
                "file_format": sheet.file_format,
                "columns": sheet.columns,
                "rows": [{"row": number, "cells": cells} for number, cells in sheet.rows],
            },
        )
