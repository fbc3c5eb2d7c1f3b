"""Words for the coded vocabulary (phases, grounds, reasons, ratings...), in English and marked
for translation: the Welsh is in the catalogue (`web/translations/cy`). Every code of every
enum the pages show has its words here (tests/unit/test_web_i18n.py checks).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol

from events import vocabulary as v
from workflows.lifecycle.state import Phase, ReviewStatus


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue; translated when shown (``web.i18n``)."""
    return message


WORDS: dict[type, dict[str, str]] = {
    Phase: {
        "new": N_("New"),
        "referred": N_("Referred"),
        "accepted": N_("Accepted"),
        "waitlisted": N_("Waitlisted"),
        "allocated": N_("Allocated"),
        "intensive": N_("Intensive"),
        "follow_up": N_("Follow-up"),
        "ended": N_("Ended"),
    },
    ReviewStatus: {
        "scheduled": N_("Scheduled"),
        "due": N_("Due"),
        "overdue": N_("Overdue"),
        "completed": N_("Completed"),
        "not_held": N_("Not held"),
        "cancelled": N_("Cancelled"),
    },
    v.AccessPurpose: {
        "direct_work": N_("Direct work"),
        "supervision": N_("Supervision"),
        "cover": N_("Cover"),
        "safeguarding": N_("Safeguarding"),
        "audit": N_("Audit"),
        "complaint": N_("Complaint"),
        "subject_access_request": N_("Subject access request"),
    },
    v.AlertResolution: {
        "condition_cleared": N_("Condition cleared"),
        "episode_ended": N_("Episode ended"),
        "superseded": N_("Superseded"),
    },
    v.AlertRule: {
        "first_meeting_overdue": N_("First meeting overdue"),
        "no_contact": N_("Family not seen"),
        "intensive_ending": N_("Intensive phase ending"),
        "intensive_overrun": N_("Intensive phase overrun"),
        "review_overdue": N_("Review overdue"),
        "goal_regressed": N_("Goal regressed"),
        "unplanned_exit": N_("Unplanned exit"),
        "child_status_escalated": N_("Child status escalated"),
        "consent_withdrawn": N_("Consent withdrawn"),
        "review_due_soon": N_("Review due soon"),
        "booster_overdue": N_("Booster overdue"),
        "waitlisted_too_long": N_("Waitlisted too long"),
    },
    v.AlertSeverity: {
        "low": N_("Low"),
        "medium": N_("Medium"),
        "high": N_("High"),
    },
    v.ClosureKind: {
        "planned": N_("Planned"),
        "unplanned": N_("Unplanned"),
    },
    v.ConsentScope: {
        "referral": N_("Referral"),
        "information_sharing": N_("Information sharing"),
        "follow_up": N_("Follow-up"),
    },
    v.CorrectionReason: {
        "typing_error": N_("Typing error"),
        "wrong_option_chosen": N_("Wrong option chosen"),
        "new_information": N_("New information"),
        "other": N_("Other"),
    },
    v.DeliveryChannel: {
        "webhook": N_("Webhook"),
        "email": N_("Email"),
    },
    v.EpisodeEndReason: {
        "follow_up_completed": N_("Follow-up completed"),
        "closed_by_supervisor": N_("Closed by supervisor"),
        "referral_rejected": N_("Referral rejected"),
        "no_follow_up_consent": N_("No consent to follow-up"),
        "withdrawn_before_start": N_("Withdrawn before start"),
    },
    v.EscalationReason: {
        "not_acknowledged": N_("Not acknowledged"),
        "delivery_failed": N_("Delivery failed"),
    },
    v.GoalCategory: {
        "substance_use": N_("Substance use"),
        "parenting": N_("Parenting"),
        "school_attendance": N_("School attendance"),
        "relationships": N_("Relationships"),
        "health": N_("Health"),
        "housing": N_("Housing"),
        "domestic_abuse": N_("Domestic abuse"),
        "other": N_("Other"),
    },
    v.GoalRating: {
        "exceeded": N_("Exceeded"),
        "maintained": N_("Maintained"),
        "partly_maintained": N_("Partly maintained"),
        "regressed": N_("Regressed"),
    },
    v.HandoverReason: {
        "workload": N_("Workload"),
        "family_request": N_("Family request"),
        "key_worker_left": N_("Key worker left"),
        "conflict_of_interest": N_("Conflict of interest"),
        "specialist_skills": N_("Specialist skills"),
        "family_moved": N_("Family moved"),
    },
    v.OverdueOnImport: {
        "inbox": N_("Inbox only"),
        "deliver": N_("Deliver"),
    },
    v.PresentingNeed: {
        "substance_misuse": N_("Substance misuse"),
        "alcohol": N_("Alcohol"),
        "domestic_violence": N_("Domestic violence"),
        "mental_health": N_("Mental health"),
        "parental_disability": N_("Parental disability"),
        "learning_needs": N_("Learning needs"),
        "neglect": N_("Neglect"),
        "housing": N_("Housing"),
        "school_attendance": N_("School attendance"),
    },
    v.ReferralGround: {
        "parental_substance_dependence": N_("Parental substance dependence"),
        "domestic_abuse_victim": N_("Domestic abuse victim"),
        "history_of_violence": N_("History of violence"),
        "mental_disorder": N_("Mental disorder"),
    },
    v.ReferringAgency: {
        "childrens_services": N_("Children's services"),
        "health": N_("Health"),
        "police": N_("Police"),
        "school": N_("School"),
        "probation": N_("Probation"),
        "drug_alcohol_service": N_("Drug and alcohol service"),
        "housing": N_("Housing"),
        "self_referral": N_("Self referral"),
        "other": N_("Other"),
    },
    v.RejectionReason: {
        "no_eligible_ground": N_("No eligible ground"),
        "no_consent": N_("No consent"),
        "threshold_not_met": N_("Threshold not met"),
        "outside_area": N_("Outside area"),
        "already_supported_elsewhere": N_("Already supported elsewhere"),
        "more_appropriate_service": N_("More appropriate service"),
        "family_declined": N_("Family declined"),
        "service_full": N_("Service full"),
    },
    v.ReviewNotHeldReason: {
        "declined": N_("Declined"),
        "could_not_contact": N_("Could not contact"),
        "moved_away": N_("Moved away"),
        "no_goals_to_review": N_("No goals to review"),
    },
    v.Role: {
        "case_manager": N_("Key worker"),
        "supervisor": N_("Supervisor"),
        "business_support": N_("Business support"),
        "auditor": N_("Auditor"),
        "admin": N_("Administrator"),
        "system": N_("The service"),
    },
    v.ScoringStage: {
        "progress": N_("Progress"),
        "closure": N_("Closure"),
    },
    v.SessionKind: {
        "home_visit": N_("Home visit"),
        "phone": N_("Phone call"),
        "out_of_hours": N_("Out-of-hours visit"),
        "group": N_("Group session"),
    },
    v.StatutoryStatus: {
        "none": N_("No statutory status"),
        "cin": N_("Child in need"),
        "cpr": N_("On the child protection register"),
        "lac": N_("Looked after"),
    },
    v.SubstanceUseStatus: {
        "abstinent": N_("Abstinent"),
        "reduced": N_("Reduced"),
        "unchanged": N_("Unchanged"),
        "increased": N_("Increased"),
        "not_applicable": N_("Not applicable"),
    },
    v.UnplannedExitReason: {
        "family_disengaged": N_("Family disengaged"),
        "moved_away": N_("Moved away"),
        "child_removed": N_("Child removed"),
        "consent_withdrawn": N_("Consent withdrawn"),
        "escalated_to_statutory": N_("Escalated to statutory"),
        "other": N_("Other"),
    },
    v.WithdrawalReason: {
        "family_declined": N_("Family declined"),
        "moved_away": N_("Moved away"),
        "could_not_be_contacted": N_("Could not be contacted"),
        "did_not_engage": N_("Did not engage"),
        "referrer_withdrew": N_("Referrer withdrew"),
        "needs_met_elsewhere": N_("Needs met elsewhere"),
    },
}


def word(kind: type, code: object, gettext: Callable[[str], str]) -> str:
    """The words for ``code`` of enum ``kind`` in the reader's language (the code itself
    when it is not one of the enum's: a value recorded before a code was renamed)."""
    if code is None:
        return ""
    english = WORDS.get(kind, {}).get(str(code))
    return gettext(english) if english else str(code)


# Each event type in a few words: the timeline's "what" in Welsh (the English pages show the
# full sentence of projections.describe as well).
EVENT_TITLES: dict[str, str] = {
    "AdultJoined": N_("Adult joined"),
    "AlertAcknowledged": N_("Alert acknowledged"),
    "AlertDelivered": N_("Alert delivered"),
    "AlertDeliveryFailed": N_("Alert delivery failed"),
    "AlertEscalated": N_("Alert escalated"),
    "AlertRaised": N_("Alert raised"),
    "AlertRedirected": N_("Alert redirected"),
    "AlertResolved": N_("Alert resolved"),
    "AlertRoutesChanged": N_("Alert routes changed"),
    "AllocationRetained": N_("Allocation retained"),
    "AllocationWithdrawn": N_("Allocation withdrawn"),
    "BoosterDelivered": N_("Booster delivered"),
    "BoosterOverdue": N_("Booster overdue"),
    "BoosterScheduled": N_("Booster scheduled"),
    "CaseImported": N_("Case imported"),
    "CaseRecordViewed": N_("Case record viewed"),
    "CasesListed": N_("Cases listed"),
    "ChildJoined": N_("Child joined"),
    "ChildStatusChanged": N_("Child status changed"),
    "ConsentRecorded": N_("Consent recorded"),
    "ConsentWithdrawn": N_("Consent withdrawn"),
    "EntryCorrected": N_("Entry corrected"),
    "EpisodeEnded": N_("Episode ended"),
    "ExtensionDecided": N_("Extension decided"),
    "ExtensionRequested": N_("Extension requested"),
    "FamilyDataErased": N_("Family data erased"),
    "FamilyErasureRefused": N_("Family erasure refused"),
    "FamilyTransferred": N_("Family transferred"),
    "FamilyWaitlisted": N_("Family waitlisted"),
    "FamilyWithdrew": N_("Family withdrew"),
    "FirstMeetingHeld": N_("First meeting held"),
    "FirstMeetingOverdue": N_("First meeting overdue"),
    "FollowUpReviewApproaching": N_("Follow up review approaching"),
    "FollowUpReviewCancelled": N_("Follow up review cancelled"),
    "FollowUpReviewCompleted": N_("Follow up review completed"),
    "FollowUpReviewDue": N_("Follow up review due"),
    "FollowUpReviewMoveDecided": N_("Follow up review move decided"),
    "FollowUpReviewMoveRequested": N_("Follow up review move requested"),
    "FollowUpReviewNotHeld": N_("Follow up review not held"),
    "FollowUpReviewOverdue": N_("Follow up review overdue"),
    "FollowUpReviewRescheduled": N_("Follow up review rescheduled"),
    "FollowUpReviewScheduled": N_("Follow up review scheduled"),
    "GoalAgreed": N_("Goal agreed"),
    "GoalsScored": N_("Goals scored"),
    "IntensivePhaseClosed": N_("Intensive phase closed"),
    "IntensivePhaseEndApproaching": N_("Intensive phase end approaching"),
    "IntensivePhaseOverrun": N_("Intensive phase overrun"),
    "KeyWorkerAllocated": N_("Key worker allocated"),
    "KeyWorkerChanged": N_("Key worker changed"),
    "KeyWorkerCoverArranged": N_("Key worker cover arranged"),
    "KeyWorkerCoverEnded": N_("Key worker cover ended"),
    "LegacyPersonalDataSealed": N_("Legacy personal data sealed"),
    "MaintenanceContactRecorded": N_("Maintenance contact recorded"),
    "NoContactThresholdPassed": N_("No contact threshold passed"),
    "PriorityChanged": N_("Priority changed"),
    "ProgrammePolicyRegistered": N_("Programme policy registered"),
    "ProjectionEventSkipped": N_("Projection event skipped"),
    "ReferralAccepted": N_("Referral accepted"),
    "ReferralReceived": N_("Referral received"),
    "ReferralRejected": N_("Referral rejected"),
    "RetentionReviewed": N_("Retention reviewed"),
    "SessionRecorded": N_("Session recorded"),
    "TeamAllocationWithdrawn": N_("Team allocation withdrawn"),
    "TeamCaseAllocated": N_("Team case allocated"),
    "TeamCaseReassigned": N_("Team case reassigned"),
    "TeamCaseReceived": N_("Team case received"),
    "TeamCaseReinstated": N_("Team case reinstated"),
    "TeamCaseReleased": N_("Team case released"),
    "TeamCaseReprioritised": N_("Team case reprioritised"),
    "TeamCaseWaitlisted": N_("Team case waitlisted"),
    "TeamCoverArranged": N_("Team cover arranged"),
    "TeamCoverEnded": N_("Team cover ended"),
    "TeamKeyWorkerJoined": N_("Team key worker joined"),
    "TeamKeyWorkerLeft": N_("Team key worker left"),
    "TeamPolicyAdopted": N_("Team policy adopted"),
    "TeamRegistered": N_("Team registered"),
    "TokenCreated": N_("Token created"),
    "TokenRevoked": N_("Token revoked"),
    "UserActiveChanged": N_("User active changed"),
    "UserAdded": N_("User added"),
    "UserPasswordChanged": N_("User password set"),
    "UserSignInLinked": N_("User sign in linked"),
}


def event_title(type_name: str, gettext: Callable[[str], str]) -> str:
    english = EVENT_TITLES.get(type_name)
    return gettext(english) if english else type_name


# --- a rule's refusal in the reader's language ---------------------------------------------

# The values of a refusal that are coded words, by the name the rule gives them.
CODED_VALUES: dict[str, type] = {
    "phase": Phase,
    "phases": Phase,
    "roles": v.Role,
    "status": v.StatutoryStatus,
    "scope": v.ConsentScope,
}
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
OR = N_("or")  # between alternatives: "allocated or intensive"


class Reader(Protocol):
    @property
    def code(self) -> str: ...

    def _(self, message: str) -> str: ...

    def day(self, value: date) -> str: ...

    def moment(self, value: datetime) -> str: ...


def _value(reader: Reader, name: str, value: str) -> str:
    kind = CODED_VALUES.get(name)
    if kind is not None and str(value) in WORDS.get(kind, {}):
        return reader._(WORDS[kind][value]).lower()
    if name == "what":  # a phrase in the catalogue ("score goals", "the NUL character")
        return reader._(value)
    if name == "entry":
        return event_title(value, reader._).lower()
    if ISO_DAY.fullmatch(value):
        try:
            return reader.day(date.fromisoformat(value))
        except ValueError:
            return value
    return value


def rule_in(reader: Reader, rule: str, said: tuple[str, Mapping[str, Any]] | None) -> str:
    """A refusal's rule in the reader's language: the rule's template from the catalogue,
    filled with its values, each as what it is (a coded word translated, a day written
    out); a rule that gave no template is looked up as it stands (a fixed message); what
    the catalogue does not hold stays in English."""
    if reader.code == "en" or not rule:
        return rule
    if said is None:
        return reader._(rule)
    template, params = said
    translated = reader._(template)
    if translated == template:  # not in the catalogue: the English as it came
        return rule
    values: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, Mapping):  # alternatives: "a or b"
            values[name] = f" {reader._(OR)} ".join(
                _value(reader, name, str(x)) for x in value.get("or", [])
            )
        elif isinstance(value, list):
            values[name] = ", ".join(_value(reader, name, str(x)) for x in value)
        else:
            values[name] = _value(reader, name, str(value))
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):  # a translation that names another value
        return rule


# pydantic's checks of a form, by the error's type: the words in the catalogue, filled with
# the error's context. The English pages show pydantic's own message; a type missing here
# stays in English (tests/unit/test_web_i18n.py names every custom type of the models).
_DAY_RULE = N_("must be a date as YYYY-MM-DD, between 1900 and 2100")
_TIME_RULE = N_(
    "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone (Z or +01:00), between 1900 and 2100"
)
FORM_RULES: dict[str, str] = {
    "missing": N_("is required"),
    "extra_forbidden": N_("is not a field here (extra fields are refused)"),
    "string_type": N_("must be text"),
    "string_too_short": N_("must have at least {min_length} characters"),
    "string_too_long": N_("must have at most {max_length} characters"),
    "string_pattern_mismatch": N_("must use only letters, digits, '_', '.' or '-' (no spaces)"),
    "too_short": N_("must have at least {min_length} items"),
    "too_long": N_("must have at most {max_length} items"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "greater_than_equal": N_("must be {ge} or more"),
    "less_than_equal": N_("must be {le} or less"),
    "greater_than": N_("must be more than {gt}"),
    "less_than": N_("must be less than {lt}"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "enum": N_("must be one of: {expected}"),
    "literal_error": N_("must be one of: {expected}"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be a set of named values"),
    "uuid_parsing": N_("must be a UUID"),
    "uuid_type": N_("must be a UUID"),
    "date_type": _DAY_RULE,
    "date_parsing": _DAY_RULE,
    "date_from_datetime_parsing": _DAY_RULE,
    "date_from_datetime_inexact": _DAY_RULE,
    "date_format": _DAY_RULE,
    "datetime_type": _TIME_RULE,
    "datetime_parsing": _TIME_RULE,
    "datetime_from_date_parsing": _TIME_RULE,
    "datetime_format": _TIME_RULE,
    # The models' own checks (events/bounds.py, workflows/commands.py).
    "text_not_storable": N_("must not contain {what}"),
    "blank": N_("must not be blank"),
    "date_out_of_range": N_("must be between {earliest} and {latest}"),
    "unique_items": N_("must not name the same item twice"),
    "unique_children": N_("child ids must be unique within the family"),
    "reason_required": N_("is required for an unplanned exit"),
    "reason_forbidden": N_("only an unplanned exit has one"),
    "corrected_value": N_(
        "must be true or false, a whole number, or a code (letters, digits, '_', '.', '-')"
    ),
}
# What ``text_not_storable`` names, in the catalogue too.
_CHARACTERS = (
    N_("a line break or tab (one line only)"),
    N_("the NUL character (U+0000)"),
)


# A day or a time the boxes did not make (the model's words speak of ISO text, which a
# person filling in day, month and year boxes never typed).
DAY_PROBLEM = N_("Enter a real date: the day, month and year as numbers")
TIME_PROBLEM = N_(
    "Enter a real date and time: the day, month and year, and the hour (0 to 23) and "
    "minute, as numbers; or leave them all empty"
)
_DAY_TYPES = frozenset({"date_type", "date_parsing", "date_from_datetime_parsing", "date_format",
                        "date_from_datetime_inexact"})  # fmt: skip
_TIME_TYPES = frozenset({"datetime_type", "datetime_parsing", "datetime_from_date_parsing",
                         "datetime_format"})  # fmt: skip


def form_rule_in(reader: Reader, error: Mapping[str, Any]) -> str:
    """One of pydantic's errors in the pages' words, in the reader's language (a day's or a
    time's in the words of the day boxes); a type the pages have no words for stays as
    pydantic says it."""
    kind = str(error.get("type"))
    if kind in _DAY_TYPES:
        return reader._(DAY_PROBLEM)
    if kind in _TIME_TYPES:
        return reader._(TIME_PROBLEM)
    message = str(error.get("msg", ""))
    template = FORM_RULES.get(str(error.get("type")))
    if template is None:
        return message
    translated = reader._(template)  # English: the pages' words, not pydantic's
    if translated == template and reader.code != "en":
        return message
    context = {k: _value(reader, k, str(x)) for k, x in (error.get("ctx") or {}).items()}
    try:
        return translated.format(**context)
    except (KeyError, IndexError, ValueError):
        return message
