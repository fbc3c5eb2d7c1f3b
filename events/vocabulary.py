"""The coded vocabulary of the service: every list a field may choose from."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who acted. ``system`` is the engine itself (timers, automatic decisions)."""

    CASE_MANAGER = "case_manager"
    SUPERVISOR = "supervisor"
    BUSINESS_SUPPORT = "business_support"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SYSTEM = "system"


class ReferringAgency(StrEnum):
    CHILDRENS_SERVICES = "childrens_services"
    HEALTH = "health"
    POLICE = "police"
    SCHOOL = "school"
    PROBATION = "probation"
    DRUG_ALCOHOL_SERVICE = "drug_alcohol_service"
    HOUSING = "housing"
    SELF_REFERRAL = "self_referral"
    OTHER = "other"


class ReferralGround(StrEnum):
    """Referral grounds. The first four are the statutory grounds of an IFSS
    (Partnership Arrangements (Wales) Regulations 2015, reg 18); which ones make a family
    eligible is the programme's data (``events.programmes``)."""

    PARENTAL_SUBSTANCE_DEPENDENCE = "parental_substance_dependence"
    DOMESTIC_ABUSE_VICTIM = "domestic_abuse_victim"
    HISTORY_OF_VIOLENCE = "history_of_violence"
    MENTAL_DISORDER = "mental_disorder"
    ANTISOCIAL_BEHAVIOUR = "antisocial_behaviour"
    THREAT_OF_EVICTION = "threat_of_eviction"


class PresentingNeed(StrEnum):
    SUBSTANCE_MISUSE = "substance_misuse"
    ALCOHOL = "alcohol"
    DOMESTIC_VIOLENCE = "domestic_violence"
    MENTAL_HEALTH = "mental_health"
    PARENTAL_DISABILITY = "parental_disability"
    LEARNING_NEEDS = "learning_needs"
    NEGLECT = "neglect"
    HOUSING = "housing"
    SCHOOL_ATTENDANCE = "school_attendance"


class StatutoryStatus(StrEnum):
    """A child's statutory status; ordered by escalation in ``STATUS_RANK``."""

    NONE = "none"
    CIN = "cin"
    CPR = "cpr"
    LAC = "lac"


STATUS_RANK: dict[StatutoryStatus, int] = {
    StatutoryStatus.NONE: 0,
    StatutoryStatus.CIN: 1,
    StatutoryStatus.CPR: 2,
    StatutoryStatus.LAC: 3,
}


class RejectionReason(StrEnum):
    NO_ELIGIBLE_GROUND = "no_eligible_ground"
    NO_CONSENT = "no_consent"
    THRESHOLD_NOT_MET = "threshold_not_met"
    OUTSIDE_AREA = "outside_area"
    ALREADY_SUPPORTED_ELSEWHERE = "already_supported_elsewhere"
    MORE_APPROPRIATE_SERVICE = "more_appropriate_service"
    FAMILY_DECLINED = "family_declined"
    SERVICE_FULL = "service_full"


class SessionKind(StrEnum):
    HOME_VISIT = "home_visit"
    PHONE = "phone"
    OUT_OF_HOURS = "out_of_hours"
    GROUP = "group"


class GoalCategory(StrEnum):
    SUBSTANCE_USE = "substance_use"
    PARENTING = "parenting"
    SCHOOL_ATTENDANCE = "school_attendance"
    RELATIONSHIPS = "relationships"
    HEALTH = "health"
    HOUSING = "housing"
    DOMESTIC_ABUSE = "domestic_abuse"
    OTHER = "other"


class ScoringStage(StrEnum):
    """When goals were scored: during the intensive phase or at its closure."""

    PROGRESS = "progress"
    CLOSURE = "closure"


class ClosureKind(StrEnum):
    PLANNED = "planned"
    UNPLANNED = "unplanned"


class WithdrawalReason(StrEnum):
    """Why a family left before the intensive work began (referred, accepted, waiting or
    allocated but not yet met)."""

    FAMILY_DECLINED = "family_declined"
    MOVED_AWAY = "moved_away"
    COULD_NOT_BE_CONTACTED = "could_not_be_contacted"
    DID_NOT_ENGAGE = "did_not_engage"
    REFERRER_WITHDREW = "referrer_withdrew"
    NEEDS_MET_ELSEWHERE = "needs_met_elsewhere"


class AccessPurpose(StrEnum):
    """Why someone opened a family's personal data (recorded in the access log)."""

    DIRECT_WORK = "direct_work"
    SUPERVISION = "supervision"
    COVER = "cover"
    SAFEGUARDING = "safeguarding"
    AUDIT = "audit"
    COMPLAINT = "complaint"
    SUBJECT_ACCESS_REQUEST = "subject_access_request"


class HandoverReason(StrEnum):
    """Why a family moved to another key worker or team."""

    WORKLOAD = "workload"
    FAMILY_REQUEST = "family_request"
    KEY_WORKER_LEFT = "key_worker_left"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    SPECIALIST_SKILLS = "specialist_skills"
    FAMILY_MOVED = "family_moved"


class CorrectionReason(StrEnum):
    """Why an earlier entry is corrected (the entry itself is never edited)."""

    TYPING_ERROR = "typing_error"
    WRONG_OPTION_CHOSEN = "wrong_option_chosen"
    NEW_INFORMATION = "new_information"
    OTHER = "other"


class ReviewNotHeldReason(StrEnum):
    """Why a follow-up review could not be held."""

    DECLINED = "declined"
    COULD_NOT_CONTACT = "could_not_contact"
    MOVED_AWAY = "moved_away"
    NO_GOALS_TO_REVIEW = "no_goals_to_review"


class UnplannedExitReason(StrEnum):
    FAMILY_DISENGAGED = "family_disengaged"
    MOVED_AWAY = "moved_away"
    CHILD_REMOVED = "child_removed"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    ESCALATED_TO_STATUTORY = "escalated_to_statutory"
    OTHER = "other"


class GoalRating(StrEnum):
    """How a goal held at a follow-up review, against its closing score."""

    EXCEEDED = "exceeded"
    MAINTAINED = "maintained"
    PARTLY_MAINTAINED = "partly_maintained"
    REGRESSED = "regressed"


class SubstanceUseStatus(StrEnum):
    ABSTINENT = "abstinent"
    REDUCED = "reduced"
    UNCHANGED = "unchanged"
    INCREASED = "increased"
    NOT_APPLICABLE = "not_applicable"


class ConsentScope(StrEnum):
    REFERRAL = "referral"
    INFORMATION_SHARING = "information_sharing"
    FOLLOW_UP = "follow_up"


class EpisodeEndReason(StrEnum):
    FOLLOW_UP_COMPLETED = "follow_up_completed"
    CLOSED_BY_SUPERVISOR = "closed_by_supervisor"
    REFERRAL_REJECTED = "referral_rejected"
    NO_FOLLOW_UP_CONSENT = "no_follow_up_consent"
    WITHDRAWN_BEFORE_START = "withdrawn_before_start"


class AlertRule(StrEnum):
    """Why a case manager (or supervisor) is alerted."""

    FIRST_MEETING_OVERDUE = "first_meeting_overdue"
    NO_CONTACT = "no_contact"
    INTENSIVE_ENDING = "intensive_ending"
    INTENSIVE_OVERRUN = "intensive_overrun"
    REVIEW_OVERDUE = "review_overdue"
    GOAL_REGRESSED = "goal_regressed"
    UNPLANNED_EXIT = "unplanned_exit"
    CHILD_STATUS_ESCALATED = "child_status_escalated"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    REVIEW_DUE_SOON = "review_due_soon"
    BOOSTER_OVERDUE = "booster_overdue"
    WAITLISTED_TOO_LONG = "waitlisted_too_long"


class AlertSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class AlertResolution(StrEnum):
    CONDITION_CLEARED = "condition_cleared"
    EPISODE_ENDED = "episode_ended"
    SUPERSEDED = "superseded"


class EscalationReason(StrEnum):
    NOT_ACKNOWLEDGED = "not_acknowledged"
    DELIVERY_FAILED = "delivery_failed"


class DeliveryChannel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class OverdueOnImport(StrEnum):
    """How items already overdue when a case is imported alert (a storm of deliveries
    would bury what is new): raised once each into the inbox, delivered or not."""

    INBOX = "inbox"
    DELIVER = "deliver"


class MeasureStage(StrEnum):
    """When an outcome measure was taken."""

    REFERRAL = "referral"
    CLOSURE = "closure"
    REVIEW = "review"


class FeedbackSource(StrEnum):
    FAMILY = "family"
    REFERRER = "referrer"


class FeedbackRating(StrEnum):
    """How satisfied the family or the referrer said they were (a five-point scale)."""

    VERY_DISSATISFIED = "very_dissatisfied"
    DISSATISFIED = "dissatisfied"
    NEUTRAL = "neutral"
    SATISFIED = "satisfied"
    VERY_SATISFIED = "very_satisfied"


class JointWorkOutcome(StrEnum):
    """Joint work with the family's case manager to reach a service: where it stands."""

    REQUESTED = "requested"
    OBTAINED = "obtained"
    REFUSED = "refused"


class TrainingModel(StrEnum):
    """The model a training session for the wider workforce taught."""

    MOTIVATIONAL_INTERVIEWING = "motivational_interviewing"
    SOLUTION_FOCUSED = "solution_focused"
    COGNITIVE_BEHAVIOURAL = "cognitive_behavioural"
    OTHER = "other"


class LocalAuthority(StrEnum):
    """The 22 principal local authority areas of Wales (Local Government (Wales) Act 1994),
    where a family lives and which area a team serves."""

    BLAENAU_GWENT = "blaenau_gwent"
    BRIDGEND = "bridgend"
    CAERPHILLY = "caerphilly"
    CARDIFF = "cardiff"
    CARMARTHENSHIRE = "carmarthenshire"
    CEREDIGION = "ceredigion"
    CONWY = "conwy"
    DENBIGHSHIRE = "denbighshire"
    FLINTSHIRE = "flintshire"
    GWYNEDD = "gwynedd"
    ISLE_OF_ANGLESEY = "isle_of_anglesey"
    MERTHYR_TYDFIL = "merthyr_tydfil"
    MONMOUTHSHIRE = "monmouthshire"
    NEATH_PORT_TALBOT = "neath_port_talbot"
    NEWPORT = "newport"
    PEMBROKESHIRE = "pembrokeshire"
    POWYS = "powys"
    RHONDDA_CYNON_TAF = "rhondda_cynon_taf"
    SWANSEA = "swansea"
    TORFAEN = "torfaen"
    VALE_OF_GLAMORGAN = "vale_of_glamorgan"
    WREXHAM = "wrexham"


class LanguagePreference(StrEnum):
    """The language the family chose to be worked with in (the Welsh "Active Offer":
    asked, not assumed)."""

    WELSH = "welsh"
    ENGLISH = "english"
    BILINGUAL = "bilingual"


class AgeBand(StrEnum):
    """A child's age in the bands of the evaluation data set (whole years at the date it
    was recorded: the referral, or the day the child joined)."""

    UNBORN = "unborn"
    UNDER_1 = "under_1"
    AGE_1_TO_4 = "1_to_4"
    AGE_5_TO_9 = "5_to_9"
    AGE_10_TO_15 = "10_to_15"
    AGE_16_PLUS = "16_plus"


# The lowest whole age of each band born (the unborn band has none).
AGE_BAND_FROM: tuple[tuple[int, AgeBand], ...] = (
    (16, AgeBand.AGE_16_PLUS),
    (10, AgeBand.AGE_10_TO_15),
    (5, AgeBand.AGE_5_TO_9),
    (1, AgeBand.AGE_1_TO_4),
    (0, AgeBand.UNDER_1),
)
