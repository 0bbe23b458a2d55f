"""Membership decisions of the core: addresses, roles, accepting an invitation, never losing the last admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from finance_core.memberships import (
    Invitation,
    MembershipError,
    Role,
    admins,
    check_acceptance,
    check_role_change,
    invitation_link,
    new_invitation_token,
    normalize_email,
    parse_role,
    token_digest,
)
from hypothesis import given
from hypothesis import strategies as st

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


def invitation(**over) -> Invitation:
    values = dict(
        org_id="acme",
        invitation_id="inv-1",
        email="ada@example.com",
        role=Role.EDITOR,
        expires_at=NOW + timedelta(days=7),
    )
    values.update(over)
    return Invitation(**values)  # type: ignore[arg-type]


def refused(code: str, call) -> MembershipError:
    with pytest.raises(MembershipError) as info:
        call()
    assert info.value.code == code, info.value.message
    return info.value


def test_addresses_are_matched_trimmed_and_in_lower_case():
    assert normalize_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "x" * 250 + "@example.com", 42]:
        refused("invalid_email", lambda bad=bad: normalize_email(bad))


def test_roles_are_the_three_of_the_contract():
    assert [parse_role(r) for r in ("viewer", "editor", "admin")] == [Role.VIEWER, Role.EDITOR, Role.ADMIN]
    error = refused("invalid_role", lambda: parse_role("owner"))
    assert "viewer, editor, admin" in error.message


def test_tokens_are_long_random_and_stored_only_as_digests():
    tokens = {new_invitation_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    token = next(iter(tokens))
    assert token_digest(token) != token and len(token_digest(token)) == 64
    assert invitation_link("https://fin.example.com/", token) == f"https://fin.example.com/#/invitation/{token}"


def test_an_invitation_is_accepted_by_its_addressee_before_it_expires():
    check_acceptance(invitation(), org_id="acme", caller_uid="u1", caller_email="Ada@Example.com", now=NOW)


def test_an_invitation_is_single_use_expiring_org_bound_and_address_bound():
    refused(
        "already_used",
        lambda: check_acceptance(
            invitation(accepted_by="u0"), org_id="acme", caller_uid="u1", caller_email="ada@example.com", now=NOW
        ),
    )
    expired = refused(
        "expired",
        lambda: check_acceptance(
            invitation(expires_at=NOW), org_id="acme", caller_uid="u1", caller_email="ada@example.com", now=NOW
        ),
    )
    assert "2026-11-05 12:00 UTC" in expired.message
    refused(
        "wrong_organization",
        lambda: check_acceptance(
            invitation(), org_id="other", caller_uid="u1", caller_email="ada@example.com", now=NOW
        ),
    )
    mismatch = refused(
        "email_mismatch",
        lambda: check_acceptance(invitation(), org_id="acme", caller_uid="u1", caller_email="eve@example.com", now=NOW),
    )
    assert "ada@example.com" in mismatch.message and "eve@example.com" in mismatch.message
    refused(
        "email_mismatch",
        lambda: check_acceptance(invitation(), org_id="acme", caller_uid="u1", caller_email=None, now=NOW),
    )


def test_an_invitation_document_is_read_with_its_address_normalised():
    read = Invitation.from_document(
        "acme", "inv-9", {"email": "Bob@Example.com", "role": "viewer", "expires_at": NOW, "accepted_by": None}
    )
    assert (read.email, read.role, read.accepted_by) == ("bob@example.com", Role.VIEWER, None)
    refused(
        "invalid_invitation", lambda: Invitation.from_document("acme", "inv-9", {"email": "b@x.io", "role": "viewer"})
    )


def test_the_last_admin_can_be_neither_demoted_nor_removed():
    roles = {"a1": "admin", "e1": "editor"}
    for new_role in (Role.EDITOR, Role.VIEWER, None):
        error = refused("last_admin", lambda new_role=new_role: check_role_change(roles, "a1", new_role))
        assert "only admin" in error.message
    check_role_change(roles, "a1", Role.ADMIN)
    check_role_change(roles, "e1", None)
    check_role_change({**roles, "a2": "admin"}, "a1", None)
    refused("not_a_member", lambda: check_role_change(roles, "ghost", Role.VIEWER))


@given(
    st.dictionaries(st.text(min_size=1, max_size=4), st.sampled_from(["viewer", "editor", "admin"]), min_size=1),
    st.lists(st.tuples(st.integers(0, 50), st.sampled_from([None, Role.VIEWER, Role.EDITOR, Role.ADMIN]))),
)
def test_any_sequence_of_accepted_changes_keeps_an_admin_in_an_org_that_has_one(roles, changes):
    had_admin = bool(admins(roles))
    roles = dict(roles)
    for index, new_role in changes:
        if not roles:
            break
        uid = sorted(roles)[index % len(roles)]
        try:
            check_role_change(roles, uid, new_role)
        except MembershipError:
            continue
        if new_role is None:
            del roles[uid]
        else:
            roles[uid] = new_role.value
        assert bool(admins(roles)) or not had_admin
