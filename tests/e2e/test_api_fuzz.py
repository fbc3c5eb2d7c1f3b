"""Schemathesis over the whole OpenAPI of a running `ifss dev`: NUL bytes allowed, every
check on (no server error, statuses, media types and bodies as documented, schema-valid
input accepted and invalid input refused), bounded examples, a fixed seed and a random one
(printed, so a failure can be replayed with `st run --seed`)."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import DevStack
from tests.e2e.stack_cli import REFER_C1, REGISTER_CARDIFF

pytestmark = pytest.mark.e2e

ST = str(Path(sys.executable).parent / "st")
CONFIG = Path(__file__).with_name("schemathesis.toml")
FIXED_SEED = 20261125
EXAMPLES = "25"
# The random seed's run is a lighter second look (a few minutes of the suite's fifteen):
# each operation's coverage and stateful phases still run, with fewer fuzzed examples.
RANDOM_EXAMPLES = "10"


def ok(stack: DevStack, *args: str) -> str:
    done = stack.ifss(*args, actor="sup-evans:supervisor")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def fuzz(
    stack: DevStack, token: str, seed: int, cwd: Path, examples: str = EXAMPLES
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ST,
            "--config-file",
            str(CONFIG),
            "run",
            f"{stack.api_url}/openapi.json",
            "--checks",
            "all",
            "--generation-allow-x00",
            "true",
            "--max-examples",
            examples,
            "--seed",
            str(seed),
            "--workers",
            "1",
            "--no-color",
            "-H",
            f"Authorization: Bearer {token}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,  # schemathesis keeps a cache where it runs
    )


@pytest.mark.long
@pytest.mark.timeout(900)  # two schemathesis runs of ~2-4 minutes each on this machine
def test_the_whole_api_under_schemathesis(dev_stack: DevStack) -> None:
    tokens = {}
    registered = dev_stack.ifss(*REGISTER_CARDIFF, actor="ad-root:admin")
    assert registered.returncode == 0, registered.stderr
    for user, role in (("sup-evans", "supervisor"), ("cm-jones", "case_manager")):
        ok(dev_stack, "users", "add", user, "--role", role, "--team", "cardiff")
        tokens[user] = ok(dev_stack, "tokens", "create", user).strip().split()[-1]
    # A case in the intensive phase, so that commands reach the rules, not only 404s.
    ok(dev_stack, "team", "add-worker", "cardiff", "cm-jones")
    ok(dev_stack, *REFER_C1)
    ok(dev_stack, "case", "accept", "c1")
    for _ in range(50):
        if '"phase": "allocated"' in ok(dev_stack, "case", "show", "c1", "--json"):
            break
        time.sleep(0.2)
    ok(dev_stack, "case", "record-first-meeting", "c1")

    random_seed = random.randrange(2**31)
    print(f"schemathesis seeds: fixed {FIXED_SEED}, random {random_seed}")
    for user, seed, examples in (
        ("sup-evans", FIXED_SEED, EXAMPLES),
        ("cm-jones", random_seed, RANDOM_EXAMPLES),
    ):
        run = fuzz(dev_stack, tokens[user], seed, dev_stack.state.parent, examples)
        assert run.returncode == 0, (
            f"schemathesis as {user} with --seed {seed} found problems:\n{run.stdout[-20000:]}"
            f"\n{run.stderr[-2000:]}"
        )
        counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
        assert counts and counts[1] == counts[2] and int(counts[1]) > 500, run.stdout[-3000:]
