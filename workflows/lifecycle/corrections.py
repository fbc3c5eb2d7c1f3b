"""Corrections: an earlier entry is never edited; a correction names it (by its version in
the case) and supersedes the fields it corrects. Only fields that set no deadline can be
corrected, so the episode's timers stand as they were decided."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError, create_model

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.validation import first_problem
from workflows import commands as cmd
from workflows.lifecycle.entries import Entry
from workflows.lifecycle.guards import PRACTITIONERS, require_role
from workflows.lifecycle.profile import checked_area
from workflows.lifecycle.state import CaseState, CommandRejected, Decider

# The entries that can be corrected, the field naming what each is about, and the fields
# a correction may change.
CORRECTABLE: dict[type[DomainEvent], tuple[str | None, frozenset[str]]] = {
    ev.ReferralReceived: (None, frozenset({"area", "referring_agency"})),
    ev.GoalAgreed: ("goal_id", frozenset({"category", "baseline", "target"})),
    ev.SessionRecorded: ("session_id", frozenset({"kind", "duration_minutes"})),
    ev.FollowUpReviewCompleted: (
        "review_id",
        frozenset({"family_staying_together", "substance_use_status"}),
    ),
    ev.MaintenanceContactRecorded: ("contact_id", frozenset({"kind"})),
}
BY_NAME = {cls.__name__: (cls, about, fields) for cls, (about, fields) in CORRECTABLE.items()}


def entry_of(event: DomainEvent) -> Entry | None:
    """What the case keeps of ``event`` to check corrections of it (None: not correctable)."""
    rule = CORRECTABLE.get(type(event))
    if rule is None:
        return None
    about = rule[0]
    return Entry(type=type(event).__name__, about=getattr(event, about) if about else None)


@cache
def _one_field(cls: type[DomainEvent], field: str) -> type[BaseModel]:
    """A model of ``field`` of ``cls`` alone (built once: building one takes a millisecond,
    and the lifecycle's walk asks a hundred thousand times)."""
    one: type[BaseModel] = create_model(
        f"{cls.__name__}Field",
        **{field: (cls.model_fields[field].annotation, cls.model_fields[field])},
    )  # type: ignore[call-overload]
    return one


def _value(cls: type[DomainEvent], field: str, value: Any) -> Any:
    """``value`` as ``field`` of ``cls`` takes it (its own rules), in JSON form."""
    one = _one_field(cls, field)
    try:
        return one.model_validate({field: value}).model_dump(mode="json")[field]
    except ValidationError as exc:
        _, rule = first_problem(exc.errors(include_input=False), field, "changes")
        raise CommandRejected(f"changes.{field}", rule, "invalid") from None


def _correct(state: CaseState, c: cmd.CorrectEntry, now: datetime) -> list[DomainEvent]:
    require_role(c, PRACTITIONERS, "correct an entry")
    entry = state.entries.get(c.version)
    if entry is None:
        raise CommandRejected(
            "version",
            "no correctable entry {version} in this case (correctable: {types})",
            "invalid",
            version=c.version,
            types=sorted(BY_NAME),
        )
    cls, _, fields = BY_NAME[entry.type]
    unknown = sorted(set(c.changes) - fields)
    if unknown:
        raise CommandRejected(
            "changes",
            "{fields} cannot be corrected on a {entry} (correctable: {correctable})",
            "invalid",
            fields=unknown,
            entry=entry.type,
            correctable=sorted(fields),
        )
    changes = [
        ev.FieldCorrection(field=field, value=_value(cls, field, value))
        for field, value in sorted(c.changes.items())
    ]
    if state.edge_rules and cls is ev.ReferralReceived:  # as a referral's area is checked
        for change in changes:
            if change.field == "area":
                checked_area(state, str(change.value), "changes.area")
    return [
        ev.EntryCorrected(
            corrects_version=c.version,
            corrects_type=entry.type,
            changes=changes,
            reason=c.reason,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]


HANDLERS: dict[type[cmd.Command], Decider] = {cmd.CorrectEntry: _correct}
