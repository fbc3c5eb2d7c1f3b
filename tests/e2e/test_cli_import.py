"""`ifss import` against a running `ifss dev`: a file with good and bad rows, checked,
refused all or none, then imported good rows only; the imported case carries on."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import DevStack
from tests.e2e.stack_cli import ADMIN, REGISTER_CARDIFF, SUP, ok, show, staff
from tests.factories import import_row as family

pytestmark = pytest.mark.e2e


def test_a_file_of_open_cases_from_the_cli(dev_stack: DevStack) -> None:
    s = dev_stack
    ok(s, *REGISTER_CARDIFF, actor=ADMIN)
    staff(s)
    ok(s, "team", "add-worker", "cardiff", "kw-a", "--limit", "3", actor=SUP)
    today = date.today()
    rows = [
        family("i1", "intensive", today),
        family("i2", "accepted", today, accepted_on=(today - timedelta(days=60)).isoformat()),
        family("i3", "allocated", today, key_worker_id="kw-nobody"),
        family("i4", "referred", today) | {"\x1b[31mred": 1},  # a key that drives terminals
    ]
    # And a row exported as Latin-1: a bad row named by its line, the others still read.
    latin = json.dumps(family("i5", "referred", today)).replace("fam-i5", "caf\xe9")
    path = s.state / "open-cases.jsonl"
    path.write_bytes(
        ("\n".join(json.dumps(r) for r in rows) + "\n").encode() + latin.encode("latin-1") + b"\n"
    )
    at = latin.index("\xe9") + 1

    checked = s.ifss("import", str(path), "--check", "--all-or-none", actor=ADMIN)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert checked.stderr.splitlines() == [
        f"line 2: accepted_on: cannot be before received_on ({today - timedelta(days=45)})",
        "line 3: key_worker_id: no key worker kw-nobody in team cardiff",
        "line 4: \\x1b[31mred: is not a field here (extra fields are refused)",
        f"line 5: line: is not UTF-8 text (byte {at} of the line)",
    ]
    assert "\x1b" not in checked.stderr  # shown as an escape, never sent raw
    assert "checked 5 row(s): 4 bad; nothing imported" in checked.stdout
    none = s.ifss("import", str(path), "--all-or-none", actor=ADMIN)
    assert none.returncode == 2 and "nothing imported (--all-or-none)" in none.stdout
    assert s.ifss("case", "show", "i1").returncode == 2  # no such case

    good = s.ifss("import", str(path), "--good-rows", actor=ADMIN)
    assert good.returncode == 2 and "imported 1 of 5 row(s); 4 bad, not imported" in good.stdout
    case = show(s, "i1")
    assert case["phase"] == "intensive" and case["key_worker_id"] == "kw-a"
    assert case["referred_on"] == (today - timedelta(days=45)).isoformat()
    history = ok(s, "history", "i1", actor=SUP)
    assert "imported the case from legacy-cms (record R-i1)" in history
    ok(s, "case", "record-session", "i1", "session_id=s9", "kind=phone", "duration_minutes=20",
       actor="kw-a:case_manager")  # fmt: skip


def test_the_demo_from_the_cli_and_its_refusals(dev_stack: DevStack) -> None:
    s = dev_stack
    done = s.ifss("demo", "--families", "12", "--seed", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "imported 10" in done.stdout and "refused commands 0" in done.stdout
    assert show(s, "d3-001", actor=ADMIN)["phase"] == "referred"
    again = s.ifss("demo", "--families", "12", "--seed", "3")
    assert again.returncode == 2 and "seed: demo data for seed 3 exists already" in again.stderr
    ok(s, *REGISTER_CARDIFF, actor=ADMIN)
    staff(s)
    ok(s, "team", "add-worker", "cardiff", "kw-a", actor=SUP)
    ok(s, "refer", "--file", str(_referral_file(s)), actor="bs-price:business_support")
    mixed = s.ifss("demo", "--families", "6", "--seed", "4")
    assert mixed.returncode == 2 and "which is not a demo case" in mixed.stderr


def _referral_file(s: DevStack) -> Path:
    path = s.state / "referral.json"
    fields = family("c1", "referred", date.today())
    for name in ("source", "phase"):
        del fields[name]
    fields["received_on"] = date.today().isoformat()  # a live referral: within backdate_days
    path.write_text(json.dumps(fields))
    return path
