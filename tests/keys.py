"""One master key for the whole test run, in the environment, so every process the suite
starts (workers, `ifss dev`, the CLI) and every store it opens wrap keys alike."""

from __future__ import annotations

import os

from events.keys import Keyring, MasterKeys, generate_master_key

MASTER_KEY = os.environ.setdefault("IFSS_MASTER_KEY", generate_master_key())


def keyring() -> Keyring:
    """A keyring on the run's master key."""
    return Keyring(MasterKeys.load(key=MASTER_KEY, key_file=None))
