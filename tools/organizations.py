"""Operator command: create an organisation and invite its first admin (no user id needed).

On the local stack:

    ./dev org create acme --name "Acme Ltd" --currency USD --admin-email ada@acme.example

Against a Google Cloud project (Admin SDK with Application Default Credentials, e.g.
`gcloud auth application-default login`; the account needs Firestore write access):

    .venv/bin/python -m tools.organizations --project my-project \\
        --dashboard-url https://my-project.web.app/ create acme --name "Acme Ltd" --currency USD \\
        --admin-email ada@acme.example

The command prints the invitation link: it works once, for that address, until it expires.
With `--email` it prints no link and the deployed `send_invitation` function e-mails it instead.
`invite` invites one more person to an existing org the same way (e.g. a new admin when the only
one has left the company).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from typing import Any

from tools.maintenance import functions_path
from tools.stack.config import StackConfig


def _connect(project: str | None) -> tuple[Any, str | None]:
    """The organisation service on the local stack (project None) or on a Google Cloud project; and the
    dashboard URL the local stack serves."""
    if project is None:
        from tools.stack.emulators import LocalStack

        stack = LocalStack.attach()
        if stack is None:
            raise SystemExit("no local stack is running: start it with ./dev up (or pass --project for a real project)")
        config: StackConfig = stack.config
        config.apply_client_env()
        dashboard: str | None = f"http://{config.address('hosting')}/"
    else:
        for name in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
            os.environ.pop(name, None)
        os.environ["GOOGLE_CLOUD_PROJECT"] = os.environ["GCLOUD_PROJECT"] = project
        dashboard = None
    functions_path()
    from adapters.clients import firestore_client
    from organizations.service import OrganizationService

    return OrganizationService(firestore_client()), dashboard


def _invite(service: Any, args: argparse.Namespace, dashboard: str | None) -> int:
    from finance_core.memberships import invitation_link

    lifetime = timedelta(days=args.expires_days)
    if args.email:
        invitation_id = service.invite(args.org, args.admin_email, args.role, "operator", lifetime, args.admin_name)
        print(
            f"invited {args.admin_email} as {args.role} (invitation {invitation_id}); "
            "send_invitation e-mails the link: its outcome is on the invitation (status, delivery)"
        )
        return 0
    url = args.dashboard_url or dashboard
    invitation_id = service.invite(
        args.org, args.admin_email, args.role, "operator", lifetime, args.admin_name, status="issued"
    )
    issued = service.issue_token(args.org, invitation_id)
    print(
        f"invited {issued.email} as {issued.role.value} (invitation {invitation_id}, "
        f"valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC):"
    )
    print(f"  {invitation_link(url, issued.token)}")
    print(f"send this link to {issued.email}: it works once, after signing in with that address.")
    return 0


def main(argv: list[str] | None = None, prog: str = "python -m tools.organizations") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--project", help="a Google Cloud project (default: the running local stack)")
    parser.add_argument("--dashboard-url", help="where the dashboard is served (links); default: the local stack's")
    commands = parser.add_subparsers(dest="command", required=True)

    def invitation_args(command: argparse.ArgumentParser, role_default: str) -> None:
        command.add_argument("--admin-email", "--invite-email", dest="admin_email", required=True, metavar="EMAIL")
        command.add_argument("--admin-name", "--invite-name", dest="admin_name", metavar="NAME", help="display name")
        command.add_argument("--role", default=role_default, choices=["viewer", "editor", "admin"])
        command.add_argument("--expires-days", type=int, default=7, help="validity of the link, 1-30 days (default 7)")
        command.add_argument(
            "--email", action="store_true", help="have the backend e-mail the link instead of printing it"
        )

    create = commands.add_parser("create", help="create an organisation and invite its first admin")
    create.add_argument("org", help="org id: 1-128 letters, digits, '.', '_' or '-' (it appears in URLs)")
    create.add_argument("--name", required=True, help="the organisation's name")
    create.add_argument("--currency", required=True, help="reporting currency, ISO 4217 (e.g. USD)")
    create.add_argument("--fiscal-year-start", type=int, default=1, help="month the fiscal year starts (1-12)")
    invitation_args(create, "admin")
    invite = commands.add_parser("invite", help="invite someone to an existing organisation")
    invite.add_argument("org")
    invitation_args(invite, "admin")
    args = parser.parse_args(argv)
    if not 1 <= args.expires_days <= 30:
        parser.error("--expires-days must be between 1 and 30")
    if args.project and not args.dashboard_url and not args.email:
        parser.error("--dashboard-url is needed with --project to print the link (e.g. https://<project>.web.app/)")

    service, dashboard = _connect(args.project)
    from finance_core.memberships import MembershipError

    try:
        if args.command == "create":
            service.create_organization(args.org, args.name, args.currency, args.fiscal_year_start)
            print(f"created organization {args.org} ({args.name}, {args.currency.upper()})")
        return _invite(service, args, dashboard)
    except MembershipError as exc:
        print(f"refused: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
