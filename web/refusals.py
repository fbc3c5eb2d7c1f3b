"""Refusals in the reader's language: a rule's (its template from the catalogue, filled with
its values, each as what it is) and a form's checks (pydantic's errors, by type, in the
pages' words). The English pages show the rules' own English; see ``workflows.wording``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from events import vocabulary as v
from web.i18n import Reader
from web.words import N_, WORDS, event_title
from workflows.lifecycle.state import Phase

# The values of a refusal that are coded words, by the name the rule gives them.
CODED_VALUES: dict[str, type] = {
    "phase": Phase,
    "phases": Phase,
    "roles": v.Role,
    "status": v.StatutoryStatus,
    "scope": v.ConsentScope,
}
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
OR = N_("or")  # between alternatives: "allocated or intensive"


def _value(reader: Reader, name: str, value: str) -> str:
    kind = CODED_VALUES.get(name)
    if kind is not None and str(value) in WORDS.get(kind, {}):
        return reader._(WORDS[kind][value]).lower()
    if name == "what":  # a phrase in the catalogue ("score goals", "the NUL character")
        return reader._(value)
    if name == "entry":
        return event_title(value, reader._).lower()
    if ISO_DAY.fullmatch(value):
        try:
            return reader.day(date.fromisoformat(value))
        except ValueError:
            return value
    return value


def rule_in(reader: Reader, rule: str, said: tuple[str, Mapping[str, Any]] | None) -> str:
    """A refusal's rule in the reader's language: the rule's template from the catalogue,
    filled with its values, each as what it is (a coded word translated, a day written
    out); a rule that gave no template is looked up as it stands (a fixed message); what
    the catalogue does not hold stays in English."""
    if reader.code == "en" or not rule:
        return rule
    if said is None:
        return reader._(rule)
    template, params = said
    translated = reader._(template)
    if translated == template:  # not in the catalogue: the English as it came
        return rule
    values: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, Mapping):  # alternatives: "a or b"
            values[name] = f" {reader._(OR)} ".join(
                _value(reader, name, str(x)) for x in value.get("or", [])
            )
        elif isinstance(value, list):
            values[name] = ", ".join(_value(reader, name, str(x)) for x in value)
        else:
            values[name] = _value(reader, name, str(value))
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):  # a translation that names another value
        return rule


# pydantic's checks of a form, by the error's type: the pages' words (in English too), from
# the catalogue, filled with the error's context; a type missing here stays as pydantic says
# it (tests/unit/test_web_i18n.py names every custom type of the models). A day or a time
# the boxes did not make is said in the boxes' words (the models' speak of ISO text, which
# nobody filling in day, month and year boxes typed).
_DAY_RULE = N_("Enter a real date: the day, month and year as numbers")
_TIME_RULE = N_(
    "Enter a real date and time: the day, month and year, and the hour (0 to 23) and "
    "minute, as numbers; or leave them all empty"
)
FORM_RULES: dict[str, str] = {
    "missing": N_("is required"),
    "extra_forbidden": N_("is not a field here (extra fields are refused)"),
    "string_type": N_("must be text"),
    "string_too_short": N_("must have at least {min_length} characters"),
    "string_too_long": N_("must have at most {max_length} characters"),
    "string_pattern_mismatch": N_("must use only letters, digits, '_', '.' or '-' (no spaces)"),
    "too_short": N_("must have at least {min_length} items"),
    "too_long": N_("must have at most {max_length} items"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "greater_than_equal": N_("must be {ge} or more"),
    "less_than_equal": N_("must be {le} or less"),
    "greater_than": N_("must be more than {gt}"),
    "less_than": N_("must be less than {lt}"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "enum": N_("must be one of: {expected}"),
    "literal_error": N_("must be one of: {expected}"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be a set of named values"),
    "uuid_parsing": N_("must be a UUID"),
    "uuid_type": N_("must be a UUID"),
    "date_type": _DAY_RULE,
    "date_parsing": _DAY_RULE,
    "date_from_datetime_parsing": _DAY_RULE,
    "date_from_datetime_inexact": _DAY_RULE,
    "date_format": _DAY_RULE,
    "datetime_type": _TIME_RULE,
    "datetime_parsing": _TIME_RULE,
    "datetime_from_date_parsing": _TIME_RULE,
    "datetime_format": _TIME_RULE,
    # The models' own checks (events/bounds.py, workflows/commands.py).
    "text_not_storable": N_("must not contain {what}"),
    "blank": N_("must not be blank"),
    "date_out_of_range": N_("must be between {earliest} and {latest}"),
    "unique_items": N_("must not name the same item twice"),
    "unique_children": N_("child ids must be unique within the family"),
    "reason_required": N_("is required for an unplanned exit"),
    "reason_forbidden": N_("only an unplanned exit has one"),
    "corrected_value": N_(
        "must be true or false, a whole number, or a code (letters, digits, '_', '.', '-')"
    ),
}
# What ``text_not_storable`` names, in the catalogue too.
_CHARACTERS = (
    N_("a line break or tab (one line only)"),
    N_("the NUL character (U+0000)"),
)


def form_rule_in(reader: Reader, error: Mapping[str, Any]) -> str:
    """One of pydantic's errors in the pages' words, in the reader's language."""
    message = str(error.get("msg", ""))
    template = FORM_RULES.get(str(error.get("type")))
    if template is None:
        return message
    translated = reader._(template)  # English: the pages' words, not pydantic's
    if translated == template and reader.code != "en":
        return message
    context = {k: _value(reader, k, str(x)) for k, x in (error.get("ctx") or {}).items()}
    try:
        return translated.format(**context)
    except (KeyError, IndexError, ValueError):
        return message
