"""Commands to a case: imperative, one input model each, every one carrying its actor."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
)
from pydantic_core import PydanticCustomError

from events.bounds import (
    CODE_PATTERN,
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
    whole_number,
)
from events.catalogue import (
    Adult,
    AdultPersonal,
    Child,
    ChildPersonal,
    FamilyPersonal,
    GoalScore,
    Relationship,
    ReviewMonth,
)
from events.envelope import Actor
from events.vocabulary import (
    AgeBand,
    ClosureKind,
    ConsentScope,
    CorrectionReason,
    FeedbackRating,
    FeedbackSource,
    GoalCategory,
    GoalRating,
    HandoverReason,
    JointWorkOutcome,
    LanguagePreference,
    MeasureStage,
    PresentingNeed,
    ReferralGround,
    ReferringAgency,
    RejectionReason,
    ReviewNotHeldReason,
    ScoringStage,
    SessionKind,
    StatutoryStatus,
    SubstanceUseStatus,
    UnplannedExitReason,
    WithdrawalReason,
)

T = TypeVar("T")


def _each_once(items: list[T]) -> list[T]:
    if len(set(items)) != len(items):
        raise PydanticCustomError("unique_items", "must not name the same item twice")
    return items


def _each_child_once(children: list[Child]) -> list[Child]:
    ids = [c.child_id for c in children]
    if len(set(ids)) != len(ids):
        raise PydanticCustomError("unique_children", "child ids must be unique within the family")
    return children


def _reason_with_unplanned_only(
    reason: UnplannedExitReason | None, info: ValidationInfo
) -> UnplannedExitReason | None:
    kind = info.data.get("kind")
    if kind is ClosureKind.UNPLANNED and reason is None:
        raise PydanticCustomError("reason_required", "is required for an unplanned exit")
    if kind is ClosureKind.PLANNED and reason is not None:
        raise PydanticCustomError("reason_forbidden", "only an unplanned exit has one")
    return reason


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    expected_version: (
        Annotated[int, Field(ge=0, le=2**31 - 1), BeforeValidator(whole_number)] | None
    ) = Field(
        default=None,
        description="Refuse the command (409) unless the case is at exactly this version.",
    )


class ReferFamily(Command):
    """Refer a family: opens the episode. No eligible ground or no consent: rejected at once."""

    family_id: Code
    team_id: Code
    area: Code = Field(
        description="The local authority area the family lives in: one of the 22 of Wales "
        "(events.vocabulary.LocalAuthority), e.g. cardiff, vale_of_glamorgan.",
        json_schema_extra={"examples": ["cardiff"]},
    )
    referring_agency: ReferringAgency
    referral_grounds: Annotated[list[ReferralGround], AfterValidator(_each_once)] = Field(
        default=[], max_length=MAX_CODES, json_schema_extra={"uniqueItems": True}
    )
    presenting_needs: Annotated[list[PresentingNeed], AfterValidator(_each_once)] = Field(
        default=[], max_length=MAX_CODES, json_schema_extra={"uniqueItems": True}
    )
    children: Annotated[list[Child], AfterValidator(_each_child_once)] = Field(
        min_length=1,
        max_length=MAX_PEOPLE,
        # JSON Schema cannot say "unique by child_id"; identical entries it can.
        json_schema_extra={"uniqueItems": True},
    )
    adults: list[Adult] = Field(default=[], max_length=MAX_PEOPLE)
    # Each purpose stated, never assumed: a referral says yes or no to all three.
    consent_to_referral: StrictBool
    consent_to_information_sharing: StrictBool
    consent_to_follow_up: StrictBool
    priority: Priority = 3
    received_on: Day
    programme: Code = Field(
        default="ifss",
        description="The programme referred to (its eligible grounds and outcome measures): "
        "ifss (the default) or fip.",
    )
    language_preference: LanguagePreference | None = Field(
        default=None,
        description="The language the family chose to be worked with in, as asked (the "
        "Welsh language Active Offer); left out: not recorded.",
    )
    personal: FamilyPersonal | None = None


class AcceptReferral(Command):
    """Accept the referral; the team allocates a key worker or waitlists the family."""


class RejectReferral(Command):
    """Reject the referral with a coded reason; the episode ends."""

    reason: RejectionReason
    notes: FreeText | None = None


class WithdrawFamily(Command):
    """The family leaves before the intensive work begins (referred, accepted, waiting or
    allocated but not yet met), with a coded reason: the episode ends and its place (a key
    worker's slot or the waitlist) is freed at once."""

    reason: WithdrawalReason
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
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60), BeforeValidator(whole_number)]
    notes: FreeText | None = None


class ScoreGoals(Command):
    """Score goals during the intensive phase."""

    scores: list[GoalScore] = Field(min_length=1, max_length=MAX_GOALS)
    stage: ScoringStage = ScoringStage.PROGRESS


class RequestExtension(Command):
    """Ask a supervisor to extend the intensive phase."""

    request_id: Code
    days: Annotated[int, Field(ge=1, le=42), BeforeValidator(whole_number)]
    reason: Words


class DecideExtension(Command):
    """Approve or refuse an extension (supervisors only), saying why."""

    request_id: Code
    approved: StrictBool
    reason: FreeText | None = None


class CloseIntensivePhase(Command):
    """Close the intensive phase, planned or unplanned; schedules the follow-up reviews."""

    # An unplanned exit has a reason and a planned one has none, in the JSON schema too.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "unplanned"}}},
            "then": {
                "required": ["unplanned_reason"],
                "properties": {"unplanned_reason": {"not": {"type": "null"}}},
            },
            "else": {"properties": {"unplanned_reason": {"type": "null"}}},
        }
    )

    kind: ClosureKind
    unplanned_reason: Annotated[
        UnplannedExitReason | None, AfterValidator(_reason_with_unplanned_only)
    ] = Field(default=None, validate_default=True)
    closing_scores: list[GoalScore] = Field(default=[], max_length=MAX_GOALS)
    onward_referrals: Annotated[list[ReferringAgency], AfterValidator(_each_once)] = Field(
        default=[], max_length=MAX_CODES, json_schema_extra={"uniqueItems": True}
    )
    transferred_to_less_formal_services: StrictBool = False
    closed_on: Day | None = Field(
        default=None,
        description="The day it closed, when recorded late (default today; within the "
        "policy's backdate_days).",
    )


class CompleteReview(Command):
    """Complete a follow-up review within its window, rating every goal (a family without
    goals is reviewed on the rest); a regression schedules a booster, which keeps the
    episode open until it is delivered or its window lapses."""

    review_id: Code
    ratings: dict[Code, GoalRating] = Field(
        min_length=0,
        max_length=MAX_GOALS,
        json_schema_extra={  # say that every key is a goal id (pydantic leaves others open)
            "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": CODE_PATTERN},
            "additionalProperties": False,
        },
    )
    family_staying_together: StrictBool
    substance_use_status: SubstanceUseStatus
    # Each child's statutory status as found at the review (a change is recorded as one,
    # effective that day); children left out are not reported on.
    children_statuses: dict[Code, StatutoryStatus] = Field(
        default={},
        max_length=MAX_PEOPLE,
        json_schema_extra={
            "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": CODE_PATTERN},
            "additionalProperties": False,
        },
    )
    notes: FreeText | None = None


class RecordReviewNotHeld(Command):
    """A follow-up review could not be held (declined, could not contact, moved away, no
    goals to review): the review is done with; the overdue alert resolves."""

    review_id: Code
    reason: ReviewNotHeldReason
    notes: FreeText | None = None


class RecordMaintenanceContact(Command):
    """The key worker kept in touch with the family during follow-up."""

    contact_id: Code
    held_at: Moment
    kind: SessionKind
    notes: FreeText | None = None


class AgreeFamilyPlan(Command):
    """The family and the key worker agreed a family plan (on a day, today by default)."""

    plan_id: Code
    agreed_on: Day | None = None
    notes: FreeText | None = None


class RecordMeasures(Command):
    """Coded outcome measures of the case's programme, taken at referral, at closure or at
    a held review (``month``): each measure once per stage, within its range."""

    stage: MeasureStage
    month: ReviewMonth | None = None
    measured_on: Day | None = None
    measures: dict[Code, Annotated[int, Field(ge=0, le=100_000), BeforeValidator(whole_number)]] = (
        Field(min_length=1, max_length=MAX_CODES)
    )


class RecordFeedback(Command):
    """Feedback on the service from the family or from the referrer (a coded rating)."""

    feedback_id: Code
    source: FeedbackSource
    rating: FeedbackRating
    notes: FreeText | None = None


class RecordSpotPurchase(Command):
    """A service not otherwise available, spot purchased for the family: what (a code),
    from whom (a code) and the cost in pence."""

    purchase_id: Code
    service: Code
    provider: Code
    cost_pence: Annotated[int, Field(ge=0, le=100_000_000), BeforeValidator(whole_number)]
    notes: FreeText | None = None


class RecordJointWork(Command):
    """Joint work with the family's case manager to reach a service: first requested, then
    obtained or refused (each step recorded under the same work_id)."""

    work_id: Code
    service: Code
    outcome: JointWorkOutcome
    notes: FreeText | None = None


class OfferBooster(Command):
    """The key worker offers a booster session for some goals, without a review."""

    booster_id: Code
    goal_ids: Annotated[list[Code], AfterValidator(_each_once)] = Field(
        min_length=1, max_length=MAX_GOALS, json_schema_extra={"uniqueItems": True}
    )


class RescheduleReview(Command):
    """A supervisor moves a follow-up review to another date (after today; earlier or
    later, within the policy's review_move_max_days of its statutory date), with a reason
    (a key worker asks instead: request_review_move)."""

    review_id: Code
    due_on: Day
    reason: Words


class RequestReviewMove(Command):
    """Ask a supervisor to move a follow-up review to another date (within the policy's
    review_move_max_days of its statutory date), with a reason; the review stays due, and
    its overdue alert stands, until the supervisor decides."""

    review_id: Code
    due_on: Day
    reason: Words


class DecideReviewMove(Command):
    """A supervisor approves (the review moves) or refuses a request to move a review."""

    review_id: Code
    approved: StrictBool
    reason: FreeText | None = None


class RecordBooster(Command):
    """A booster session was delivered."""

    booster_id: Code
    delivered_at: Moment
    notes: FreeText | None = None


class ChangeChildStatus(Command):
    """A child's statutory status changed (none, cin, cpr, lac), from the day it took effect
    (default today; not before the referral, not in the future)."""

    child_id: Code
    status: StatutoryStatus
    effective_on: Day | None = None


class ChangePriority(Command):
    """Change the family's priority (1 most urgent), saying why; a waiting family moves on
    the team's waitlist at once."""

    priority: Priority
    reason: FreeText


class AddChild(Command):
    """A child joined the family after the referral: born, moved in, or unborn (give the
    date expected, today or within 300 days)."""

    child_id: Code
    statutory_status: StatutoryStatus = StatutoryStatus.NONE
    expected_on: Day | None = None
    age_band: AgeBand | None = Field(
        default=None,
        description="The child's age band; worked out from the date of birth when given.",
    )
    personal: ChildPersonal | None = None


class AddAdult(Command):
    """An adult joined the family after the referral."""

    person_id: Code
    relationship: Relationship
    personal: AdultPersonal | None = None


class ReassignKeyWorker(Command):
    """A supervisor hands the family to another key worker in its team, saying why. While
    the family holds a place (allocated or intensive) the new key worker must have space
    (the team checks, against every other change); in follow-up it holds none. Open alerts
    go to the new key worker."""

    key_worker_id: Code
    reason: HandoverReason
    notes: FreeText | None = None


class TransferFamily(Command):
    """A supervisor moves the family to another team (waiting, allocated or in the
    intensive phase). The receiving team allocates a key worker with space or, if the
    work has not begun, waitlists the family; a family whose work has begun moves only to a
    key worker with space. The first team's place is freed at once."""

    team_id: Code
    reason: HandoverReason
    notes: FreeText | None = None


def _corrected_value(value: Any) -> Any:
    """A corrected field's new value: a yes/no, a whole number or a code (its field's own
    rules are checked against the entry)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one kind of number: 90.0 is 90, as in the commands
    if isinstance(value, int) and -1_000_000 <= value <= 1_000_000:
        return value
    if isinstance(value, str) and 0 < len(value) <= 64 and re.fullmatch(CODE_PATTERN, value):
        return value
    raise PydanticCustomError(
        "corrected_value",
        "must be true or false, a whole number, or a code (letters, digits, '_', '.', '-')",
    )


CorrectedValue = Annotated[
    StrictBool | Annotated[int, Field(ge=-1_000_000, le=1_000_000)] | Code,
    BeforeValidator(_corrected_value),
]


class CorrectEntry(Command):
    """Correct fields of an earlier entry of the case, named by its version (the `version`
    in its history), with a coded reason: the entry is never edited, the correction is
    recorded beside it and supersedes it. Correctable: a session's kind and duration, a
    goal's category, baseline and target, a review's family_staying_together and
    substance_use_status, a maintenance contact's kind, the referral's area and
    referring_agency."""

    version: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(whole_number)]
    changes: dict[Code, CorrectedValue] = Field(min_length=1, max_length=10)
    reason: CorrectionReason
    notes: FreeText | None = None


class RecordConsent(Command):
    """The family, or one person in it (person_id), gave consent for a purpose (referral,
    information_sharing, follow_up); each person's answers are kept apart."""

    scope: ConsentScope
    person_id: Code | None = None


class WithdrawConsent(Command):
    """The family, or one person in it (person_id), withdrew consent for a purpose; the
    family's consent for it is withdrawn (to follow-up: the reviews not yet held are
    cancelled and the episode ends)."""

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
    team_id: Code | None = None  # None: told before notices named their team


class PlacedOnWaitlist(Command):
    """From the team workflow: no key worker has space; the family waits."""

    team_id: Code | None = None
    position: Annotated[int, Field(ge=1, le=100_000), BeforeValidator(whole_number)]
    priority: Priority


class KeyWorkerReassigned(Command):
    """From the team workflow: the family moved to another key worker (the leaver's
    families, or a supervisor's reassignment told again in case it was not recorded)."""

    previous_key_worker_id: Code
    key_worker_id: Code
    reason: HandoverReason


class ReturnedToWaitlist(Command):
    """From the team workflow: the key worker left before the first meeting and nobody
    had space; the family waits again."""

    previous_key_worker_id: Code
    position: Annotated[int, Field(ge=1, le=100_000), BeforeValidator(whole_number)]
    priority: Priority


class TransferAdmitted(Command):
    """From the receiving team: it admitted the family (told again in case the transfer
    was not recorded by the case)."""

    from_team_id: Code
    team_id: Code
    key_worker_id: Code | None = None
    position: Annotated[int, Field(ge=1, le=100_000), BeforeValidator(whole_number)] | None = None
    reason: HandoverReason


class KeyWorkerCovered(Command):
    """From the team workflow: another key worker covers this family's key worker."""

    key_worker_id: Code
    cover_key_worker_id: Code
    until: Day


class KeyWorkerUncovered(Command):
    """From the team workflow: the cover ended early (the covering key worker left)."""

    key_worker_id: Code
    cover_key_worker_id: Code


class EscalateAlert(Command):
    """From an alert's delivery workflow: it could not be delivered; tell the supervisors."""

    alert_id: Code


# The names under which each command is a Temporal update (and an API / CLI command).
COMMANDS: dict[str, type[Command]] = {
    "accept": AcceptReferral,
    "reject": RejectReferral,
    "withdraw": WithdrawFamily,
    "record_first_meeting": RecordFirstMeeting,
    "agree_goal": AgreeGoal,
    "record_session": RecordSession,
    "score_goals": ScoreGoals,
    "request_extension": RequestExtension,
    "decide_extension": DecideExtension,
    "close_intensive_phase": CloseIntensivePhase,
    "complete_review": CompleteReview,
    "record_review_not_held": RecordReviewNotHeld,
    "reschedule_review": RescheduleReview,
    "request_review_move": RequestReviewMove,
    "decide_review_move": DecideReviewMove,
    "record_maintenance_contact": RecordMaintenanceContact,
    "offer_booster": OfferBooster,
    "agree_family_plan": AgreeFamilyPlan,
    "record_measures": RecordMeasures,
    "record_feedback": RecordFeedback,
    "record_spot_purchase": RecordSpotPurchase,
    "record_joint_work": RecordJointWork,
    "record_booster": RecordBooster,
    "change_child_status": ChangeChildStatus,
    "change_priority": ChangePriority,
    "add_child": AddChild,
    "add_adult": AddAdult,
    "reassign": ReassignKeyWorker,
    "transfer": TransferFamily,
    "correct_entry": CorrectEntry,
    "record_consent": RecordConsent,
    "withdraw_consent": WithdrawConsent,
    "close_episode": CloseEpisode,
    "acknowledge_alert": AcknowledgeAlert,
}


# The time a command records, when the caller leaves it out: now (the CLI and the API alike).
NOW_DEFAULTS: dict[str, str] = {
    "record_first_meeting": "held_at",
    "record_session": "held_at",
    "record_booster": "delivered_at",
    "record_maintenance_contact": "held_at",
}


def canonical_name(name: str) -> str:
    """A command's name as the registry spells it (``record-session`` -> ``record_session``)."""
    return name.replace("-", "_")


def sent_fields(command: type[Command]) -> type[BaseModel]:
    """The fields a caller sends for ``command``: all but the actor (who the caller is) and
    the expected version (a condition on the request, not part of the command); a time in
    ``NOW_DEFAULTS`` may be left out (it is then now)."""
    name = next((n for n, c in COMMANDS.items() if c is command), None)
    now_field = NOW_DEFAULTS.get(name or "")
    fields: dict[str, Any] = {}
    for field, info in command.model_fields.items():
        if field in ("actor", "expected_version"):
            continue
        if field == now_field:
            given = Annotated[info.annotation, *info.metadata]  # type: ignore[name-defined]
            fields[field] = (given | None, Field(default=None, description="Default: now."))
            continue
        fields[field] = (info.annotation, info)
    return create_model(
        f"{command.__name__}Fields",
        __config__=ConfigDict(
            frozen=True,
            extra="forbid",
            json_schema_extra=command.model_config.get("json_schema_extra"),
        ),
        __doc__=command.__doc__,
        **fields,
    )
