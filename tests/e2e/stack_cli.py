"""Driving a running `ifss dev` from the CLI, as the e2e tests do."""

from __future__ import annotations

import json

from tests.e2e.conftest import DevStack

SUP = "sup-evans:supervisor"
CM = "cm-jones:case_manager"
ADMIN = "ad-root:admin"
# An admin registers the team before anyone works in it.
REGISTER_CARDIFF = ("team", "register", "cardiff", "--name", "Cardiff IFSS", "--area", "cardiff")


# The people the e2e tests act as, added once their team is registered: the CLI acts only
# as an existing, active user with that role (as the API does).
STAFF = {
    "sup-evans": ("supervisor", "cardiff"),
    "cm-jones": ("case_manager", "cardiff"),
    "cm-owen": ("case_manager", "cardiff"),
    "kw-a": ("case_manager", "cardiff"),
    "bs-price": ("business_support", "cardiff"),
    "au-khan": ("auditor", None),
}


def staff(stack: DevStack, *only: str) -> None:
    """Add the test's people (all of ``STAFF``, or ``only`` those) as users."""
    for user, (role, team) in STAFF.items():
        if only and user not in only:
            continue
        args = ["users", "add", user, "--role", role, *(["--team", team] if team else [])]
        ok(stack, *args, actor=None)


def ok(stack: DevStack, *args: str, actor: str | None = CM) -> str:
    done = stack.ifss(*args, actor=actor)
    assert done.returncode == 0, f"ifss {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def show(stack: DevStack, case_id: str, actor: str = SUP) -> dict[str, object]:
    """The case's live state, read as a supervisor of its team (who may read every case
    of the team; the read is in its access log)."""
    return json.loads(ok(stack, "case", "show", case_id, "--json", actor=actor))  # type: ignore[no-any-return]


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
