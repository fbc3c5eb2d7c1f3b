"""The retention rules, pure: which rule keeps a family's personal data, and until when."""

from __future__ import annotations

from datetime import date

from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.retention import (
    KEEP_LOOKED_AFTER,
    KEEP_LOOKED_AFTER_NO_BIRTH,
    KEEP_OPEN,
    KEEP_YEARS,
    NOTHING,
    FamilyFacts,
    retention_of,
)


def facts(**values: object) -> FamilyFacts:
    base: dict[str, object] = dict(
        family_id="f1",
        case_ids=("c1",),
        open_cases=(),
        last_ended_on=date(2026, 3, 31),
        looked_after_births=(),
        erased=False,
    )
    base.update(values)
    return FamilyFacts(**base)  # type: ignore[arg-type]


def test_each_rule_and_its_date() -> None:
    assert retention_of(facts(open_cases=("c1",)), DEFAULT_POLICY).rule == KEEP_OPEN
    years = retention_of(facts(), DEFAULT_POLICY)
    assert (years.rule, years.until) == (KEEP_YEARS, date(2033, 3, 31))
    assert not years.ended(date(2033, 3, 30)) and years.ended(date(2033, 3, 31))
    lac = retention_of(facts(looked_after_births=(date(2016, 4, 1),)), DEFAULT_POLICY)
    assert (lac.rule, lac.until) == (KEEP_LOOKED_AFTER, date(2091, 4, 1))
    # An old looked-after "child" whose 75th birthday is before the years run out.
    old = retention_of(facts(looked_after_births=(date(1950, 1, 1),)), DEFAULT_POLICY)
    assert (old.rule, old.until) == (KEEP_YEARS, date(2033, 3, 31))
    unknown = retention_of(facts(looked_after_births=(None,)), DEFAULT_POLICY)
    assert (unknown.rule, unknown.until) == (KEEP_LOOKED_AFTER_NO_BIRTH, None)
    assert not unknown.ended(date.max)
    assert retention_of(facts(last_ended_on=None), DEFAULT_POLICY).rule == NOTHING


def test_the_rules_are_policy_data_and_the_calendar_edges_hold() -> None:
    short = ProgrammePolicy(version="t.1", retention_years_after_end=1)
    assert retention_of(facts(), short).until == date(2027, 3, 31)
    leap = retention_of(facts(last_ended_on=date(2024, 2, 29)), DEFAULT_POLICY)
    assert leap.until == date(2031, 2, 28)  # no 29 February then
    far = retention_of(facts(looked_after_births=(date(9999, 1, 1),)), DEFAULT_POLICY)
    assert far.until == date.max  # kept for good, not an error
    ancient = retention_of(facts(last_ended_on=date(1, 1, 1)), DEFAULT_POLICY)
    assert ancient.until == date(8, 1, 1) and ancient.ended(date(2026, 1, 1))
