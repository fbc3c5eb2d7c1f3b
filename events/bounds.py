"""What storage can hold: the text, date, time and number types of every boundary.

Events and commands are built from these, so whatever the catalogue or a command accepts
can be stored in PostgreSQL and read back unchanged:

* text never holds NUL (PostgreSQL's ``text`` and ``jsonb`` refuse it), lone surrogates
  (not encodable as UTF-8) or other control characters; one-line text (names, codes)
  holds no line breaks or tabs either;
* dates and times lie between 1900-01-01 and 2100-12-31 and times carry a time zone
  (PostgreSQL's ``timestamptz`` cannot hold year 0, and a time without a zone means
  nothing in a case record);
* numbers are numbers and yes/no is yes/no: ``true`` is not 1 and ``"90"`` is not 90;
* every list has a length limit, so a command always fits in one Temporal payload.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
)
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)

# Characters no text field may hold: C0 controls but tab, line feed and carriage return,
# DEL, C1 controls, lone surrogates, and the non-characters U+FFFE and U+FFFF.
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# One-line text: line breaks and tabs are refused as well.
_NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


# The same rules as JSON Schema patterns, so that clients and fuzzers know them too.
_TEXT_CHAR = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ufffe\\uffff]"
_LINE_CHAR = "[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ufffe\\uffff]"
TEXT_PATTERN = f"^{_TEXT_CHAR}*$"
# The format characters of the Basic Multilingual Plane (Unicode category Cf; a unit test
# checks the list against ``unicodedata``) and the fillers: none shows anything.
_FORMAT_CHARS = (
    "\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f"
    "\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb"
)
_FILLER_CHARS = "\\u115f\\u1160\\u2800\\u3164\\uffa0"
_SEEN = f"[^\\s\\x00-\\x1f\\x7f-\\x9f\\ufffe\\uffff{_FORMAT_CHARS}{_FILLER_CHARS}]"
WORDS_PATTERN = f"^{_TEXT_CHAR}*{_SEEN}{_TEXT_CHAR}*$"
LINE_PATTERN = f"^{_LINE_CHAR}*{_SEEN}{_LINE_CHAR}*$"
_SHOWS = re.compile(_SEEN)


def is_blank(value: str) -> bool:
    """Whether ``value`` shows nothing: white space, format characters (zero-width ones,
    bidirectional marks, the soft hyphen) and fillers only (as the schema's patterns say)."""
    return _SHOWS.search(value) is None


# Validation context for facts already recorded (events read back from the store): the
# checks above guard what comes in, not what is there, so a fact stored under older rules
# still reads. Lengths, types and coded lists still apply.
RECORDED: dict[str, bool] = {"recorded": True}


def recorded(info: ValidationInfo) -> bool:
    """Whether this validation reads a fact back rather than taking new input."""
    return bool((info.context or {}).get("recorded"))


def _describe(char: str) -> str:
    if char == "\x00":
        return "the NUL character (U+0000)"
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate (U+{ord(char):04X}), which is not valid Unicode text"
    return f"the control character U+{ord(char):04X}"


def storable_text(value: str, info: ValidationInfo) -> str:
    """Refuse characters that PostgreSQL cannot store or that mean nothing in a record."""
    if info.context and info.context.get("recorded"):
        return value
    found = _NOT_IN_TEXT.search(value)
    if found:
        raise PydanticCustomError(
            "text_not_storable", "must not contain {what}", {"what": _describe(found.group())}
        )
    return value


def one_line(value: str, info: ValidationInfo) -> str:
    """Like ``storable_text``, and no line breaks or tabs either."""
    if info.context and info.context.get("recorded"):
        return value
    found = _NOT_IN_LINE.search(value)
    if found:
        what = _describe(found.group())
        if found.group() in "\t\n\r\u2028\u2029":
            what = "a line break or tab (one line only)"
        raise PydanticCustomError("text_not_storable", "must not contain {what}", {"what": what})
    return value


def whole_number(value: object) -> object:
    """Before an integer check: ``true`` and ``"3"`` are not numbers; ``3.0`` is 3 (JSON
    has one kind of number), ``3.5`` is not whole."""
    if type(value) is int:  # the usual case first (``bool`` is a subclass, not this type)
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PydanticCustomError("int_type", "must be a whole number")
    return value


def printable(value: str, limit: int) -> str:
    """``value`` made into one storable line of at most ``limit`` characters (for text that
    comes from elsewhere, such as an error a mail server sent back)."""
    return " ".join(_NOT_IN_LINE.sub(" ", value).split())[:limit]


def not_blank(value: str, info: ValidationInfo) -> str:
    """Some words, not only spaces (zero-width ones included)."""
    if info.context and info.context.get("recorded"):
        return value
    if is_blank(value):
        raise PydanticCustomError("blank", "must not be blank")
    return value


# The checks of a field as one validator each (``storable_text`` then ``not_blank``, ...):
# every validator written in Python costs a call out of pydantic's core per field, and
# events are validated on every append.


def words_text(value: str, info: ValidationInfo) -> str:
    """``storable_text``, then ``not_blank``."""
    return not_blank(storable_text(value, info), info)


def line_text(value: str, info: ValidationInfo) -> str:
    """``one_line``, then ``not_blank``."""
    return not_blank(one_line(value, info), info)


def _in_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "date_out_of_range",
            "must be between {earliest} and {latest}",
            {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    return value


# Free text of a record (notes, a goal in the family's words): several lines.
FreeText = Annotated[
    str,
    StringConstraints(max_length=4000),
    AfterValidator(storable_text),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
]
# A reason or description in words: required, not blank.
Words = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000),
    AfterValidator(words_text),
    Field(json_schema_extra={"pattern": WORDS_PATTERN}),
]
# A short line: a name, a relationship, an error summary.
Line = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(line_text),
    Field(json_schema_extra={"pattern": LINE_PATTERN}),
]
# A coded value: an id, an area, a version. Letters, digits, '_', '.', '-'.
CODE_PATTERN = r"^[A-Za-z0-9_.-]+$"
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CODE_PATTERN)]
# A new case's or team's id, which becomes a path segment and a stream id: it starts with a
# letter or digit (``.``, ``..`` and ``-x`` are not ids anyone could use in a URL or a shell).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
NewId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]

# As text, dates and times are ISO 8601 (never a count of seconds), with the year in range:
# the patterns say so in the JSON schema too, so generated clients and fuzzers know it.
# Every string these patterns match is a real date (leap years included) between 1900 and
# 2100, so the JSON schema promises no more and no less than the validators accept.
_YEAR = r"(19[0-9]{2}|20[0-9]{2}|2100)"
_LEAP_YEAR = r"(19(0[48]|[2468][048]|[13579][26])|20(0[048]|[2468][048]|[13579][26]))"
_MONTH_DAY = (
    r"((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    r"|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    r"|02-(0[1-9]|1[0-9]|2[0-8]))"
)
_DATE = rf"({_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
_ZONE = r"(Z|z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
DAY_PATTERN = rf"^{_DATE}$"
MOMENT_PATTERN = rf"^{_DATE}[T ]{_CLOCK}{_ZONE}$"
_DAY_TEXT = re.compile(DAY_PATTERN)
_MOMENT_TEXT = re.compile(MOMENT_PATTERN)


def iso_date_text(value: object, info: ValidationInfo) -> object:
    """Before the date check: text must be ``YYYY-MM-DD`` (whose pattern holds the year
    range); numbers are not dates; a date given as such must lie in the range."""
    if info.context and info.context.get("recorded"):
        return value
    if isinstance(value, date):
        _in_range(value.date() if isinstance(value, datetime) else value)
        return value
    if not isinstance(value, str) or not _DAY_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "date_format", "must be a date as YYYY-MM-DD, between 1900 and 2100"
        )
    return value


def iso_time_text(value: object, info: ValidationInfo) -> object:
    """Before the time check: text must be ISO 8601 with a zone (whose pattern holds the
    year range, on the date as written); numbers are not times; a time given as such must
    lie in the range (checked on its own date, so an offset cannot push it past what Python
    or PostgreSQL can hold; one without a zone is left to the zone check)."""
    if info.context and info.context.get("recorded"):
        return value
    if isinstance(value, datetime):
        if value.utcoffset() is not None:
            _in_range(value.date())
        return value
    if not isinstance(value, str) or not _MOMENT_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "datetime_format",
            "must be a time as YYYY-MM-DDTHH:MM[:SS] with a zone (Z or +01:00), "
            "between 1900 and 2100",
        )
    return value


Day = Annotated[
    date,
    BeforeValidator(iso_date_text),
    WithJsonSchema({"type": "string", "pattern": DAY_PATTERN}),
]
Moment = Annotated[
    AwareDatetime,
    BeforeValidator(iso_time_text),
    WithJsonSchema({"type": "string", "pattern": MOMENT_PATTERN}),
]

StrictBool = Annotated[bool, Strict()]
Score = Annotated[int, Field(ge=0, le=10), BeforeValidator(whole_number)]
Days = Annotated[int, Field(ge=0, le=366), BeforeValidator(whole_number)]
Priority = Annotated[int, Field(ge=1, le=5), BeforeValidator(whole_number)]


# List limits: generous for a family, small enough that a command is a few KiB.
MAX_PEOPLE = 30
MAX_GOALS = 50
MAX_CODES = 20
