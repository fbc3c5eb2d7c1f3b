"""The catalogue of events: every fact the engine records about a family's episode.

Events are frozen, named in the past tense, and registered by type name. Fields that
identify a person (names, dates of birth, addresses, free-text notes) live in a separate
``personal`` part so that it can be encrypted per family and erased by destroying the key.
Avoid floats in events: the hash chain needs JSON that survives a round trip through jsonb.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from events.bounds import (
    LINE_PATTERN,
    MAX_CODES,
    MAX_GOALS,
    MAX_PEOPLE,
    Code,
    Day,
    Days,
    FreeText,
    Line,
    Moment,
    Priority,
    Score,
    StrictBool,
    Words,
    line_text,
    one_line,
    recorded,
    whole_number,
)
from events.policy import ProgrammePolicy
from events.vocabulary import (
    AccessPurpose,
    AgeBand,
    AlertResolution,
    AlertRule,
    AlertSeverity,
    ClosureKind,
    ConsentScope,
    CorrectionReason,
    DeliveryChannel,
    EpisodeEndReason,
    EscalationReason,
    FeedbackRating,
    FeedbackSource,
    GoalCategory,
    GoalRating,
    HandoverReason,
    JointWorkOutcome,
    LanguagePreference,
    MeasureStage,
    OverdueOnImport,
    PresentingNeed,
    ReferralGround,
    ReferringAgency,
    RejectionReason,
    ReviewNotHeldReason,
    Role,
    ScoringStage,
    SessionKind,
    StatutoryStatus,
    SubstanceUseStatus,
    TrainingModel,
    UnplannedExitReason,
    WithdrawalReason,
)

ReviewMonth = Annotated[Literal[1, 3, 6, 12], BeforeValidator(whole_number)]
Position = Annotated[int, Field(ge=1, le=100_000), BeforeValidator(whole_number)]
StreamRef = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
ErrorText = Annotated[str, StringConstraints(max_length=500), AfterValidator(one_line)]
Relationship = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(line_text),
    Field(json_schema_extra={"pattern": LINE_PATTERN}),
]


class Part(BaseModel):
    """A frozen value inside an event."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# The kinds of stream: a case's own (``case-<id>``), its team's, an alert's delivery, a
# case's access log, a read model's decisions, a programme policy's registration.
StreamKind = Literal[
    "case",
    "team",
    "delivery",
    "access",
    "projection",
    "policy",
    "family",
    "retention",
    "legacy",
    "admin",
    "report",
    "team_work",
]

# A SHA-256 digest in lower-case hex (a programme policy's content).
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class DomainEvent(Part):
    """Base of every event. Subclasses are registered under their class name."""

    schema_version: ClassVar[int] = 1
    summary: ClassVar[str] = ""
    # The kind of stream an event of this type is written to.
    stream: ClassVar[StreamKind] = "case"
    registry: ClassVar[dict[str, type[DomainEvent]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        DomainEvent.registry[cls.__name__] = cls

    @classmethod
    def type_name(cls) -> str:
        """The name stored in the ``type`` column."""
        return cls.__name__


# --- parts -------------------------------------------------------------------------------


class ChildPersonal(Part):
    name: Line
    date_of_birth: Day | None = None


class Child(Part):
    child_id: Code
    statutory_status: StatutoryStatus = StatutoryStatus.NONE
    expected_on: Day | None = Field(default=None, description="An unborn child's due date.")
    age_band: AgeBand | None = Field(
        default=None,
        description="The child's age band when recorded (coded, kept in clear for the data "
        "set): worked out from the date of birth when one is given; unborn when expected.",
    )
    personal: ChildPersonal | None = None


class AdultPersonal(Part):
    name: Line
    date_of_birth: Day | None = None


class Adult(Part):
    person_id: Code
    relationship: Relationship
    personal: AdultPersonal | None = None


class FamilyPersonal(Part):
    family_name: Line
    address: FreeText | None = None
    notes: FreeText | None = None


class GoalScore(Part):
    goal_id: Code
    score: Score


class GoalReviewRating(Part):
    goal_id: Code
    rating: GoalRating
    score: Score | None = None


class NotesPersonal(Part):
    notes: FreeText


# --- referral and decision ---------------------------------------------------------------


class ReferralReceived(DomainEvent):
    summary: ClassVar[str] = "A family was referred to the service; opens the episode."

    case_id: Code
    family_id: Code
    team_id: Code
    area: Code
    referring_agency: ReferringAgency
    referral_grounds: list[ReferralGround] = Field(max_length=MAX_CODES)
    presenting_needs: list[PresentingNeed] = Field(default=[], max_length=MAX_CODES)
    children: list[Child] = Field(min_length=1, max_length=MAX_PEOPLE)
    adults: list[Adult] = Field(default=[], max_length=MAX_PEOPLE)
    consent_to_referral: StrictBool
    consent_to_information_sharing: StrictBool
    consent_to_follow_up: StrictBool = True
    priority: Priority = 3
    received_on: Day
    policy_version: Code
    policy_digest: Digest | None = Field(
        default=None,
        description="The policy's content digest (absent on referrals recorded before digests).",
    )
    previous_case_id: Code | None = Field(
        default=None, description="Set when the family had an earlier episode (re-referral)."
    )
    programme: Code = Field(
        default="ifss",
        description="The programme the family is referred to (events.programmes): its "
        "eligible grounds and outcome measures. Absent on referrals before programmes: ifss.",
    )
    language_preference: LanguagePreference | None = Field(
        default=None,
        description="The language the family chose to be worked with in (None: not recorded).",
    )
    personal: FamilyPersonal | None = None


class ReferralAccepted(DomainEvent):
    summary: ClassVar[str] = "The team accepted the referral."


class ReferralRejected(DomainEvent):
    summary: ClassVar[str] = (
        "The referral was rejected, with a coded reason: by the team, or by a named rule "
        "(then recorded as the system's decision)."
    )

    reason: RejectionReason
    personal: NotesPersonal | None = None
    rule: Code | None = Field(
        default=None,
        description="The rule that rejected it automatically (None: a person decided).",
    )


class CaseImported(DomainEvent):
    summary: ClassVar[str] = (
        "The case was brought over from another case system at the phase it had reached; "
        "the events after this one are its history there, with their real dates."
    )

    source_system: Code
    source_record: Code
    phase: Code = Field(description="The phase the family had reached there.")
    overdue_alerts: OverdueOnImport = Field(
        default=OverdueOnImport.INBOX,
        description="How items already overdue at import alert: `inbox` (raised once, not "
        "delivered) or `deliver` (raised once and delivered like any alert).",
    )
    earlier_record: Code | None = Field(
        default=None,
        description="The family's earlier episode there (its record), ended before this "
        "referral: this one is a re-referral. Not imported itself.",
    )
    earlier_ended_on: Day | None = Field(
        default=None, description="The day that earlier episode ended there."
    )


class FamilyWithdrew(DomainEvent):
    summary: ClassVar[str] = (
        "The family left before the intensive work began (referred, accepted, waiting or "
        "allocated but not yet met), with a coded reason; its place is freed at once."
    )

    reason: WithdrawalReason
    personal: NotesPersonal | None = None


class KeyWorkerChanged(DomainEvent):
    summary: ClassVar[str] = (
        "A supervisor handed the family to another key worker in its team (capacity checked "
        "by the team), or the team did when the key worker left; open alerts follow."
    )

    previous_key_worker_id: Code
    key_worker_id: Code
    reason: HandoverReason
    personal: NotesPersonal | None = None


class AllocationWithdrawn(DomainEvent):
    summary: ClassVar[str] = (
        "The family's key worker left before the first meeting and nobody else had space: "
        "back on the team's waitlist (its referral date keeps its place in the order)."
    )

    previous_key_worker_id: Code
    priority: Priority
    position: Position


class AllocationRetained(DomainEvent):
    summary: ClassVar[str] = (
        "The team put the family back on its waitlist as its key worker left, but the "
        "family had met them meanwhile: it stays with them until a supervisor moves it (the "
        "team is told, and takes it off its waitlist)."
    )

    key_worker_id: Code


class FamilyTransferred(DomainEvent):
    summary: ClassVar[str] = (
        "A supervisor moved the family to another team, which allocated a key worker at "
        "once or waitlisted it; the first team's place is freed."
    )

    from_team_id: Code
    team_id: Code
    key_worker_id: Code | None = Field(
        default=None, description="The receiving team's key worker; None: waitlisted there."
    )
    position: Position | None = None
    first_meeting_due_at: Moment | None = Field(
        default=None, description="A new first-meeting deadline, when the family was not met yet."
    )
    reason: HandoverReason
    personal: NotesPersonal | None = None


class KeyWorkerCoverArranged(DomainEvent):
    summary: ClassVar[str] = (
        "Another key worker covers the family's key worker until a date: they read, act "
        "and receive the family's alerts until then."
    )

    cover_key_worker_id: Code
    until: Day


class KeyWorkerCoverEnded(DomainEvent):
    summary: ClassVar[str] = (
        "The cover ended (the day after its last began): alerts go back to the key worker."
    )

    cover_key_worker_id: Code


class FamilyWaitlisted(DomainEvent):
    summary: ClassVar[str] = "Accepted, but no key worker had space: the family waits."

    team_id: Code
    priority: Priority
    position: Position


class KeyWorkerAllocated(DomainEvent):
    summary: ClassVar[str] = "A key worker was allocated to the family."
    schema_version: ClassVar[int] = 2  # v1 carried no deadline: readers computed it

    key_worker_id: Code
    team_id: Code
    from_waitlist: StrictBool = False
    first_meeting_due_at: Moment = Field(
        description="When the first meeting is due, under the case's policy."
    )


# --- intensive phase ---------------------------------------------------------------------


class FirstMeetingHeld(DomainEvent):
    summary: ClassVar[str] = "The key worker first met the family."
    schema_version: ClassVar[int] = 2  # v1 carried no end date: readers computed it

    held_at: Moment
    intensive_ends_on: Day = Field(
        description="The last day of the intensive phase, under the case's policy."
    )


class FirstMeetingOverdue(DomainEvent):
    summary: ClassVar[str] = "The first meeting was not held by its target date."

    due_at: Moment


class GoalAgreed(DomainEvent):
    summary: ClassVar[str] = "The family agreed a measurable behavioural goal."

    goal_id: Code
    category: GoalCategory
    baseline: Score
    target: Score
    personal: NotesPersonal | None = Field(
        default=None, description="The goal in the family's words."
    )


class SessionRecorded(DomainEvent):
    summary: ClassVar[str] = "A session with the family took place."
    schema_version: ClassVar[int] = 2  # v1 had no `kind`: every session was a home visit.

    session_id: Code
    held_at: Moment
    kind: SessionKind
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60), BeforeValidator(whole_number)]
    personal: NotesPersonal | None = None


class NoContactThresholdPassed(DomainEvent):
    summary: ClassVar[str] = "No session with the family for the policy's number of days."

    last_contact_at: Moment
    days: Annotated[int, Field(ge=1, le=366), BeforeValidator(whole_number)]


class GoalsScored(DomainEvent):
    summary: ClassVar[str] = "Goals were scored (progress during the phase, or at closure)."

    stage: ScoringStage
    scores: list[GoalScore] = Field(min_length=1, max_length=MAX_GOALS)


class ExtensionRequested(DomainEvent):
    summary: ClassVar[str] = "The key worker asked to extend the intensive phase."

    request_id: Code
    days: Annotated[int, Field(ge=1, le=42), BeforeValidator(whole_number)]
    personal: NotesPersonal | None = Field(default=None, description="Why, in words.")


class ExtensionDecided(DomainEvent):
    summary: ClassVar[str] = "A supervisor approved or refused an extension."

    request_id: Code
    approved: StrictBool
    days: Annotated[int, Field(ge=0, le=42), BeforeValidator(whole_number)]
    new_end_on: Day | None = None
    personal: NotesPersonal | None = None  # the supervisor's reason


class IntensivePhaseEndApproaching(DomainEvent):
    summary: ClassVar[str] = "The intensive phase reached its warning day (default day 35)."

    day: Annotated[int, Field(ge=1, le=366), BeforeValidator(whole_number)]
    ends_on: Day


class IntensivePhaseOverrun(DomainEvent):
    summary: ClassVar[str] = "The intensive phase passed its maximum without an approved extension."

    ends_on: Day


class IntensivePhaseClosed(DomainEvent):
    summary: ClassVar[str] = "The intensive phase ended, planned or unplanned."

    kind: ClosureKind
    unplanned_reason: UnplannedExitReason | None = None
    closing_scores: list[GoalScore] = Field(default=[], max_length=MAX_GOALS)
    onward_referrals: list[ReferringAgency] = Field(default=[], max_length=MAX_CODES)
    transferred_to_less_formal_services: StrictBool = False
    closed_on: Day


# --- follow-up ---------------------------------------------------------------------------


class FollowUpReviewScheduled(DomainEvent):
    summary: ClassVar[str] = "A follow-up review was put in the calendar."

    review_id: Code
    month: ReviewMonth
    due_on: Day


class FollowUpReviewRescheduled(DomainEvent):
    summary: ClassVar[str] = "A follow-up review was moved to a new date."

    review_id: Code
    previous_due_on: Day
    due_on: Day
    personal: NotesPersonal | None = Field(default=None, description="Why, in words.")


class FollowUpReviewMoveRequested(DomainEvent):
    summary: ClassVar[str] = (
        "A practitioner asked to move a follow-up review to another date; it stays due "
        "(and its overdue alert stands) until a supervisor decides."
    )

    review_id: Code
    due_on: Day
    personal: NotesPersonal | None = Field(default=None, description="Why, in words.")


class FollowUpReviewMoveDecided(DomainEvent):
    summary: ClassVar[str] = (
        "A supervisor approved a request to move a review (the move follows) or refused it."
    )

    review_id: Code
    due_on: Day
    approved: StrictBool
    personal: NotesPersonal | None = Field(default=None, description="Why, in words.")


class FollowUpReviewDue(DomainEvent):
    summary: ClassVar[str] = "A follow-up review reached its due date."

    review_id: Code
    due_on: Day


class FollowUpReviewOverdue(DomainEvent):
    summary: ClassVar[str] = "A follow-up review was not completed within its grace period."

    review_id: Code
    due_on: Day
    grace_days: Days


class FollowUpReviewApproaching(DomainEvent):
    summary: ClassVar[str] = "A follow-up review falls due within the policy's reminder days."

    review_id: Code
    due_on: Day
    days: Days


class ChildReviewStatus(Part):
    child_id: Code
    status: StatutoryStatus


class FollowUpReviewCompleted(DomainEvent):
    summary: ClassVar[str] = (
        "A follow-up review was held: every goal rated (a family without goals is reviewed "
        "on the rest)."
    )

    review_id: Code
    month: ReviewMonth
    ratings: list[GoalReviewRating] = Field(default=[], max_length=MAX_GOALS)
    family_staying_together: StrictBool
    substance_use_status: SubstanceUseStatus
    children_statuses: list[ChildReviewStatus] = Field(
        default=[],
        max_length=MAX_PEOPLE,
        description="Each child's statutory status as found at the review (empty: not asked).",
    )
    personal: NotesPersonal | None = None


class FollowUpReviewNotHeld(DomainEvent):
    summary: ClassVar[str] = (
        "A follow-up review could not be held, with a coded reason; the review is done with."
    )

    review_id: Code
    month: ReviewMonth
    reason: ReviewNotHeldReason
    personal: NotesPersonal | None = None


class FollowUpReviewCancelled(DomainEvent):
    summary: ClassVar[str] = (
        "A review not yet held was cancelled: the family withdrew its consent to follow-up."
    )

    review_id: Code
    month: ReviewMonth
    reason: Literal["consent_withdrawn"] = "consent_withdrawn"


class MaintenanceContactRecorded(DomainEvent):
    summary: ClassVar[str] = "The key worker kept in touch with the family during follow-up."

    contact_id: Code
    held_at: Moment
    kind: SessionKind
    personal: NotesPersonal | None = None


class BoosterScheduled(DomainEvent):
    summary: ClassVar[str] = (
        "A booster session was scheduled: for goals that slipped at a review, or offered by "
        "the key worker (no review)."
    )

    booster_id: Code
    goal_ids: list[Code] = Field(min_length=1, max_length=MAX_GOALS)
    review_id: Code | None = None
    due_by: Day


class BoosterDelivered(DomainEvent):
    summary: ClassVar[str] = "A booster session was delivered."

    booster_id: Code
    delivered_at: Moment
    personal: NotesPersonal | None = None


class BoosterOverdue(DomainEvent):
    summary: ClassVar[str] = "A booster session was not delivered within its window."

    booster_id: Code
    due_by: Day


# --- status and consent ------------------------------------------------------------------


class ChildStatusChanged(DomainEvent):
    summary: ClassVar[str] = "A child's statutory status changed (CIN, CPR, LAC)."

    child_id: Code
    previous_status: StatutoryStatus
    status: StatutoryStatus
    effective_on: Day | None = Field(
        default=None,
        description="The day the status took effect (absent: recorded before this was asked).",
    )


class ConsentRecorded(DomainEvent):
    summary: ClassVar[str] = "The family gave consent for a scope."

    scope: ConsentScope
    given_by_person_id: Code | None = None


class ConsentWithdrawn(DomainEvent):
    summary: ClassVar[str] = "The family withdrew consent for a scope."

    scope: ConsentScope
    withdrawn_by_person_id: Code | None = None


class EpisodeEnded(DomainEvent):
    summary: ClassVar[str] = (
        "The episode is over; nothing more will be scheduled. A supervisor who closes it "
        "early says why (notes)."
    )

    reason: EpisodeEndReason
    personal: NotesPersonal | None = None


class PriorityChanged(DomainEvent):
    summary: ClassVar[str] = (
        "The family's priority changed (1 most urgent), with the reason; a waiting family "
        "moves on the team's waitlist."
    )

    previous: Priority
    priority: Priority
    personal: NotesPersonal | None = None


class ChildJoined(DomainEvent):
    summary: ClassVar[str] = (
        "A child joined the family after the referral (born, moved in, or unborn with the "
        "date expected)."
    )

    child_id: Code
    statutory_status: StatutoryStatus = StatutoryStatus.NONE
    expected_on: Day | None = Field(default=None, description="An unborn child's due date.")
    age_band: AgeBand | None = Field(
        default=None, description="The child's age band on the day they joined (coded)."
    )
    personal: ChildPersonal | None = None


class AdultJoined(DomainEvent):
    summary: ClassVar[str] = "An adult joined the family after the referral."

    person_id: Code
    relationship: Relationship
    personal: AdultPersonal | None = None


# --- what the evaluation data set counts ---------------------------------------------------


class FamilyPlanAgreed(DomainEvent):
    summary: ClassVar[str] = "The family and the key worker agreed a family plan."

    plan_id: Code
    agreed_on: Day
    personal: NotesPersonal | None = None


class MeasureValue(Part):
    code: Code = Field(description="A measure of the case's programme (events.programmes).")
    value: Annotated[int, Field(ge=0, le=100_000), BeforeValidator(whole_number)]


class MeasuresRecorded(DomainEvent):
    summary: ClassVar[str] = (
        "Coded outcome measures of the family's programme (school attendance, medical "
        "appointments, substance use, ...) taken at referral, at closure or at a review."
    )

    stage: MeasureStage
    month: ReviewMonth | None = Field(default=None, description="The review's month.")
    measured_on: Day
    measures: list[MeasureValue] = Field(min_length=1, max_length=MAX_CODES)


class FeedbackRecorded(DomainEvent):
    summary: ClassVar[str] = "Feedback on the service from the family or from the referrer."

    feedback_id: Code
    source: FeedbackSource
    rating: FeedbackRating
    personal: NotesPersonal | None = None


class ServicePurchased(DomainEvent):
    summary: ClassVar[str] = (
        "A service not otherwise available was spot purchased for the family (what, from "
        "whom, the cost in pence)."
    )

    purchase_id: Code
    service: Code
    provider: Code
    cost_pence: Annotated[int, Field(ge=0, le=100_000_000), BeforeValidator(whole_number)]
    personal: NotesPersonal | None = None


class JointWorkRecorded(DomainEvent):
    summary: ClassVar[str] = (
        "Joint work with the family's case manager to reach a service: requested, then "
        "obtained or refused."
    )

    work_id: Code
    service: Code
    outcome: JointWorkOutcome
    personal: NotesPersonal | None = None


# --- alerts (in the case's stream) -------------------------------------------------------


class AlertRaised(DomainEvent):
    summary: ClassVar[str] = (
        "A rule raised an alert: to the key worker, the team's supervisors, or both."
    )

    alert_id: Code
    rule: AlertRule
    severity: AlertSeverity
    subject: Code | None = Field(
        default=None, description="What it is about: a review, goal, child or consent scope."
    )
    to_key_worker: Code | None = None
    to_supervisors_of_team: Code | None = None
    acknowledge_by: Moment
    quiet: StrictBool = Field(
        default=False,
        description="Raised for an item already overdue when the case was imported, under "
        "the import's `inbox` policy: in the inbox and escalated as any, but not delivered.",
    )


class FieldCorrection(Part):
    field: Code
    value: StrictBool | Annotated[int, Field(ge=-1_000_000, le=1_000_000)] | Code


class EntryCorrected(DomainEvent):
    summary: ClassVar[str] = (
        "A practitioner corrected fields of an earlier entry, named by its version in the "
        "case; the entry stays as it was recorded and this correction supersedes it."
    )

    corrects_version: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(whole_number)]
    corrects_type: Code
    changes: list[FieldCorrection] = Field(min_length=1, max_length=10)
    reason: CorrectionReason
    personal: NotesPersonal | None = None


class AlertRedirected(DomainEvent):
    summary: ClassVar[str] = (
        "An open alert now goes to another key worker: the family was handed over, or its "
        "key worker is covered (or the cover ended)."
    )

    alert_id: Code
    to_key_worker: Code


class AlertAcknowledged(DomainEvent):
    summary: ClassVar[str] = "A recipient acknowledged an alert (who: in the metadata)."

    alert_id: Code


class AlertEscalated(DomainEvent):
    summary: ClassVar[str] = (
        "An alert went up to the team's supervisors: nobody acknowledged it in time, or it "
        "could not be delivered."
    )

    alert_id: Code
    to_supervisors_of_team: Code
    reason: EscalationReason


class AlertResolved(DomainEvent):
    summary: ClassVar[str] = (
        "An alert's condition cleared (or the episode ended): no more reminders."
    )

    alert_id: Code
    resolution: AlertResolution


# --- team (stream team-<team_id>) --------------------------------------------------------


class TeamRegistered(DomainEvent):
    summary: ClassVar[str] = (
        "An admin registered the team: referrals, key workers and transfers may name it."
    )
    stream: ClassVar[StreamKind] = "team"

    team_name: Line
    area: Code


class TeamKeyWorkerJoined(DomainEvent):
    summary: ClassVar[str] = "A key worker can now be allocated families in this team."
    stream: ClassVar[StreamKind] = "team"

    key_worker_id: Code
    caseload_limit: Annotated[int, Field(ge=1, le=50), BeforeValidator(whole_number)]
    from_policy: StrictBool = Field(
        default=False,
        description="The limit is the team policy's and follows it when the policy changes.",
    )


class PolicyContent(Part):
    """A whole policy and its digest (which must match), as two events carry them."""

    policy: ProgrammePolicy
    digest: Digest

    @model_validator(mode="after")
    def _digest_matches(self, info: ValidationInfo) -> PolicyContent:
        if not recorded(info) and self.digest != self.policy.digest:
            raise ValueError("digest: is not the policy's content digest")
        return self


class TeamPolicyAdopted(DomainEvent, PolicyContent):
    summary: ClassVar[str] = (
        "The team runs on this policy (limits, the waitlist alert, alert severities): when "
        "it started, or on a supervisor's decision."
    )
    stream: ClassVar[StreamKind] = "team"


class TeamKeyWorkerLeft(DomainEvent):
    summary: ClassVar[str] = "A key worker takes no new families in this team."
    stream: ClassVar[StreamKind] = "team"

    key_worker_id: Code


class TeamCaseAllocated(DomainEvent):
    summary: ClassVar[str] = "The team gave a family a key worker with space."
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    key_worker_id: Code
    from_waitlist: StrictBool = False


class TeamCaseWaitlisted(DomainEvent):
    summary: ClassVar[str] = "No key worker had space: the family joined the team's waitlist."
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    priority: Priority
    referred_on: Day
    position: Position


class TeamCaseReprioritised(DomainEvent):
    summary: ClassVar[str] = "A waiting family's priority changed: the waitlist reorders."
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    priority: Priority


class TeamCaseReassigned(DomainEvent):
    summary: ClassVar[str] = "The team moved a family to another key worker with space."
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    from_key_worker_id: Code
    key_worker_id: Code
    reason: HandoverReason


class TeamAllocationWithdrawn(DomainEvent):
    summary: ClassVar[str] = (
        "A leaving key worker's family not yet met, for whom nobody had space, went back "
        "on the waitlist."
    )
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    from_key_worker_id: Code
    priority: Priority
    referred_on: Day
    position: Position


class TeamCaseReinstated(DomainEvent):
    summary: ClassVar[str] = (
        "A family put back on the waitlist had met its key worker meanwhile: it is theirs "
        "again (off the waitlist, or from whoever took it)."
    )
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    key_worker_id: Code


class TeamCaseReceived(DomainEvent):
    summary: ClassVar[str] = (
        "A family came from another team (the allocation or waitlisting follows)."
    )
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    from_team_id: Code
    reason: HandoverReason


class TeamCoverArranged(DomainEvent):
    summary: ClassVar[str] = (
        "A key worker covers another's families until a date (who reads, acts and is "
        "alerted while they are away)."
    )
    stream: ClassVar[StreamKind] = "team"

    key_worker_id: Code
    cover_key_worker_id: Code
    until: Day


class TeamCoverEnded(DomainEvent):
    summary: ClassVar[str] = (
        "A cover ended before its date: the covering key worker left the team (the absent "
        "key worker's families get their alerts back)."
    )
    stream: ClassVar[StreamKind] = "team"

    key_worker_id: Code
    cover_key_worker_id: Code


class TeamCaseReleased(DomainEvent):
    summary: ClassVar[str] = (
        "A family left the intensive phase (or the waitlist), freeing its place."
    )
    stream: ClassVar[StreamKind] = "team"

    case_id: Code
    key_worker_id: Code | None = None
    following: StrictBool = Field(
        default=False,
        description="The family goes on to follow-up with this key worker (no place held).",
    )


# --- alert delivery (stream delivery-<case or team stream>.<alert_id>[.escalated]) -------


class AlertDelivered(DomainEvent):
    summary: ClassVar[str] = "An alert reached a recipient's channel (webhook or email)."
    stream: ClassVar[StreamKind] = "delivery"

    stream_id: StreamRef = Field(description="The stream that raised the alert (case-… or team-…).")
    alert_id: Code
    recipient: Code
    channel: DeliveryChannel
    escalation: StrictBool = False
    attempts: Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(whole_number)] = 1


class AlertDeliveryFailed(DomainEvent):
    summary: ClassVar[str] = (
        "An alert could not be delivered to a recipient's channel after every retry."
    )
    stream: ClassVar[StreamKind] = "delivery"

    stream_id: StreamRef
    alert_id: Code
    recipient: Code
    channel: DeliveryChannel
    escalation: StrictBool = False
    error: ErrorText


# --- access (stream access-<case_id>, written by the API or CLI process) ----------------


class CaseRecordViewed(DomainEvent):
    summary: ClassVar[str] = (
        "Someone looked at a case's record (its history, summary or access log), or opened "
        "the family's personal data (with the purpose, and an auditor's reason)."
    )
    stream: ClassVar[StreamKind] = "access"

    case_id: Code
    view: Literal["history", "summary", "access_log", "personal"]
    interface: Literal["api", "cli", "web"]
    as_of: Moment | None = Field(
        default=None, description="The moment the history was shown as of, if not now."
    )
    allowed: StrictBool = Field(default=True, description="False: the attempt was refused (403).")
    purpose: AccessPurpose | None = Field(
        default=None, description="Why personal data was opened (view `personal`)."
    )
    reason: Line | None = Field(
        default=None,
        description="The reason an auditor gave to open personal data (no personal data in it).",
    )


class CasesListed(DomainEvent):
    summary: ClassVar[str] = (
        "Someone read a list that returns case data (cases, reviews, the waitlist, the "
        "calendar feed, alerts): one event per request, naming every case returned."
    )
    stream: ClassVar[StreamKind] = "access"

    view: Literal["cases", "reviews", "waitlist", "calendar", "alerts", "caseload"]
    interface: Literal["api", "cli", "web"]
    case_ids: list[Code] = Field(max_length=100_000)


# --- retention and erasure (streams family-<family_id> and retention) -----------------------


class FamilyDataErased(DomainEvent):
    summary: ClassVar[str] = (
        "An admin erased the family's personal data after its retention ended: its data "
        "keys were destroyed in the same transaction (the sealed parts can never be opened "
        "again; coded facts and the hash chain stay)."
    )
    stream: ClassVar[StreamKind] = "family"

    family_id: Code
    case_ids: list[Code] = Field(max_length=1000)
    rule: Code = Field(description="The retention rule whose end allowed the erasure.")
    keys_destroyed: Annotated[int, Field(ge=0, le=1000), BeforeValidator(whole_number)]


class FamilyErasureRefused(DomainEvent):
    summary: ClassVar[str] = (
        "An erasure was asked for before the family's retention ended: recorded, and "
        "refused with the rule that keeps the record (and until when, where it says)."
    )
    stream: ClassVar[StreamKind] = "family"

    family_id: Code
    rule: Code
    keep_until: Day | None = None


class RetentionReviewed(DomainEvent):
    summary: ClassVar[str] = (
        "The daily retention review listed the families whose retention has ended, for an "
        "admin to confirm their erasure."
    )
    stream: ClassVar[StreamKind] = "retention"

    as_of: Day
    due: list[Code] = Field(max_length=100_000)


# --- the team's work beyond its families (streams team-work-<team_id>) ----------------------


class ConsultationGiven(DomainEvent):
    summary: ClassVar[str] = (
        "The team gave advice or consultation to practitioners of another agency on "
        "engaging families (the service's second function; no family is named)."
    )
    stream: ClassVar[StreamKind] = "team_work"

    consultation_id: Code
    given_on: Day
    agency: ReferringAgency
    practitioners: Annotated[int, Field(ge=1, le=500), BeforeValidator(whole_number)]


class TrainingGiven(DomainEvent):
    summary: ClassVar[str] = (
        "The team trained the wider workforce in its model (sessions, attendees, the model taught)."
    )
    stream: ClassVar[StreamKind] = "team_work"

    training_id: Code
    given_on: Day
    sessions: Annotated[int, Field(ge=1, le=100), BeforeValidator(whole_number)]
    attendees: Annotated[int, Field(ge=1, le=10_000), BeforeValidator(whole_number)]
    model: TrainingModel


Pence = Annotated[int, Field(ge=0, le=100_000_000_000), BeforeValidator(whole_number)]


class TeamCostsRecorded(DomainEvent):
    summary: ClassVar[str] = (
        "What the team cost over a stretch of days (staff and overheads, in pence), from the "
        "council's finance records, with their source; recorded by an admin. A record that "
        "corrects an earlier one names it (supersedes); stretches of one team never overlap."
    )
    stream: ClassVar[StreamKind] = "team_work"

    costs_id: Code
    period_start: Day
    period_end: Day
    staff_pence: Pence
    overheads_pence: Pence = 0
    source: Line = Field(description="Where the figures come from (ledger, cost centre).")
    supersedes: Code | None = Field(
        default=None, description="The costs record this one corrects (it no longer counts)."
    )

    @field_validator("period_end")
    @classmethod
    def _ordered(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("period_start")
        if start is not None and end < start:
            raise ValueError("must not be before period_start")
        return end


# --- reports (stream report-snapshots) ------------------------------------------------------


class SnapshotFigure(Part):
    key: Code
    value: (
        Annotated[str, StringConstraints(max_length=40, pattern=r"^-?[0-9]+(\.[0-9]+)?$")] | None
    ) = Field(default=None, description="The figure as a decimal (six places at most).")
    numerator: Annotated[int, Field(ge=0, le=10**9)] | None = None
    denominator: Annotated[int, Field(ge=0, le=10**9)] | None = None


class ReportSnapshotTaken(DomainEvent):
    summary: ClassVar[str] = (
        "The monthly snapshot of the evaluation report (this financial year so far, as of the "
        "moment taken): its figures and its content digest, so a figure once reported can be "
        "produced again with --as-of and shown later with what changed since."
    )
    stream: ClassVar[StreamKind] = "report"

    programme: Code
    period_from: Day
    period_to: Day
    as_of: Moment
    digest: Digest
    episodes: Annotated[int, Field(ge=0, le=10**9)]
    figures: list[SnapshotFigure] = Field(max_length=1000)


# --- administration (stream admin): who changed users, tokens and alert routes -----------


class UserAdded(DomainEvent):
    summary: ClassVar[str] = "An admin added a user (who may sign in, with a role and a team)."
    stream: ClassVar[StreamKind] = "admin"

    user_id: Code
    role: Role
    team_id: Code | None = None


class UserActiveChanged(DomainEvent):
    summary: ClassVar[str] = (
        "An admin deactivated a user (every token of theirs refused from then) or let them back in."
    )
    stream: ClassVar[StreamKind] = "admin"

    user_id: Code
    active: StrictBool


class TokenCreated(DomainEvent):
    summary: ClassVar[str] = "An admin issued an API token to a user (its id; never the secret)."
    stream: ClassVar[StreamKind] = "admin"

    user_id: Code
    token_id: Code


class TokenRevoked(DomainEvent):
    summary: ClassVar[str] = "An admin revoked an API token (refused from the next request)."
    stream: ClassVar[StreamKind] = "admin"

    user_id: Code
    token_id: Code


class AlertRoutesChanged(DomainEvent):
    summary: ClassVar[str] = (
        "An admin changed where a user is sent alerts: the channels now set (the addresses "
        "are in the routes table, not in the trail)."
    )
    stream: ClassVar[StreamKind] = "admin"

    user_id: Code
    channels: list[Literal["webhook", "email"]] = Field(max_length=2)


class UserPasswordChanged(DomainEvent):
    summary: ClassVar[str] = (
        "An admin set a user's password for the web pages (kept as an argon2 hash, never in "
        "the trail); their other web sessions were signed out."
    )
    stream: ClassVar[StreamKind] = "admin"

    user_id: Code


class UserSignInLinked(DomainEvent):
    summary: ClassVar[str] = (
        "An admin linked a user to the council's own sign-in (OpenID Connect), or unlinked "
        "them (the subject is in the users table, not in the trail)."
    )
    stream: ClassVar[StreamKind] = "admin"

    user_id: Code
    linked: StrictBool


class LegacyPersonalDataSealed(DomainEvent):
    summary: ClassVar[str] = (
        "A stream written before personal parts were sealed had them sealed in place "
        "(`ifss keys seal-legacy`); its chain was recomputed from the first event changed. "
        "The head before and after are recorded here, so the old chain stays anchored."
    )
    stream: ClassVar[StreamKind] = "legacy"

    stream_id: StreamRef
    events_sealed: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(whole_number)]
    head_version: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(whole_number)]
    previous_head_hash: Digest
    head_hash: Digest


# --- operations (stream projection-<name>, written by `ifss projections skip`) ------------


class ProjectionEventSkipped(DomainEvent):
    summary: ClassVar[str] = (
        "An operator decided that a read model skips one event it cannot apply (who and "
        "why are recorded; the event itself stays in the store)."
    )
    stream: ClassVar[StreamKind] = "projection"

    projection: Code
    position: Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(whole_number)] = Field(
        description="The skipped event's global position."
    )
    event_id: UUID
    event_type: Code
    reason: Words


# --- programme policies (stream policy-<version>, written at start-up) -------------------


class ProgrammePolicyRegistered(DomainEvent, PolicyContent):
    summary: ClassVar[str] = (
        "A programme policy version was first used: its content, once and for all (a "
        "file that reuses the version with other content is refused)."
    )
    stream: ClassVar[StreamKind] = "policy"


def event_class(type_name: str) -> type[DomainEvent]:
    """The class registered under ``type_name``; raises ``UnknownEventType``."""
    cls = DomainEvent.registry.get(type_name)
    if cls is None:
        from events.errors import UnknownEventType

        raise UnknownEventType(type_name)
    return cls


def all_event_types() -> list[type[DomainEvent]]:
    """Every registered event class, in declaration order."""
    return list(DomainEvent.registry.values())
