"""Turning raw input into catalogue events, with errors that name the field and the rule."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from events.catalogue import DomainEvent, event_class
from events.errors import InvalidInput

_RULES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this event (extra fields are refused)",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("children", 0, "child_id")`` -> ``children[0].child_id``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def invalid_input_from(error: ValidationError, prefix: str = "") -> InvalidInput:
    """The first problem in a pydantic error, as an ``InvalidInput``."""
    first = error.errors()[0]
    path = field_path(tuple(first["loc"]))
    field = f"{prefix}.{path}" if prefix and path else (prefix or path or "data")
    rule = _RULES.get(first["type"], first["msg"])
    return InvalidInput(field, rule)


def parse_event(type_name: str, data: Any) -> DomainEvent:
    """Validate ``data`` as the event ``type_name``; raises ``InvalidInput``."""
    cls = event_class(type_name)
    if not isinstance(data, dict):
        raise InvalidInput("data", "must be a JSON object")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise invalid_input_from(exc, prefix="data") from None
