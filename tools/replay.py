"""`./dev replay`: rebuild an org's BigQuery facts from Firestore, or re-drive the sink's dead letters."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tools.maintenance import functions_path
from tools.stack.config import StackConfig
from tools.stack.provision import resources

DEAD_LETTER_TOPIC = "financial-record-changes-dead-letter"


def dead_letter_subscription() -> str:
    """The hold subscription of the change dead-letter topic (infra/resources.json)."""
    for subscription in resources()["pubsub"]["subscriptions"]:
        if subscription["topic"] == DEAD_LETTER_TOPIC:
            return subscription["name"]
    raise LookupError(f"infra/resources.json has no subscription on {DEAD_LETTER_TOPIC}")


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[rate]}"), console=Console(stderr=True))


def _rate(done: int, seconds: float) -> str:
    return f"{done / seconds:,.0f} rows/s" if seconds > 0 and done else ""


def replay_org(config: StackConfig, org_id: str, show_progress: bool = True):
    """Backfill one org; returns the ReplayReport."""
    config.apply_client_env()
    functions_path()
    import time

    from adapters.clients import bigquery_client, firestore_client
    from adapters.runtime import reference_store
    from analytics_sink.replay import FactReplayer
    from analytics_sink.triggers import fact_writer

    replayer = FactReplayer(firestore_client(), bigquery_client(), fact_writer(), reference_store())
    started = time.monotonic()
    with _progress() as progress:
        task = progress.add_task(f"replay {org_id}", total=None, rate="", visible=show_progress)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total, rate=_rate(done, time.monotonic() - started))

        return replayer.run(org_id, advance)


def drain_dead_letters(config: StackConfig, show_progress: bool = True):
    """Re-drive every change the sink parked; returns the DrainReport."""
    config.apply_client_env()
    functions_path()
    import time

    from adapters.clients import firestore_client
    from analytics_sink.replay import DeadLetterDrain
    from analytics_sink.triggers import fact_writer, sink
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(config.project_id, dead_letter_subscription())
    drain = DeadLetterDrain(sink(), fact_writer(), firestore_client(), subscriber, path)
    started = time.monotonic()
    try:
        with _progress() as progress:
            task = progress.add_task("dead letters", total=None, rate="", visible=show_progress)

            def advance(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total, rate=_rate(done, time.monotonic() - started))

            return drain.drain(advance)
    finally:
        subscriber.close()


def replay_command(config: StackConfig, org_id: str | None, dead_letters: bool) -> int:
    """Entry point of `./dev replay`; exit code 0 when everything was written."""
    if not org_id and not dead_letters:
        print("say what to replay: --org ORG and/or --dead-letters", file=sys.stderr)
        return 2
    ok = True
    if dead_letters:
        report = drain_dead_letters(config)
        print(report.summary())
        ok = ok and not report.kept
    if org_id:
        report = replay_org(config, org_id)
        print(report.summary())
        ok = ok and not report.failed
    return 0 if ok else 1
