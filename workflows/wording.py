"""The words of a rule's refusal, kept apart from the values they name.

A rule refuses with a template (``"goal {goal_id} is already agreed"``) and its values. The
English message is the template filled in, as it always was; the template and the values
travel beside it (in the refusal's details), so the web pages can say the same rule in
Welsh: the template through the message catalogue, each value as what it is — a coded word
translated, a date in the reader's language, an id as it stands. Babel extracts the
templates from the source (``make messages``: the keywords ``CommandRejected:2``,
``TeamRefusal:2``, ``require_phase:3``, ``require_role:3``); a test checks each literal
template names exactly the values its call gives.

Values are plain: text, numbers, days, coded words (``StrEnum``), lists of them (shown
joined by commas) and ``one_of`` lists (joined by "or").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import Enum
from functools import cached_property
from typing import Any


class OneOf(tuple[str, ...]):
    """Alternatives: "allocated or intensive"."""


def one_of(values: Iterable[object]) -> OneOf:
    """``values`` as alternatives (joined by "or")."""
    return OneOf(plain_text(v) for v in values)


Wire = str | list[str] | dict[str, list[str]]


def plain_text(value: object) -> str:
    """One value as text: a coded word's code, a day in ISO form."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def wire(value: object) -> Wire:
    """A value as it travels (JSON): text, a list, or ``{"or": [...]}``."""
    if isinstance(value, OneOf):
        return {"or": list(value)}
    if isinstance(value, Mapping) and set(value) == {"or"}:  # as it travels (passed on)
        return {"or": [plain_text(v) for v in value["or"]]}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [plain_text(v) for v in items]
    return plain_text(value)


def english(value: Wire) -> str:
    """A value as the English message shows it."""
    if isinstance(value, dict):
        return " or ".join(value.get("or", []))
    if isinstance(value, list):
        return ", ".join(value)
    return value


class _Unnamed(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def filled(template: str, params: Mapping[str, Wire]) -> str:
    """The template in English with its values. Never raises: a name the values lack
    stays as ``{name}`` (a refusal must never become a crash, least of all in a workflow,
    where it would fail the task; a test keeps templates and values in step)."""
    if not params:
        return template
    try:
        return template.format_map(_Unnamed({k: english(v) for k, v in params.items()}))
    except (ValueError, IndexError, AttributeError):  # a malformed template: as written
        return template


def wired(params: Mapping[str, object]) -> dict[str, Wire]:
    """Each value as it travels."""
    return {k: wire(v) for k, v in params.items()}


RESERVED = frozenset({"kind"})  # given by name, it would be taken for a value


class Refusal(Exception):
    """A rule's refusal: the field at fault, the rule as a template with its values (worded
    in English when read: a walk of the lifecycle refuses a million commands), and its
    kind (``invalid``: never as written; ``conflict``: not now; ``forbidden``)."""

    def __init__(self, field: str, rule: str, kind: str, /, **params: object) -> None:
        if RESERVED & params.keys():  # kind= given by name would be taken for a value
            raise TypeError(
                f"a refusal's values may not be named {sorted(RESERVED & params.keys())}"
            )
        super().__init__(field, rule, kind)  # args rebuild it (pickle, copy)
        self.field = field
        self.template = rule
        self.kind = kind
        self._values = params

    @cached_property
    def params(self) -> dict[str, Wire]:
        return wired(self._values)

    @cached_property
    def rule(self) -> str:
        return filled(self.template, self.params)

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


def details_of(template: str, params: Mapping[str, Wire]) -> dict[str, Any]:
    """What a refusal carries beside its message (Temporal failure details)."""
    return {"rule": template, "params": dict(params)}


def from_details(details: Any) -> tuple[str, dict[str, Wire]] | None:
    """The template and values back from a refusal's details, or ``None``."""
    if not isinstance(details, Mapping) or not isinstance(details.get("rule"), str):
        return None
    params = details.get("params")
    return details["rule"], dict(params) if isinstance(params, Mapping) else {}
