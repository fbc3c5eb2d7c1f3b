"""The CLI refuses what it cannot use with `refused: field: rule` and exit 2 — never a
Python traceback — and echoes nothing that could drive the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from identity.users import add_user
from tests.keys import MASTER_KEY

pytestmark = pytest.mark.integration

IFSS = Path(sys.executable).parent / "ifss"


def run(*args: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("IFSS_")}
    base["IFSS_MASTER_KEY"] = MASTER_KEY  # the run's key (tests.keys)
    return subprocess.run(
        [str(IFSS), *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
async def db_env(database_url: str, migrated: str, pool: asyncpg.Pool) -> dict[str, str]:
    """The test's schema, with the people these tests act as (the CLI acts only as an
    existing, active user with that role)."""
    for user, role, team in (
        ("sup-evans", "supervisor", "t1"),
        ("bs-price", "business_support", "t1"),
        ("au-khan", "auditor", None),
        ("ad-root", "admin", None),
    ):
        await add_user(pool, user, role, team)
    sep = "&" if "?" in database_url else "?"
    return {"IFSS_DATABASE_URL": f"{database_url}{sep}search_path={migrated}"}


def refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    text = " ".join(done.stderr.split())
    assert f"refused: {message}" in text, text
    assert "Traceback" not in done.stderr + done.stdout


def usage_error(done: subprocess.CompletedProcess[str], option: str) -> None:
    """Typer's own check of an option (a choice, a range): exit 2, the option named."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert f"Invalid value for '{option}'" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr + done.stdout


def test_settings_and_arguments_that_cannot_be_used(tmp_path: Path) -> None:
    refused(run("cases", env={"IFSS_API_PORT": "abc"}), "IFSS_API_PORT: Input should be")
    refused(run("dev", env={"IFSS_API_PORT": "0"}), "IFSS_API_PORT: Input should be greater")
    refused(run("dev", env={"IFSS_API_PORT": "99999"}), "IFSS_API_PORT: Input should be less")
    refused(run(b"history", b"c\xff"), "argument 2: is not UTF-8 text")
    clash = {
        "IFSS_STATE_DIR": str(tmp_path / "s"),
        "IFSS_API_PORT": "28991",
        "IFSS_TEMPORAL_PORT": "28991",
        "IFSS_TEMPORAL_UI_PORT": "28992",
    }
    refused(run("dev", env=clash), "ports: each must be different")


def test_referral_input_is_checked_before_anything_is_sent(tmp_path: Path) -> None:
    actor = ("--as", "bs-price:business_support")
    for case_id in (".", "..", "-x", "_x"):
        refused(run("refer", "--case-id", case_id, "--family", "f", *actor), "case_id:")
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (1024 * 1024 + 1))
    refused(run("refer", "--file", str(huge), *actor), "file: must be at most 1048576 bytes")
    refused(run("refer", "--file", "/dev/zero", *actor), "file: /dev/zero is not a regular file")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe")
    refused(run("refer", "--file", str(bad), *actor), "file: is not JSON in UTF-8")
    # A key given twice is refused, as the API and the import refuse it (the last won).
    twice = tmp_path / "twice.json"
    twice.write_text('{"family_id": "f1", "family_id": "f2"}')
    refused(run("refer", "--file", str(twice), *actor), "file: 'family_id' is given twice")
    # Numbers past what Python converts, and nesting past its recursion limit: refused, no
    # traceback.
    big = tmp_path / "big.json"
    big.write_text('{"family_id": "f1", "priority": ' + "9" * 5000 + "}")
    refused(run("refer", "--file", str(big), *actor), "file: holds a number too long to read")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    refused(run("refer", "--file", str(deep), *actor), "file: is nested too deeply")
    worker = ("--as", "cm-x:case_manager")
    refused(run("case", "record_session", "c1", "session_id=s1", "session_id=s2", *worker),
            "session_id: is given twice")  # fmt: skip
    refused(run("case", "score_goals", "c1", 'scores=[{"goal_id": "g1", "score": 5, "score": 6}]',
                *worker), "scores: 'score' is given twice")  # fmt: skip
    # consent is stated for each purpose, never assumed
    unstated = (
        *("refer", "--family", "f1", "--team", "t1", "--area", "cardiff", "--agency", "health"),
        *("--ground", "parental_substance_dependence", "--child", "ch1:cin"),
        *("--consent", "--sharing", *actor),
    )
    refused(run(*unstated), "consent_to_follow_up:")


def test_a_policy_version_reused_with_other_numbers_is_refused_before_anything_is_sent(
    db_env: dict[str, str], tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    first.write_text('{"version": "cli.1", "caseload_limit": 2}')
    changed = tmp_path / "changed.json"
    changed.write_text('{"version": "cli.1", "caseload_limit": 5}')
    unreachable = {"IFSS_TEMPORAL_ADDRESS": "127.0.0.1:9"}  # nothing may be sent anyway
    sup = ("--as", "sup-evans:supervisor")
    # The first use registers the version (then Temporal is not there: the engine, exit 1).
    registering = run(
        "team", "policy", "t1", "--file", str(first), *sup, env={**db_env, **unreachable}
    )
    assert registering.returncode == 1 and "Traceback" not in registering.stderr
    for command in (
        ("team", "policy", "t1", "--file", str(changed), *sup),
        (
            *("refer", "--family", "f1", "--team", "t1", "--area", "cardiff", "--agency", "health"),
            *("--ground", "parental_substance_dependence", "--child", "ch1:cin"),
            *("--consent", "--sharing", "--follow-up", "--as", "bs-price:business_support"),
        ),
    ):
        env = {**db_env, **unreachable, "IFSS_POLICY_FILE": str(changed)}
        refused(run(*command, env=env), "IFSS_POLICY_FILE: policy version cli.1 is registered")
    bad = tmp_path / "bad.json"
    bad.write_text('{"caseload_limit": true}')
    refused(
        run("team", "policy", "t1", "--file", str(bad), *sup, env=db_env),
        "IFSS_POLICY_FILE: caseload_limit:",
    )


def test_readers_and_admin_commands_refuse_bad_input(db_env: dict[str, str]) -> None:
    refused(run("reviews", "--due-within", "99999999999999d", env=db_env), "due_within: at most")
    usage_error(run("cases", "--phase", "bogus", env=db_env), "--phase")
    refused(run("history", "c1", "--as-of", "", "--as", "au-khan:auditor", env=db_env), "as_of:")
    refused(
        run("history", "c1", "--as-of", "0001-01-01", "--as", "au-khan:auditor", env=db_env),
        "as_of: must be a date",
    )
    refused(run("audit", "verify", "--stream", "nope", env=db_env), "stream: no events in nope")
    usage_error(
        run(
            "projections",
            "skip",
            "access_log",
            "99999999999999999999999",
            "--reason",
            "x",
            "--as",
            "ad-root:admin",
            env=db_env,
        ),
        "position",
    )
    refused(
        run("users", "add", "u1", "--role", "case_manager", "--team", "", env=db_env),
        "team: 1-64 letters",
    )
    refused(
        run("users", "add", "u2", "--role", "case_manager", "--team", "cardiff", env=db_env),
        "team: no team cardiff is registered",
    )
    assert run("users", "add", "u2", "--role", "auditor", env=db_env).returncode == 0
    refused(
        run("tokens", "create", "u2", "--label", "lab\x1b[31mRED", env=db_env),
        "label: must be one line without control characters",
    )
    refused(
        run("users", "set-alerts", "u2", "--webhook", "https://x.example/", env=db_env),
        "webhook: set IFSS_WEBHOOK_SECRET first",
    )
    refused(
        run("users", "set-alerts", "u2", "--email", "a@b.example", env=db_env),
        "email: set IFSS_SMTP_HOST first",
    )
    with_secret = {**db_env, "IFSS_WEBHOOK_SECRET": "s"}
    refused(
        run("users", "set-alerts", "u2", "--webhook", "http://x/\x01", env=with_secret),
        "webhook: must be one line without control characters",
    )


def test_echoed_input_cannot_drive_the_terminal(db_env: dict[str, str]) -> None:
    done = run(
        "projections",
        "skip",
        "no\x1b[31mRED",
        "1",
        "--reason",
        "x",
        "--as",
        "ad-root:admin",
        env=db_env,
    )
    assert done.returncode == 2
    assert "\x1b[31m" not in done.stderr and "\\x1b[31mRED" in done.stderr


def test_command_help_comes_from_the_command_s_model() -> None:
    done = run("case", "record_session", "--help", env={"COLUMNS": "200"})
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "held_at: a time, e.g. 2026-03-02T10:00Z, default: now" in text
    assert "kind: one of home_visit, phone, out_of_hours, group, required" in text
    assert "duration_minutes: a whole number 1-1440, required" in text
    review = " ".join(
        run("case", "complete-review", "--help", env={"COLUMNS": "200"}).stdout.split()
    )
    assert "ratings: an object {goal id: one of exceeded, maintained," in review
    assert "children_statuses: an object {child id: one of none, cin, cpr, lac}, optional" in review
    transfer = " ".join(run("case", "transfer", "--help", env={"COLUMNS": "200"}).stdout.split())
    assert "(waiting, allocated or in the intensive phase)" in transfer


def test_an_import_refuses_what_it_cannot_read_before_reaching_the_engine(tmp_path: Path) -> None:
    admin = {"IFSS_ACTOR": "ad-root:admin"}
    good = tmp_path / "open-cases.jsonl"
    good.write_text('{"case_id": "i1"}\n')
    refused(
        run("import", str(good), "--all-or-none", env={"IFSS_ACTOR": "sup-evans:supervisor"}),
        "actor.role: only an admin may import cases",
    )
    missing = tmp_path / ("a-long-name-for-a-file-of-open-cases-from-the-legacy-system" * 2)
    gone = run("import", str(missing), "--good-rows", env=admin)
    refused(gone, "file:")
    # Written to a pipe or a file, a message stays on its line (scripts read it by line).
    assert f"refused: file: {missing} is not a regular file" in gone.stderr.splitlines()
    # (A line that is not UTF-8 is a bad row, named by its number: tests/e2e/test_cli_import.)
    # A file with no families in it (the wrong file, or an export cut short) is refused.
    empty = tmp_path / "empty.jsonl"
    for content in (b"", b"\xef\xbb\xbf\n", b"\n  \r\n\t\n"):
        empty.write_bytes(content)
        refused(
            run("import", str(empty), "--good-rows", env=admin),
            "file: holds no families (it is empty, or every line is blank)",
        )
    # A file in UTF-16 (its byte-order mark says so) is refused as a whole.
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_text('{"case_id": "i1"}\n', encoding="utf-16")
    refused(
        run("import", str(utf16), "--all-or-none", env=admin),
        "file: is UTF-16 text; save it as UTF-8 (one family per line)",
    )
    # The admin's choice is required: no default for all-or-none versus good rows.
    unstated = run("import", str(good), env=admin)
    assert unstated.returncode == 2 and "--all-or-none" in unstated.stderr
    assert "Traceback" not in unstated.stderr + unstated.stdout
    bad_policy = run("import", str(good), "--good-rows", "--overdue-alerts", "loud", env=admin)
    usage_error(bad_policy, "--overdue-alerts")


def test_the_cli_applies_the_apis_rules_before_anything_is_sent(db_env: dict[str, str]) -> None:
    unreachable = {**db_env, "IFSS_TEMPORAL_ADDRESS": "127.0.0.1:9"}  # never reached
    referral = (
        *("refer", "--family", "f1", "--team", "t2", "--area", "cardiff", "--agency", "health"),
        *("--ground", "parental_substance_dependence", "--child", "ch1:cin"),
        *("--consent", "--sharing", "--follow-up"),
    )
    refused(
        run(*referral, "--as", "bs-price:business_support", env=unreachable),
        "team_id: you may refer only to your own team",
    )
    refused(run(*referral, "--as", "au-khan:auditor", env=unreachable), "role: auditor may not")
    refused(run(*referral, "--as", "nobody:business_support", env=unreachable), "actor: no user")
    refused(
        run(*referral, "--as", "bs-price:supervisor", env=unreachable),
        "actor: bs-price is a business_support, not a supervisor",
    )
    refused(
        run("team", "add-worker", "t2", "kw-1", "--as", "sup-evans:supervisor", env=unreachable),
        "team_id: only a supervisor of team t2 may change its key workers",
    )
    refused(
        run("cases", "--team", "t2", "--as", "sup-evans:supervisor", env=db_env),
        "team: you see only your own team",
    )
    refused(run("waitlist", env=db_env), "actor: who is acting?")
    assert run("cases", "--as", "sup-evans:supervisor", env=db_env).returncode == 0
    forged = {**unreachable, "IFSS_TOKEN": "ifss_0000_forged"}
    refused(run("case", "show", "c1", env=forged), "IFSS_TOKEN: the token is unknown")
