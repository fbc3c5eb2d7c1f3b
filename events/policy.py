"""ProgrammePolicy: every duration and limit of the programme, versioned data not code.

A policy is known by its version and its content digest. The version and digest a case
runs under are recorded on its first event, and the whole policy travels with the case's
workflow, so changing the policy never rewrites old cases. A team runs on its own copy
(recorded on its stream: ``TeamPolicyAdopted``). Each version's content is registered once
(stream ``policy-<version>``): a file that reuses a known version with other numbers is
refused at start-up.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from events.bounds import Code, Day, Days, StrictBool, whole_number
from events.vocabulary import AlertRule, AlertSeverity


class ProgrammePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Code = "2026.1"
    intensive_min_days: Days = 28
    intensive_max_days: Days = 42
    intensive_warning_day: Days = 35
    first_meeting_working_days: Days = 2
    no_contact_days: Days = 7
    follow_up_months: tuple[Annotated[int, BeforeValidator(whole_number)], ...] = (1, 3, 6, 12)
    review_grace_days: Days = 14
    review_due_soon_days: Days = 7
    # An effective date (a meeting, a session, a closure, a status change) may be recorded up
    # to this many days after it (the recorded time is always the real one).
    backdate_days: Days = 14
    # A review may be held from this many days before its due date (earlier is refused).
    review_window_days: Days = 14
    # A review may be moved at most this many days either side of its statutory date (the
    # closure plus 1, 3, 6 or 12 months), and only with a supervisor's approval.
    review_move_max_days: Days = 28
    booster_window_days: Days = 14
    caseload_limit: Annotated[int, Field(ge=1, le=50), BeforeValidator(whole_number)] = 3
    max_extension_days: Days = 42
    unplanned_exit_follow_up: StrictBool = True
    waitlist_max_days: Days = 28
    # How long a recipient has to acknowledge an alert, by severity.
    alert_ack_hours_high: Annotated[int, Field(ge=1, le=24 * 14), BeforeValidator(whole_number)] = (
        24
    )
    alert_ack_hours_medium: Annotated[
        int, Field(ge=1, le=24 * 14), BeforeValidator(whole_number)
    ] = 72
    alert_ack_hours_low: Annotated[int, Field(ge=1, le=24 * 14), BeforeValidator(whole_number)] = (
        168
    )
    # A rule's severity where the service wants it other than the default (keys are rule
    # names; an unknown name is refused when the policy is loaded).
    alert_severity: dict[AlertRule, AlertSeverity] = {}
    # Unacknowledged alerts of these severities go up to the supervisors when their
    # acknowledgement window closes; the others are reminders.
    escalate_severities: tuple[AlertSeverity, ...] = (AlertSeverity.MEDIUM, AlertSeverity.HIGH)
    # The service's own closure days (a team away day, the days between Christmas and New
    # Year): not working days, like weekends and bank holidays.
    closure_days: tuple[Day, ...] = Field(default=(), max_length=366)
    # Retention of a family's personal data: kept while an episode is open, then this many
    # years after the last one ended; a looked-after child's record to this age.
    retention_years_after_end: Annotated[
        int, Field(ge=1, le=100), BeforeValidator(whole_number)
    ] = 7
    retention_looked_after_until_age: Annotated[
        int, Field(ge=18, le=120), BeforeValidator(whole_number)
    ] = 75

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammePolicy:
        if not self.intensive_min_days <= self.intensive_warning_day <= self.intensive_max_days:
            raise ValueError("intensive_warning_day must lie between the minimum and maximum days")
        if list(self.follow_up_months) != sorted(set(self.follow_up_months)):
            raise ValueError("follow_up_months must be increasing")
        if not set(self.follow_up_months) <= {1, 3, 6, 12}:
            raise ValueError("follow_up_months may only contain 1, 3, 6 and 12")
        return self

    @property
    def digest(self) -> str:
        """SHA-256 of the policy's canonical JSON (sorted keys): equal content, equal
        digest, whichever file or order it came from. (Computed each time: a cached value
        would survive ``model_copy(update=...)``.) Compare digests of policies read by the
        same code: a field added since a digest was recorded changes it."""
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


def policy_stream(version: str) -> str:
    """Where a policy version's content is registered."""
    return f"policy-{version}"


DEFAULT_POLICY = ProgrammePolicy()
