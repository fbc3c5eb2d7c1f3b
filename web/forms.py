"""Forms for the case commands: the fields of each command's own model (the same one the
API and the CLI validate), shown as GOV.UK form components and read back from a post.

A field's kind follows its type: a code list is a select, a list of codes checkboxes, a
yes/no radios, a day a date, a moment a date and time in Wales; a command about goals or
children asks per goal or per child of the case. Which commands a role is offered in each
phase is the lifecycle's own table (``docs/lifecycle.md``; a test keeps the two equal).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from web.i18n import LONDON
from web.words import N_
from workflows import client as cases
from workflows import commands as cmd
from workflows.lifecycle.corrections import BY_NAME

CM = frozenset({"case_manager"})
SUP = frozenset({"supervisor"})
BS = frozenset({"business_support"})

# Which commands each role is offered in each phase (the rules still decide: a refusal is
# shown with its reason).
ANYONE, WORKERS = BS | CM | SUP, CM | SUP
# What every open episode takes: facts about the family, its priority, corrections.
OPEN = {
    "add_adult": ANYONE,
    "add_child": ANYONE,
    "change_child_status": ANYONE,
    "change_priority": WORKERS,
    "correct_entry": WORKERS,
    "withdraw_consent": ANYONE,
}
BEFORE_FOLLOW_UP = {**OPEN, "record_consent": ANYONE}
NOT_STARTED = {**BEFORE_FOLLOW_UP, "withdraw": WORKERS, "record_measures": WORKERS}
# From the first meeting on: what the evaluation data set counts besides the episode.
WORKING = {
    "agree_family_plan": WORKERS,
    "record_feedback": WORKERS,
    "record_joint_work": WORKERS,
    "record_spot_purchase": WORKERS,
}
OFFERED: dict[str, dict[str, frozenset[str]]] = {
    "referred": {**NOT_STARTED, "accept": WORKERS, "reject": WORKERS},
    "accepted": NOT_STARTED,
    "waitlisted": {**NOT_STARTED, "transfer": SUP},
    "allocated": {
        **NOT_STARTED,
        "reassign": SUP,
        "record_first_meeting": WORKERS,
        "transfer": SUP,
    },
    "intensive": {
        **BEFORE_FOLLOW_UP,
        **WORKING,
        "agree_goal": WORKERS,
        "close_intensive_phase": WORKERS,
        "decide_extension": SUP,
        "reassign": SUP,
        "record_session": WORKERS,
        "record_measures": WORKERS,
        "request_extension": WORKERS,
        "score_goals": WORKERS,
        "transfer": SUP,
    },
    "follow_up": {
        **OPEN,
        **WORKING,
        "close_episode": SUP,
        "complete_review": WORKERS,
        "decide_review_move": SUP,
        "offer_booster": WORKERS,
        "reassign": SUP,
        "record_booster": WORKERS,
        "record_maintenance_contact": WORKERS,
        "record_measures": WORKERS,
        "record_review_not_held": WORKERS,
        "request_review_move": WORKERS,
        "reschedule_review": SUP,
    },
}

TITLES: dict[str, str] = {
    "accept": N_("Accept the referral"),
    "reject": N_("Reject the referral"),
    "withdraw": N_("Record a withdrawal"),
    "record_first_meeting": N_("Record the first meeting"),
    "agree_goal": N_("Agree a goal"),
    "record_session": N_("Record a session"),
    "score_goals": N_("Score goals"),
    "request_extension": N_("Request an extension"),
    "decide_extension": N_("Decide an extension"),
    "close_intensive_phase": N_("Close the intensive phase"),
    "complete_review": N_("Complete a review"),
    "record_review_not_held": N_("Record a review not held"),
    "reschedule_review": N_("Reschedule a review"),
    "request_review_move": N_("Ask to move a review"),
    "decide_review_move": N_("Decide a review move"),
    "record_maintenance_contact": N_("Record a maintenance contact"),
    "offer_booster": N_("Offer a booster"),
    "record_booster": N_("Record a booster delivered"),
    "change_child_status": N_("Change a child's status"),
    "change_priority": N_("Change the priority"),
    "add_child": N_("Add a child"),
    "add_adult": N_("Add an adult"),
    "reassign": N_("Hand over to another key worker"),
    "transfer": N_("Transfer to another team"),
    "correct_entry": N_("Correct an entry"),
    "record_consent": N_("Record consent"),
    "withdraw_consent": N_("Record consent withdrawn"),
    "close_episode": N_("End the episode"),
    "acknowledge_alert": N_("Acknowledge an alert"),
    "agree_family_plan": N_("Record a family plan agreed"),
    "record_measures": N_("Record outcome measures"),
    "record_feedback": N_("Record feedback"),
    "record_spot_purchase": N_("Record a spot purchase"),
    "record_joint_work": N_("Record joint work"),
}

LABELS: dict[str, str] = {
    "reason": N_("Reason"),
    "notes": N_("Notes"),
    "held_at": N_("When"),
    "goal_id": N_("Goal reference"),
    "category": N_("Category"),
    "description": N_("What the family wants to change"),
    "baseline": N_("Score now (0 to 10)"),
    "target": N_("Target score (0 to 10)"),
    "session_id": N_("Session reference"),
    "kind": N_("Kind"),
    "duration_minutes": N_("Length in minutes"),
    "scores": N_("Scores (0 to 10)"),
    "stage": N_("Stage"),
    "request_id": N_("Request reference"),
    "days": N_("Days"),
    "approved": N_("Approved"),
    "unplanned_reason": N_("Why it ended early"),
    "closing_scores": N_("Closing scores (0 to 10)"),
    "onward_referrals": N_("Onward referrals"),
    "transferred_to_less_formal_services": N_("Moved on to less formal services"),
    "closed_on": N_("Closed on"),
    "review_id": N_("Review"),
    "ratings": N_("How each goal held"),
    "family_staying_together": N_("Family staying together"),
    "substance_use_status": N_("Substance use"),
    "children_statuses": N_("Each child's status"),
    "contact_id": N_("Contact reference"),
    "booster_id": N_("Booster reference"),
    "goal_ids": N_("Goals"),
    "due_on": N_("Due on"),
    "delivered_at": N_("Delivered"),
    "child_id": N_("Child"),
    "status": N_("Status"),
    "effective_on": N_("Effective from"),
    "priority": N_("Priority (1 most urgent, 5 least)"),
    "statutory_status": N_("Statutory status"),
    "expected_on": N_("Expected on (an unborn child)"),
    "earlier_record": N_("Earlier episode there"),
    "earlier_ended_on": N_("Earlier episode ended on"),
    "age_band": N_("Age band"),
    "language_preference": N_("Language the family chose to work in"),
    "person_id": N_("Person reference"),
    "relationship": N_("Relationship"),
    "key_worker_id": N_("Key worker"),
    "team_id": N_("Team"),
    "scope": N_("Consent to"),
    "alert_id": N_("Alert"),
    "version": N_("Entry to correct"),
    "area": N_("Area"),
    "referring_agency": N_("Referring agency"),
    "changes": N_("What to correct"),
    "value": N_("The right value"),
    "plan_id": N_("Plan reference"),
    "agreed_on": N_("Agreed on"),
    "measured_on": N_("Measured on"),
    "measures": N_("Measures"),
    "feedback_id": N_("Feedback reference"),
    "source": N_("From"),
    "rating": N_("How satisfied"),
    "purchase_id": N_("Purchase reference"),
    "service": N_("Service"),
    "provider": N_("Provider"),
    "cost_pence": N_("Cost in pence"),
    "work_id": N_("Joint work reference"),
    "outcome": N_("Outcome"),
    "programme": N_("Programme"),
    "personal.name": N_("Name"),
    "personal.date_of_birth": N_("Date of birth"),
    "personal.notes": N_("Notes"),
}
HINTS: dict[str, str] = {
    "held_at": N_("Leave empty for now. The time in Wales."),
    "delivered_at": N_("Leave empty for now. The time in Wales."),
    "goal_id": N_("A short reference of your choosing, for example g1"),
    "session_id": N_("A short reference of your choosing, for example s3"),
    "closed_on": N_("Leave empty for today; an earlier day when recorded late"),
    "effective_on": N_("Leave empty for today"),
    "agreed_on": N_("Leave empty for today"),
    "measured_on": N_("Leave empty for today"),
    "month": N_("Only for measures taken at a review: 1, 3, 6 or 12"),
    "cost_pence": N_("In pence: £125.50 is 12550"),
    "service": N_("A short code, for example counselling or childcare"),
    "provider": N_("A short code for who provided it"),
    "value": N_(
        "A number, yes or no, or a choice's code as the timeline shows it (for example home_visit)"
    ),
}
TEXTAREAS = frozenset({"notes", "reason", "description", "personal.notes"})


@dataclass
class FormField:
    name: str
    kind: str  # text, textarea, number, date, datetime, select, checkboxes, yesno, per_goal,
    #            per_child, per_measure, goal_checkboxes
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, English words)
    enum: type | None = None
    per: type | None = None  # per goal / per child: the enum (None: a score)
    value: Any = None
    error: str | None = None

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name.replace("_", " ").capitalize())

    @property
    def hint(self) -> str | None:
        return HINTS.get(self.name)

    @property
    def per_options(self) -> list[tuple[str, str]]:
        """A per-goal or per-child field's choices (ratings, statuses)."""
        if isinstance(self.per, type) and issubclass(self.per, StrEnum):
            return _options(self.per)
        return []

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")


def unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) through Annotated and Optional."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, optional
        else:
            return annotation, optional


def _options(enum: type) -> list[tuple[str, str]]:
    from web.words import WORDS

    words = WORDS.get(enum, {})
    return [(m.value, words.get(m.value, m.value)) for m in enum]  # type: ignore[attr-defined]


def fields_of(name: str) -> list[FormField]:
    """The form of command ``name``: every field a person sends (not the actor). A
    correction's ``changes`` is asked one field at a time: which field, and its new value."""
    model = cmd.sent_fields(cmd.COMMANDS[name])
    out: list[FormField] = []
    for fname, info in model.model_fields.items():
        if name == "correct_entry" and fname == "changes":
            options = [(f, LABELS.get(f, f)) for f in CORRECTABLE_FIELDS]
            out += [FormField("changes", "select", True, options), FormField("value", "text", True)]
            continue
        out.extend(_field(fname, info.annotation, info.is_required()))
    return out


# What a correction may change (workflows/lifecycle/corrections.py), one field per form.
CORRECTABLE_FIELDS = sorted({f for _, _, fields in BY_NAME.values() for f in fields})
_YES, _NO = frozenset({"yes", "true", "ie"}), frozenset({"no", "false", "na"})


def correction(values: dict[str, Any]) -> dict[str, Any]:
    """A correction form's values as the command takes them: ``changes`` as {field: value},
    the value a yes/no, a whole number or a code as written (the rules check it against
    the entry's own field)."""
    out = dict(values)
    if isinstance(out.get("version"), str):  # chosen from the timeline's entries
        out["version"] = _number(out["version"])
    field_name, raw = out.pop("changes", None), out.pop("value", None)
    if field_name is None:
        return out
    value: Any = raw
    if isinstance(raw, str):
        folded = raw.casefold()
        value = True if folded in _YES else False if folded in _NO else _number(raw)
    out["changes"] = {field_name: value}
    return out


def _field(name: str, annotation: Any, required: bool) -> list[FormField]:
    kind, optional = unwrap(annotation)
    required = required and not optional
    origin = typing.get_origin(kind)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return [FormField(name, "select", required, _options(kind), enum=kind)]
    if origin is list:
        (item,) = typing.get_args(kind)
        item, _ = unwrap(item)
        if isinstance(item, type) and issubclass(item, StrEnum):
            return [FormField(name, "checkboxes", required, _options(item), enum=item)]
        if isinstance(item, type) and issubclass(item, BaseModel):  # GoalScore: per goal
            return [FormField(name, "per_goal", required)]
        return [FormField(name, "goal_checkboxes", required)]  # goal ids
    if origin is dict:
        _, value = typing.get_args(kind)
        value, _ = unwrap(value)
        if name == "measures":  # a number per measure of the case's programme
            return [FormField(name, "per_measure", required)]
        per = "per_child" if name == "children_statuses" else "per_goal"
        return [FormField(name, per, required, per=value)]
    if isinstance(kind, type) and issubclass(kind, BaseModel):  # a person's personal part
        parts: list[FormField] = []
        for sub, info in kind.model_fields.items():
            parts.extend(_field(f"{name}.{sub}", info.annotation, False))
        return parts
    if kind is bool:
        return [FormField(name, "yesno", required)]
    if kind is int:
        return [FormField(name, "number", required)]
    if kind is date:
        return [FormField(name, "date", required)]
    if kind is datetime or getattr(kind, "__name__", "") in ("AwareDatetime", "PastDatetime"):
        return [FormField(name, "datetime", required)]
    return [FormField(name, "textarea" if name in TEXTAREAS else "text", required)]


def read_form(fields: list[FormField], form: Any) -> dict[str, Any]:
    """The command's values from a posted form (``form``: a multidict): empty means left
    out; numbers, yes/no, days and times in Wales turned into what the model takes. What
    cannot be read is passed on as written, for the model to refuse by name."""
    values: dict[str, Any] = {}
    for f in fields:
        if f.kind in ("checkboxes", "goal_checkboxes"):
            chosen = [v for v in form.getlist(f.name) if v]
            f.value = chosen
            if chosen or f.required:
                values[f.name] = chosen
            continue
        if f.kind in ("per_goal", "per_child", "per_measure"):
            prefix = f.name + "."
            entries = {
                key[len(prefix) :]: raw.strip()
                for key, raw in form.multi_items()
                if key.startswith(prefix) and isinstance(raw, str) and raw.strip()
            }
            f.value = entries
            if f.kind == "per_measure":  # {code: number}
                if entries or f.required:
                    values[f.name] = {k: _number(v) for k, v in entries.items()}
            elif f.per is None:  # scores: a list of {goal_id, score}
                scored = [{"goal_id": g, "score": _number(s)} for g, s in entries.items()]
                if scored or f.required:
                    values[f.name] = scored
            elif entries or f.required:
                values[f.name] = entries
            continue
        if f.kind in ("date", "datetime"):
            f.value = parts_of(form, f.name, time=f.kind == "datetime")
            joined = joined_day(f.value)
            if joined is not None:
                _put(values, f.name, _in_wales(joined) if f.kind == "datetime" else joined)
            continue
        raw = form.get(f.name)
        raw = raw.strip() if isinstance(raw, str) else None
        f.value = raw
        if not raw:
            continue
        value: Any = raw
        if f.kind == "number":
            value = _number(raw)
        elif f.kind == "yesno":
            value = {"yes": True, "no": False}.get(raw, raw)
        _put(values, f.name, value)
    return values


DAY_PARTS = ("day", "month", "year")
TIME_PARTS = ("hour", "minute")


def parts_of(form: Any, name: str, *, time: bool = False) -> dict[str, str]:
    """A day's boxes as posted (``name-day``, ``name-month``, ``name-year``, and
    ``name-hour``, ``name-minute`` for a time), each trimmed."""
    out = {}
    for part in DAY_PARTS + (TIME_PARTS if time else ()):
        raw = form.get(f"{name}-{part}")
        out[part] = raw.strip()[:10] if isinstance(raw, str) else ""
    return out


def day_parts(day: date) -> dict[str, str]:
    """A day as its boxes show it."""
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def joined_day(parts: dict[str, str]) -> str | None:
    """``2026-03-12`` (``2026-03-12T14:05`` with a time) from the boxes; ``None`` when all
    are empty (left out). Boxes that are not whole numbers are joined as written, for the
    model to refuse by name (the pages say "enter a real date")."""
    if not any(parts.values()):
        return None
    widths = {"day": 2, "month": 2, "year": 4, "hour": 2, "minute": 2}
    padded = {
        k: v.zfill(widths[k]) if v.isascii() and v.isdigit() and len(v) <= widths[k] else v or "?"
        for k, v in parts.items()
    }
    day = f"{padded['year']}-{padded['month']}-{padded['day']}"
    return f"{day}T{padded['hour']}:{padded['minute']}" if "hour" in parts else day


def _number(raw: str) -> Any:
    return int(raw) if raw.lstrip("-").isdigit() and len(raw) < 12 else raw


def _in_wales(raw: str) -> Any:
    """``2026-03-12T14:05`` (a browser's date and time, no zone) as that time in Wales."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.isoformat()


def _put(values: dict[str, Any], name: str, value: Any) -> None:
    head, _, rest = name.partition(".")
    if rest:
        values.setdefault(head, {})[rest] = value
    else:
        values[head] = value


def place_errors(
    fields: list[FormField],
    errors: list[tuple[str, str]],
    label: Callable[[str], str] = str,
) -> list[tuple[str, str]]:
    """Put each (field, rule) on its field; returns the summary: (anchor, message) pairs,
    each message named by its field's label (``label`` translates it) so that the summary
    reads on its own: "Length in minutes: must be a whole number"."""
    by_name = {f.name: f for f in fields}
    summary: list[tuple[str, str]] = []
    for name, rule in errors:
        target = by_name.get(name) or next(
            (f for f in fields if name.startswith(f.name + ".") or f.name.startswith(name + ".")),
            None,
        )
        if target is not None and target.error is None:
            target.error = rule
        anchor = "#" + target.html_id if target is not None else "#main-content"
        if target is not None and target.kind in ("date", "datetime"):
            anchor += "-day"  # the first box of the day
        summary.append((anchor, f"{label(target.label)}: {rule}" if target is not None else rule))
    return summary


def offered(phase: str, role: str) -> list[str]:
    """The commands ``role`` is offered on a case in ``phase``, in the registry's order."""
    table = OFFERED.get(phase, {})
    return [name for name in cmd.COMMANDS if role in table.get(name, frozenset())]


# What the live case (its workflow) says over the read model's summary: a command just
# recorded moves the phase at once there, a moment later in the read model.
LIVE_FIELDS = ("phase", "key_worker_id", "team_id", "cover_key_worker_id", "cover_until")


async def live_view(page: Any, case_id: str) -> dict[str, Any] | None:
    """The case's live state from its workflow (what the rules will see), or ``None`` when
    Temporal does not answer (the read model's summary stands in)."""
    try:
        view = await cases.case_view(page.request.app.state.services.temporal, case_id)
    except Exception:
        return None
    return view.model_dump()
