"""`./dev replay`: rebuild an org's BigQuery facts from Firestore, or re-drive the sink's dead letters.

`./dev replay` runs against the local stack. Against a Google Cloud project, run this module with
that project's credentials: `GOOGLE_CLOUD_PROJECT=<id> .venv/bin/python -m tools.replay --org ORG`.
"""

from __future__ import annotations

import argparse
import os
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
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
        console=Console(stderr=True),
    )


def _rate(done: int, seconds: float) -> str:
    return f"{done / seconds:,.0f} rows/s" if seconds > 0 and done else ""


def _environment(config: StackConfig | None) -> str:
    """Point the clients at the local stack (config) or leave them on the ambient project; returns the project."""
    functions_path()
    if config is not None:
        config.apply_client_env()
        return config.project_id
    from adapters.settings import project_id

    return project_id()


def replay_org(config: StackConfig | None, org_id: str, show_progress: bool = True):
    """Backfill one org; returns the ReplayReport. config None: the project of the environment."""
    _environment(config)
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


def resend_metric_series(config: StackConfig | None, org_id: str) -> int:
    """Write every cell of the org's metric series to `metric_values` at its current version; returns rows written.

    Repairs BigQuery after a series write whose rows were lost (a BigQuery outage longer than the
    trigger's retries); rows already there at the same version carry the same values.
    """
    _environment(config)
    from adapters.clients import firestore_client
    from adapters.firestore_codec import org_path, utc_now
    from analytics_sink.triggers import metric_sink

    documents = (
        snap.to_dict() or {} for snap in firestore_client().collection(f"{org_path(org_id)}/metric_series").stream()
    )
    return metric_sink().resend(org_id, documents, utc_now())


def drain_dead_letters(config: StackConfig | None, show_progress: bool = True):
    """Re-drive every change the sink parked; returns the DrainReport. config None: the project of the environment."""
    project = _environment(config)
    import time

    from adapters.clients import firestore_client
    from analytics_sink.replay import DeadLetterDrain
    from analytics_sink.triggers import fact_writer, sink
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(project, dead_letter_subscription())
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


def replay_command(config: StackConfig | None, org_id: str | None, dead_letters: bool) -> int:
    """Entry point of `./dev replay`; exit code 0 when everything was written."""
    if not org_id and not dead_letters:
        print("say what to replay: --org ORG and/or --dead-letters", file=sys.stderr)
        return 2
    functions_path()
    from adapters.errors import ProcessingError

    ok = True
    try:
        if dead_letters:
            drained = drain_dead_letters(config)
            print(drained.summary())
            ok = ok and not drained.kept
        if org_id:
            report = replay_org(config, org_id)
            print(report.summary())
            print(f"metric_values: {resend_metric_series(config, org_id):,} row(s) of the metric series written")
            ok = ok and not report.failed
    except ProcessingError as exc:
        print(f"replay stopped: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tools.replay", description=__doc__)
    parser.add_argument("--org", default=None, help="backfill this org's financial_facts (writes only missing rows)")
    parser.add_argument("--dead-letters", action="store_true", help="write the changes the sink parked")
    args = parser.parse_args()
    if not os.environ.get("GOOGLE_CLOUD_PROJECT"):
        sys.exit("set GOOGLE_CLOUD_PROJECT to the project to repair (./dev replay works on the local stack)")
    sys.exit(replay_command(None, args.org, args.dead_letters))
