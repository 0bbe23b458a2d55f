"""The project's command line: setup, the local stack, the live demo, tests and maintenance commands."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from tools.setup_env import ROOT, SetupError, setup

# Set in the environment of a command that setup re-executed, so it does not set up twice.
_SET_UP = "FINANCE_DEV_SET_UP"


def ensure_setup() -> None:
    """Install what is missing; if that changed .venv, run this very command again in a fresh interpreter.

    A package installed into .venv while this interpreter runs (the editable core among them) is
    not importable by it: its path entries are read at interpreter start. So a first `./dev demo`
    sets up, then re-executes itself and goes on as if .venv had always been there.
    """
    if os.environ.get(_SET_UP):
        return
    changed = setup()
    if "venv" in changed:
        print("==> .venv changed: continuing in a fresh interpreter", flush=True)
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, "-m", "tools.dev", *sys.argv[1:]], {**os.environ, _SET_UP: "1"})


def _stack_or_exit():
    from tools.stack.emulators import LocalStack

    return LocalStack.running()


def cmd_setup(args: argparse.Namespace) -> int:
    setup()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from tools.stack.emulators import LocalStack
    from tools.stack.provision import provision

    stack = LocalStack()
    stack.start()
    provision(stack.config)
    if args.seed:
        from tools.stack.seed import seed_demo

        seed_demo(stack.config, with_history=True)
    _print_addresses(stack)
    print("stack is running; stop it with ./dev down")
    return 0


def _print_addresses(stack) -> None:
    config = stack.config
    print(f"project {config.project_id}; logs in .stack/logs/")
    for name in ("firestore", "pubsub", "functions", "auth", "bigquery", "storage"):
        print(f"  {name:<10} http://{config.address(name)}")
    print(f"  web dashboard http://{config.address('hosting')}/")


def cmd_down(args: argparse.Namespace) -> int:
    from tools.stack.emulators import LocalStack

    stack = LocalStack.from_state()
    if stack is None:
        print("no local stack is running")
        return 0
    stack.stop()
    busy = stack.busy_ports()
    if busy:
        print(
            f"still in use: {', '.join(busy)} (not by a process of this stack; stop it, or set "
            "FINANCE_<SERVICE>_PORT to other ports)",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from tools.stack.emulators import LocalStack

    recorded = LocalStack.from_state()
    stack = recorded or LocalStack()
    for name, state in stack.status().items():
        print(f"  {name:<10} {state}")
    problems = recorded.problems() if recorded else []
    for problem in problems:
        print(f"\nthe stack is broken: {problem}", file=sys.stderr)
    if problems:
        print("\nrun ./dev down (it frees every port of the stack), then ./dev up", file=sys.stderr)
        return 1
    if recorded is not None and LocalStack.attach() is not None and not args.no_health:
        from tools.maintenance import show_health

        show_health(recorded.config)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    stack = _stack_or_exit()
    stack.reset_firestore()
    print("Firestore emptied")
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    from tools.stack.provision import provision

    stack = _stack_or_exit()
    provision(stack.config)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from tools.stack.seed import seed_demo

    stack = _stack_or_exit()
    seed_demo(stack.config, with_history=not args.reference_only)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tools.demo.run import run_demo

    return run_demo(args)


# Commands that need nothing installed: setup itself, and stopping a stack.
NO_SETUP = {"setup", "down"}
UNIT_TESTS = "tests/unit"
EMULATOR_TESTS = ("tests/integration", "tests/e2e", "tests/web")


def cmd_test(args: argparse.Namespace) -> int:
    pytest = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest"]
    if args.pytest_args:
        return subprocess.call([*pytest, *args.pytest_args], cwd=ROOT)
    # Unit tests need no emulator: one process per core. The emulator tests share one stack
    # (started once by tests/conftest.py) and run in one process, in order.
    print("==> unit tests (in parallel)", flush=True)
    unit = subprocess.call([*pytest, "-n", str(max(2, os.cpu_count() or 2)), UNIT_TESTS], cwd=ROOT)
    print("==> emulator tests (integration, end to end, web) on one shared local stack", flush=True)
    emulators = subprocess.call([*pytest, *EMULATOR_TESTS], cwd=ROOT)
    return unit or emulators


def cmd_generate(args: argparse.Namespace) -> int:
    from tools import generate_demo_data, generated_artifacts

    for path in generated_artifacts.write_artifacts():
        print(f"wrote {path.relative_to(ROOT)}")
    for path in generate_demo_data.write(generate_demo_data.generate()):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    stack = _stack_or_exit()
    from tools.maintenance import reconcile_command

    return reconcile_command(stack.config, args.org, args.period)


def cmd_replay(args: argparse.Namespace) -> int:
    stack = _stack_or_exit()
    from tools.replay import replay_command

    return replay_command(stack.config, args.org, args.dead_letters)


def cmd_mail(args: argparse.Namespace) -> int:
    from tools.stack.mailbox import MAIL_DIR, messages

    found = messages(to=args.to)[-args.last :]
    if not found:
        print(
            f"no e-mail in {MAIL_DIR.relative_to(ROOT)} yet (the local stack's mailbox keeps what the functions send)"
        )
    for mail in found:
        print(f"{mail.path.name}  to {', '.join(mail.recipients)}\n  {mail.subject}")
        for link in mail.links:
            print(f"  {link}")
    return 0


def cmd_org(args: argparse.Namespace) -> int:
    from tools.organizations import main as organizations

    return organizations(args.org_args, prog="./dev org")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "setup", help="install everything (venvs, npm packages, BigQuery emulator), pinned"
    ).set_defaults(func=cmd_setup)
    up = commands.add_parser("up", help="start the local stack in the background and provision it")
    up.add_argument("--seed", action="store_true", help="also seed the demo organisation")
    up.set_defaults(func=cmd_up)
    commands.add_parser("down", help="stop the local stack").set_defaults(func=cmd_down)
    status = commands.add_parser("status", help="show which services answer and the pipeline health")
    status.add_argument("--no-health", action="store_true", help="only the services")
    status.set_defaults(func=cmd_status)
    commands.add_parser("reset", help="empty Firestore through the emulator's reset endpoint").set_defaults(
        func=cmd_reset
    )
    commands.add_parser("provision", help="create topics, subscriptions, dataset, tables, views").set_defaults(
        func=cmd_provision
    )
    seed = commands.add_parser("seed", help="seed the demo organisation from demo_data/")
    seed.add_argument(
        "--reference-only", action="store_true", help="org, chart, entities, periods, rates, rules; no records"
    )
    seed.set_defaults(func=cmd_seed)
    demo = commands.add_parser("demo", help="the main job: stack + demo stream + live dashboard")
    demo.add_argument(
        "--rate",
        type=float,
        default=2.0,
        help=(
            "events per second (default 2: on two cores the local emulators keep every event under half a "
            "second at this rate; at 6 they saturate them and the lag grows, docs/performance.md)"
        ),
    )
    demo.add_argument("--duration", type=float, default=90.0, help="seconds of streaming (default 90)")
    demo.add_argument("--duplicates", type=float, default=0.10, help="share of exact duplicates (default 0.10)")
    demo.add_argument("--late", type=float, default=0.05, help="share of late, older versions (default 0.05)")
    demo.add_argument("--invalid", type=float, default=0.03, help="share of invalid messages (default 0.03)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the feed")
    demo.add_argument("--no-dashboard", action="store_true", help="print progress lines instead of the live view")
    demo.add_argument("--keep-running", action="store_true", help="leave the stack running at the end")
    demo.add_argument("--no-history", action="store_true", help="skip loading the 24 months of history (faster start)")
    demo.set_defaults(func=cmd_demo)
    test = commands.add_parser("test", help="run every test (unit, integration, e2e, rules) on the emulators")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments")
    test.set_defaults(func=cmd_test)
    commands.add_parser("generate", help="regenerate schemas and the demo data set").set_defaults(func=cmd_generate)
    reconcile = commands.add_parser("reconcile", help="recompute aggregates from records and repair drift")
    reconcile.add_argument("--org", required=True)
    reconcile.add_argument("--period", default=None, help="one period (default: all)")
    reconcile.set_defaults(func=cmd_reconcile)
    replay = commands.add_parser("replay", help="rebuild an org's BigQuery facts from Firestore; re-drive dead letters")
    replay.add_argument("--org", default=None, help="backfill this org's financial_facts (writes only missing rows)")
    replay.add_argument(
        "--dead-letters", action="store_true", help="write the changes the BigQuery sink parked in the dead letters"
    )
    replay.set_defaults(func=cmd_replay)
    mail = commands.add_parser("mail", help="the e-mails the local stack's functions sent (invitations, alerts, packs)")
    mail.add_argument("--to", help="only those to this address")
    mail.add_argument("--last", type=int, default=10, help="how many (default 10)")
    mail.set_defaults(func=cmd_mail)
    org = commands.add_parser(
        "org",
        help="create an organisation and invite its first admin; invite people (./dev org --help)",
        add_help=False,
    )
    org.add_argument("org_args", nargs=argparse.REMAINDER, help="see ./dev org --help")
    org.set_defaults(func=cmd_org)
    args = parser.parse_args(argv)
    try:
        # Every command can be the first one after `git clone`: whatever it imports is installed first.
        if args.command not in NO_SETUP:
            ensure_setup()
        from tools.stack.emulators import StackError
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    try:
        return args.func(args)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    except StackError as exc:
        print(f"the local stack: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
