"""The catalogue, upcasters and validation, without any infrastructure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from events import docs
from events.catalogue import DomainEvent, SessionRecorded, all_event_types, event_class
from events.errors import InvalidInput, UnknownEventType
from events.upcasters import upcast
from events.validation import field_path, parse_event
from tests.factories import referral, session

LIFECYCLE = {
    "ReferralReceived",
    "ReferralAccepted",
    "ReferralRejected",
    "FamilyWaitlisted",
    "KeyWorkerAllocated",
    "FirstMeetingHeld",
    "GoalAgreed",
    "SessionRecorded",
    "GoalsScored",
    "ExtensionRequested",
    "ExtensionDecided",
    "IntensivePhaseClosed",
    "FollowUpReviewScheduled",
    "FollowUpReviewRescheduled",
    "FollowUpReviewDue",
    "FollowUpReviewCompleted",
    "FollowUpReviewOverdue",
    "BoosterScheduled",
    "BoosterDelivered",
    "ChildStatusChanged",
    "ConsentRecorded",
    "ConsentWithdrawn",
    "EpisodeEnded",
}


def test_catalogue_covers_the_lifecycle() -> None:
    names = {cls.__name__ for cls in all_event_types()}
    assert names >= LIFECYCLE


def test_event_names_are_past_tense_facts() -> None:
    import re

    irregular = {
        "Held",
        "Left",
        "Withdrawn",
        "Withdrew",
        "Due",
        "Overdue",
        "Approaching",
        "Overrun",
        "Taken",
        "Given",
    }
    for cls in all_event_types():
        last_word = re.findall(r"[A-Z][a-z]*", cls.__name__)[-1]
        assert last_word.endswith("ed") or last_word in irregular, cls
        assert cls.summary, f"{cls.__name__} has no summary"


def test_events_are_frozen() -> None:
    event = session(1)
    with pytest.raises(ValidationError):
        event.duration_minutes = 5  # type: ignore[misc]


def test_personal_data_lives_only_in_personal_parts() -> None:
    personal_words = {"name", "family_name", "date_of_birth", "address", "notes"}

    def check(model: type, path: str, inside_personal: bool) -> None:
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            if name in personal_words:
                assert inside_personal, f"{path}.{name} is personal data outside `personal`"
            for arg in _nested_models(info.annotation):
                check(arg, f"{path}.{name}", inside_personal or name == "personal")

    for cls in all_event_types():
        check(cls, cls.__name__, False)


def _nested_models(annotation: object) -> list[type]:
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type] = []
    for arg in typing.get_args(annotation):
        found += _nested_models(arg)
    return found


def test_registry_maps_names_to_classes() -> None:
    assert event_class("SessionRecorded") is SessionRecorded
    with pytest.raises(UnknownEventType) as raised:
        event_class("Nope")
    assert raised.value.field == "type"
    assert DomainEvent.registry["ReferralReceived"].type_name() == "ReferralReceived"


AT = datetime(2026, 1, 9, 16, 0, tzinfo=UTC)  # a Friday


def test_upcaster_v1_to_v2_adds_session_kind() -> None:
    v1 = {"session_id": "s1", "held_at": "2026-01-06T09:00:00Z", "duration_minutes": 60}
    assert upcast("SessionRecorded", 1, 2, v1, AT) == {**v1, "kind": "home_visit"}
    assert upcast("SessionRecorded", 2, 2, v1, AT) == v1
    with pytest.raises(LookupError, match="no upcaster for GoalAgreed v1"):
        upcast("GoalAgreed", 1, 2, {}, AT)


def test_old_events_get_the_deadlines_their_readers_computed_then() -> None:
    # Before deadlines travelled on events, readers used the default policy: 2 working
    # days to the first meeting, 42 days of intensive work.
    allocated = {"key_worker_id": "kw1", "team_id": "cardiff", "from_waitlist": False}
    upcast_allocated = upcast("KeyWorkerAllocated", 1, 2, allocated, AT)
    assert upcast_allocated["first_meeting_due_at"] == "2026-01-13T16:00:00+00:00"  # Tuesday
    assert event_class("KeyWorkerAllocated").model_validate(upcast_allocated)
    held = {"held_at": "2026-01-13T10:00:00+00:00"}
    assert upcast("FirstMeetingHeld", 1, 2, held, AT)["intensive_ends_on"] == "2026-02-24"


def test_parse_event_names_nested_field() -> None:
    data = referral().model_dump(mode="json")
    data["children"][0]["statutory_status"] = "adopted"
    with pytest.raises(InvalidInput) as raised:
        parse_event("ReferralReceived", data)
    assert raised.value.field == "data.children[0].statutory_status"
    with pytest.raises(InvalidInput, match="data: must be a JSON object"):
        parse_event("ReferralReceived", ["not", "an", "object"])


def test_field_path() -> None:
    assert field_path(("children", 0, "child_id")) == "children[0].child_id"
    assert field_path(()) == ""


def test_referral_needs_a_child() -> None:
    with pytest.raises(ValidationError, match="children"):
        referral(children=[])


def test_docs_events_md_is_current() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert path.exists(), "run `ifss docs events` to generate docs/events.md"
    assert path.read_text(encoding="utf-8") == docs.render(), (
        "docs/events.md is stale: run `ifss docs events`"
    )
