"""The timeline reads every case event in plain, grammatical words."""

from __future__ import annotations

from typing import Any

import pytest

from events.catalogue import DomainEvent, all_event_types
from projections.describe import DESCRIBE, sentence
from projections.models import CASE_EVENTS
from tests.examples import example_of

ACTOR = {"id": "cm-jones", "role": "case_manager"}


def test_every_case_event_has_its_own_sentence() -> None:
    assert CASE_EVENTS - set(DESCRIBE) == set()


def test_every_event_in_the_catalogue_reaches_some_read_model_or_is_named_as_not() -> None:
    # Events that belong to other streams (team, delivery, access, operations).
    elsewhere = {
        "TeamRegistered",
        "TeamKeyWorkerJoined",
        "TeamPolicyAdopted",
        "TeamKeyWorkerLeft",
        "TeamCaseAllocated",
        "TeamCaseWaitlisted",
        "TeamCaseReleased",
        "TeamCaseReprioritised",
        "TeamCaseReassigned",
        "TeamAllocationWithdrawn",
        "TeamCaseReceived",
        "TeamCoverArranged",
        "TeamCaseReinstated",
        "TeamCoverEnded",
        "AlertDelivered",
        "AlertDeliveryFailed",
        "CaseRecordViewed",
        "ProjectionEventSkipped",
        "ProgrammePolicyRegistered",
        # privacy: list reads, retention and erasure, administration, the legacy seal
        "CasesListed",
        "FamilyDataErased",
        "FamilyErasureRefused",
        "RetentionReviewed",
        "ReportSnapshotTaken",
        "ConsultationGiven",
        "TrainingGiven",
        "TeamCostsRecorded",
        "UserAdded",
        "UserActiveChanged",
        "TokenCreated",
        "TokenRevoked",
        "AlertRoutesChanged",
        "UserPasswordChanged",
        "UserSignInLinked",
        "LegacyPersonalDataSealed",
    }
    names = {cls.type_name() for cls in all_event_types()}
    assert names - CASE_EVENTS == elsewhere


@pytest.mark.parametrize(
    "cls", [c for c in all_event_types() if c.type_name() in CASE_EVENTS], ids=lambda c: c.__name__
)
def test_each_sentence_reads(cls: type[DomainEvent]) -> None:
    data: dict[str, Any] = cls.model_validate(example_of(cls)).model_dump(mode="json")
    said = sentence(cls.type_name(), data, ACTOR)
    assert said[:1].isupper() or said[:1].isdigit(), said
    assert said != cls.summary, said
    assert " a a" not in said and " a o" not in said and "1 families" not in said, said


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("home_visit", "recorded a home visit"),
        ("phone", "recorded a phone call"),
        ("out_of_hours", "recorded an out-of-hours visit"),
        ("group", "recorded a group session"),
    ],
)
def test_sessions_read_as_english(kind: str, words: str) -> None:
    data = {
        "session_id": "s1",
        "held_at": "2026-01-05T10:00:00Z",
        "kind": kind,
        "duration_minutes": 60,
    }
    assert words in sentence("SessionRecorded", data, ACTOR)
