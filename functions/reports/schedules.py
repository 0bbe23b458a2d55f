"""Report schedules (organizations/{org}/report_schedules/{id}): their settings, and which period is due.

Pure: no Google import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from finance_core.identifiers import identifier_problem
from finance_core.periods import add_months, first_day, period_of
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

EMAIL = r"^[^@\s]+@[^@\s]+$"


class ScheduleError(ValueError):
    """A schedule document the backend cannot use; the message says why."""


class ReportSchedule(BaseModel):
    """When a pack is sent, and to whom.

    `month_end`: the pack of the month that ended `days_after_month_end` days ago (UTC), once.
    `period_close`: the pack of a period as soon as an admin closes it (once per close).
    Recipients: the schedule's own list, else the recipients of its e-mail channel.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str | None = Field(default=None, max_length=200)
    enabled: bool = True
    trigger: Literal["month_end", "period_close"]
    days_after_month_end: int = Field(default=3, ge=0, le=28)
    channel_id: str | None = Field(default=None, description="An e-mail channel of notification_channels.")
    recipients: tuple[Annotated[str, Field(pattern=EMAIL)], ...] = Field(default=(), max_length=50)
    view_id: str | None = Field(
        default=None, description="A shared or ready-made view: its report is sent instead of the monthly pack."
    )

    @model_validator(mode="after")
    def _someone(self) -> ReportSchedule:
        if not self.recipients and not self.channel_id:
            raise ValueError("a schedule needs recipients or an e-mail channel_id")
        if self.view_id is not None and (problem := identifier_problem(self.view_id, "view_id")):
            raise ValueError(problem)
        return self


def parse_schedule(schedule_id: str, document: Mapping[str, Any]) -> ReportSchedule:
    """Validate a schedule document; ScheduleError with readable reasons."""
    try:
        return ReportSchedule.model_validate(dict(document))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'schedule'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ScheduleError(f"report schedule {schedule_id!r} is invalid: {problems}") from None


def due_period(now: datetime, days_after_month_end: int) -> str:
    """The latest month whose pack is due at `now`: it ended at least `days` days ago (UTC dates)."""
    last_complete = add_months(period_of(now.date()), -1)
    if first_day(add_months(last_complete, 1)) + timedelta(days=days_after_month_end) <= now.date():
        return last_complete
    return add_months(last_complete, -1)


def delivery_id(schedule_id: str, period: str, close_id: str | None = None) -> str:
    """Id of one delivery (and of its report): the same schedule and period (and close) is sent once."""
    return f"{schedule_id}__{period}" + (f"__close-{close_id}" if close_id else "")
