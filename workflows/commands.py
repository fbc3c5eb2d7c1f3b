"""Commands to a case: imperative, one input model each, every one carrying its actor."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from events.bounds import (
    MAX_CODES,
    MAX_GOALS,
    MAX_PEOPLE,
    Code,
    Day,
    FreeText,
    Moment,
    Priority,
    Score,
    StrictBool,
    Words,
)
from events.catalogue import Adult, Child, FamilyPersonal, GoalScore
from events.envelope import Actor
from events.vocabulary import (
    ClosureKind,
    ConsentScope,
    GoalCategory,
    GoalRating,
    PresentingNeed,
    ReferralGround,
    ReferringAgency,
    RejectionReason,
    ScoringStage,
    SessionKind,
    StatutoryStatus,
    SubstanceUseStatus,
    UnplannedExitReason,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    expected_version: Annotated[int, Strict(), Field(ge=0)] | None = Field(
        default=None,
        description="Refuse the command (409) unless the case is at exactly this version.",
    )


class ReferFamily(Command):
    """Refer a family: opens the episode. No eligible ground or no consent: rejected at once."""

    family_id: Code
    team_id: Code
    area: Code
    referring_agency: ReferringAgency
    referral_grounds: list[ReferralGround] = Field(default=[], max_length=MAX_CODES)
    presenting_needs: list[PresentingNeed] = Field(default=[], max_length=MAX_CODES)
    children: list[Child] = Field(min_length=1, max_length=MAX_PEOPLE)
    adults: list[Adult] = Field(default=[], max_length=MAX_PEOPLE)
    consent_to_referral: StrictBool
    consent_to_information_sharing: StrictBool
    consent_to_follow_up: StrictBool = True
    priority: Priority = 3
    received_on: Day
    personal: FamilyPersonal | None = None


class AcceptReferral(Command):
    """Accept the referral; the team allocates a key worker or waitlists the family."""


class RejectReferral(Command):
    """Reject the referral with a coded reason; the episode ends."""

    reason: RejectionReason
    notes: FreeText | None = None


class RecordFirstMeeting(Command):
    """The key worker met the family; the intensive phase starts."""

    held_at: Moment


class AgreeGoal(Command):
    """The family agreed a measurable goal (baseline and target 0-10)."""

    goal_id: Code
    category: GoalCategory
    description: Words
    baseline: Score
    target: Score


class RecordSession(Command):
    """A session took place (home visit, phone, out of hours, group)."""

    session_id: Code
    held_at: Moment
    kind: SessionKind
    duration_minutes: Annotated[int, Strict(), Field(ge=1, le=24 * 60)]
    notes: FreeText | None = None


class ScoreGoals(Command):
    """Score goals during the intensive phase."""

    scores: list[GoalScore] = Field(min_length=1, max_length=MAX_GOALS)
    stage: ScoringStage = ScoringStage.PROGRESS


class RequestExtension(Command):
    """Ask a supervisor to extend the intensive phase."""

    request_id: Code
    days: Annotated[int, Strict(), Field(ge=1, le=42)]
    reason: Words


class DecideExtension(Command):
    """Approve or refuse an extension (supervisors only)."""

    request_id: Code
    approved: StrictBool


class CloseIntensivePhase(Command):
    """Close the intensive phase, planned or unplanned; schedules the follow-up reviews."""

    kind: ClosureKind
    unplanned_reason: UnplannedExitReason | None = None
    closing_scores: list[GoalScore] = Field(default=[], max_length=MAX_GOALS)
    onward_referrals: list[ReferringAgency] = Field(default=[], max_length=MAX_CODES)
    transferred_to_less_formal_services: StrictBool = False


class CompleteReview(Command):
    """Complete the next follow-up review, rating every goal; a regression schedules a booster."""

    review_id: Code
    ratings: dict[Code, GoalRating] = Field(min_length=1, max_length=MAX_GOALS)
    family_staying_together: StrictBool
    substance_use_status: SubstanceUseStatus
    notes: FreeText | None = None


class RescheduleReview(Command):
    """Move a follow-up review to a later date, with a reason."""

    review_id: Code
    due_on: Day
    reason: Words


class RecordBooster(Command):
    """A booster session was delivered."""

    booster_id: Code
    delivered_at: Moment
    notes: FreeText | None = None


class ChangeChildStatus(Command):
    """A child's statutory status changed (none, cin, cpr, lac)."""

    child_id: Code
    status: StatutoryStatus


class RecordConsent(Command):
    """The family gave consent (referral, information_sharing, follow_up)."""

    scope: ConsentScope
    person_id: Code | None = None


class WithdrawConsent(Command):
    """The family withdrew consent."""

    scope: ConsentScope
    person_id: Code | None = None


class CloseEpisode(Command):
    """A supervisor ends the follow-up early; the remaining reviews are cancelled."""

    reason: Words


class AcknowledgeAlert(Command):
    """A recipient (the key worker it was sent to, or a supervisor) has seen an alert."""

    alert_id: Code


class KeyWorkerAssigned(Command):
    """From the team workflow: a key worker has space for this family."""

    key_worker_id: Code
    from_waitlist: StrictBool = False


class PlacedOnWaitlist(Command):
    """From the team workflow: no key worker has space; the family waits."""

    position: Annotated[int, Strict(), Field(ge=1)]
    priority: Priority


class EscalateAlert(Command):
    """From an alert's delivery workflow: it could not be delivered; tell the supervisors."""

    alert_id: Code


# The names under which each command is a Temporal update (and an API / CLI command).
COMMANDS: dict[str, type[Command]] = {
    "accept": AcceptReferral,
    "reject": RejectReferral,
    "record_first_meeting": RecordFirstMeeting,
    "agree_goal": AgreeGoal,
    "record_session": RecordSession,
    "score_goals": ScoreGoals,
    "request_extension": RequestExtension,
    "decide_extension": DecideExtension,
    "close_intensive_phase": CloseIntensivePhase,
    "complete_review": CompleteReview,
    "reschedule_review": RescheduleReview,
    "record_booster": RecordBooster,
    "change_child_status": ChangeChildStatus,
    "record_consent": RecordConsent,
    "withdraw_consent": WithdrawConsent,
    "close_episode": CloseEpisode,
    "acknowledge_alert": AcknowledgeAlert,
}
