"""A family with distinctive names run through the whole stack (`ifss dev`: embedded
PostgreSQL, Temporal dev server, worker, projector, API): not one of its names may be
found in any log line, in the Temporal server's history (read raw through the server) or
its database file, or anywhere in PostgreSQL's files on disk (tables and WAL)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from tests.e2e.conftest import DevStack, start_dev
from tests.e2e.stack_cli import ADMIN, CM, REGISTER_CARDIFF, SUP, ok, show, staff

pytestmark = pytest.mark.e2e

# Names no code, id or library would ever contain by chance.
NAMES = ("Zephyrinequill", "Bartholomewngozi", "Lonxeirlysabc", "Cwtchfoxtrotnotes")


def referral_file(state: Path) -> Path:
    path = state / "referral.json"
    path.write_text(
        json.dumps(
            {
                "case_id": "zq1",
                "family_id": "fam-zq",
                "team_id": "cardiff",
                "area": "cardiff",
                "referring_agency": "health",
                "referral_grounds": ["parental_substance_dependence"],
                "children": [
                    {
                        "child_id": "ch1",
                        "statutory_status": "cin",
                        "personal": {"name": f"{NAMES[0]} 🦊", "date_of_birth": "2016-02-29"},
                    }
                ],
                "adults": [
                    {"person_id": "a1", "relationship": "father", "personal": {"name": NAMES[1]}}
                ],
                "personal": {"family_name": NAMES[1], "address": f"1 {NAMES[2]}, Aberdaron"},
                "consent_to_referral": True,
                "consent_to_information_sharing": True,
                "consent_to_follow_up": True,
            }
        )
    )
    return path


async def raw_history(address: str, workflow_id: str) -> bytes:
    client = await Client.connect(address)  # no codec: what the server holds, as it holds it
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace="default", execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return history.SerializeToString()


def files_holding(root: Path, needle: bytes) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    found.append(str(path.relative_to(root)))
            except OSError:
                continue
    return found


def test_no_name_of_the_family_anywhere_outside_the_sealed_parts(tmp_path: Path) -> None:
    s: DevStack = start_dev(tmp_path, IFSS_LOG_LEVEL="debug")
    try:
        ok(s, *REGISTER_CARDIFF, actor=ADMIN)
        staff(s)
        ok(s, "team", "add-worker", "cardiff", "cm-jones", "--limit", "3", actor=SUP)
        assert "ReferralReceived" in ok(
            s, "refer", "--file", str(referral_file(tmp_path)), actor="bs-price:business_support"
        )
        ok(s, "case", "accept", "zq1", actor=SUP)
        for _ in range(100):
            if show(s, "zq1")["phase"] == "allocated":
                break
            time.sleep(0.2)
        ok(s, "case", "record-first-meeting", "zq1")
        ok(
            s,
            "case",
            "agree-goal",
            "zq1",
            "goal_id=g1",
            "category=parenting",
            f"description=Help {NAMES[0]} sleep",
            "baseline=2",
            "target=8",
        )
        notes = f"notes=Met {NAMES[1]} and {NAMES[3]}"
        ok(
            s,
            "case",
            "record-session",
            "zq1",
            "session_id=s1",
            "kind=home_visit",
            "duration_minutes=60",
            notes,
        )
        # A refused command carrying a name: the refusal names the field, never the value.
        bad = s.ifss(
            "case",
            "record-session",
            "zq1",
            "session_id=s2",
            "kind=visit",
            "duration_minutes=60",
            f"notes={NAMES[3]}",
            actor=CM,
        )
        assert bad.returncode == 2
        assert NAMES[3] not in bad.stderr and NAMES[3] not in bad.stdout
        assert "intact" in ok(s, "audit", "verify", actor=None)
        history = asyncio.run(raw_history(f"127.0.0.1:{s.env['IFSS_TEMPORAL_PORT']}", "case-zq1"))
    finally:
        s.process.terminate()
        s.process.wait(timeout=60)

    assert b"zq1" in history and b"binary/ifss-sealed" in history  # the control
    logs = s.output()
    assert "events_appended" in logs or "ready" in logs  # the log was written
    pg = s.state / "postgres"
    assert files_holding(pg, b"fam-zq"), "control: the coded family id is on disk"
    assert "temporal.db" in files_holding(s.state, b"case-zq1"), "control: Temporal's file"
    for name in NAMES:
        needle = name.encode()
        assert needle not in history, f"{name} in the Temporal history"
        assert name not in logs, f"{name} in the stack's log"
        assert files_holding(s.state, needle) == [], f"{name} on disk (state dir)"
