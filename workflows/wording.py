"""The words of a rule's refusal, kept apart from the values they name.

A rule refuses with a template (``"goal {goal_id} is already agreed"``) and its values. The
English message is the template filled in, as it always was; the template and the values
travel beside it (in the refusal's details), so the web pages can say the same rule in
Welsh: the template through the message catalogue, each value as what it is — a coded word
translated, a date in the reader's language, an id as it stands. Babel extracts the
templates from the source (``make messages``: the keywords ``CommandRejected:2``,
``TeamRefusal:2``, ``refusal:2``).

Values are plain: text, numbers, days, coded words (``StrEnum``), lists of them (shown
joined by commas) and ``one_of`` lists (joined by "or").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import Enum
from typing import Any


class OneOf(tuple[str, ...]):
    """Alternatives: "allocated or intensive"."""


def one_of(values: Iterable[object]) -> OneOf:
    return OneOf(plain_text(v) for v in values)


Wire = str | list[str] | dict[str, list[str]]


def plain_text(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def wire(value: object) -> Wire:
    """A value as it travels (JSON): text, a list, or ``{"or": [...]}``."""
    if isinstance(value, OneOf):
        return {"or": list(value)}
    if isinstance(value, dict):  # already as it travels (a refusal passed on)
        return {"or": [plain_text(v) for v in value.get("or", [])]}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [plain_text(v) for v in items]
    return plain_text(value)


def english(value: Wire) -> str:
    if isinstance(value, dict):
        return " or ".join(value.get("or", []))
    if isinstance(value, list):
        return ", ".join(value)
    return value


def filled(template: str, params: Mapping[str, Wire]) -> str:
    """The template in English with its values."""
    if not params:
        return template
    return template.format(**{k: english(v) for k, v in params.items()})


def wired(params: Mapping[str, object]) -> dict[str, Wire]:
    return {k: wire(v) for k, v in params.items()}


def details_of(template: str, params: Mapping[str, Wire]) -> dict[str, Any]:
    """What a refusal carries beside its message (Temporal failure details)."""
    return {"rule": template, "params": dict(params)}


def from_details(details: Any) -> tuple[str, dict[str, Wire]] | None:
    """The template and values back from a refusal's details, or ``None``."""
    if not isinstance(details, Mapping) or not isinstance(details.get("rule"), str):
        return None
    params = details.get("params")
    return details["rule"], dict(params) if isinstance(params, Mapping) else {}
