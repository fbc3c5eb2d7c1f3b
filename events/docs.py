"""Render ``docs/events.md`` from the catalogue, so the documentation cannot drift."""

from __future__ import annotations

import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Strict
from pydantic.fields import FieldInfo
from pydantic.json_schema import WithJsonSchema

from events import bounds
from events.catalogue import DomainEvent, Part, all_event_types
from events.upcasters import UPCASTERS

DOC_PATH = Path("docs/events.md")


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        parts = [_type_text(a) for a in args if a is not type(None)]
        text = " | ".join(parts)
        return f"{text} (optional)" if type(None) in args else text
    if origin is typing.Literal:
        return " / ".join(str(a) for a in args)
    if origin is list:
        return f"list of {_type_text(args[0])}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return f"{annotation.__name__} ({', '.join(str(m.value) for m in annotation)})"
    if isinstance(annotation, type):
        return {"AwareDatetime": "datetime (with zone)"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _constraint_text(constraint: Any) -> str:
    checks = {
        bounds.storable_text: "no NUL or control characters",
        bounds.one_line: "one line, no control characters",
        bounds.not_blank: "not blank",
        bounds.words_text: "no NUL or control characters, not blank",
        bounds.line_text: "one line, no control characters, not blank",
        bounds.whole_number: "a whole number",
        bounds.iso_date_text: f"ISO 8601 text, {bounds.EARLIEST} to {bounds.LATEST}",
        bounds.iso_time_text: f"ISO 8601 text, {bounds.EARLIEST} to {bounds.LATEST}",
    }
    if isinstance(constraint, AfterValidator | BeforeValidator):
        return checks.get(constraint.func, getattr(constraint.func, "__name__", ""))
    if isinstance(constraint, WithJsonSchema | FieldInfo):
        return ""  # the schema's own patterns say again what the checks above say
    if isinstance(constraint, Strict):
        return "strict (no conversion from other types)"
    labels = {
        "min_length": "min length",
        "max_length": "max length",
        "pattern": "pattern",
        "ge": "≥",
        "le": "≤",
        "gt": ">",
        "lt": "<",
    }
    parts = []
    for key, label in labels.items():
        value = getattr(constraint, key, None)
        if value is not None:
            parts.append(f"{label} `{value}`" if key == "pattern" else f"{label} {value}")
    return ", ".join(parts) or str(constraint)


def _fields_table(model: type[BaseModel]) -> list[str]:
    lines = ["| field | type | required | notes |", "| --- | --- | --- | --- |"]
    for name, info in model.model_fields.items():
        notes = []
        if name == "personal":
            notes.append("**personal data**: sealed per family (AES-256-GCM; see privacy.md)")
        if info.description:
            notes.append(info.description)
        constraints = [c for c in map(_constraint_text, info.metadata) if c]
        if constraints:
            notes.append(", ".join(constraints))
        required = "yes" if info.is_required() else "no"
        lines.append(
            f"| `{name}` | {_type_text(info.annotation)} | {required} | {'; '.join(notes)} |"
        )
    return lines


def _parts_used(events: list[type[DomainEvent]]) -> list[type[Part]]:
    found: list[type[Part]] = []

    def visit(annotation: Any) -> None:
        for arg in typing.get_args(annotation):
            visit(arg)
        if (
            isinstance(annotation, type)
            and issubclass(annotation, Part)
            and annotation not in found
        ):
            if not issubclass(annotation, DomainEvent):
                found.append(annotation)
                for info in annotation.model_fields.values():
                    visit(info.annotation)

    for cls in events:
        for info in cls.model_fields.values():
            visit(info.annotation)
    return found


def render() -> str:
    """The whole of ``docs/events.md``."""
    events = all_event_types()
    out = [
        "# Event catalogue",
        "",
        "Generated from `events/catalogue.py` by `ifss docs events`; a test fails when this",
        "file is stale. Every event is stored with an envelope: event id, stream id and",
        "version, global position, occurred_at (workflow time), recorded_at (database time),",
        "schema version, and metadata (actor id and role, correlation and causation ids,",
        "workflow and run id, policy version). Fields under `personal` identify people and",
        "are kept apart so they can be encrypted per family and erased with its key; they are",
        "not encrypted yet: today they are stored in clear, like the rest of the event.",
        "",
        "| event | schema version | meaning |",
        "| --- | --- | --- |",
    ]
    out += [
        f"| [{c.__name__}](#{c.__name__.lower()}) | {c.schema_version} | {c.summary} |"
        for c in events
    ]
    for cls in events:
        out += [
            "",
            f"## {cls.__name__}",
            "",
            f"{cls.summary} Schema version {cls.schema_version}.",
            "",
        ]
        steps = sorted(v for (t, v) in UPCASTERS if t == cls.__name__)
        if steps:
            out += [f"Upcast on read from: {', '.join(f'v{v} → v{v + 1}' for v in steps)}.", ""]
        out += _fields_table(cls)
    out += ["", "# Parts", ""]
    for part in _parts_used(events):
        out += [f"## {part.__name__}", "", *_fields_table(part), ""]
    return "\n".join(out).rstrip() + "\n"


def write(path: Path = DOC_PATH) -> Path:
    """Write the rendered catalogue to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path
