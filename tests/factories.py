"""Small builders of valid events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from events.catalogue import DomainEvent, ReferralReceived, SessionRecorded
from events.envelope import Actor, EventMetadata
from events.records import NewEvent, RecordedEvent, canonical_json
from events.vocabulary import ReferralGround, ReferringAgency, Role, SessionKind

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WORKER = Actor(id="cm-jones", role=Role.CASE_MANAGER)


def meta(actor: Actor = WORKER) -> EventMetadata:
    return EventMetadata(actor=actor, correlation_id=uuid.uuid4(), policy_version="2026.1")


def wrap(event: DomainEvent, *, at: datetime = T0, event_id: uuid.UUID | None = None) -> NewEvent:
    return NewEvent.of(event, event_id=event_id or uuid.uuid4(), metadata=meta(), occurred_at=at)


def referral(case_id: str = "c1", **overrides: Any) -> ReferralReceived:
    fields: dict[str, Any] = dict(
        case_id=case_id,
        family_id=f"fam-{case_id}",
        team_id="cardiff",
        area="cardiff",
        referring_agency=ReferringAgency.CHILDRENS_SERVICES,
        referral_grounds=[ReferralGround.PARENTAL_SUBSTANCE_DEPENDENCE],
        children=[{"child_id": "ch1", "statutory_status": "cin"}],
        consent_to_referral=True,
        consent_to_information_sharing=True,
        received_on=date(2026, 1, 5),
        policy_version="2026.1",
    )
    fields.update(overrides)
    return ReferralReceived.model_validate(fields)


def session(n: int, *, at: datetime = T0) -> SessionRecorded:
    return SessionRecorded(
        session_id=f"s{n}",
        held_at=at + timedelta(days=n),
        kind=SessionKind.HOME_VISIT,
        duration_minutes=90,
    )


def sessions(count: int, start: int = 0) -> list[NewEvent]:
    return [wrap(session(start + i)) for i in range(count)]


# An import row (``ifss import``, one family): at ``phase``, its past dated back from today.
PHASES = ["referred", "accepted", "waitlisted", "allocated", "intensive", "follow_up"]


def import_row(case_id: str, phase: str, today: date, **changes: Any) -> dict[str, Any]:
    """A family at ``phase`` with a past in the other system, dated back from ``today``."""

    def ago(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    reached = PHASES.index(phase)
    fields: dict[str, Any] = {
        "case_id": case_id,
        "source": {"system": "legacy-cms", "record_id": f"R-{case_id}"},
        "phase": phase,
        "family_id": f"fam-{case_id}",
        "team_id": "cardiff",
        "area": "cardiff",
        "referring_agency": "health",
        "referral_grounds": ["parental_substance_dependence"],
        "children": [{"child_id": "ch1", "statutory_status": "cin"}],
        "consent_to_referral": True,
        "consent_to_information_sharing": True,
        "consent_to_follow_up": True,
        "received_on": ago(90 if reached >= 5 else 45),
    }
    if reached >= 1:
        fields["accepted_on"] = ago(85 if reached >= 5 else 40)
    if reached >= 3:
        fields |= {"key_worker_id": "kw-a", "allocated_on": ago(84 if reached >= 5 else 35)}
    if reached >= 4:
        met = 80 if reached >= 5 else 30
        fields |= {
            "first_meeting_at": f"{ago(met)}T10:00:00Z",
            "goals": [
                {
                    "goal_id": "g1",
                    "category": "parenting",
                    "description": "Bedtime routine",
                    "baseline": 2,
                    "target": 8,
                    "agreed_on": ago(met),
                }
            ],
            "sessions": [
                {
                    "session_id": f"s{n}",
                    "held_at": f"{ago(met - 2 - 3 * n)}T10:00:00Z",
                    "kind": "home_visit",
                    "duration_minutes": 90,
                }
                for n in range(3)
            ],
            "scores": [{"goal_id": "g1", "score": 5, "scored_on": ago(met - 8)}],
        }
    if reached >= 5:
        fields |= {
            "closure": {
                "closed_on": ago(45),
                "kind": "planned",
                "closing_scores": [{"goal_id": "g1", "score": 7}],
            },
            "reviews": [
                {
                    "month": 1,
                    "held_on": ago(12),
                    "ratings": {"g1": "maintained"},
                    "family_staying_together": True,
                    "substance_use_status": "reduced",
                }
            ],
        }
    return fields | changes


def recorded(
    event: DomainEvent, version: int, at: datetime = T0, stream: str = "case-c1"
) -> RecordedEvent:
    """``event`` as the store gives it back (for the pure folds), at ``version``."""
    return RecordedEvent(
        version,
        version,
        stream,
        version,
        uuid.uuid4(),
        event.type_name(),
        type(event).schema_version,
        orjson.dumps(event.model_dump(mode="json")).decode(),
        canonical_json({"actor": {"id": "cm-jones", "role": "case_manager"}}),
        at,
        at,
        b"",
        b"",
    )
