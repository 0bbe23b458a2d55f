"""Organisations from nothing, through the real functions: the operator command, invitations e-mailed to the
stack's mailbox and accepted through /api/access (single use, expiring, bound to the address), role changes
and removals that never leave an org without an admin, even when two admins demote each other at once."""

from __future__ import annotations

import contextlib
import io
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.auth_emulator import sign_up, sign_up_anonymously
from tests.support import wait_until
from tools.organizations import main as organizations_command
from tools.stack.mailbox import wait_for_mail

pytestmark = pytest.mark.emulators

TOKEN = re.compile(r"#/invitation/([A-Za-z0-9_-]+)")


def access(stack, action: str, id_token: str | None, body: dict) -> requests.Response:
    """POST to the membership endpoint through the dashboard's origin (the Hosting rewrite)."""
    headers = {"Authorization": f"Bearer {id_token}"} if id_token else {}
    return requests.post(
        f"http://{stack.config.address('hosting')}/api/access/{action}", json=body, headers=headers, timeout=60
    )


def operator(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = organizations_command(list(argv))
    return code, out.getvalue()


def roles_of(db, org_id: str) -> dict[str, str]:
    return {s.id: (s.to_dict() or {}).get("role") for s in db.collection(f"organizations/{org_id}/members").stream()}


def new_org_with_admin(stack, db) -> tuple[str, object]:
    """An org created by the operator command, and its first admin, signed up and joined through the link."""
    org_id = f"t-{uuid.uuid4().hex[:12]}"
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    code, out = operator("create", org_id, "--name", "Acme Ltd", "--currency", "usd", "--admin-email", email)
    assert code == 0, out
    token = TOKEN.search(out).group(1)
    admin = sign_up(stack, email)
    reply = access(stack, "accept", admin.id_token, {"token": token})
    assert reply.status_code == 200, reply.text
    return org_id, admin


def invite(db, org_id: str, admin_uid: str, email: str, role: str, expires_in: timedelta = timedelta(days=7)) -> str:
    """An invitation as an admin's dashboard writes it (its rules are tested in tests/rules)."""
    ref = db.collection(f"organizations/{org_id}/invitations").document(f"inv-{uuid.uuid4().hex[:10]}")
    ref.set(
        {
            "email": email,
            "role": role,
            "invited_by": admin_uid,
            "created_at": firestore.SERVER_TIMESTAMP,
            "expires_at": datetime.now(UTC) + expires_in,
        }
    )
    return ref.id


def emailed_token(email: str, after: int = 0) -> str:
    mail = wait_for_mail(email, after=after, timeout=120)
    match = TOKEN.search(mail.text)
    assert match, mail.text
    return match.group(1)


def test_the_operator_creates_an_org_and_its_first_admin_joins_with_the_printed_link(stack, db):
    org_id = f"t-{uuid.uuid4().hex[:12]}"
    email = f"Ada-{uuid.uuid4().hex[:8]}@Example.com"
    code, out = operator(
        "create", org_id, "--name", "Acme Ltd", "--currency", "eur", "--fiscal-year-start", "4", "--admin-email", email
    )
    assert code == 0, out
    org = db.document(f"organizations/{org_id}").get().to_dict()
    assert (org["name"], org["reporting_currency"], org["fiscal_year_start_month"]) == ("Acme Ltd", "EUR", 4)
    link = re.search(r"http://\S+", out).group(0)
    assert link.startswith(f"http://{stack.config.address('hosting')}/#/invitation/")
    token = TOKEN.search(link).group(1)
    # Only a digest of the token is stored, where no client can read it.
    stored = [
        s.to_dict()
        for s in db.collection("invitation_tokens").where(filter=FieldFilter("org_id", "==", org_id)).stream()
    ]
    assert len(stored) == 1 and token not in str(stored)

    ada = sign_up(stack, email.lower())
    reply = access(stack, "accept", ada.id_token, {"token": token})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"org_id": org_id, "role": "admin"}
    assert roles_of(db, org_id) == {ada.uid: "admin"}
    member = db.document(f"organizations/{org_id}/members/{ada.uid}").get().to_dict()
    assert member["uid"] == ada.uid and member["email"] == email.lower()

    again = access(stack, "accept", ada.id_token, {"token": token})
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    code, out = operator("create", org_id, "--name", "Again", "--currency", "USD", "--admin-email", email)
    assert code == 2 and "already exists" in out


def test_an_admin_invites_by_email_and_the_invitee_joins_with_the_emailed_link(stack, db):
    org_id, admin = new_org_with_admin(stack, db)
    email = f"ed-{uuid.uuid4().hex[:8]}@example.com"
    invitation_id = invite(db, org_id, admin.uid, email, "editor")
    token = emailed_token(email)
    invitation = db.document(f"organizations/{org_id}/invitations/{invitation_id}")
    wait_until(lambda: (invitation.get().to_dict() or {}).get("status") == "sent", timeout=60, what="status sent")

    # Somebody else holding the link (a forwarded e-mail) is refused, and the invitation stays usable.
    eve = sign_up(stack)
    refused = access(stack, "accept", eve.id_token, {"token": token})
    assert refused.status_code == 403 and refused.json()["error"] == "email_mismatch", refused.text
    assert email in refused.json()["message"]
    anonymous = sign_up_anonymously(stack)
    assert access(stack, "accept", anonymous.id_token, {"token": token}).status_code == 403
    assert access(stack, "accept", None, {"token": token}).status_code == 401

    # A second link of the same invitation (what "send again" e-mails), issued before acceptance.
    from organizations.service import OrganizationService

    second = OrganizationService(db).issue_token(org_id, invitation_id)
    assert second is not None and second.token != token

    ed = sign_up(stack, email)
    reply = access(stack, "accept", ed.id_token, {"token": token})
    assert reply.status_code == 200 and reply.json() == {"org_id": org_id, "role": "editor"}, reply.text
    assert roles_of(db, org_id) == {admin.uid: "admin", ed.uid: "editor"}
    assert (invitation.get().to_dict() or {})["accepted_by"] == ed.uid

    # Single use: the invitation is spent, whichever of its links is used next.
    spent = access(stack, "accept", ed.id_token, {"token": second.token})
    assert spent.status_code == 409 and spent.json()["error"] == "already_used", spent.text
    assert OrganizationService(db).issue_token(org_id, invitation_id) is None


def test_an_invitation_expires_and_a_withdrawn_one_no_longer_opens(stack, db):
    from organizations.service import OrganizationService

    org_id, admin = new_org_with_admin(stack, db)
    service = OrganizationService(db)
    late = f"late-{uuid.uuid4().hex[:8]}@example.com"
    expiring = invite(db, org_id, admin.uid, late, "viewer")
    token = emailed_token(late)
    db.document(f"organizations/{org_id}/invitations/{expiring}").update(
        {"expires_at": datetime.now(UTC) - timedelta(minutes=1)}
    )
    user = sign_up(stack, late)
    reply = access(stack, "accept", user.id_token, {"token": token})
    assert reply.status_code == 410 and reply.json()["error"] == "expired", reply.text

    gone = f"gone-{uuid.uuid4().hex[:8]}@example.com"
    withdrawn = invite(db, org_id, admin.uid, gone, "viewer")
    token = emailed_token(gone)
    db.document(f"organizations/{org_id}/invitations/{withdrawn}").delete()
    user = sign_up(stack, gone)
    reply = access(stack, "accept", user.id_token, {"token": token})
    assert reply.status_code == 410 and reply.json()["error"] == "revoked", reply.text
    assert access(stack, "accept", user.id_token, {"token": "made-up"}).status_code == 404
    assert set(roles_of(db, org_id)) == {admin.uid}
    assert service.issue_token(org_id, withdrawn) is None


def test_admins_change_roles_and_remove_members_but_never_the_last_admin(stack, db):
    org_id, admin = new_org_with_admin(stack, db)
    email = f"v-{uuid.uuid4().hex[:8]}@example.com"
    invite(db, org_id, admin.uid, email, "viewer")
    viewer = sign_up(stack, email)
    assert access(stack, "accept", viewer.id_token, {"token": emailed_token(email)}).status_code == 200

    denied = access(stack, "role", viewer.id_token, {"org_id": org_id, "uid": viewer.uid, "role": "admin"})
    assert denied.status_code == 403 and denied.json()["error"] == "permission_denied"
    last = access(stack, "role", admin.id_token, {"org_id": org_id, "uid": admin.uid, "role": "editor"})
    assert last.status_code == 409 and last.json()["error"] == "last_admin", last.text
    assert access(stack, "remove", admin.id_token, {"org_id": org_id, "uid": admin.uid}).status_code == 409
    bad = access(stack, "role", admin.id_token, {"org_id": org_id, "uid": viewer.uid, "role": "owner"})
    assert bad.status_code == 400 and "viewer, editor, admin" in bad.json()["message"]

    promoted = access(stack, "role", admin.id_token, {"org_id": org_id, "uid": viewer.uid, "role": "admin"})
    assert promoted.status_code == 200, promoted.text
    assert roles_of(db, org_id) == {admin.uid: "admin", viewer.uid: "admin"}

    # Two admins demote each other at the same instant: the transactions serialise, one wins.
    barrier = threading.Barrier(2)
    replies: dict[str, requests.Response] = {}

    def demote(actor, target) -> None:
        barrier.wait()
        replies[actor.uid] = access(
            stack, "role", actor.id_token, {"org_id": org_id, "uid": target.uid, "role": "viewer"}
        )

    threads = [threading.Thread(target=demote, args=pair) for pair in ((admin, viewer), (viewer, admin))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in replies.values())
    assert statuses in ([200, 403], [200, 409]), {k: (r.status_code, r.text) for k, r in replies.items()}
    assert list(roles_of(db, org_id).values()).count("admin") == 1

    survivor = admin if roles_of(db, org_id)[admin.uid] == "admin" else viewer
    other = viewer if survivor is admin else admin
    removed = access(stack, "remove", survivor.id_token, {"org_id": org_id, "uid": other.uid})
    assert removed.status_code == 200, removed.text
    assert roles_of(db, org_id) == {survivor.uid: "admin"}


def test_an_admin_cannot_mail_strangers_in_bulk(stack, db):
    org_id, admin = new_org_with_admin(stack, db)
    ids = [invite(db, org_id, admin.uid, f"bulk-{i}-{uuid.uuid4().hex[:6]}@example.com", "viewer") for i in range(31)]
    refs = [db.document(f"organizations/{org_id}/invitations/{i}") for i in ids]

    def statuses() -> list[str]:
        return [(s.to_dict() or {}).get("status") for s in db.get_all(refs)]

    wait_until(lambda: all(statuses()), timeout=300, what="an answer on each of 31 invitations")
    answered = statuses()
    assert answered.count("sent") == 30 and answered.count("send_failed") == 1, answered
    refused = next(s.to_dict() for s in db.get_all(refs) if s.to_dict().get("status") == "send_failed")
    assert "at most 30 invitation emails" in refused["delivery"]["last_error"]
