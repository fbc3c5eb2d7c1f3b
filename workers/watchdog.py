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

from workers.supervision import read_record, stop_recorded

POLL_SECONDS = 0.5


def main(argv: list[str]) -> int:
    parent, lock_file = int(argv[0]), Path(argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    stop_recorded(read_record(lock_file))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
