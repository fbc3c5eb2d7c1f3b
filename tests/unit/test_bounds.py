"""The storable types at the boundary: each check once, with its rule named, whichever way
the value comes (text from JSON, a date or time object from Python), and facts already
recorded read back unchecked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from events.bounds import RECORDED, Day, Line, Moment, Words


class Sample(BaseModel):
    at: Moment | None = None
    on: Day | None = None
    words: Words | None = None
    line: Line | None = None


def problem(**fields: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as raised:
        Sample.model_validate(fields)
    first = raised.value.errors(include_input=False)[0]
    return str(first["loc"][0]), str(first["msg"])


@pytest.mark.parametrize(
    "value",
    [
        "1900-01-01T00:00:00Z",
        "2100-12-31T23:59:59.999999-05:00",  # the date as written, not as UTC
        datetime(2100, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1900, 1, 1, tzinfo=UTC),
    ],
)
def test_a_moment_in_range_is_taken(value: object) -> None:
    assert Sample(at=value).at is not None


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("0001-01-01T00:00:00Z", "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone"),
        ("9999-12-31T23:59:59Z", "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone"),
        ("2026-01-05T09:00:00", "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone"),
        ("2026-01-05T09:00\x00Z", "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone"),
        (True, "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone"),
        (1767603600, "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone"),
        (datetime(1, 1, 1, tzinfo=UTC), "must be between 1900-01-01 and 2100-12-31"),
        (datetime(9999, 12, 31, tzinfo=UTC), "must be between 1900-01-01 and 2100-12-31"),
        (datetime(2026, 1, 5, 9), "should have timezone info"),  # left to the zone check
    ],
)
def test_a_moment_out_of_range_or_form_is_refused_naming_the_rule(value: object, rule: str) -> None:
    field, message = problem(at=value)
    assert field == "at"
    assert rule in message


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1899-12-31", "must be a date as YYYY-MM-DD, between 1900 and 2100"),
        ("2026-02-30", "must be a date as YYYY-MM-DD, between 1900 and 2100"),
        (False, "must be a date as YYYY-MM-DD, between 1900 and 2100"),
        (date(1, 1, 1), "must be between 1900-01-01 and 2100-12-31"),
        (date(9999, 12, 31), "must be between 1900-01-01 and 2100-12-31"),
        (datetime(9999, 12, 31), "must be between 1900-01-01 and 2100-12-31"),
    ],
)
def test_a_day_out_of_range_or_form_is_refused_naming_the_rule(value: object, rule: str) -> None:
    field, message = problem(on=value)
    assert field == "on"
    assert rule in message


def test_a_day_in_range_is_taken_as_text_or_date() -> None:
    assert Sample(on="2024-02-29").on == date(2024, 2, 29)
    assert Sample(on=date(2100, 12, 31)).on == date(2100, 12, 31)


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"words": "a\x00b"}, "must not contain the NUL character (U+0000)"),
        ({"words": " \u200b\t"}, "must not be blank"),
        ({"line": "two\nlines"}, "must not contain a line break or tab (one line only)"),
        ({"line": "\u200b"}, "must not be blank"),
        # Marks that show nothing: bidirectional marks, overrides and isolates, the soft
        # hyphen, the Hangul filler, a blank Braille pattern.
        ({"line": "\u200f"}, "must not be blank"),
        ({"words": "\u202e\u202c \u200e"}, "must not be blank"),
        ({"line": "\u2066\u2069"}, "must not be blank"),
        ({"words": "\u00ad\u3164\u2800"}, "must not be blank"),
        ({"words": "bell\x07"}, "must not contain the control character U+0007"),
    ],
)
def test_text_checks_run_in_order_and_name_the_rule(fields: dict[str, object], rule: str) -> None:
    _, message = problem(**fields)
    assert rule in message


def test_emoji_and_welsh_are_text() -> None:
    sample = Sample(words="Ymweliad 🏠\nâ ŵ ŷ", line="Siân 👩‍👧")
    assert sample.words == "Ymweliad 🏠\nâ ŵ ŷ"
    # Text beside invisible marks is text (a name written right to left, a soft hyphen).
    assert Sample(line="\u200fשרה\u200f").line == "\u200fשרה\u200f"
    assert Sample(words="co\u00adoperation").words == "co\u00adoperation"
    assert Sample(line="👍").line == "👍"


def test_facts_already_recorded_read_back_unchecked() -> None:
    old = Sample.model_validate(
        {"at": datetime(1, 1, 1, tzinfo=UTC), "on": date(9999, 1, 1), "line": "a\tb"},
        context=RECORDED,
    )
    assert old.at == datetime(1, 1, 1, tzinfo=UTC)
    assert old.on == date(9999, 1, 1)


def test_the_blank_check_knows_every_format_character_of_the_basic_plane() -> None:
    """``is_blank`` (and the schema's patterns) treat every Unicode format character (Cf) of
    the Basic Multilingual Plane as showing nothing, and nothing else besides white space
    and the fillers."""
    import unicodedata

    from events.bounds import is_blank

    fillers = {"\u115f", "\u1160", "\u2800", "\u3164", "\uffa0"}
    for code in range(0x10000):
        char = chr(code)
        if "\ud800" <= char <= "\udfff":
            continue
        invisible = unicodedata.category(char) == "Cf" or char.isspace() or char in fillers
        control = unicodedata.category(char) == "Cc" or char in "\ufffe\uffff"
        if not control:
            assert is_blank(f" {char} ") is invisible, f"U+{code:04X}"
