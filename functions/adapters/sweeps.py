"""Scheduled sweeps over many orgs: each org isolated, every failure counted, the run failed when any org failed.

A sweep finishes work a lost or failed trigger left behind. One org's broken data or a
transient error must neither stop the other orgs nor pass silently: `OrgSweep.run` does one
unit of work of one org and records a failure (skipping that org's remaining units in this
run), `finish` logs one summary line (`sweep`, `orgs_failed`: the log-based metric
`sweep_org_failures` counts it) and raises SweepFailed if any org failed, so the scheduled
invocation is an error too (the function error-rate alert sees it) and the next run tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from adapters.errors import TransientError
from adapters.logs import log_context

log = logging.getLogger(__name__)

T = TypeVar("T")


class SweepFailed(TransientError):
    """Some orgs of a sweep failed (the others were done); the message names them."""


@dataclass
class OrgSweep:
    """One run of a sweep: what it did per org and what failed."""

    name: str
    done: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    orgs: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    """What the sweep's own work counted (e.g. published: 3), logged with the summary."""
    skip_failed_orgs: bool = True
    """Skip an org's remaining units once one failed (off where units of one org are independent)."""

    def run(self, org_id: str, work: Callable[[], T], what: str = "") -> T | None:
        """Do one unit of work of `org_id`; a failure is logged with the org and recorded, never raised."""
        self.orgs.add(org_id)
        if org_id in self.failed and self.skip_failed_orgs:
            self.skipped += 1
            return None
        with log_context(org_id=org_id, sweep=self.name):
            try:
                result = work()
            except Exception as exc:  # noqa: BLE001 - isolated per org, reported by finish()
                self.failed[org_id] = f"{type(exc).__name__}: {exc}"[:500]
                log.error(
                    "%s sweep: org %s failed%s: %s",
                    self.name,
                    org_id,
                    f" ({what})" if what else "",
                    exc,
                    exc_info=True,
                    extra={"json_fields": {"outcome": "failed", "error_type": type(exc).__name__}},
                )
                return None
        self.done += 1
        return result

    def finish(self) -> OrgSweep:
        """Log the run's summary; raise SweepFailed when any org failed (after every other org was done)."""
        fields = {
            "sweep": self.name,
            "units_done": self.done,
            "orgs_seen": len(self.orgs),
            "orgs_failed": len(self.failed),
            "units_skipped": self.skipped,
            "outcome": "failed" if self.failed else "ok",
            **self.counts,
        }
        if self.failed:
            log.error(
                "%s sweep: %d org(s) failed: %s",
                self.name,
                len(self.failed),
                "; ".join(f"{org}: {why}" for org, why in sorted(self.failed.items())[:10]),
                extra={"json_fields": fields},
            )
            raise SweepFailed(
                f"{self.name} sweep: {len(self.failed)} org(s) failed "
                f"({', '.join(sorted(self.failed)[:10])}); the others were done"
            )
        log.info(
            "%s sweep: %d unit(s) done over %d org(s)",
            self.name,
            self.done,
            len(self.orgs),
            extra={"json_fields": fields},
        )
        return self
