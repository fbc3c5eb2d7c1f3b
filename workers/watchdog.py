"""The watchdog of one `ifss dev`: ``python -m workers.watchdog PARENT_PID LOCK_FILE``.

It waits while its parent lives. If the parent is gone without having stopped its
children (killed with SIGKILL, crashed), it stops the Temporal dev server and the
embedded PostgreSQL recorded in the lock file, then exits. A parent that stops normally
stops its children itself and then ends the watchdog with SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from workers.supervision import Refused, StackLock, children_of, stop_recorded

POLL_SECONDS = 0.5


def main(argv: list[str]) -> int:
    parent, lock_file = int(argv[0]), Path(argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    # The parent is gone and its lock with it: hold the lock (so no new `ifss dev` starts
    # on this state dir meanwhile), stop what the parent recorded, take it off the record.
    lock = StackLock(lock_file.parent)
    try:
        lock.acquire(wait_seconds=30)
    except Refused:  # a new `ifss dev` holds it: its own checks refuse what is in the way
        return 1
    try:
        stop_recorded(children_of(lock.previous))
        lock.forget("leftovers")
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
