"""The read models, one module each. Each fold is a pure function of (row, event), also
used for "as of".

| projection | module | from | one row per |
| --- | --- | --- | --- |
| case_summary | ``case_summary`` | case streams | case |
| case_timeline | ``timeline`` | case streams | event, in plain English |
| teams | ``team`` | team streams (registrations) | registered team |
| caseload | ``team`` | team streams (key workers) + case_summary | key worker (a query joins them) |
| waitlist | ``team`` | team streams | waiting family |
| review_schedule | ``review_schedule`` | case streams | follow-up review |
| access_log | ``access_log`` | access streams | read of a case's record |
| alerts | ``alerts`` | case, team and delivery streams | alert (the inbox) |
| erasures | ``erasures`` | family streams (FamilyDataErased) | case whose family was erased |
| episode_outcomes | ``outcomes`` | case streams (coded facts only) | case: goal trajectories, reviews, children's statuses |
"""

from projections.base import Projection
from projections.models.access_log import AccessLog
from projections.models.alerts import Alerts, alert_ref, fold_alert
from projections.models.case_summary import CaseSummary, fold_summary
from projections.models.common import CASE_EVENTS, case_of, names
from projections.models.erasures import Erasures
from projections.models.outcomes import EpisodeOutcomes, fold_facts, new_facts
from projections.models.review_schedule import ReviewSchedule
from projections.models.team import KeyWorkers, Teams, Waitlist
from projections.models.timeline import CaseTimeline, coded

PROJECTIONS: tuple[Projection, ...] = (
    CaseSummary(),
    CaseTimeline(),
    Teams(),
    KeyWorkers(),
    Waitlist(),
    ReviewSchedule(),
    AccessLog(),
    Alerts(),
    Erasures(),
    EpisodeOutcomes(),
)
BY_NAME: dict[str, Projection] = {p.name: p for p in PROJECTIONS}

__all__ = [
    "BY_NAME",
    "CASE_EVENTS",
    "PROJECTIONS",
    "AccessLog",
    "Alerts",
    "CaseSummary",
    "CaseTimeline",
    "EpisodeOutcomes",
    "KeyWorkers",
    "ReviewSchedule",
    "Teams",
    "Waitlist",
    "alert_ref",
    "case_of",
    "coded",
    "fold_alert",
    "fold_facts",
    "fold_summary",
    "names",
    "new_facts",
]
