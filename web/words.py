"""Words for the coded vocabulary (phases, grounds, reasons, ratings...), in English and marked
for translation: the Welsh is in the catalogue (`web/translations/cy`). Every code of every
enum the pages show has its words here (tests/unit/test_web_i18n.py checks).
"""

from __future__ import annotations

from collections.abc import Callable

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
        "antisocial_behaviour": N_("Anti-social behaviour"),
        "threat_of_eviction": N_("Threat of eviction"),
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
    v.MeasureStage: {
        "referral": N_("At referral"),
        "closure": N_("At closure"),
        "review": N_("At a review"),
    },
    v.FeedbackSource: {
        "family": N_("The family"),
        "referrer": N_("The referrer"),
    },
    v.FeedbackRating: {
        "very_dissatisfied": N_("Very dissatisfied"),
        "dissatisfied": N_("Dissatisfied"),
        "neutral": N_("Neither satisfied nor dissatisfied"),
        "satisfied": N_("Satisfied"),
        "very_satisfied": N_("Very satisfied"),
    },
    v.TrainingModel: {
        "motivational_interviewing": N_("Motivational interviewing"),
        "solution_focused": N_("Solution-focused"),
        "cognitive_behavioural": N_("Cognitive behavioural"),
        "other": N_("Other"),
    },
    v.JointWorkOutcome: {
        "requested": N_("Requested"),
        "obtained": N_("Obtained"),
        "refused": N_("Refused"),
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
    "ConsultationGiven": N_("Consultation given"),
    "EntryCorrected": N_("Entry corrected"),
    "EpisodeEnded": N_("Episode ended"),
    "ExtensionDecided": N_("Extension decided"),
    "ExtensionRequested": N_("Extension requested"),
    "FamilyDataErased": N_("Family data erased"),
    "FamilyPlanAgreed": N_("Family plan agreed"),
    "FeedbackRecorded": N_("Feedback recorded"),
    "JointWorkRecorded": N_("Joint work recorded"),
    "MeasuresRecorded": N_("Outcome measures recorded"),
    "ServicePurchased": N_("Service spot purchased"),
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
    "ReportSnapshotTaken": N_("Report snapshot taken"),
    "RetentionReviewed": N_("Retention reviewed"),
    "SessionRecorded": N_("Session recorded"),
    "TeamAllocationWithdrawn": N_("Team allocation withdrawn"),
    "TrainingGiven": N_("Training given"),
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
