"""`ifss dev` starts the embedded stack and stops every process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

IFSS = str(Path(sys.executable).parent / "ifss")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(path) in cmdline:
            found.append(proc)
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_dev_starts_and_stops_leaving_no_process(tmp_path: Path, stop_signal: int) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFSS_")}
    env.update(
        IFSS_STATE_DIR=str(state),
        IFSS_TEMPORAL_PORT=str(free_port()),
        IFSS_TEMPORAL_UI_PORT=str(free_port()),
        IFSS_LOG_FORMAT="json",
    )
    out = (tmp_path / "out.log").open("w+")
    proc = subprocess.Popen(
        [IFSS, "dev"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 120
        while "ifss dev: ready" not in Path(out.name).read_text():
            assert proc.poll() is None, Path(out.name).read_text()
            assert time.monotonic() < deadline, "ifss dev did not become ready"
            time.sleep(0.3)
        text = Path(out.name).read_text()
        assert "PostgreSQL" in text and "Temporal UI" in text
        children = processes_using(state)
        names = {p.name() for p in children}
        assert "postgres" in names, names
        assert "temporal" in names, names

        proc.send_signal(stop_signal)
        assert proc.wait(timeout=60) == 0, Path(out.name).read_text()
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"left running: {[p.pid for p in alive]}"
        assert processes_using(state) == []
        assert "stopped" in Path(out.name).read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        for leftover in processes_using(state):
            leftover.kill()
        out.close()
