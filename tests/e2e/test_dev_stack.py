"""`ifss dev` starts the embedded stack and stops every process it started."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest

from tests.e2e.conftest import processes_using, start_dev

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_dev_starts_and_stops_leaving_no_process(tmp_path: Path, stop_signal: int) -> None:
    stack = start_dev(tmp_path)
    try:
        text = stack.output()
        assert "PostgreSQL" in text and "Temporal UI" in text
        children = processes_using(stack.state)
        names = {p.name() for p in children}
        assert "postgres" in names, names
        assert "temporal" in names, names

        stack.process.send_signal(stop_signal)
        assert stack.process.wait(timeout=60) == 0, stack.output()
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"left running: {[p.pid for p in alive]}"
        assert processes_using(stack.state) == []
        assert "ifss dev: stopped" in stack.output()
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        for leftover in processes_using(stack.state):
            leftover.kill()
