"""Keys and the things that guard personal data, without a database: master keys from the
settings, sealing and opening, the payload codec, the log scrubber."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from events.keys import (
    DataKey,
    LocalMasterKey,
    MasterKeyInvalid,
    MasterKeyMissing,
    MasterKeys,
    MasterKeyWrong,
    PersonalDataTampered,
    coded,
    generate_master_key,
)
from workers.checks import ConfigurationError
from workers.keys import load_keyring
from workers.log import REMOVED, drop_personal
from workers.settings import Settings
from workflows.codec import ENCODING, REFUSED, SealedPayloadCodec


def test_master_keys_from_the_settings_and_their_refusals(tmp_path: Path) -> None:
    key = generate_master_key()
    assert MasterKeys.load(key=key, key_file=None).current.key_id.startswith("local:")
    with pytest.raises(MasterKeyMissing, match="no master key: set IFSS_MASTER_KEY"):
        MasterKeys.load(key=None, key_file=None)
    with pytest.raises(MasterKeyInvalid, match="IFSS_MASTER_KEY: not base64"):
        MasterKeys.load(key="not a key!", key_file=None)
    short = base64.b64encode(os.urandom(16)).decode()
    with pytest.raises(MasterKeyInvalid, match="32 bytes in base64, this one is 16"):
        MasterKeys.load(key=short, key_file=None)
    with pytest.raises(MasterKeyMissing, match="does not exist"):
        MasterKeys.load(key=None, key_file=tmp_path / "missing.key")
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    with pytest.raises(MasterKeyInvalid, match="is empty"):
        MasterKeys.load(key=None, key_file=empty)
    both = tmp_path / "k"
    both.write_text(key)
    with pytest.raises(MasterKeyInvalid, match="not both"):
        MasterKeys.load(key=key, key_file=both)
    old = generate_master_key()
    rotating = tmp_path / "rotating.key"
    rotating.write_text(f"{key}\n{old}\n")
    keys = MasterKeys.load(key=None, key_file=rotating)
    assert keys.current.key_id == LocalMasterKey.from_text(key, source="t").key_id
    assert keys.get(LocalMasterKey.from_text(old, source="t").key_id) is keys.previous[0]
    with pytest.raises(MasterKeyWrong, match="not configured"):
        keys.get("local:0000")


def test_no_key_no_start_except_the_embedded_dev_database(tmp_path: Path) -> None:
    # (explicit None: the test run's own key is in the environment)
    settings = Settings(
        state_dir=tmp_path / "state", database_url="postgresql://db/x", master_key=None
    )
    with pytest.raises(ConfigurationError, match="no master key"):
        load_keyring(settings, embedded=False)
    dev = Settings(state_dir=tmp_path / "state", master_key=None)
    first = load_keyring(dev, embedded=True)
    made = tmp_path / "state" / "master.key"
    assert made.stat().st_mode & 0o777 == 0o600
    assert load_keyring(dev, embedded=True).master_key_id == first.master_key_id  # made once


def test_a_sealed_part_opens_only_where_it_was_sealed() -> None:
    key = DataKey(uuid.uuid4(), os.urandom(32))
    event = uuid.uuid4()
    sealed = key.seal(b'{"name":"x"}', stream_id="case-c1", event_id=event, place="personal")
    # The same event sealed again gives the same bytes: a retry is the same event.
    assert sealed == key.seal(
        b'{"name":"x"}', stream_id="case-c1", event_id=event, place="personal"
    )
    assert (
        key.open(sealed, stream_id="case-c1", event_id=event, place="personal") == b'{"name":"x"}'
    )
    for where in (
        {"stream_id": "case-c2", "event_id": event, "place": "personal"},
        {"stream_id": "case-c1", "event_id": uuid.uuid4(), "place": "personal"},
        {"stream_id": "case-c1", "event_id": event, "place": "children.0.personal"},
    ):
        with pytest.raises(PersonalDataTampered, match="does not open"):
            key.open(sealed, **where)  # type: ignore[arg-type]
    other = DataKey(key.key_id, os.urandom(32))
    with pytest.raises(PersonalDataTampered):
        other.open(sealed, stream_id="case-c1", event_id=event, place="personal")
    with pytest.raises(PersonalDataTampered):
        key.open("%%% not base64", stream_id="case-c1", event_id=event, place="personal")


def test_readers_without_a_key_see_the_coded_payload() -> None:
    sealed = {"sealed": "A256GCM", "kid": str(uuid.uuid4()), "ct": "AAAA"}
    data = {
        "case_id": "c1",
        "personal": sealed,
        "children": [{"child_id": "ch1", "personal": sealed}, {"child_id": "ch2"}],
    }
    assert coded(data) == {"case_id": "c1", "children": [{"child_id": "ch1"}, {"child_id": "ch2"}]}
    assert coded({"case_id": "c1"}) == {"case_id": "c1"}


async def test_the_payload_codec_seals_opens_and_refuses_clear_payloads() -> None:
    old_key, new_key = generate_master_key(), generate_master_key()
    before = SealedPayloadCodec(MasterKeys.load(key=old_key, key_file=None))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"family_name":"Quillfeather"}')
    [sealed] = await before.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    assert b"Quillfeather" not in sealed.SerializeToString()
    assert await before.decode([sealed]) == [plain]
    # In clear: not the engine's (anyone reaching Temporal could send it), so a workflow
    # gets it in an encoding nothing reads; a person reading it (the codec endpoint) sees
    # it as it is; histories from before the codec replay when so configured.
    [refused] = await before.decode([plain])
    assert refused.metadata["encoding"] == REFUSED and refused.data == b""
    assert await before.open([plain]) == [plain]
    assert await before.open([sealed]) == [plain]
    legacy = SealedPayloadCodec(MasterKeys.load(key=old_key, key_file=None), accept_unsealed=True)
    assert await legacy.decode([plain]) == [plain]
    after = SealedPayloadCodec(MasterKeys.load(key=new_key, key_file=None, previous=old_key))
    assert await after.decode([sealed]) == [plain]  # a history from before a rotation
    stranger = SealedPayloadCodec(MasterKeys.load(key=new_key, key_file=None))
    with pytest.raises(MasterKeyWrong, match="not configured"):
        await stranger.decode([sealed])
    flipped = bytes([sealed.data[-1] ^ 0x01])  # always another byte (a fixed one could be the same)
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + flipped)
    with pytest.raises(PersonalDataTampered, match="altered"):
        await before.decode([tampered])


def test_the_log_scrubber_removes_personal_parts_and_fields() -> None:
    entry = {
        "event": "command_refused",
        "case_id": "c1",
        "notes": "Zephyrine said…",
        "command": {
            "personal": {"family_name": "Q"},
            "children": [{"name": "Z", "child_id": "ch1"}],
        },
    }
    out = drop_personal(None, "info", entry)
    assert out["notes"] == REMOVED
    assert out["command"]["personal"] == REMOVED
    assert out["command"]["children"] == [{"name": REMOVED, "child_id": "ch1"}]
    assert out["case_id"] == "c1"
