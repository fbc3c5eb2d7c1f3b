"""`ifss dev` always stops, and never adopts what is in its way: a reader of its output
that has gone, a request that is stuck, SIGKILL, a taken port, a second stack on one
state dir, PostgreSQL left running by a stack that was killed outright."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.e2e.conftest import (
    IFSS,
    dev_env,
    processes_using,
    start_dev,
    wait_until_ready,
)
from tests.e2e.stack_cli import REGISTER_CARDIFF

pytestmark = pytest.mark.e2e


def gone_within(state: Path, seconds: float) -> list[int]:
    """Pids still running from ``state`` after ``seconds`` (empty: all gone)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p.pid for p in processes_using(state) if p.status() != psutil.STATUS_ZOMBIE]
        if not left:
            return []
        time.sleep(0.2)
    return [p.pid for p in processes_using(state)]


def kill_leftovers(state: Path) -> None:
    for leftover in processes_using(state):
        leftover.kill()


def test_ctrl_c_stops_everything_when_the_reader_of_its_output_has_gone(tmp_path: Path) -> None:
    # `make run 2>&1 | tee run.log`, then Ctrl-C: tee dies first, the pipe breaks.
    env = dev_env(tmp_path)
    state = Path(env["IFSS_STATE_DIR"])
    proc = subprocess.Popen(
        [IFSS, "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    try:
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + 120
        while b"ifss dev: ready" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen.decode()
            seen += proc.stdout.read1(65536)
        assert {p.name() for p in processes_using(state)} >= {"postgres", "temporal"}
        proc.stdout.close()  # the reader goes away
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert gone_within(state, 15) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_leftovers(state)


def test_a_stuck_request_does_not_hold_up_stopping(tmp_path: Path) -> None:
    stack = start_dev(tmp_path, IFSS_SHUTDOWN_GRACE_SECONDS="2")
    try:
        assert stack.ifss(*REGISTER_CARDIFF, actor="ad-root:admin").returncode == 0
        assert (
            stack.ifss(
                "users", "add", "bs-price", "--role", "business_support", "--team", "cardiff"
            ).returncode
            == 0
        )
        token = stack.ifss("tokens", "create", "bs-price").stdout.strip().split()[-1]
        port = int(stack.env["IFSS_API_PORT"])
        with socket.create_connection(("127.0.0.1", port)) as stuck:
            # Signed in, so the body is awaited: half of it is sent, the rest never comes.
            stuck.sendall(
                b"POST /referrals HTTP/1.1\r\nHost: ifss\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 400\r\n\r\n"
                b'{"case_id": "c1", '
            )
            time.sleep(0.5)
            started = time.monotonic()
            stack.process.send_signal(signal.SIGTERM)
            assert stack.process.wait(timeout=45) == 0, stack.output()
            assert time.monotonic() - started < 30
        assert gone_within(stack.state, 15) == []
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        kill_leftovers(stack.state)


def test_commands_in_flight_when_it_stops_are_answered_not_failed(tmp_path: Path) -> None:
    """The worker stops after the API has answered what it was asked: commands in flight at
    a stop are recorded and answered (before, the worker stopped first and each such
    command waited out the grace period, then failed with a 500 although it was recorded
    once the worker came back); the API's own log records stay JSON."""
    import concurrent.futures
    import urllib.error
    import urllib.request
    from datetime import date

    from tests.api_client import REFERRAL

    stack = start_dev(tmp_path, IFSS_SHUTDOWN_GRACE_SECONDS="10")
    try:
        assert stack.ifss(*REGISTER_CARDIFF, actor="ad-root:admin").returncode == 0
        add = ["users", "add", "bs-price", "--role", "business_support", "--team", "cardiff"]
        assert stack.ifss(*add).returncode == 0
        token = stack.ifss("tokens", "create", "bs-price").stdout.strip().split()[-1]
        url = f"http://127.0.0.1:{stack.env['IFSS_API_PORT']}/referrals"

        def refer(n: int) -> int:
            referral = {**REFERRAL, "family_id": f"fam-stop-{n}"}
            referral["received_on"] = date.today().isoformat()
            body = {"case_id": f"stop-{n}", "referral": referral}
            request = urllib.request.Request(
                url,
                data=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    return int(answer.status)
            except urllib.error.HTTPError as exc:
                return exc.code
            except (urllib.error.URLError, ConnectionError):
                return 0  # sent after the API stopped listening: never taken

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            asked = [pool.submit(refer, n) for n in range(12)]
            time.sleep(0.15)
            stack.process.send_signal(signal.SIGTERM)
            answers = [f.result() for f in asked]
        assert stack.process.wait(timeout=60) == 0, stack.output()
        assert 500 not in answers and set(answers) <= {0, 201, 503}, answers
        assert 201 in answers, answers
        for line in stack.output().splitlines():
            if line.startswith("{"):
                continue
            assert "Traceback" not in line and "Exception in ASGI" not in line, line
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        kill_leftovers(stack.state)


def test_the_temporal_server_dying_stops_the_stack_saying_so(tmp_path: Path) -> None:
    """Without its Temporal server every command would wait and fail: the stack stops
    with it, exit 1, naming it (it ran on, answering 503 to everything)."""
    stack = start_dev(tmp_path)
    try:
        record = json.loads((stack.state / "dev.lock").read_text())
        os.killpg(record["temporal_pgid"], signal.SIGKILL)
        assert stack.process.wait(timeout=60) == 1, stack.output()
        assert "the Temporal dev server stopped" in stack.output()
        assert gone_within(stack.state, 15) == []
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        kill_leftovers(stack.state)


def test_sigkill_of_ifss_dev_leaves_no_server_running(tmp_path: Path) -> None:
    stack = start_dev(tmp_path)
    try:
        record = json.loads((stack.state / "dev.lock").read_text())
        assert record["pid"] == stack.process.pid and record["temporal_pgid"] > 0
        assert {p.name() for p in processes_using(stack.state)} >= {"postgres", "temporal"}
        stack.process.kill()
        stack.process.wait(timeout=10)
        assert gone_within(stack.state, 30) == [], "the watchdog should have stopped them"
    finally:
        kill_leftovers(stack.state)


def test_what_is_in_the_way_is_refused_never_adopted(tmp_path: Path) -> None:
    # A port taken by something else: refused before anything starts.
    env = dev_env(tmp_path)
    state = Path(env["IFSS_STATE_DIR"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["IFSS_TEMPORAL_PORT"])))
        squatter.listen()
        refused = subprocess.run(
            [IFSS, "dev"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"IFSS_TEMPORAL_PORT: port {env['IFSS_TEMPORAL_PORT']} is in use" in refused.stderr
    assert processes_using(state) == []

    # A second stack on the same state dir, while the first runs.
    first = start_dev(tmp_path)
    try:
        second = subprocess.run(
            [IFSS, "dev"],
            env={**first.env, "IFSS_API_PORT": str(_free()), "IFSS_TEMPORAL_PORT": str(_free())},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert second.returncode == 2
        assert f"another `ifss dev` (pid {first.process.pid})" in second.stderr.replace("\n", " ")
        assert first.process.poll() is None  # untouched

        # Killed outright with its watchdog (kill -9 of both): PostgreSQL is left running.
        watchdog = next(
            p for p in processes_using(first.state) if "workers.watchdog" in p.cmdline()
        )
        os.kill(watchdog.pid, signal.SIGKILL)
        first.process.kill()
        first.process.wait(timeout=10)
        for p in processes_using(first.state):
            if "temporal" in p.name():
                p.kill()
        again = subprocess.run(
            [IFSS, "dev"], env=first.env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert again.returncode == 2
        assert "is still running on" in again.stderr and "--stop-leftovers" in again.stderr
        cleaned = subprocess.run(
            [IFSS, "dev", "--stop-leftovers"],
            env=first.env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert cleaned.returncode == 0 and "PostgreSQL on" in cleaned.stdout, cleaned.stderr
        assert gone_within(first.state, 15) == []
        restarted = start_dev(tmp_path)
        restarted.process.send_signal(signal.SIGTERM)
        assert restarted.process.wait(timeout=60) == 0
    finally:
        if first.process.poll() is None:
            first.process.kill()
        kill_leftovers(first.state)


def _free() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ready_means_the_api_answers(tmp_path: Path) -> None:
    env = dev_env(tmp_path)
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen([IFSS, "dev"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(proc, log.read_text)
        with socket.create_connection(("127.0.0.1", int(env["IFSS_API_PORT"])), timeout=5):
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        kill_leftovers(Path(env["IFSS_STATE_DIR"]))


def test_a_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    stack = start_dev(tmp_path, IFSS_SHUTDOWN_GRACE_SECONDS="60")
    try:
        assert {p.name() for p in processes_using(stack.state)} >= {"postgres", "temporal"}
        stack.process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        started = time.monotonic()
        stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(timeout=30) == 130
        assert time.monotonic() - started < 25
        assert gone_within(stack.state, 15) == []
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        kill_leftovers(stack.state)
