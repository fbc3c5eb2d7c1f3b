"""A new user's path with `make run` up: refer, accept, work, close, see the reviews."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.e2e.conftest import IFSS, DevStack
from tests.e2e.stack_cli import ADMIN, CM, REFER_C1, REGISTER_CARDIFF, SUP, ok, show, staff

pytestmark = pytest.mark.e2e


def test_a_case_from_referral_to_scheduled_reviews_with_the_cli(dev_stack: DevStack) -> None:
    s = dev_stack
    stranger = s.ifss("team", "add-worker", "cardiff", "cm-jones", actor=SUP)
    assert stranger.returncode == 2  # nobody may act as a user who does not exist
    assert "actor: no user sup-evans" in stranger.stderr
    ok(s, *REGISTER_CARDIFF, actor=ADMIN)
    staff(s)
    # As through the API: a supervisor changes their own team only.
    other_team = s.ifss("team", "add-worker", "newport", "cm-jones", actor=SUP)
    assert other_team.returncode == 2
    assert "team_id: only a supervisor of team newport may change" in other_team.stderr
    assert "Cardiff IFSS" in ok(s, "team", "show", "cardiff")
    again = s.ifss(*REGISTER_CARDIFF, actor=ADMIN)
    assert again.returncode != 0 and "already registered" in again.stderr
    # A key worker is a case manager or supervisor of the team, as a user.
    ghost = s.ifss("team", "add-worker", "cardiff", "kw-ghost", actor=SUP)
    assert ghost.returncode == 2 and "key_worker_id: no user kw-ghost" in ghost.stderr
    clerk = s.ifss("team", "add-worker", "cardiff", "bs-price", actor=SUP)
    assert clerk.returncode == 2 and "bs-price has the role business_support" in clerk.stderr
    ok(s, "team", "add-worker", "cardiff", "cm-jones", "--limit", "3", actor=SUP)
    # A team policy from a file: a supervisor's decision; a case manager's is refused.
    policy = s.state / "team-policy.json"
    policy.write_text('{"version": "e2e.1", "caseload_limit": 2, "waitlist_max_days": 21}')
    refused = s.ifss("team", "policy", "cardiff", "--file", str(policy), actor=CM)
    assert refused.returncode == 2 and "actor.role" in refused.stderr
    adopted = ok(s, "team", "policy", "cardiff", "--file", str(policy), actor=SUP)
    assert "runs on policy e2e.1" in adopted and "caseload limit 2" in adopted
    assert "takes up to 2 families (the team policy's limit)" in ok(
        s, "team", "add-worker", "cardiff", "cm-owen", actor=SUP
    )
    shown = ok(s, "team", "show", "cardiff", actor=SUP)
    assert "policy e2e.1" in shown and "2 (policy)" in shown
    out = ok(
        s,
        *REFER_C1,
        "--adult",
        "ad1:mother",
        actor="bs-price:business_support",
    )
    assert "case c1: ReferralReceived" in out
    assert "ReferralAccepted" in ok(s, "case", "accept", "c1", actor=SUP)
    for _ in range(50):
        if show(s, "c1")["phase"] == "allocated":
            break
        time.sleep(0.2)
    assert show(s, "c1")["key_worker_id"] == "cm-jones"

    ok(s, "case", "record-first-meeting", "c1")
    ok(
        s,
        "case",
        "agree-goal",
        "c1",
        "goal_id=g1",
        "category=parenting",
        "description=Bedtime routine",
        "baseline=2",
        "target=8",
    )
    ok(s, "case", "record-session", "c1", "session_id=s1", "kind=home_visit", "duration_minutes=90")
    assert show(s, "c1")["phase"] == "intensive"

    refused = s.ifss("case", "decide-extension", "c1", "request_id=x1", "approved=true", actor=CM)
    assert refused.returncode == 2
    assert "only supervisor may decide an extension" in refused.stderr
    bad = s.ifss(
        "case",
        "agree-goal",
        "c1",
        "goal_id=g2",
        "category=parenting",
        "description=x",
        "baseline=11",
        "target=8",
        actor=CM,
    )
    assert bad.returncode == 2 and "baseline" in bad.stderr
    nobody = s.ifss("case", "accept", "nobody", actor=SUP)
    assert nobody.returncode == 2 and "no case nobody" in nobody.stderr
    no_actor = s.ifss("case", "accept", "c1")
    assert no_actor.returncode == 2 and "who is acting" in no_actor.stderr

    out = ok(
        s,
        "case",
        "close-intensive-phase",
        "c1",
        "kind=planned",
        'closing_scores=[{"goal_id": "g1", "score": 6}]',
        actor=SUP,
    )
    assert out.count("FollowUpReviewScheduled") == 4
    view = show(s, "c1")
    assert view["phase"] == "follow_up"
    assert [r["review_id"] for r in view["reviews"]] == ["m1", "m3", "m6", "m12"]  # type: ignore[index, union-attr]
    assert all(r["status"] == "scheduled" for r in view["reviews"])  # type: ignore[index, union-attr]
    table = ok(s, "case", "show", "c1")
    assert "review m12" in table and "follow_up" in table
    assert "intact" in ok(s, "audit", "verify", actor=None)

    # The read side: the dev stack's projector keeps the read models current.
    for _ in range(100):
        if "follow_up" in ok(s, "cases", "--team", "cardiff"):
            break
        time.sleep(0.1)
    listing = ok(s, "cases", "--team", "cardiff")
    assert "c1" in listing and "follow_up" in listing and "cm-jones" in listing
    timeline = ok(s, "history", "c1", actor=SUP)
    assert "recorded a home visit, 90 min" in timeline and "m12" in timeline
    as_csv = ok(s, "history", "c1", "--csv", actor=SUP)
    assert as_csv.splitlines()[0].startswith("version,occurred_at") and "GoalAgreed" in as_csv
    before = ok(s, "history", "c1", "--as-of", "2000-01-01", actor=SUP)
    assert "recorded a referral" not in before
    assert ok(s, "reviews", "--due-within", "400d").count("c1") == 4
    assert "cm-jones" in ok(s, "caseload")
    assert "waitlist" in ok(s, "waitlist")
    status = ok(s, "projections", "status")
    assert "case_summary" in status and "failed" not in status
    rebuilt = ok(s, "projections", "rebuild")
    assert "rebuilt 10 projection(s)" in rebuilt
    # The evaluation report from the command line: the case's team, this financial year.
    report = json.loads(ok(s, "report", "--format", "json", actor=SUP))
    figures = {f["key"]: f for f in report["figures"]}
    assert report["scope"]["team"] == "cardiff" and figures["referrals"]["value"] >= 1
    assert "<svg" in ok(s, "report", actor=SUP)
    refused = s.ifss("report", actor=CM)
    assert refused.returncode == 2 and "role:" in refused.stderr
    given = ("--on", "2026-01-05", "--agency", "school", "--practitioners", "4")
    assert "recorded" in ok(s, "team", "consultation", "cardiff", "--id", "k1", *given, actor=SUP)
    twice = s.ifss("team", "consultation", "cardiff", "--id", "k1", *given, actor=SUP)
    assert twice.returncode == 2 and "consultation_id" in twice.stderr
    badly = s.ifss("team", "training", "cardiff", "--id", "t1", "--on", "2026-01-05",
                   "--sessions", "0", "--attendees", "3", "--model", "mi", actor=SUP)  # fmt: skip
    assert badly.returncode == 2 and "sessions" in badly.stderr
    # The team's costs: an admin's, in pounds to the penny, counted by the report.
    costs = ("--from", "2026-04-01", "--to", "2027-03-31", "--source", "ledger 4411")
    assert "recorded" in ok(
        s, "team", "costs", "cardiff", "--id", "fy26", *costs, "--staff", "£250,000.50",
        actor=ADMIN,
    )  # fmt: skip
    for extra, who, field in (  # amounts in pounds: tests/unit/test_cli_money.py
        (("--id", "fy26b", "--staff", "1"), ADMIN, "period_start"),  # overlaps fy26
        (("--id", "x", "--staff", "1.005"), ADMIN, "staff"),
        (("--id", "x", "--staff", "1"), SUP, "actor.role"),
    ):
        wrong = s.ifss("team", "costs", "cardiff", *costs, *extra, actor=who)
        assert wrong.returncode == 2 and field in wrong.stderr, (extra, wrong.stderr)
    costed = json.loads(ok(s, "report", "--format", "json", "--from", "2026-04-01", actor=SUP))
    total = next(f for f in costed["figures"] if f["key"] == "total_cost")
    assert total["value"] == 250_000.5
    for args, field in (
        (("--from", "2026-13-01"), "from"),
        (("--as-of", "3000-01-01"), "as_of"),
        (("--programme", "nope"), "programme"),
        (("--compare-snapshot", "5"), "compare_snapshot"),
        (("--out", str(s.state)), "out: "),  # a directory
        (("--out", str(s.state / "no-such-dir" / "r.html")), "out: "),
    ):
        bad = s.ifss("report", *args, actor=SUP)
        assert bad.returncode == 2 and field in bad.stderr, (args, bad.stderr)
    assert "follow_up" in ok(s, "cases", "--phase", "follow_up")
    bad_moment = s.ifss("history", "c1", "--as-of", "yesterday", actor=SUP)
    assert bad_moment.returncode == 2 and "as_of" in bad_moment.stderr
    unknown = s.ifss("history", "nobody", actor=SUP)
    assert unknown.returncode == 2 and "no case nobody" in unknown.stderr
    bad_window = s.ifss("reviews", "--due-within", "soon")
    assert bad_window.returncode == 2 and "due_within" in bad_window.stderr
    bad_name = s.ifss("projections", "rebuild", "nonsense")
    assert bad_name.returncode == 2 and "unknown projection" in bad_name.stderr

    # Users, a token, and the HTTP API served by the same dev stack.
    assert "user sup-morgan: supervisor, team cardiff" in ok(
        s, "users", "add", "sup-morgan", "--role", "supervisor", "--team", "cardiff", actor=None
    )
    token = ok(s, "tokens", "create", "sup-morgan", actor=None).strip()
    assert token.startswith("ifss_")
    bad_role = s.ifss("users", "add", "x1", "--role", "boss", "--team", "cardiff")
    assert bad_role.returncode == 2 and "role" in bad_role.stderr
    no_user = s.ifss("tokens", "create", "nobody")
    assert no_user.returncode == 2 and "no user nobody" in no_user.stderr
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    listed = httpx.get(f"{s.api_url}/cases", headers=auth, timeout=10)
    assert listed.status_code == 200 and [c["case_id"] for c in listed.json()] == ["c1"]
    assert httpx.get(f"{s.api_url}/cases", timeout=10).status_code == 401
    assert (
        httpx.get(f"{s.api_url}/openapi.json", timeout=10).json()["info"]["title"] == "ifss-engine"
    )

    # A lost token is revoked by its id: the next request with it is refused.
    token_id = token.split("_")[1]
    assert token_id in ok(s, "tokens", "list", "sup-morgan", actor=None)
    assert f"revoked token {token_id} of sup-morgan" in ok(
        s, "tokens", "revoke", token_id, actor=None
    )
    assert httpx.get(f"{s.api_url}/cases", headers=auth, timeout=10).status_code == 401
    again = s.ifss("tokens", "revoke", token_id)
    assert again.returncode == 2 and "was revoked already" in again.stderr

    # Someone who leaves is deactivated: every token of theirs stops working.
    second = ok(s, "tokens", "create", "sup-morgan", actor=None).strip()
    fresh = {"Authorization": f"Bearer {second}"}
    assert httpx.get(f"{s.api_url}/cases", headers=fresh, timeout=10).status_code == 200
    assert "user sup-morgan: inactive" in ok(s, "users", "deactivate", "sup-morgan", actor=None)
    assert httpx.get(f"{s.api_url}/cases", headers=fresh, timeout=10).status_code == 401
    # ... and the CLI no longer acts as them either; nor as anyone with another role, nor
    # with a token that is not one (IFSS_TOKEN: the CLI authenticates as the API does).
    gone = s.ifss("case", "accept", "c1", actor="sup-morgan:supervisor")
    assert gone.returncode == 2 and "actor: user sup-morgan is deactivated" in gone.stderr
    posing = s.ifss("case", "show", "c1", actor="cm-jones:supervisor")
    assert (
        posing.returncode == 2 and "cm-jones is a case_manager, not a supervisor" in posing.stderr
    )
    forged = dict(s.env, IFSS_TOKEN="ifss_nope_nope")
    with_token = subprocess.run(
        [IFSS, "case", "show", "c1"], env=forged, capture_output=True, text=True, timeout=60
    )
    assert with_token.returncode == 2 and "IFSS_TOKEN: the token is unknown" in with_token.stderr
    sup_token = ok(s, "tokens", "create", "sup-evans", actor=None).strip()
    as_token = subprocess.run(
        [IFSS, "case", "show", "c1", "--json"],
        env=dict(s.env, IFSS_TOKEN=sup_token),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert as_token.returncode == 0, as_token.stderr
    # Every `case show` above is in the case's access log, refusals included.
    log = httpx.get(
        f"{s.api_url}/cases/c1/access-log",
        headers={"Authorization": f"Bearer {sup_token}"},
        timeout=10,
    ).json()
    seen = {(e["actor_id"], e["view"], e["interface"], e["allowed"]) for e in log}
    assert ("sup-evans", "summary", "cli", True) in seen
    assert ("cm-jones", "list:cases", "cli", True) in seen  # `ifss cases` names what it showed
    nobody = s.ifss("users", "deactivate", "nobody")
    assert nobody.returncode == 2 and "no user nobody" in nobody.stderr
