"""A case's state: its phase, people, goals, reviews, boosters and open alerts, and
why a command can be refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from events.calendar import add_uk_working_days, add_working_days, local_day, local_midnight
from events.catalogue import DomainEvent
from events.policy import ProgrammePolicy
from events.vocabulary import (
    ClosureKind,
    ConsentScope,
    EpisodeEndReason,
    GoalCategory,
    JointWorkOutcome,
    MeasureStage,
    StatutoryStatus,
)
from workflows import wording
from workflows.alerts import OpenAlert
from workflows.lifecycle.entries import Entry

# Why a command was refused: the actor may not do it (``forbidden``); the case's state or
# the clock is against it now, though the same command may succeed later (``conflict``);
# or it can never succeed as written (``invalid``).
RefusalKind = Literal["forbidden", "conflict", "invalid"]


class CommandRejected(wording.Refusal):
    """A command refused by the rules; nothing is recorded. Names the field and the rule.

    ``rule`` is a template (``"goal {goal_id} is already agreed"``) filled with ``params``:
    ``self.rule`` is the English message, ``template`` and ``params`` let the pages say it
    in Welsh (see ``workflows.wording``)."""

    kind: RefusalKind

    def __init__(
        self, field: str, rule: str, kind: RefusalKind = "conflict", /, **params: object
    ) -> None:
        super().__init__(field, rule, kind, **params)


class Phase(StrEnum):
    NEW = "new"
    REFERRED = "referred"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    ALLOCATED = "allocated"
    INTENSIVE = "intensive"
    FOLLOW_UP = "follow_up"
    ENDED = "ended"


class ReviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    OVERDUE = "overdue"
    COMPLETED = "completed"
    NOT_HELD = "not_held"
    CANCELLED = "cancelled"


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal_id: str
    category: GoalCategory
    baseline: int
    target: int
    latest_score: int | None = None
    closing_score: int | None = None


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review_id: str
    month: int
    due_on: date
    status: ReviewStatus = ReviewStatus.SCHEDULED
    rescheduled: bool = False
    reminded_for: date | None = None  # the due date a "due soon" reminder went out for
    statutory_on: date | None = None  # the date first scheduled (None: before it was kept)
    move_requested_to: date | None = None  # a request to move it, awaiting a supervisor

    @property
    def done(self) -> bool:
        return self.status in (
            ReviewStatus.COMPLETED,
            ReviewStatus.NOT_HELD,
            ReviewStatus.CANCELLED,
        )


class Booster(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booster_id: str
    goal_ids: list[str]
    due_by: date
    delivered_at: datetime | None = None
    overdue: bool = False


class Extension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str
    days: int
    approved: bool | None = None


class CaseState(BaseModel):
    """Everything the rules need to know about one episode."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    policy: ProgrammePolicy
    phase: Phase = Phase.NEW
    version: int = 0
    family_id: str | None = None
    team_id: str | None = None
    priority: int = 3
    referred_on: date | None = None
    previous_case_id: str | None = None
    children: dict[str, StatutoryStatus] = {}
    adults: list[str] = []
    # The family's consent per purpose: as last given or withdrawn; with consent_per_person,
    # withdrawn while anyone's own answer is a withdrawal.
    consents: dict[ConsentScope, bool] = {}
    person_consents: dict[str, dict[ConsentScope, bool]] = {}  # each person's own answers
    consent_per_person: bool = False
    accepted_at: datetime | None = None
    key_worker_id: str | None = None
    allocated_at: datetime | None = None
    waitlist_position: int | None = None
    first_meeting_due_at: datetime | None = None
    first_meeting_at: datetime | None = None
    first_meeting_overdue: bool = False
    last_contact_at: datetime | None = None
    no_contact_flagged_for: datetime | None = None
    intensive_started_on: date | None = None
    intensive_ends_on: date | None = None
    warning_flagged: bool = False
    overrun_flagged_for: date | None = None
    goals: dict[str, Goal] = {}
    session_ids: set[str] = set()
    extensions: dict[str, Extension] = {}
    closed_on: date | None = None
    closure_kind: ClosureKind | None = None
    reviews: dict[str, Review] = {}
    boosters: dict[str, Booster] = {}
    end_reason: EpisodeEndReason | None = None
    open_alerts: dict[str, OpenAlert] = {}
    alerts_raised: int = 0
    # Episodes started before these timers existed run (and replay) without them.
    alert_timers: bool = False
    # Likewise the rules that bound input against the case (set when first deciding).
    input_bounds: bool = False
    # And the coded family profile: the area one of the local authorities, each child's age
    # band checked against (or worked out from) the date of birth.
    coded_profile: bool = False
    # And the rules found missing by trying the engine as an attacker would (2026-11-26):
    # each goal scored once per list, each person's id once in a family, a corrected area
    # from the list, a priority change's reason in words, plausible dates of birth and
    # expected dates (workflows.lifecycle.guards.EDGE_RULES).
    edge_rules: bool = False
    # And dates recorded late, bounded (found the same way, 2026-11-27): a referral's date
    # within the backdating limit and not after today in Wales (it jumped the waitlist
    # dated 1900), a closure not before the last contact recorded, a measure not after
    # today in Wales.
    late_dates: bool = False
    # A person's id that differs from one in the family by case alone ("CH1" beside
    # "ch1") refused (2026-11-27, afternoon; set when first deciding, by its patch).
    person_ids_fold_case: bool = False
    # Episodes started before the UK calendar keep UTC dates and weekday-only working days.
    uk_calendar: bool = False
    # And the follow-up rules: review windows, reviews standing alone, "not held", boosters
    # that keep the episode open, maintenance contacts and offered boosters.
    follow_up_rules: bool = False
    contact_ids: set[str] = set()
    # And moving a review as a request a supervisor decides, within the policy's limit.
    review_requests: bool = False
    # Entries that can be corrected, by their version (workflows.lifecycle.corrections),
    # kept from when corrections began (episodes before them keep none).
    corrections: bool = False
    # The team is told when the family goes on to follow-up and when follow-up ends, so it
    # can move the family with a leaver or cover it.
    team_follows_up: bool = False
    entries: dict[int, Entry] = {}
    # Another key worker covering this family's key worker, to the end of ``cover_until``.
    cover_key_worker_id: str | None = None
    cover_until: date | None = None
    # What the evaluation data set counts (workflows/lifecycle/measures.py).
    programme: str = "ifss"
    plan_ids: set[str] = set()
    measured: set[str] = set()  # "referral", "closure", "review-3", ...
    feedback_ids: set[str] = set()
    purchase_ids: set[str] = set()
    joint_work: dict[str, JointWorkOutcome] = {}

    @property
    def ended(self) -> bool:
        return self.phase is Phase.ENDED

    def refusing(self, scope: ConsentScope) -> list[str]:
        """The people whose own answer for ``scope`` is a withdrawal."""
        return sorted(
            p for p, answers in self.person_consents.items() if answers.get(scope) is False
        )

    @property
    def alert_recipient(self) -> str | None:
        """Who the family's alerts go to: the covering key worker while a cover lasts."""
        return self.cover_key_worker_id or self.key_worker_id

    def next_review(self) -> Review | None:
        """The earliest review not yet done with (completed, or recorded as not held)."""
        open_reviews = [r for r in self.reviews.values() if not r.done]
        return min(open_reviews, key=lambda r: r.month, default=None)

    def pending_boosters(self) -> list[Booster]:
        """Boosters neither delivered nor lapsed."""
        return [b for b in self.boosters.values() if b.delivered_at is None and not b.overdue]


def measure_key(stage: MeasureStage, month: int | None) -> str:
    """The stage a set of measures was taken at: ``referral``, ``closure``, ``review-3``."""
    return f"review-{month}" if stage is MeasureStage.REVIEW else stage.value


def midnight(day: date) -> datetime:
    """Deadlines fall at the start of a day, UTC (episodes before the UK calendar)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def start_of(state: CaseState, day: date) -> datetime:
    """When ``day`` starts for this case: local midnight in Wales (UTC before the UK
    calendar)."""
    return local_midnight(day) if state.uk_calendar else midnight(day)


def day_of(state: CaseState, moment: datetime) -> date:
    """The date ``moment`` falls on for this case: in Wales (before the UK calendar, the
    date as written, which for the workflow's clock is UTC)."""
    return local_day(moment) if state.uk_calendar else moment.date()


def working_days_after(state: CaseState, start: datetime, days: int) -> datetime:
    """``days`` working days after ``start``: skipping bank holidays and the policy's closure
    days too under the UK calendar, weekends only before it."""
    if state.uk_calendar:
        return add_uk_working_days(start, days, state.policy.closure_days)
    return add_working_days(start, days)


# Decides one kind of command: (state, command, now) -> the events it causes.
Decider = Callable[[CaseState, Any, datetime], list[DomainEvent]]
