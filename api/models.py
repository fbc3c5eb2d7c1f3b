"""What the API answers with (and the referral it takes): pydantic models, in the OpenAPI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from events.bounds import NewId
from projections.queries import HistoryEntry
from workflows import commands as cmd


class CaseSummary(BaseModel):
    case_id: str
    personal_data: str = Field(
        default="kept",
        description='"erased" once the family\'s personal data was erased (retention ended).',
    )
    family_id: str
    team_id: str
    area: str
    referring_agency: str
    priority: int
    phase: str
    key_worker_id: str | None
    policy_version: str | None
    referred_on: date
    decision: str | None
    decided_at: datetime | None
    rejection_reason: str | None
    waitlisted_at: datetime | None
    allocated_at: datetime | None
    first_meeting_due_at: datetime | None
    first_meeting_at: datetime | None
    intensive_ends_on: date | None
    last_contact_at: datetime | None
    sessions: int
    goals: int
    closed_on: date | None
    closure_kind: str | None
    next_review_id: str | None
    next_review_due_on: date | None
    first_meeting_overdue: bool
    no_contact_overdue: bool
    intensive_overrun: bool
    review_overdue: bool
    previous_case_id: str | None
    end_reason: str | None
    version: int
    updated_at: datetime


class CaseHistory(BaseModel):
    case_id: str
    as_of: datetime | None
    entries: list[HistoryEntry]
    summary: CaseSummary | None = None


class AccessEntry(BaseModel):
    actor_id: str
    actor_role: str
    view: str
    interface: str
    as_of: datetime | None
    allowed: bool
    viewed_at: datetime
    purpose: str | None = None
    reason: str | None = None


class PersonEntry(BaseModel):
    id: str | None
    personal: dict[str, Any] | str = Field(description='The person\'s details, or "erased".')


class PersonalEntry(BaseModel):
    stream_version: int
    type: str
    occurred_at: datetime
    personal: dict[str, Any] | str | None = Field(
        description='The event\'s own personal part (names, address, notes), "erased", or none.'
    )
    people: list[PersonEntry]


class PersonalRecord(BaseModel):
    case_id: str
    purpose: str
    entries: list[PersonalEntry]


class ReviewDue(BaseModel):
    case_id: str
    review_id: str
    month: int
    due_on: date
    original_due_on: date
    status: str
    rescheduled: bool
    team_id: str
    key_worker_id: str | None


class Team(BaseModel):
    team_id: str
    team_name: str
    area: str
    registered_at: datetime


class WaitingFamily(BaseModel):
    case_id: str
    team_id: str
    position: int
    priority: int
    referred_on: date
    waitlisted_at: datetime
    days_waiting: int


class Caseload(BaseModel):
    team_id: str
    key_worker_id: str
    caseload_limit: int
    active: bool
    allocated: int
    intensive: int
    follow_up: int
    in_intensive_phase: int


ReferralFields = cmd.sent_fields(cmd.ReferFamily)


class ReferralIn(BaseModel):
    """A referral: the command's fields plus the new case's id (the actor is the caller)."""

    model_config = ConfigDict(extra="forbid")

    case_id: NewId
    referral: ReferralFields  # type: ignore[valid-type]


class Delivery(BaseModel):
    at: datetime
    recipient: str
    channel: str
    escalation: bool
    delivered: bool
    attempts: int | None


class Alert(BaseModel):
    alert_ref: str
    case_id: str | None
    team_id: str | None
    rule: str
    severity: str
    subject: str | None
    to_key_worker: str | None
    to_supervisors_of_team: str | None
    raised_at: datetime
    acknowledge_by: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    escalated_at: datetime | None
    escalation_reason: str | None
    resolved_at: datetime | None
    resolution: str | None
    deliveries: list[Delivery]
