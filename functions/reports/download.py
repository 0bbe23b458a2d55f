"""The download endpoint: a member of the org (and nobody else) gets a file of one of its reports."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, refused
from adapters.identity import Refusal, bearer_caller
from finance_core.identifiers import identifier_problem
from finance_core.untrusted import quoted
from google.cloud import firestore

from reports.service import REPORTS, ReportFiles

log = logging.getLogger(__name__)

MEMBER_ROLES = ("viewer", "editor", "admin")
# Report ids: a request's (an identifier) or a schedule's delivery id ({schedule}__{period}[__close-{id}]).
REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(__[A-Za-z0-9._-]{1,140}){0,2}$")
VerifyToken = Callable[[str], Mapping[str, Any]]


class DownloadEndpoint:
    """Checks the caller's ID token and membership, then streams the stored file."""

    def __init__(self, db: firestore.Client, files: ReportFiles, verify_token: VerifyToken):
        self._db = db
        self._files = files
        self._verify = verify_token

    @EndpointGuard("download", "GET", interrupted="the download")
    def handle(self, request: HttpRequest) -> HttpReply:
        """The full response; never raises for the caller's mistakes."""
        caller = bearer_caller(request.authorization, self._verify, "download_report", "download reports")
        if isinstance(caller, Refusal):
            return refused(caller)
        uid = caller
        org_id, report_id, file = request.arg("org_id"), request.arg("report_id"), request.arg("file")
        for name, value in (("org_id", org_id), ("report_id", report_id)):
            problem = identifier_problem(value, name)
            if name == "report_id" and REPORT_ID.match(value):
                problem = None  # a scheduled report's id is its delivery's, which joins its parts with '__'
            if problem:
                return error_reply(400, "invalid_request", f"{problem} (query parameters org_id, report_id and file)")
        org_ref = self._db.document(org_path(org_id))
        member_ref = org_ref.collection("members").document(uid)
        report_ref = org_ref.collection(REPORTS).document(report_id)
        with map_exceptions(f"reading the membership of {uid} in {org_id}"):
            snaps = {s.reference.path: s for s in self._db.get_all([org_ref, member_ref, report_ref])}
        member = snaps[member_ref.path]
        role = (member.to_dict() or {}).get("role") if member.exists else None
        if role not in MEMBER_ROLES:
            # The same answer whether or not the org exists: a non-member learns nothing about it.
            return error_reply(403, "permission_denied", f"user {uid} is not a member of organization {org_id!r}")
        report = snaps[report_ref.path]
        if not report.exists:
            return error_reply(404, "not_found", f"report {report_id!r} does not exist in {org_id!r}")
        document = report.to_dict() or {}
        if (document.get("view") or {}).get("visibility") == "personal" and document.get("requested_by") != uid:
            # A personal view's report is its owner's, as the view is: the same answer as no report.
            return error_reply(404, "not_found", f"report {report_id!r} does not exist in {org_id!r}")
        if document.get("status") != "succeeded":
            error = (document.get("error") or {}).get("message")
            detail = f": {error}" if error else "; watch its document and download when status is 'succeeded'"
            return error_reply(409, "not_ready", f"report {report_id!r} is {document.get('status')}{detail}")
        listed = {f.get("name"): f for f in document.get("files") or ()}
        if file not in listed:
            return error_reply(
                404,
                "not_found",
                f"report {report_id!r} has no file {quoted(file)}; its files: " + ", ".join(sorted(listed)),
            )
        entry = listed[file]
        data = self._files.download(str(entry["path"]))
        if data is None:
            return error_reply(
                404,
                "not_found",
                f"the file {quoted(file)} of report {report_id!r} is no longer stored: request the report again",
            )
        log.info(
            "report file downloaded",
            extra={"json_fields": {"org_id": org_id, "report_id": report_id, "file": file, "uid": uid}},
        )
        return HttpReply(
            200,
            data,
            {"Content-Disposition": f'attachment; filename="{file}"', "Cache-Control": "private, no-store"},
            str(entry.get("content_type") or "application/octet-stream"),
        )
