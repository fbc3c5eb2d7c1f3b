"""Small builders of valid events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from events.catalogue import DomainEvent, ReferralReceived, SessionRecorded
from events.envelope import Actor, EventMetadata
from events.records import NewEvent
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
