"""With `ifss dev` up: an alert reaches a signed webhook, `ifss alerts` lists it, and
acknowledging it takes it off the open list."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.e2e.conftest import WEBHOOK_SECRET, DevStack
from tests.e2e.stack_cli import ADMIN, CM, REFER_C1, REGISTER_CARDIFF, SUP, ok, show, staff
from tests.receivers import WebhookReceiver

pytestmark = pytest.mark.e2e


def until(check: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_alerts_from_the_cli_with_a_webhook(dev_stack: DevStack) -> None:
    s = dev_stack
    receiver = WebhookReceiver()
    receiver.start()
    try:
        ok(s, *REGISTER_CARDIFF, actor=ADMIN)
        ok(s, "users", "add", "cm-jones", "--role", "case_manager", "--team", "cardiff")
        ok(s, "users", "add", "sup-evans", "--role", "supervisor", "--team", "cardiff")
        staff(s, "bs-price")
        assert "webhook" in ok(s, "users", "set-alerts", "cm-jones", "--webhook", receiver.url)
        bad = s.ifss("users", "set-alerts", "cm-jones", "--webhook", "ftp://nowhere")
        assert bad.returncode == 2 and "webhook:" in bad.stderr
        ok(s, "team", "add-worker", "cardiff", "cm-jones", "--limit", "3", actor=SUP)
        ok(
            s,
            *REFER_C1,
            actor="bs-price:business_support",
        )
        ok(s, "case", "accept", "c1", actor=SUP)
        until(lambda: show(s, "c1")["phase"] == "allocated", "never allocated")
        ok(s, "case", "change-child-status", "c1", "child_id=ch1", "status=cpr", actor=SUP)

        until(lambda: receiver.processed, "the webhook got nothing")
        request = receiver.requests[-1]
        signature = (
            "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        )
        assert request.headers["X-IFSS-Signature"] == signature
        assert json.loads(request.body)["rule"] == "child_status_escalated"

        until(lambda: "case-c1:a1" in ok(s, "alerts", actor=CM), "not in the inbox")
        listing = ok(s, "alerts", actor=CM)
        assert "child status escalated" in listing and "high" in listing
        assert "case-c1:a1" in ok(s, "alerts", actor=SUP)  # the team's supervisor too
        # Who was told, how and when: the delivery outcome, in the inbox.
        until(lambda: "cm-jones by webhook" in ok(s, "alerts", actor=SUP), "delivery not shown")

        missing = s.ifss("alerts", "ack", "case-c1:a9", actor=CM)
        assert missing.returncode == 2 and "no alert case-c1:a9" in missing.stderr
        stranger = s.ifss("alerts", actor="cm-nobody:case_manager")
        assert stranger.returncode == 2 and "actor: no user cm-nobody" in stranger.stderr
        assert "acknowledged case-c1:a1" in ok(s, "alerts", "ack", "case-c1:a1", actor=CM)
        until(lambda: "no open alerts" in ok(s, "alerts", actor=CM), "still open")
        assert "acknowledged by cm-jones" in ok(s, "alerts", "--all", actor=CM)
        again = s.ifss("alerts", "ack", "case-c1:a1", actor=CM)
        assert again.returncode == 2 and "acknowledged already" in again.stderr
    finally:
        receiver.stop()
