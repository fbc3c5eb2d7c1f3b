"""Driving a running `ifss dev` from the CLI, as the e2e tests do."""

from __future__ import annotations

import json

from tests.e2e.conftest import DevStack

SUP = "sup-evans:supervisor"
CM = "cm-jones:case_manager"
ADMIN = "ad-root:admin"
# An admin registers the team before anyone works in it.
REGISTER_CARDIFF = ("team", "register", "cardiff", "--name", "Cardiff IFSS", "--area", "cardiff")


def ok(stack: DevStack, *args: str, actor: str | None = CM) -> str:
    done = stack.ifss(*args, actor=actor)
    assert done.returncode == 0, f"ifss {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def show(stack: DevStack, case_id: str) -> dict[str, object]:
    return json.loads(ok(stack, "case", "show", case_id, "--json"))  # type: ignore[no-any-return]


REFER_C1 = (
    "refer",
    "--case-id",
    "c1",
    "--family",
    "fam-1",
    "--team",
    "cardiff",
    "--area",
    "cardiff",
    "--agency",
    "health",
    "--ground",
    "parental_substance_dependence",
    "--need",
    "alcohol",
    "--child",
    "ch1:cin",
    "--consent",
    "--sharing",
    "--follow-up",
)
