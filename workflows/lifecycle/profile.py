"""The family profile in coded form, as the evaluation data set counts it: the local
authority area the family lives in, and each child's age band, worked out from the date of
birth when one is given (the date itself stays in the family's encrypted personal part)."""

from __future__ import annotations

from datetime import date, timedelta

from events import catalogue as ev
from events.vocabulary import AGE_BAND_FROM, AgeBand, LocalAuthority
from workflows.lifecycle.state import CaseState, CommandRejected
from workflows.wording import one_of

AREAS = frozenset(a.value for a in LocalAuthority)
# How far ahead an unborn child may be expected (a pregnancy's length, with room).
UNBORN_WITHIN_DAYS = 300


def whole_years(born: date, on: date) -> int:
    """Age in whole years on ``on`` (a child born on 29 February turns a year older on
    1 March in other years)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def band_of_age(years: int) -> AgeBand:
    return next(band for lowest, band in AGE_BAND_FROM if years >= lowest)


def checked_area(state: CaseState, area: str, field: str = "area") -> None:
    if state.coded_profile and area not in AREAS:
        raise CommandRejected(
            field,
            "must be one of the local authority areas of Wales: {areas}",
            "invalid",
            areas=one_of(sorted(AREAS)),
        )


def age_band(
    state: CaseState,
    given: AgeBand | None,
    expected_on: date | None,
    born: date | None,
    on: date,
    prefix: str = "",
) -> AgeBand | None:
    """The child's band on ``on``: unborn when expected, from the date of birth when one is
    given (a band given as well must agree with it), else the band given (or None: not
    recorded). Episodes begun before the coded profile keep what was given."""
    if not state.coded_profile:
        return given
    if expected_on is not None:
        if born is not None:
            raise CommandRejected(
                f"{prefix}personal.date_of_birth",
                "an unborn child (expected_on given) has no date of birth yet",
                "invalid",
            )
        if given not in (None, AgeBand.UNBORN):
            raise CommandRejected(
                f"{prefix}age_band",
                "must be unborn for a child expected (expected_on given)",
                "invalid",
            )
        return AgeBand.UNBORN
    if born is None:
        if given is AgeBand.UNBORN:
            raise CommandRejected(
                f"{prefix}expected_on",
                "an unborn child needs the date they are expected",
                "invalid",
            )
        return given
    if born > on:
        raise CommandRejected(
            f"{prefix}personal.date_of_birth",
            "cannot be after {on}, the day it is recorded for",
            "invalid",
            on=on,
        )
    band = band_of_age(whole_years(born, on))
    if given is not None and given is not band:
        raise CommandRejected(
            f"{prefix}age_band",
            "is {given} but the date of birth makes the child {band} on {on}",
            "invalid",
            given=given,
            band=band,
            on=on,
        )
    return band


def one_spelling_each(state: CaseState, ids: list[tuple[str, str]]) -> None:
    """Each of ``ids`` ((field, person id), in order) not the same as an earlier one or one
    of the family's but for case ("CH1" beside "ch1"); under ``person_ids_fold_case``."""
    if not state.person_ids_fold_case:
        return
    seen = {p.lower(): p for p in (*state.children, *state.adults)}
    for field, person_id in ids:
        known = seen.setdefault(person_id.lower(), person_id)
        if known != person_id:
            raise CommandRejected(
                field,
                "{person_id} is {known} in this family (ids do not differ by case alone)",
                person_id=person_id,
                known=known,
            )


def checked_adults(
    state: CaseState, children: list[ev.Child], adults: list[ev.Adult], on: date
) -> None:
    """Each person's id once in the family (children's ids among themselves are the
    command's to check), and no adult born after ``on``; with the edge rules only."""
    if not state.edge_rules:
        return
    taken = {child.child_id for child in children}
    for i, adult in enumerate(adults):
        if adult.person_id in taken:
            raise CommandRejected(
                f"adults.{i}.person_id",
                "{person_id} is already in this family",
                "invalid",
                person_id=adult.person_id,
            )
        taken.add(adult.person_id)
        born = adult.personal.date_of_birth if adult.personal else None
        if born is not None and born > on:
            raise CommandRejected(
                f"adults.{i}.personal.date_of_birth",
                "cannot be after {on}, the day it is recorded for",
                "invalid",
                on=on,
            )


def checked_expected(state: CaseState, expected_on: date | None, on: date, field: str) -> None:
    """An unborn child is expected from ``on`` to ``UNBORN_WITHIN_DAYS`` after it (edge
    rules)."""
    if state.edge_rules and expected_on is not None:
        if not on <= expected_on <= on + timedelta(days=UNBORN_WITHIN_DAYS):
            raise CommandRejected(
                field,
                "an unborn child is expected within {days} days from {on}, the day it is "
                "recorded for",
                "invalid",
                days=UNBORN_WITHIN_DAYS,
                on=on,
            )


def banded_children(state: CaseState, children: list[ev.Child], on: date) -> list[ev.Child]:
    """The referral's children, each with the age band it had on the referral's date."""
    return [
        child.model_copy(
            update={
                "age_band": age_band(
                    state,
                    child.age_band,
                    child.expected_on,
                    child.personal.date_of_birth if child.personal else None,
                    on,
                    prefix=f"children.{i}.",
                )
            }
        )
        for i, child in enumerate(children)
    ]
