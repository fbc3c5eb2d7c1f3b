"""A case's timeline in the reader's language: each event's title and its coded facts, each
fact named and its value as what it is (a coded word translated, a day or a moment written
out, an id as it stands). The English pages show ``projections.describe``'s sentence; the
Welsh ones this, built from the same coded data (never the personal parts).
"""

from __future__ import annotations

import typing
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel

from events.catalogue import DomainEvent
from web.forms import LABELS, unwrap
from web.i18n import Reader
from web.words import N_, event_title, word

# The names of the facts the timeline shows that no form asks for.
FACT_LABELS: dict[str, str] = {
    "acknowledge_by": N_("To acknowledge by"),
    "adults": N_("Adults"),
    "children": N_("Children"),
    "consent_to_follow_up": N_("Consent to follow-up"),
    "consent_to_information_sharing": N_("Consent to information sharing"),
    "consent_to_referral": N_("Consent to the referral"),
    "corrects_type": N_("Corrects"),
    "corrects_version": N_("Entry"),
    "cover_key_worker_id": N_("Covering key worker"),
    "day": N_("Day"),
    "due_at": N_("Due"),
    "due_by": N_("Due by"),
    "ends_on": N_("Ends on"),
    "family_id": N_("Family"),
    "first_meeting_due_at": N_("First meeting due"),
    "from_team_id": N_("From team"),
    "from_waitlist": N_("From the waitlist"),
    "given_by_person_id": N_("Given by"),
    "grace_days": N_("Days of grace"),
    "intensive_ends_on": N_("Intensive phase ends on"),
    "last_contact_at": N_("Last contact"),
    "month": N_("Month"),
    "new_end_on": N_("New end"),
    "overdue_alerts": N_("Overdue items"),
    "phase": N_("Phase"),
    "position": N_("Position on the waitlist"),
    "presenting_needs": N_("Presenting needs"),
    "previous": N_("Before"),
    "previous_case_id": N_("Previous case"),
    "previous_due_on": N_("Was due on"),
    "previous_key_worker_id": N_("Previous key worker"),
    "previous_status": N_("Previous status"),
    "quiet": N_("Quiet"),
    "received_on": N_("Received on"),
    "referral_grounds": N_("Grounds"),
    "resolution": N_("Resolution"),
    "rule": N_("Rule"),
    "severity": N_("Severity"),
    "source_record": N_("Source record"),
    "source_system": N_("Source system"),
    "subject": N_("Subject"),
    "to_key_worker": N_("To key worker"),
    "to_supervisors_of_team": N_("To the supervisors of team"),
    "until": N_("Until"),
    "withdrawn_by_person_id": N_("Withdrawn by"),
    "code": N_("Measure"),
}
# Facts the page shows elsewhere, or that mean nothing to a reader.
NOT_SHOWN = frozenset({"case_id", "personal", "policy_digest", "policy_version"})


def label_of(name: str) -> str | None:
    return LABELS.get(name) or FACT_LABELS.get(name)


@cache
def _fields(type_name: str) -> dict[str, Any]:
    cls = DomainEvent.registry.get(type_name)
    return {n: i.annotation for n, i in cls.model_fields.items()} if cls else {}


def _plain(reader: Reader, kind: Any, value: Any) -> str:
    """One value by its field's type."""
    if isinstance(value, bool):
        return reader._("Yes") if value else reader._("No")
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return word(kind, value, reader._)
    if isinstance(value, str) and (kind is date or kind is datetime or _is_moment(kind)):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if kind is date:
            return reader.day(moment.date())
        return reader.moment(moment)
    return str(value)


def _is_moment(kind: Any) -> bool:
    return getattr(kind, "__name__", "") in ("AwareDatetime", "PastDatetime")


def _fact(reader: Reader, annotation: Any, value: Any) -> str:
    kind, _ = unwrap(annotation)
    if isinstance(value, list):
        (item,) = typing.get_args(kind) or (Any,)
        item, _ = unwrap(item)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return "; ".join(_part(reader, item, v) for v in value if isinstance(v, dict))
        return ", ".join(_plain(reader, item, v) for v in value)
    return _plain(reader, kind, value)


def _part(reader: Reader, model: type[BaseModel], value: dict[str, Any]) -> str:
    """An item of a list (a child, a goal's score): its id, then its other facts."""
    shown = [
        _plain(reader, unwrap(info.annotation)[0], value[name])
        for name, info in model.model_fields.items()
        if name != "personal" and value.get(name) is not None
    ]
    return f"{shown[0]}: {', '.join(shown[1:])}" if len(shown) > 1 else "".join(shown)


def facts(reader: Reader, type_name: str, data: dict[str, Any]) -> str:
    """The event's title and its facts: ``Goal agreed — Goal reference: g1; Category: ...``."""
    fields = _fields(type_name)
    parts = []
    for name in fields:  # in the event's own order (stored JSON keeps none)
        value = data.get(name)
        if name in NOT_SHOWN or value is None or value == []:
            continue
        label = label_of(name)
        if label is None:
            continue
        shown = (
            event_title(value, reader._)
            if name == "corrects_type"
            else _fact(reader, fields[name], value)
        )
        parts.append(f"{reader._(label)}: {shown}")
    title = event_title(type_name, reader._)
    return f"{title} — {'; '.join(parts)}" if parts else title
