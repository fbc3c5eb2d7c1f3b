"""Whole-process fixtures: a running `ifss dev` on free ports in a temporary state dir."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.keys import MASTER_KEY

IFSS = str(Path(sys.executable).parent / "ifss")
WEBHOOK_SECRET = "e2e-webhook-secret"


# Ports for a stack's servers, below the kernel's ephemeral range (32768-60999 on Linux):
# a port handed out as free there can be taken by any socket bound to port 0 (the Temporal
# dev server's own internal services, a client's outgoing connection, the other test
# process's stack) before the server binds it; it happened ("bind: address already in use").
STACK_PORTS = range(20000, 32000)


def free_ports(count: int) -> list[int]:
    """``count`` different ports, free now, from ``STACK_PORTS`` (picked at random, so the
    two test processes seldom try the same), held open together while they are picked."""
    rng = random.SystemRandom()
    sockets: list[socket.socket] = []
    try:
        while len(sockets) < count:
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", rng.choice(STACK_PORTS)))
            except OSError:  # in use: another
                sock.close()
                continue
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """A port for a server of a test's own (see ``STACK_PORTS``)."""
    return free_ports(1)[0]


def processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        with_path = str(path) in " ".join(proc.info["cmdline"] or [])
        if with_path:
            found.append(proc)
    return found


@dataclass
class DevStack:
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    state: Path
    log: Path

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['IFSS_API_PORT']}"

    def output(self) -> str:
        return self.log.read_text()

    def ifss(self, *args: str, actor: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if actor:
            env["IFSS_ACTOR"] = actor
        return subprocess.run(
            [IFSS, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.state.parent,
        )


def dev_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an `ifss dev` of its own: state dir and ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFSS_")}
    env["IFSS_MASTER_KEY"] = MASTER_KEY  # the run's key (tests.keys)
    temporal, ui, api = free_ports(3)
    env.update(
        IFSS_STATE_DIR=str(tmp_path / "state"),
        IFSS_TEMPORAL_PORT=str(temporal),
        IFSS_TEMPORAL_UI_PORT=str(ui),
        IFSS_API_PORT=str(api),
        IFSS_LOG_FORMAT="json",
        IFSS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        COLUMNS="240",  # wide tables: the assertions read cells, not Rich's line wrapping
        **extra,
    )
    return env


def start_dev(tmp_path: Path, **extra: str) -> DevStack:
    env = dev_env(tmp_path, **extra)
    state = Path(env["IFSS_STATE_DIR"])
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [IFSS, "dev"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    stack = DevStack(proc, env, state, log)
    wait_until_ready(stack.process, stack.output)
    # The council's first admin (the CLI acts only as existing users; tests/e2e/stack_cli).
    added = stack.ifss("users", "add", "ad-root", "--role", "admin")
    assert added.returncode == 0 or "already exists" in added.stderr, added.stdout + added.stderr
    return stack


def wait_until_ready(process: subprocess.Popen[bytes], output: Callable[[], str]) -> None:
    deadline = time.monotonic() + 120
    while "ifss dev: ready" not in output():
        assert process.poll() is None, output()
        assert time.monotonic() < deadline, "ifss dev did not become ready"
        time.sleep(0.3)


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[DevStack]:
    stack = start_dev(tmp_path)
    try:
        yield stack
    finally:
        if stack.process.poll() is None:
            stack.process.terminate()
            try:
                stack.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                stack.process.kill()
        for leftover in processes_using(stack.state):
            leftover.kill()
