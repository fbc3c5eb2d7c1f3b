"""The pages' words: every string in the catalogue has its Welsh, the catalogue is current
with the templates and code, every code the pages show has words, and the commands each
role is offered agree with the lifecycle's own table."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from enum import StrEnum
from pathlib import Path

from babel.messages.pofile import read_po

from events import vocabulary
from events.catalogue import DomainEvent
from web.forms import OFFERED
from web.refusals import FORM_RULES, form_rule_in, rule_in
from web.words import EVENT_TITLES, WORDS

ROOT = Path(__file__).resolve().parents[2]
POT = ROOT / "web/translations/messages.pot"
WELSH = ROOT / "web/translations/cy/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _ids(path: Path) -> set[str]:
    with path.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


def test_every_string_has_its_welsh() -> None:
    with WELSH.open("rb") as f:
        welsh = read_po(f, locale="cy")
    missing, broken = [], []
    for message in welsh:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(ids[0])
            continue
        want = sorted(PLACEHOLDER.findall(ids[0]))
        broken += [ids[0] for s in strings if sorted(PLACEHOLDER.findall(s)) != want]
    assert not missing, f"no Welsh for: {missing[:10]} (run make messages, then translate)"
    assert not broken, f"placeholders differ: {broken[:10]}"
    assert _ids(POT) <= {m.id if isinstance(m.id, str) else m.id[0] for m in welsh if m.id}


def _keywords() -> list[str]:
    """The extraction keywords of ``make messages`` (the Makefile is their one place)."""
    line = next(x for x in (ROOT / "Makefile").read_text().splitlines() if "extract -F" in x)
    return re.findall(r"-k (\S+)", line)


def test_the_catalogue_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    keywords = [arg for k in _keywords() for arg in ("-k", k)]
    assert "CommandRejected:2" in _keywords()
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "web/babel.cfg", *keywords,
         "--no-location", "--omit-header", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert _ids(fresh) == _ids(POT), "the pages' strings changed: run make messages"


def _calls(names: set[str]) -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted((ROOT / "workflows").rglob("*.py")) + sorted((ROOT / "events").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else None
                if name in names:
                    found.append((path.name, node.lineno, node))
    return found


def test_every_rule_gives_its_words_apart_from_its_values() -> None:
    """A refusal's rule is a literal template (the catalogue holds it, the pages say it in
    Welsh): never an f-string, whose words Babel cannot see."""
    calls = _calls({"CommandRejected", "TeamRefusal", "require_phase", "require_role"})
    assert len(calls) > 100
    formatted = [
        f"{file}:{line}"
        for file, line, call in calls
        for arg in call.args[1:3]
        if isinstance(arg, ast.JoinedStr)
    ]
    assert not formatted, f"rules written as f-strings: {formatted}"
    # Each literal template names exactly the values its call gives (a name without a value
    # would show as "{name}"; a value without a name is lost).
    mismatched = []
    for file, line, call in calls:
        name = call.func.id if isinstance(call.func, ast.Name) else ""
        if name not in ("CommandRejected", "TeamRefusal") or len(call.args) < 2:
            continue
        template = call.args[1]
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            continue
        named = set(re.findall(r"\{(\w+)\}", template.value))
        given = {k.arg for k in call.keywords if k.arg} | (
            {"*"} if any(k.arg is None for k in call.keywords) else set()
        )
        if "*" not in given and named != given:
            mismatched.append(f"{file}:{line} {sorted(named)} != {sorted(given)}")
    assert not mismatched, mismatched


def test_a_refusal_survives_pickling_and_never_crashes_on_its_words() -> None:
    import pickle

    import pytest as _pytest

    from workflows.lifecycle.state import CommandRejected
    from workflows.team import TeamRefusal

    for made in (
        CommandRejected("goal_id", "goal {goal_id} is already agreed", "invalid", goal_id="g1"),
        TeamRefusal("until", "{until} has passed", "conflict", until="2026-03-12"),
    ):
        again = pickle.loads(pickle.dumps(made))
        assert (type(again), str(again), again.kind, again.params) == (
            type(made),
            str(made),
            made.kind,
            made.params,
        )
    assert str(CommandRejected("x", "a {missing} value", other=1)) == "x: a {missing} value"
    assert str(CommandRejected("x", "a {", y=1)) == "x: a {"
    with _pytest.raises(TypeError):
        CommandRejected("x", "no", kind="invalid")  # kind by name would be lost


def test_every_check_of_the_models_has_its_welsh() -> None:
    kinds = {
        call.args[0].value
        for _, _, call in _calls({"PydanticCustomError"})
        if isinstance(call.args[0], ast.Constant)
    }
    assert {"text_not_storable", "blank", "date_format"} <= kinds
    assert kinds <= set(FORM_RULES), sorted(kinds - set(FORM_RULES))


def test_every_code_has_words() -> None:
    enums = [
        e
        for e in vars(vocabulary).values()
        if isinstance(e, type) and issubclass(e, StrEnum) and e.__module__ == vocabulary.__name__
    ]
    for enum in enums:
        assert set(WORDS[enum]) == {m.value for m in enum}, enum.__name__
    assert set(EVENT_TITLES) == set(DomainEvent.registry)


def test_the_offered_commands_are_the_lifecycles() -> None:
    table: dict[str, dict[str, set[str]]] = {}
    phase = None
    for line in (ROOT / "docs/lifecycle.md").read_text().splitlines():
        if heading := re.match(r"^## (\w+)", line):
            phase = heading.group(1)
            continue
        row = re.match(r"^\| `([a-z_]+)(?: \([a-z_]+\))?` \| ([^|]+) \|", line)
        if row and phase:
            who = {w.strip() for w in row.group(2).split(",")} - {"the team", "the clock"}
            if who:
                table.setdefault(phase, {}).setdefault(row.group(1), set()).update(who)
    assert {p: {c: set(r) for c, r in cs.items()} for p, cs in OFFERED.items()} == table


def test_a_rules_refusal_reads_in_welsh() -> None:
    """The rule's words from the catalogue, its values each as what they are: coded words
    translated, days written out, ids as they stand; the English exactly as the API's."""
    from datetime import date

    import orjson

    from web.i18n import Language
    from workflows.lifecycle.state import CommandRejected, Phase
    from workflows.wording import one_of

    def said(exc: CommandRejected) -> tuple[str, tuple[str, dict[str, object]]]:
        travelled = orjson.loads(orjson.dumps({"rule": exc.template, "params": exc.params}))
        return exc.rule, (travelled["rule"], travelled["params"])

    cy, en = Language("cy"), Language("en")
    phase = CommandRejected(
        "phase",
        "cannot {what} while the case is {phase} (needs {phases})",
        what="complete a review",
        phase=Phase.INTENSIVE,
        phases=one_of(["follow_up", "allocated"]),
    )
    assert (
        phase.rule
        == "cannot complete a review while the case is intensive (needs follow_up or allocated)"
    )
    assert rule_in(en, *said(phase)) == phase.rule
    assert rule_in(cy, *said(phase)) == (
        "ni ellir gwneud hyn tra bo'r achos yn y cam dwys: cwblhau adolygiad "
        "(mae angen y cam gwaith dilynol neu wedi'i ddyrannu)"
    )
    roles = CommandRejected(
        "actor.role", "only {roles} may {what}", "forbidden",
        roles=["supervisor", "case_manager"], what="decide an extension",
    )  # fmt: skip
    assert roles.rule == "only supervisor, case_manager may decide an extension"
    assert rule_in(cy, *said(roles)) == (
        "dim ond goruchwyliwr, gweithiwr allweddol gaiff wneud hyn: penderfynu ar estyniad"
    )
    dated = CommandRejected(
        "closed_on", "cannot be before the first meeting ({started_on})",
        started_on=date(2026, 3, 12),
    )  # fmt: skip
    assert dated.rule == "cannot be before the first meeting (2026-03-12)"
    assert rule_in(cy, *said(dated)) == "ni all fod cyn y cyfarfod cyntaf (12 Mawrth 2026)"
    goal = CommandRejected("goal_id", "goal {goal_id} is already agreed", goal_id="g1{x}")
    assert rule_in(cy, *said(goal)) == "mae nod g1{x} wedi'i gytuno'n barod"  # braces kept
    # A rule the catalogue does not hold stays in English, whole; a fixed one is looked up.
    stranger = CommandRejected("x", "a rule from {where}", where="elsewhere")
    assert rule_in(cy, *said(stranger)) == "a rule from elsewhere"
    assert rule_in(cy, "cannot be in the future", None) == "ni all fod yn y dyfodol"


def test_a_forms_checks_read_in_welsh() -> None:
    from pydantic import ValidationError

    from events.envelope import Actor
    from events.vocabulary import Role
    from web.i18n import Language
    from workflows import commands as cmd

    actor = Actor(id="cm-jones", role=Role.CASE_MANAGER)
    try:
        cmd.RecordSession.model_validate(
            {"actor": actor, "session_id": "s\x00", "kind": "bus", "duration_minutes": "many"}
        )
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
    by_field = {str(e["loc"][0]): e for e in errors}
    cy = Language("cy")
    assert form_rule_in(cy, by_field["duration_minutes"]) == "rhaid iddo fod yn rhif cyfan"
    assert form_rule_in(cy, by_field["kind"]).startswith("rhaid iddo fod yn un o: ")
    assert "held_at" not in by_field or form_rule_in(cy, by_field["held_at"]) == "mae angen hwn"
    english = form_rule_in(Language("en"), by_field["duration_minutes"])
    assert english == by_field["duration_minutes"]["msg"]
    unknown = {"type": "made_up", "msg": "is odd", "loc": ("x",)}
    assert form_rule_in(cy, unknown) == "is odd"


def test_the_welsh_timeline_names_every_fact() -> None:
    """Every fact of every event a case's timeline shows has its name in the catalogue (or
    is one the page shows elsewhere); a sentence reads in Welsh, values translated."""
    from web.i18n import Language
    from web.timeline import NOT_SHOWN, facts, label_of

    unnamed = [
        f"{name}.{field}"
        for name, cls in DomainEvent.registry.items()
        if getattr(cls, "stream", "case") == "case"
        for field in cls.model_fields
        if field not in NOT_SHOWN and label_of(field) is None
    ]
    assert not unnamed, unnamed
    cy = Language("cy")
    said = facts(
        cy, "SessionRecorded",
        {"session_id": "s1", "held_at": "2026-03-12T10:00:00+00:00", "kind": "home_visit",
         "duration_minutes": 60},
    )  # fmt: skip
    assert said == (
        "Sesiwn wedi'i chofnodi — Cyfeirnod y sesiwn: s1; Pryd: 12 Mawrth 2026, 10:00; "
        "Math: Ymweliad cartref; Hyd mewn munudau: 60"
    )
    rated = facts(
        cy, "FollowUpReviewCompleted",
        {"review_id": "r1", "ratings": [{"goal_id": "g1", "rating": "maintained", "score": 7}],
         "family_staying_together": True},
    )  # fmt: skip
    assert "g1: Wedi'i gynnal, 7" in rated and "Ie" in rated
    assert facts(cy, "ReferralAccepted", {}) == "Atgyfeiriad wedi'i dderbyn"
