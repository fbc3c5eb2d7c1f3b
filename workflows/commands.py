"""Commands to a case: imperative, one input model each, every one carrying its actor."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from events.catalogue import Adult, Child, Code, FamilyPersonal, FreeText, GoalScore, Score
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


class ReferFamily(Command):
    """Refer a family: opens the episode. No eligible ground or no consent: rejected at once."""

    family_id: Code
    team_id: Code
    area: Code
    referring_agency: ReferringAgency
    referral_grounds: list[ReferralGround] = []
    presenting_needs: list[PresentingNeed] = []
    children: list[Child] = Field(min_length=1)
    adults: list[Adult] = []
    consent_to_referral: bool
    consent_to_information_sharing: bool
    consent_to_follow_up: bool = True
    priority: Annotated[int, Field(ge=1, le=5)] = 3
    received_on: date
    personal: FamilyPersonal | None = None


class AcceptReferral(Command):
    """Accept the referral; the team allocates a key worker or waitlists the family."""


class RejectReferral(Command):
    """Reject the referral with a coded reason; the episode ends."""

    reason: RejectionReason
    notes: FreeText | None = None


class RecordFirstMeeting(Command):
    """The key worker met the family; the intensive phase starts."""

    held_at: AwareDatetime


class AgreeGoal(Command):
    """The family agreed a measurable goal (baseline and target 0-10)."""

    goal_id: Code
    category: GoalCategory
    description: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    baseline: Score
    target: Score


class RecordSession(Command):
    """A session took place (home visit, phone, out of hours, group)."""

    session_id: Code
    held_at: AwareDatetime
    kind: SessionKind
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    notes: FreeText | None = None


class ScoreGoals(Command):
    """Score goals during the intensive phase."""

    scores: list[GoalScore] = Field(min_length=1)
    stage: ScoringStage = ScoringStage.PROGRESS


class RequestExtension(Command):
    """Ask a supervisor to extend the intensive phase."""

    request_id: Code
    days: Annotated[int, Field(ge=1, le=42)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class DecideExtension(Command):
    """Approve or refuse an extension (supervisors only)."""

    request_id: Code
    approved: bool


class CloseIntensivePhase(Command):
    """Close the intensive phase, planned or unplanned; schedules the follow-up reviews."""

    kind: ClosureKind
    unplanned_reason: UnplannedExitReason | None = None
    closing_scores: list[GoalScore] = []
    onward_referrals: list[ReferringAgency] = []
    transferred_to_less_formal_services: bool = False


class CompleteReview(Command):
    """Complete the next follow-up review, rating every goal; a regression schedules a booster."""

    review_id: Code
    ratings: dict[Code, GoalRating] = Field(min_length=1)
    family_staying_together: bool
    substance_use_status: SubstanceUseStatus
    notes: FreeText | None = None


class RescheduleReview(Command):
    """Move a follow-up review to a later date, with a reason."""

    review_id: Code
    due_on: date
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class RecordBooster(Command):
    """A booster session was delivered."""

    booster_id: Code
    delivered_at: AwareDatetime
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

    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class AcknowledgeAlert(Command):
    """A recipient (the key worker it was sent to, or a supervisor) has seen an alert."""

    alert_id: Code


class KeyWorkerAssigned(Command):
    """From the team workflow: a key worker has space for this family."""

    key_worker_id: Code
    from_waitlist: bool = False


class PlacedOnWaitlist(Command):
    """From the team workflow: no key worker has space; the family waits."""

    position: Annotated[int, Field(ge=1)]
    priority: Annotated[int, Field(ge=1, le=5)]


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
