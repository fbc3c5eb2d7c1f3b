"""The master key from the settings: the engine does not start without one."""

from __future__ import annotations

import os

import structlog

from events.keys import KeyProblem, Keyring, MasterKeys, generate_master_key
from workers.checks import ConfigurationError
from workers.settings import Settings

log = structlog.get_logger(__name__)


def load_keyring(settings: Settings, *, embedded: bool) -> Keyring:
    """A keyring on the configured master key. With none configured, the embedded dev
    database (``embedded``) gets ``<IFSS_STATE_DIR>/master.key``, made once (mode 0600);
    anything else is refused: no personal data is ever written in clear."""
    key = settings.master_key.get_secret_value() if settings.master_key else None
    previous = (
        settings.previous_master_keys.get_secret_value() if settings.previous_master_keys else None
    )
    key_file = settings.master_key_file
    if key is None and key_file is None and embedded:
        key_file = settings.state_dir / "master.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(generate_master_key() + "\n")
            log.warning("dev_master_key_created", path=str(key_file))
    try:
        return Keyring(MasterKeys.load(key=key, key_file=key_file, previous=previous))
    except KeyProblem as exc:
        raise ConfigurationError(str(exc)) from None
