"""A valid example of any event or command model, built from its fields' types and bounds,
and the hostile values a property test swaps into it."""

from __future__ import annotations

import types
import typing
import uuid
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import annotated_types
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` filled with a plain valid value (JSON-ready); an optional
    field that the model's own rules refuse filled (an unplanned reason on a planned
    closure) is left at its default."""
    from events.policy import ProgrammePolicy

    if model is ProgrammePolicy:  # its rules tie fields together: the default is an example
        return ProgrammePolicy().model_dump(mode="json")
    example = {
        name: _value(info.annotation, info.metadata) for name, info in model.model_fields.items()
    }
    if "policy" in example and "digest" in model.model_fields:  # the digest of that policy
        example["digest"] = ProgrammePolicy.model_validate(example["policy"]).digest
    for _ in model.model_fields:
        try:
            model.model_validate(example)
            return example
        except ValidationError as exc:
            field = exc.errors()[0]["loc"][0]
            info = model.model_fields[str(field)]
            if info.is_required():
                raise
            example[str(field)] = info.get_default()
    return example


def _value(annotation: Any, metadata: list[Any]) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _value(args[0], [*metadata, *args[1:]])
    if origin in (typing.Union, types.UnionType):
        return _value(next(a for a in args if a is not type(None)), metadata)
    if origin is typing.Literal:
        return args[0]
    if origin is list:
        return [_value(args[0], [])] * max(1, _bound(metadata, "min_length", 1))
    if origin is dict:
        return {"g1": _value(args[1], [])}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return example_of(annotation)
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if annotation is bool:
            return True
        if annotation is int:
            return _bound(metadata, "ge", 1)
        if annotation is datetime or annotation.__name__ == "AwareDatetime":
            return T0.isoformat()
        if annotation is date:
            return T0.date().isoformat()
        if annotation is uuid.UUID:
            return str(uuid.UUID(int=7))
        if annotation is str:
            patterns = [getattr(p, "pattern", None) for p in metadata]
            if r"^[0-9a-f]{64}$" in patterns:  # a SHA-256 digest in hex
                return "ab" * 32
            return "x1"
    raise TypeError(f"no example for {annotation!r}")


def _bound(metadata: list[Any], name: str, default: int) -> int:
    for item in metadata:
        for part in item if isinstance(item, annotated_types.GroupedMetadata) else [item]:
            value = getattr(part, name, None)
            if isinstance(value, int):
                return value
    return default


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every scalar inside ``value`` (dict keys and list indexes)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaves(v, (*path, i))]
    return [path]


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` with the leaf at ``path`` replaced by ``new``."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(copy[head], rest, new)
    return copy


# Any character at all: NUL, controls, lone surrogates, non-characters, emoji, RTL marks.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
nasty_text = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "\udfff",
        "\ufffe",
        "\u2028",
        "line\nbreak",
        "tab\t",
        "😀👨‍👩‍👧",
        "\u202eevil",
        "x" * 5000,
        "Amser gwely",
        "90",
        "2026-01-05",
        "true",
    ]
)
any_moment = st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat())
hostile = st.one_of(
    any_text,
    nasty_text,
    st.dates().map(date.isoformat),
    any_moment,
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
