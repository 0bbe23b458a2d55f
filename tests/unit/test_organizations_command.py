"""The operator command's arguments: what it refuses before it touches any project."""

from __future__ import annotations

import pytest

from tools.organizations import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--project", "acme-prod", "create", "acme", "--name", "A", "--currency", "USD", "--admin-email", "a@b.co"],
            "--dashboard-url is needed",
        ),
        (
            ["create", "acme", "--name", "A", "--currency", "USD", "--admin-email", "a@b.co", "--expires-days", "31"],
            "between 1 and 30",
        ),
        (["create", "acme", "--currency", "USD", "--admin-email", "a@b.co"], "--name"),
        (["invite", "acme", "--invite-email", "a@b.co", "--role", "owner"], "invalid choice"),
    ],
)
def test_the_command_says_what_is_missing_before_connecting(argv, words, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2 and words in capsys.readouterr().err
