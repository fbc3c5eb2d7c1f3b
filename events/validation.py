"""Turning raw input into catalogue events, with errors that name the field and the rule."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from events.bounds import RECORDED
from events.catalogue import DomainEvent, event_class
from events.errors import InvalidInput

_RULES = {
    "missing": "is required",
    "extra_forbidden": "is not a field here (extra fields are refused)",
    "json_invalid": "is not valid JSON",
}


# The start of a ``KeyGivenTwice``'s message (what FastAPI passes on of it: the message).
TWICE = "key given twice: "


class KeyGivenTwice(json.JSONDecodeError):
    """A key given twice in one object of JSON input, where Python's reader would silently
    keep the last (``{"goal_id": "g9", "goal_id": "g10"}``)."""

    def __init__(self, key: str) -> None:
        super().__init__(TWICE + key, "", 0)
        self.key = key


def each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``'s ``object_pairs_hook`` for input: raises ``KeyGivenTwice``. The API's
    bodies, the import's lines and the CLI's JSON arguments and files are read with it."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise KeyGivenTwice(key)
        found[key] = value
    return found


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("children", 0, "child_id")`` -> ``children[0].child_id``. A name the client made
    up (a key of an object) is shown with what cannot be printed escaped (``\\x00``): an
    error message never carries a NUL or a control character back."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if part.isprintable() else _escaped(part)
        out += f".{name}" if out else name
    return out


def _escaped(name: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)


def first_problem(
    errors: Sequence[Mapping[str, Any]], prefix: str = "", whole: str = "data"
) -> tuple[str, str]:
    """The first of pydantic's errors as (field, rule): the field's path under ``prefix``
    (``whole`` when the error is about the input as a whole) and the rule in words. Never
    the input value, which may be personal data."""
    first = errors[0]
    path = field_path(tuple(first.get("loc", ())))
    field = f"{prefix}.{path}" if prefix and path else (prefix or path or whole)
    rule = _RULES.get(str(first.get("type")), str(first.get("msg", "is invalid")))
    return field, rule


def invalid_input_from(error: ValidationError, prefix: str = "") -> InvalidInput:
    """The first problem in a pydantic error, as an ``InvalidInput``."""
    return InvalidInput(*first_problem(error.errors(include_input=False), prefix))


def parse_event(type_name: str, data: Any) -> DomainEvent:
    """Validate ``data`` as the event ``type_name``; raises ``InvalidInput``."""
    cls = event_class(type_name)
    if not isinstance(data, dict):
        raise InvalidInput("data", "must be a JSON object")
    try:
        # ``cls.model_validate(data)`` without its per-call Python overhead (every event
        # appended passes here).
        return cls.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise invalid_input_from(exc, prefix="data") from None


def parse_stored(type_name: str, data: Any) -> DomainEvent:
    """A fact already recorded, as its catalogue class. Read with ``RECORDED``: the checks
    that guard new input (text, date ranges) do not refuse what is already stored."""
    return event_class(type_name).model_validate(data, context=RECORDED)
