"""Personal data sealed per family: envelope encryption of every event's ``personal`` parts.

* Each family has a **data key** (AES-256-GCM), stored only wrapped by a **master key**
  (the key-encryption key: ``IFSS_MASTER_KEY`` or a key file; ``MasterKey`` is the small
  interface a cloud KMS plugs into). A case stream is tied to its family's key when its
  first personal part is sealed.
* A sealed part is stored in place of the plaintext as
  ``{"sealed": "A256GCM", "kid": <data key id>, "ct": <base64 nonce ‖ ciphertext>}``; the
  associated data binds it to its stream, event and place in the payload, so a sealed part
  moved elsewhere does not open. The nonce is derived from the event id and the place under
  the family key: the same event sealed twice gives the same bytes, so a retried append is
  recognised as the same event (a different event never shares an id: the store refuses).
* Rotating the master key re-wraps the data keys; no event is rewritten. Destroying a
  family's data keys erases its personal data for good, while the ciphertext (and so the
  hash chain over it) stays intact.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeAlias
from uuid import UUID

import asyncpg
import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from events.db import Conn

# A connection, or a pool to borrow one from.
Executor: TypeAlias = "Conn | asyncpg.Pool"

ALGORITHM = "A256GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
# How long an unwrapped data key is kept in a process for appends: a key destroyed by an
# erasure in another process may still seal (never open) for this long.
CACHE_SECONDS = 60.0
CACHE_ENTRIES = 10_000


class KeyProblem(RuntimeError):
    """Something is wrong with a key; the message says what, never the key itself."""


class MasterKeyMissing(KeyProblem):
    """No master key configured: the engine refuses to run rather than write plaintext."""


class MasterKeyInvalid(KeyProblem):
    """The configured master key is not a 32-byte key in base64."""


class MasterKeyWrong(KeyProblem):
    """The configured master key is not the one this database's keys are wrapped with."""


class PersonalDataErased(KeyProblem):
    """The family's data key was destroyed: its personal data can never be read again."""


class PersonalDataTampered(KeyProblem):
    """A sealed part does not open under its key: edited, moved or corrupted."""


# --- master keys (key-encryption keys) ---------------------------------------------------


class MasterKey(Protocol):
    """A key-encryption key: wraps and unwraps data keys. A cloud KMS plugs in here."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes: ...

    def payload_key(self) -> bytes:
        """A 32-byte key for the Temporal payload codec, bound to this master key."""
        ...


class LocalMasterKey:
    """A 256-bit master key held by the process (from the environment or a key file)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise MasterKeyInvalid(f"a master key must be {KEY_BYTES} bytes, not {len(secret)}")
        self._aead = AESGCM(secret)
        self._payload_key = HKDF(
            algorithm=SHA256(), length=KEY_BYTES, salt=None, info=b"ifss-temporal-payloads"
        ).derive(secret)
        # An id that names the key without revealing it (a digest of a 256-bit secret).
        self._id = "local:" + hashlib.sha256(b"ifss-master-key-id:" + secret).hexdigest()[:16]

    @classmethod
    def from_text(cls, text: str, *, source: str) -> LocalMasterKey:
        """A key written as base64 (what ``ifss keys generate`` prints); ``source`` names
        the variable or file in the error."""
        try:
            secret = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise MasterKeyInvalid(
                f"{source}: not base64 (generate one with `ifss keys generate`)"
            ) from None
        if len(secret) != KEY_BYTES:
            raise MasterKeyInvalid(
                f"{source}: a master key is {KEY_BYTES} bytes in base64, this one is {len(secret)}"
            )
        return cls(secret)

    @property
    def key_id(self) -> str:
        return self._id

    def payload_key(self) -> bytes:
        return self._payload_key

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag:
            raise MasterKeyWrong(
                f"a data key wrapped by {self._id} does not unwrap: the key row was altered"
            ) from None


def generate_master_key() -> str:
    """A new random master key, in base64."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


@dataclass(frozen=True)
class MasterKeys:
    """The master key new data keys are wrapped with, and older ones still accepted for
    unwrapping while a rotation is under way."""

    current: MasterKey
    previous: tuple[MasterKey, ...] = ()

    def get(self, key_id: str) -> MasterKey:
        for key in (self.current, *self.previous):
            if key.key_id == key_id:
                return key
        raise MasterKeyWrong(
            f"data keys are wrapped by master key {key_id}, which is not configured "
            "(IFSS_MASTER_KEY, or IFSS_PREVIOUS_MASTER_KEYS during a rotation)"
        )

    @classmethod
    def load(
        cls,
        *,
        key: str | None,
        key_file: Path | None,
        previous: str | None = None,
    ) -> MasterKeys:
        """From ``IFSS_MASTER_KEY`` or ``IFSS_MASTER_KEY_FILE`` (one base64 key on its first
        line; further lines are previous keys), plus ``IFSS_PREVIOUS_MASTER_KEYS``
        (comma-separated). Raises ``MasterKeyMissing`` / ``MasterKeyInvalid``."""
        if key and key_file:
            raise MasterKeyInvalid("set IFSS_MASTER_KEY or IFSS_MASTER_KEY_FILE, not both")
        lines: list[tuple[str, str]] = []
        if key:
            lines.append((key, "IFSS_MASTER_KEY"))
        elif key_file is not None:
            try:
                text = key_file.read_text(encoding="ascii")
            except FileNotFoundError:
                raise MasterKeyMissing(f"IFSS_MASTER_KEY_FILE: {key_file} does not exist") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise MasterKeyInvalid(
                    f"IFSS_MASTER_KEY_FILE: {key_file} cannot be read ({type(exc).__name__})"
                ) from None
            found = [line.strip() for line in text.splitlines() if line.strip()]
            if not found:
                raise MasterKeyInvalid(f"IFSS_MASTER_KEY_FILE: {key_file} is empty")
            lines.extend((k, f"IFSS_MASTER_KEY_FILE line {n}") for n, k in enumerate(found, 1))
        else:
            raise MasterKeyMissing(
                "no master key: set IFSS_MASTER_KEY or IFSS_MASTER_KEY_FILE "
                "(`ifss keys generate` makes one); the engine does not write personal data "
                "in clear"
            )
        for n, text in enumerate((previous or "").split(","), 1):
            if text.strip():
                lines.append((text, f"IFSS_PREVIOUS_MASTER_KEYS item {n}"))
        keys = [LocalMasterKey.from_text(text, source=source) for text, source in lines]
        return cls(keys[0], tuple(keys[1:]))


# --- sealing and opening -----------------------------------------------------------------


@dataclass(frozen=True)
class DataKey:
    """A family's data key, unwrapped (in memory only)."""

    key_id: UUID
    secret: bytes = field(repr=False)
    _aead: AESGCM = field(init=False, repr=False, compare=False)
    # The nonce PRF keyed once: each nonce is a copy fed the event id and the place (the
    # same bytes as keying a fresh BLAKE2b each time, without hashing the key block again).
    _nonce_prf: Any = field(init=False, repr=False, compare=False)
    _key_id_bytes: bytes = field(init=False, repr=False, compare=False)
    kid: str = field(init=False, compare=False)  # the id as text, as stored

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aead", AESGCM(self.secret))
        object.__setattr__(
            self,
            "_nonce_prf",
            hashlib.blake2b(key=self.secret, digest_size=NONCE_BYTES, person=b"ifss-nonce"),
        )
        object.__setattr__(self, "_key_id_bytes", self.key_id.bytes)
        object.__setattr__(self, "kid", str(self.key_id))

    def seal(self, plaintext: bytes, *, stream_id: str, event_id: UUID, place: str) -> str:
        """``plaintext`` sealed for ``place`` in the event: base64 of nonce ‖ ciphertext.
        The nonce is a keyed BLAKE2b (a PRF) of the event id and the place."""
        event_bytes = event_id.bytes
        prf = self._nonce_prf.copy()
        prf.update(event_bytes + place.encode())
        nonce = prf.digest()
        sealed = self._aead.encrypt(
            nonce, plaintext, _associated(stream_id, event_bytes, place, self._key_id_bytes)
        )
        return base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, text: str, *, stream_id: str, event_id: UUID, place: str) -> bytes:
        try:
            raw = base64.b64decode(text, validate=True)
            return self._aead.decrypt(
                raw[:NONCE_BYTES],
                raw[NONCE_BYTES:],
                _associated(stream_id, event_id.bytes, place, self._key_id_bytes),
            )
        except (InvalidTag, binascii.Error, ValueError):  # ValueError: too short for a nonce
            raise PersonalDataTampered(
                f"the personal data at {place} of event {event_id} in {stream_id} does not "
                "open under its key: it was edited, moved or corrupted"
            ) from None


def _associated(stream_id: str, event_id: bytes, place: str, key_id: bytes) -> bytes:
    # Fixed-width ids first (their 16 bytes each), then the two texts (a stream id never
    # holds a '|').
    return event_id + key_id + f"{place}|{stream_id}".encode()


def is_sealed(value: object) -> bool:
    return isinstance(value, dict) and value.get("sealed") == ALGORITHM


def personal_places(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """Every ``personal`` part of a payload: ``(place, the dict holding it, key)``. Parts
    are at the top and in each child and adult (see ``events.catalogue``)."""
    places = [("personal", data, "personal")] if data.get("personal") is not None else []
    if "children" in data or "adults" in data:
        for group in ("children", "adults"):
            members = data.get(group)
            if isinstance(members, list):
                for n, member in enumerate(members):
                    if isinstance(member, dict) and member.get("personal") is not None:
                        places.append((f"{group}.{n}.personal", member, "personal"))
    return places


def has_personal(data: dict[str, Any]) -> bool:
    return bool(personal_places(data))


def coded(data: dict[str, Any]) -> dict[str, Any]:
    """The payload without its sealed parts (what every reader without the key sees)."""
    if data.get("personal") is None and "children" not in data and "adults" not in data:
        return data  # most events: nothing personal to leave out (a rebuild's hot path)
    if not any(is_sealed(holder[key]) for _, holder, key in personal_places(data)):
        return data
    out = {k: v for k, v in data.items() if not (k == "personal" and is_sealed(v))}
    for group in ("children", "adults"):
        if isinstance(out.get(group), list):
            out[group] = [
                {k: v for k, v in m.items() if not (k == "personal" and is_sealed(v))}
                if isinstance(m, dict)
                else m
                for m in out[group]
            ]
    return out


def sealed_key_ids(data: dict[str, Any]) -> set[UUID]:
    out: set[UUID] = set()
    for _, holder, key in personal_places(data):
        if is_sealed(holder[key]):
            out.add(UUID(holder[key]["kid"]))
    return out


# --- the keyring: data keys in the database ----------------------------------------------

ERASED = "erased"


class Keyring:
    """Data keys of families, wrapped by the master key, in the ``family_keys`` table."""

    def __init__(self, master: MasterKeys) -> None:
        self.master = master
        self._by_stream: dict[str, tuple[float, DataKey]] = {}
        self._registered = False

    @classmethod
    def ephemeral(cls) -> Keyring:
        """A keyring on a random master key that dies with the process (tests, benchmarks)."""
        return cls(MasterKeys(LocalMasterKey(os.urandom(KEY_BYTES))))

    @property
    def master_key_id(self) -> str:
        return self.master.current.key_id

    async def check(self, conn: Executor, *, again: bool = False) -> int:
        """At start-up: the configured master key is the database's (registered when the
        database has none yet, or when a configured previous key proves continuity).
        Returns its version; raises ``MasterKeyWrong``."""
        rows = await conn.fetch("SELECT key_id, version FROM master_keys ORDER BY version")
        known = {r["key_id"]: r["version"] for r in rows}
        current = self.master.current.key_id
        if current in known:
            self._registered = True
            return int(known[current])
        if known and not any(k.key_id in known for k in self.master.previous):
            raise MasterKeyWrong(
                f"the configured master key ({current}) is not this database's "
                f"(it knows {', '.join(f'{k} v{v}' for k, v in known.items())}); to rotate, "
                "configure the old one in IFSS_PREVIOUS_MASTER_KEYS and run `ifss keys rotate`"
            )
        try:
            version = await conn.fetchval(
                "INSERT INTO master_keys (key_id, version) SELECT $1, coalesce(max(version), 0) "
                "+ 1 FROM master_keys ON CONFLICT (key_id) DO UPDATE SET key_id = EXCLUDED.key_id "
                "RETURNING version",
                current,
            )
        except asyncpg.UniqueViolationError:
            # Another writer registered a master key at the same moment (the first appends
            # to a new database, at once): look again; it was this key or it is refused.
            if again:
                raise
            return await self.check(conn, again=True)
        self._registered = True
        return int(version)

    async def key_for_stream(
        self, conn: Executor, stream_id: str, family_id: str | None
    ) -> DataKey:
        """The data key that seals ``stream_id``'s personal parts: the one tied to the stream,
        else the family's live key (made when it has none), tied to the stream now."""
        cached = self._by_stream.get(stream_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        if not self._registered:
            await self.check(conn)
        fresh = DataKey(uuid.uuid4(), os.urandom(KEY_BYTES))
        master = self.master.current
        row = await conn.fetchrow(
            "SELECT key_id, wrapped, master_key_id FROM ifss_stream_key($1, $2, $3, $4, $5)",
            stream_id,
            family_id or stream_id,
            fresh.key_id,
            master.wrap(fresh.secret, _wrap_context(fresh.key_id)),
            master.key_id,
        )
        if row is None or row["wrapped"] is None:
            raise PersonalDataErased(
                f"{stream_id}: the family's personal data was erased; no new personal data "
                "can be recorded under its key"
            )
        key = self._unwrap(row["key_id"], row["wrapped"], row["master_key_id"])
        if len(self._by_stream) >= CACHE_ENTRIES:  # bounded: expired keys go first
            now = time.monotonic()
            self._by_stream = {
                s: (t, k) for s, (t, k) in self._by_stream.items() if now - t < CACHE_SECONDS
            }
            if len(self._by_stream) >= CACHE_ENTRIES:
                self._by_stream.clear()
        self._by_stream[stream_id] = (time.monotonic(), key)
        return key

    def forget(self) -> None:
        """Drop every unwrapped key held in this process (after an erasure)."""
        self._by_stream.clear()

    def _unwrap(self, key_id: UUID, wrapped: bytes, master_key_id: str) -> DataKey:
        secret = self.master.get(master_key_id).unwrap(wrapped, _wrap_context(key_id))
        return DataKey(key_id, secret)

    async def data_keys(self, conn: Executor, key_ids: set[UUID]) -> dict[UUID, DataKey | None]:
        """The data keys named, unwrapped; ``None`` for a destroyed one. Always read from
        the database, so an erasure anywhere is seen at once."""
        if not key_ids:
            return {}
        rows = await conn.fetch(
            "SELECT key_id, wrapped, master_key_id FROM family_keys WHERE key_id = ANY($1)",
            list(key_ids),
        )
        out: dict[UUID, DataKey | None] = {k: None for k in key_ids}
        for r in rows:
            if r["wrapped"] is not None:
                out[r["key_id"]] = self._unwrap(r["key_id"], r["wrapped"], r["master_key_id"])
        return out

    async def rotate(self, conn: Executor) -> int:
        """Re-wrap every live data key under the current master key (events untouched);
        returns how many were re-wrapped. Run with the old key in the previous keys."""
        await self.check(conn)
        rows = await conn.fetch(
            "SELECT key_id, wrapped, master_key_id FROM family_keys "
            "WHERE wrapped IS NOT NULL AND master_key_id <> $1",
            self.master_key_id,
        )
        for r in rows:
            key = self._unwrap(r["key_id"], r["wrapped"], r["master_key_id"])
            await conn.execute(
                "UPDATE family_keys SET wrapped = $2, master_key_id = $3 "
                "WHERE key_id = $1 AND wrapped IS NOT NULL",
                r["key_id"],
                self.master.current.wrap(key.secret, _wrap_context(key.key_id)),
                self.master_key_id,
            )
        self.forget()
        return len(rows)


def _wrap_context(key_id: UUID) -> bytes:
    return f"ifss-data-key|{key_id}".encode()


async def open_personal(
    keyring: Keyring,
    conn: Executor,
    events: list[tuple[str, UUID, dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Each ``(stream_id, event_id, stored payload)`` with its sealed parts opened; a part
    whose key was destroyed reads ``"erased"``. Raises ``PersonalDataTampered``."""
    wanted: set[UUID] = set()
    for _, _, data in events:
        wanted |= sealed_key_ids(data)
    keys = await keyring.data_keys(conn, wanted)
    out: list[dict[str, Any]] = []
    for stream_id, event_id, data in events:
        opened = orjson.loads(orjson.dumps(data))  # a deep copy: the stored one stays sealed
        for place, holder, key in list(personal_places(opened)):
            part = holder[key]
            if not is_sealed(part):
                continue
            data_key = keys.get(UUID(part["kid"]))
            if data_key is None:
                holder[key] = ERASED
            else:
                holder[key] = orjson.loads(
                    data_key.open(part["ct"], stream_id=stream_id, event_id=event_id, place=place)
                )
        out.append(opened)
    return out


async def destroy_family_keys(conn: Executor, family_id: str) -> int:
    """Destroy every data key of the family (its personal data becomes unreadable); returns
    how many were destroyed."""
    status = await conn.execute(
        "UPDATE family_keys SET wrapped = NULL, destroyed_at = now() "
        "WHERE family_id = $1 AND wrapped IS NOT NULL",
        family_id,
    )
    return int(status.split()[-1])


async def key_status(conn: Executor) -> list[tuple[str, int, int, int]]:
    """Each master key this database knows: ``(id, version, live data keys, destroyed)``."""
    rows = await conn.fetch(
        "SELECT m.key_id, m.version, count(k.wrapped) AS live, "
        "count(k.destroyed_at) AS destroyed FROM master_keys m "
        "LEFT JOIN family_keys k ON k.master_key_id = m.key_id "
        "GROUP BY m.key_id, m.version ORDER BY m.version"
    )
    return [(r["key_id"], r["version"], r["live"], r["destroyed"]) for r in rows]
