"""The family profile in coded form (pure rules): the area from the local authorities of
Wales, each child's age band worked out from the date of birth (or checked against it),
unborn children, and episodes begun before these rules keep what they were given."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from events import catalogue as ev
from events.vocabulary import AgeBand, LanguagePreference
from tests.case_rules import CM, MON, Case, referral
from workflows import commands as cmd
from workflows.lifecycle.profile import band_of_age, whole_years
from workflows.lifecycle.state import CommandRejected


def coded() -> Case:
    case = Case()
    case.state = case.state.model_copy(update={"coded_profile": True})
    return case


def child(child_id: str = "ch1", **fields: object) -> dict[str, object]:
    return {"child_id": child_id, **fields}


def born(day: str, band: str | None = None) -> dict[str, object]:
    return child(personal={"name": "Seren 🐉", "date_of_birth": day}, age_band=band)


def received(case: Case, *children: dict[str, object], **fields: object) -> ev.ReferralReceived:
    event = case.refer(referral(children=list(children), **fields))[0]
    assert isinstance(event, ev.ReferralReceived)
    return event


@pytest.mark.parametrize(
    ("years", "band"),
    [
        (0, AgeBand.UNDER_1),
        (1, AgeBand.AGE_1_TO_4),
        (4, AgeBand.AGE_1_TO_4),
        (5, AgeBand.AGE_5_TO_9),
        (9, AgeBand.AGE_5_TO_9),
        (10, AgeBand.AGE_10_TO_15),
        (15, AgeBand.AGE_10_TO_15),
        (16, AgeBand.AGE_16_PLUS),
        (17, AgeBand.AGE_16_PLUS),
    ],
)
def test_each_whole_age_falls_in_one_band(years: int, band: AgeBand) -> None:
    assert band_of_age(years) is band


def test_whole_years_turn_on_the_birthday_and_a_leap_day_birthday_on_1_march() -> None:
    assert whole_years(date(2021, 1, 5), date(2026, 1, 4)) == 4
    assert whole_years(date(2021, 1, 5), date(2026, 1, 5)) == 5
    assert whole_years(date(2020, 2, 29), date(2025, 2, 28)) == 4
    assert whole_years(date(2020, 2, 29), date(2025, 3, 1)) == 5
    assert whole_years(date(1, 1, 1), date(9999, 12, 31)) == 9998


def test_the_band_is_worked_out_from_the_date_of_birth_on_the_referrals_date() -> None:
    # MON is 2026-01-05: a child born on 2021-01-05 is five that day, one born a day
    # later is still four.
    event = received(
        coded(),
        born("2021-01-05"),
        {**born("2021-01-06"), "child_id": "ch2"},
        child("ch3", expected_on="2026-03-01"),
        child("ch4"),
        child("ch5", age_band="10_to_15"),
    )
    assert [c.age_band for c in event.children] == [
        AgeBand.AGE_5_TO_9,
        AgeBand.AGE_1_TO_4,
        AgeBand.UNBORN,
        None,  # nothing given: not recorded, never guessed
        AgeBand.AGE_10_TO_15,
    ]
    # The band is coded, in clear; the date of birth stays in the sealed personal part.
    assert event.children[0].personal is not None
    assert "date_of_birth" not in event.children[0].model_dump(exclude={"personal"})


@pytest.mark.parametrize(
    ("children", "field", "rule"),
    [
        ([born("2021-01-05", "1_to_4")], "children.0.age_band", "makes the child 5_to_9"),
        ([born("2026-01-06")], "children.0.personal.date_of_birth", "cannot be after 2026-01-05"),
        (
            [child(), {**born("2025-01-01"), "child_id": "ch2", "expected_on": "2026-03-01"}],
            "children.1.personal.date_of_birth",
            "has no date of birth yet",
        ),
        (
            [child(expected_on="2026-03-01", age_band="under_1")],
            "children.0.age_band",
            "must be unborn",
        ),
        ([child(age_band="unborn")], "children.0.expected_on", "needs the date they are expected"),
    ],
)
def test_a_band_the_date_of_birth_contradicts_is_refused_naming_the_child(
    children: list[dict[str, object]], field: str, rule: str
) -> None:
    case = coded()
    with pytest.raises(CommandRejected) as refused:
        case.refer(referral(children=children))
    assert refused.value.field == field
    assert rule in refused.value.rule
    assert case.log == []  # nothing recorded


@pytest.mark.parametrize("area", ["vale", "Cardiff", "worcestershire", "north_wales"])
def test_an_area_not_among_the_local_authorities_of_wales_is_refused(area: str) -> None:
    case = coded()
    with pytest.raises(CommandRejected) as refused:
        case.refer(referral(area=area))
    assert refused.value.field == "area"
    assert "vale_of_glamorgan" in refused.value.rule
    assert case.log == []


def test_the_language_the_family_chose_is_recorded_and_left_out_when_not_asked() -> None:
    assert received(coded(), child(), language_preference="welsh").language_preference is (
        LanguagePreference.WELSH
    )
    assert received(coded(), child()).language_preference is None
    with pytest.raises(ValueError, match="language_preference"):
        referral(language_preference="cymraeg")
    with pytest.raises(ValueError, match="language_preference"):
        referral(language_preference=True)


def test_an_episode_begun_before_the_coded_profile_keeps_what_it_was_given() -> None:
    """A referral replayed from before the rules decides as it did: its area and bands
    stand as given (the workflow applies them only once patched)."""
    event = received(Case(), born("2026-02-01", "16_plus"), area="vale")
    assert event.area == "vale"
    assert event.children[0].age_band is AgeBand.AGE_16_PLUS


def test_a_child_joining_later_gets_the_band_of_the_day_they_joined() -> None:
    case = coded()
    case.refer()
    case.now = MON + timedelta(days=10)  # 2026-01-15
    joined = case.do(
        cmd.AddChild(
            actor=CM,
            child_id="ch2",
            personal={"name": "Gwen", "date_of_birth": "2025-01-15"},
        )
    )
    assert isinstance(joined[0], ev.ChildJoined)
    assert joined[0].age_band is AgeBand.AGE_1_TO_4
    unborn = case.do(cmd.AddChild(actor=CM, child_id="ch3", expected_on=date(2026, 5, 1)))
    assert unborn[0].age_band is AgeBand.UNBORN  # type: ignore[attr-defined]
    with pytest.raises(CommandRejected) as refused:
        case.do(
            cmd.AddChild(
                actor=CM,
                child_id="ch4",
                age_band=AgeBand.UNDER_1,
                personal={"name": "Ifan", "date_of_birth": "2019-06-30"},
            )
        )
    assert refused.value.field == "age_band"
