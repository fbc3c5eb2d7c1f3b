"""ProgrammePolicy: every duration and limit of the programme, versioned data not code.

The version a case runs under is recorded on its first event, and the whole policy travels
with the case's workflow, so changing the policy never rewrites old cases.
"""

from __future__ import annotations

__all__ = ["DEFAULT_POLICY", "ProgrammePolicy", "add_months", "add_working_days"]

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.bounds import Days
from events.calendar import add_months, add_working_days
from events.vocabulary import AlertRule, AlertSeverity


class ProgrammePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "2026.1"
    intensive_min_days: Days = 28
    intensive_max_days: Days = 42
    intensive_warning_day: Days = 35
    first_meeting_working_days: Days = 2
    no_contact_days: Days = 7
    follow_up_months: tuple[int, ...] = (1, 3, 6, 12)
    review_grace_days: Days = 14
    review_due_soon_days: Days = 7
    booster_window_days: Days = 14
    caseload_limit: Annotated[int, Field(ge=1, le=50)] = 3
    max_extension_days: Days = 42
    unplanned_exit_follow_up: bool = True
    waitlist_max_days: Days = 28
    # How long a recipient has to acknowledge an alert, by severity.
    alert_ack_hours_high: Annotated[int, Field(ge=1, le=24 * 14)] = 24
    alert_ack_hours_medium: Annotated[int, Field(ge=1, le=24 * 14)] = 72
    alert_ack_hours_low: Annotated[int, Field(ge=1, le=24 * 14)] = 168
    # A rule's severity where the service wants it other than the default (keys are rule
    # names; an unknown name is refused when the policy is loaded).
    alert_severity: dict[AlertRule, AlertSeverity] = {}
    # Unacknowledged alerts of these severities go up to the supervisors when their
    # acknowledgement window closes; the others are reminders.
    escalate_severities: tuple[AlertSeverity, ...] = (AlertSeverity.MEDIUM, AlertSeverity.HIGH)

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammePolicy:
        if not self.intensive_min_days <= self.intensive_warning_day <= self.intensive_max_days:
            raise ValueError("intensive_warning_day must lie between the minimum and maximum days")
        if list(self.follow_up_months) != sorted(set(self.follow_up_months)):
            raise ValueError("follow_up_months must be increasing")
        if not set(self.follow_up_months) <= {1, 3, 6, 12}:
            raise ValueError("follow_up_months may only contain 1, 3, 6 and 12")
        return self


DEFAULT_POLICY = ProgrammePolicy()
