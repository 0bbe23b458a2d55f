"""Runs the scheduled functions of the local stack on their schedules, as Cloud Scheduler does in production.

The Functions emulator loads scheduled functions but never runs them. Without this, the local
stack would keep what production's sweeps finish: a change document whose trigger was lost stays
pending, a grouped alert notification is never sent, a scheduled pack never leaves, the pipeline
health goes stale. Each scheduled function's schedule is read from the Functions emulator (the
one its decorator declares) and the function is posted, on its ticks, to the emulator's trigger
route with an empty body, as Cloud Scheduler's job does; a run still going when its next tick
comes is not started twice (production's scheduler jobs do not overlap either: a job's attempt
lasts until the function answers).

Schedules are written in the App Engine cron syntax Cloud Scheduler accepts for Firebase
functions ("every 5 minutes", "every 60 minutes", "every day 03:00") or as a unix cron
expression ("* * * * *"), in UTC unless the function declares a time zone.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from tools.stack.trigger_keys import latest_trigger_key

log = logging.getLogger("schedules")

_EVERY = re.compile(r"^every (\d+) (minute|minutes|hour|hours)$")
_DAILY = re.compile(r"^every day (\d{1,2}):(\d{2})$")
# The longest a scheduled function may run (its declared timeout is at most 540 s).
RUN_TIMEOUT_SECONDS = 600


class ScheduleError(ValueError):
    """A schedule this runner cannot read."""


def next_run(schedule: str, after: datetime, time_zone: str | None = None) -> datetime:
    """The first tick of `schedule` strictly after `after` (a timezone-aware time), in UTC.

    "every N minutes/hours" ticks on the multiples of N counted from midnight, which is when
    Cloud Scheduler runs such a job ("every 5 minutes" at :00, :05, ...).
    """
    zone = ZoneInfo(time_zone) if time_zone else UTC
    local = after.astimezone(zone)
    text = schedule.strip().lower()
    if match := _EVERY.match(text):
        step = int(match.group(1)) * (60 if match.group(2).startswith("hour") else 1)
        if step <= 0:
            raise ScheduleError(f"schedule {schedule!r}: the interval must be positive")
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        minutes = (local - midnight) // timedelta(minutes=1)
        tick = midnight + timedelta(minutes=(minutes // step + 1) * step)
        return tick.astimezone(UTC)
    if match := _DAILY.match(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise ScheduleError(f"schedule {schedule!r}: no such time of day")
        tick = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if tick <= local:
            tick += timedelta(days=1)
        return tick.astimezone(UTC)
    if croniter.is_valid(schedule):
        return croniter(schedule, local).get_next(datetime).astimezone(UTC)
    raise ScheduleError(
        f"schedule {schedule!r} is neither 'every N minutes|hours', 'every day HH:MM' nor a cron expression"
    )


@dataclass(frozen=True)
class ScheduledFunction:
    """A function the Functions emulator loaded with a schedule."""

    name: str
    trigger_id: str
    schedule: str
    time_zone: str | None = None


def scheduled_functions(backends: dict) -> list[ScheduledFunction]:
    """The scheduled functions in the Functions emulator's `/backends` answer."""
    found = []
    for backend in backends.get("backends", []):
        for trigger in backend.get("functionTriggers", []):
            schedule = trigger.get("schedule") or {}
            if isinstance(schedule, dict) and schedule.get("schedule"):
                found.append(
                    ScheduledFunction(
                        trigger["entryPoint"], trigger["id"], schedule["schedule"], schedule.get("timeZone")
                    )
                )
    return sorted(found, key=lambda f: f.name)


class LocalScheduler:
    """Posts each scheduled function on its ticks; one run at a time per function."""

    def __init__(
        self,
        functions_address: str,
        project_id: str,
        only: set[str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._base = f"http://{functions_address}"
        self._project = project_id
        self._only = only
        self._clock = clock
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.functions: list[ScheduledFunction] = []
        self._due: dict[str, datetime] = {}
        self._keys: dict[str, str] = {}
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    def load(self) -> list[ScheduledFunction]:
        """Read the scheduled functions from the Functions emulator and plan their next ticks."""
        with urllib.request.urlopen(f"{self._base}/backends", timeout=10) as response:
            loaded = scheduled_functions(json.loads(response.read()))
        now = self._clock()
        self.functions = []
        for function in loaded:
            if self._only is not None and function.name not in self._only:
                continue
            try:
                self._due[function.name] = next_run(function.schedule, now, function.time_zone)
            except ScheduleError as exc:
                log.warning("%s is not run locally: %s", function.name, exc)
                continue
            self.functions.append(function)
        return self.functions

    def run(self, function: ScheduledFunction) -> int:
        """Run one function now, as its scheduler job does: an empty POST; returns the HTTP status."""
        status, answer = self._post(function)
        if status == 404 and self._learn_key(function, answer):
            status, answer = self._post(function)
        with self._lock:
            self.runs[function.name] = self.runs.get(function.name, 0) + 1
            if not 200 <= status < 300:
                self.failures[function.name] = self.failures.get(function.name, 0) + 1
                log.warning("scheduled run of %s failed (HTTP %s): see firebase.log", function.name, status)
        return status

    def _post(self, function: ScheduledFunction) -> tuple[int, str]:
        key = self._keys.get(function.name, f"{function.trigger_id}-0")
        url = f"{self._base}/functions/projects/{self._project}/triggers/{key}"
        request = urllib.request.Request(url, data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=RUN_TIMEOUT_SECONDS) as response:
                return response.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except OSError as exc:
            log.warning("scheduled run of %s did not reach the Functions emulator: %s", function.name, exc)
            return 0, ""

    def _learn_key(self, function: ScheduledFunction, answer: str) -> bool:
        """After a 404 (the code was reloaded), take the function's current key from the emulator's answer."""
        key = latest_trigger_key(function.trigger_id, answer)
        if key is None or key == self._keys.get(function.name, f"{function.trigger_id}-0"):
            return False
        self._keys[function.name] = key
        return True

    def due(self, now: datetime) -> list[ScheduledFunction]:
        """The functions whose tick has come by `now` and that are not running; their next tick is planned."""
        picked = []
        with self._lock:
            for function in self.functions:
                if self._due[function.name] > now:
                    continue
                self._due[function.name] = next_run(function.schedule, now, function.time_zone)
                if function.name in self._running:
                    log.info("%s is still running from its last tick: this tick is skipped", function.name)
                    continue
                self._running.add(function.name)
                picked.append(function)
        return picked

    def _run_and_release(self, function: ScheduledFunction) -> None:
        try:
            self.run(function)
        finally:
            with self._lock:
                self._running.discard(function.name)

    def tick(self, now: datetime | None = None) -> list[threading.Thread]:
        """Start every due function on a thread of its own; returns the threads."""
        threads = []
        for function in self.due(now or self._clock()):
            thread = threading.Thread(target=self._run_and_release, args=(function,), name=f"schedule-{function.name}")
            thread.daemon = True
            thread.start()
            threads.append(thread)
        return threads

    def serve(self) -> None:
        """Tick until stopped (a thread of the dispatcher's process)."""
        while not self._stopped.is_set():
            self.tick()
            upcoming = min(self._due.values(), default=self._clock() + timedelta(minutes=1))
            wait = (upcoming - self._clock()).total_seconds()
            self._stopped.wait(min(max(wait, 0.2), 30.0))

    def start(self) -> threading.Thread:
        """Load the schedules and tick on a background thread."""
        self.load()
        log.info(
            "running %d scheduled functions on their schedules: %s",
            len(self.functions),
            ", ".join(f"{f.name} ({f.schedule})" for f in self.functions),
        )
        thread = threading.Thread(target=self.serve, name="schedules", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop ticking (a run in progress finishes on its own)."""
        self._stopped.set()
