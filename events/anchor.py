"""Tamper evidence beyond the database: each stream's head, signed with a key kept outside it.

The hash chain detects an edited or deleted event *inside* a stream, but not events cut
from a stream's end (the shorter chain is still a valid chain). An anchor records every
stream's head (version and chain hash) at a moment, signed (Ed25519) with a key the
database never sees; verifying against it later finds streams cut short, rewritten or
deleted since.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from events.keys import Executor

FORMAT = "ifss-anchor/1"


class AnchorProblem(RuntimeError):
    """The anchor or its key cannot be used; the message says which and why."""


PUBLIC_PREFIX = "ed25519-public:"


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The verification key of ``key``, as a verifier's key file holds it."""
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PUBLIC_PREFIX + base64.b64encode(raw).decode("ascii")


def load_anchor_key(path: Path) -> Ed25519PrivateKey | Ed25519PublicKey:
    """The signing key in ``path``, or a verification key (``ed25519-public:…``, from
    ``ifss keys public``): a verifier needs no key that could sign."""
    text = _key_text(path)
    if text.startswith(PUBLIC_PREFIX):
        return Ed25519PublicKey.from_public_bytes(_key_bytes(path, text[len(PUBLIC_PREFIX) :]))
    return Ed25519PrivateKey.from_private_bytes(_key_bytes(path, text))


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (base64 of 32 bytes, as ``ifss keys generate`` prints)."""
    key = load_anchor_key(path)
    if not isinstance(key, Ed25519PrivateKey):
        raise AnchorProblem(f"anchor key: {path} is a verification key; it cannot sign")
    return key


def _key_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise AnchorProblem(
            f"anchor key: {path} does not exist (`ifss keys generate > FILE`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorProblem(f"anchor key: {path} cannot be read ({type(exc).__name__})") from None


def _key_bytes(path: Path, text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AnchorProblem(f"anchor key: {path} is not base64") from None
    if len(raw) != 32:
        raise AnchorProblem(f"anchor key: {path} must hold 32 bytes in base64, not {len(raw)}")
    return raw


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _signed_text(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


async def stream_heads(conn: Executor) -> dict[str, dict[str, Any]]:
    """Every stream's last version and chain hash."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (stream_id) stream_id, stream_version, chain_hash FROM events "
        "ORDER BY stream_id, stream_version DESC"
    )
    return {
        r["stream_id"]: {"version": r["stream_version"], "hash": bytes(r["chain_hash"]).hex()}
        for r in rows
    }


async def make_anchor(
    conn: Executor, key: Ed25519PrivateKey, *, now: datetime | None = None
) -> dict[str, Any]:
    """The signed anchor of every stream's head, as a JSON-ready dict."""
    body = {
        "format": FORMAT,
        "anchored_at": (now or datetime.now(UTC)).isoformat(),
        "public_key": _public_hex(key.public_key()),
        "streams": await stream_heads(conn),
    }
    signature = key.sign(_signed_text(body))
    return {**body, "signature": base64.b64encode(signature).decode("ascii")}


def read_anchor(path: Path, key: Ed25519PrivateKey | Ed25519PublicKey) -> dict[str, Any]:
    """The anchor in ``path``, its signature checked against ``key`` (the signing key or
    its verification key); raises ``AnchorProblem`` for a missing, malformed, altered or
    foreign anchor."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    try:
        doc = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise AnchorProblem(f"anchor: {path} does not exist") from None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise AnchorProblem(
            f"anchor: {path} is not an anchor file ({type(exc).__name__})"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise AnchorProblem(f"anchor: {path} is not an {FORMAT} file")
    body = {k: v for k, v in doc.items() if k != "signature"}
    if doc.get("public_key") != _public_hex(public):
        raise AnchorProblem("anchor: signed with another key than the configured anchor key")
    try:
        public.verify(base64.b64decode(str(doc.get("signature", ""))), _signed_text(body))
    except (InvalidSignature, binascii.Error, ValueError):
        raise AnchorProblem(
            "anchor: the signature does not verify: the file was altered after signing"
        ) from None
    streams = doc.get("streams")
    if not isinstance(streams, dict):
        raise AnchorProblem("anchor: streams: missing")
    return doc


@dataclass(frozen=True)
class AnchorMismatch:
    stream_id: str
    problem: str


async def check_against_anchor(conn: Executor, anchor: dict[str, Any]) -> list[AnchorMismatch]:
    """Streams whose anchored head is no longer in the store as anchored: cut short
    (events deleted from the end), deleted, or rewritten at the anchored version."""
    anchored: dict[str, dict[str, Any]] = anchor["streams"]
    rows = await conn.fetch(
        "SELECT a.stream_id, a.version, e.chain_hash, "
        "(SELECT max(stream_version) FROM events m WHERE m.stream_id = a.stream_id) AS head "
        "FROM unnest($1::text[], $2::bigint[]) AS a(stream_id, version) "
        "LEFT JOIN events e ON e.stream_id = a.stream_id AND e.stream_version = a.version",
        list(anchored),
        [int(v["version"]) for v in anchored.values()],
    )
    # Streams whose personal data was sealed in place (events.legacy) have new hashes; the
    # record of that rewrite names the head they had, which an older anchor may hold.
    # Excused only while the stream still holds the head the rewrite gave it.
    resealed = {
        (r["stream_id"], int(r["version"]), r["hash"], r["new_hash"])
        for r in await conn.fetch(
            "SELECT data ->> 'stream_id' AS stream_id, data ->> 'head_version' AS version, "
            "data ->> 'previous_head_hash' AS hash, data ->> 'head_hash' AS new_hash "
            "FROM events WHERE stream_id = 'legacy-seal' AND type = 'LegacyPersonalDataSealed'"
        )
    }
    problems: list[AnchorMismatch] = []
    for r in rows:
        stream, version = r["stream_id"], r["version"]
        if r["head"] is None:
            problems.append(AnchorMismatch(stream, f"anchored at version {version}; now gone"))
        elif r["head"] < version:
            problems.append(
                AnchorMismatch(
                    stream,
                    f"anchored at version {version}; now ends at {r['head']}: "
                    "events were deleted from its end",
                )
            )
        elif (now := bytes(r["chain_hash"]).hex()) != anchored[stream]["hash"] and (
            (stream, version, anchored[stream]["hash"], now) not in resealed
        ):
            problems.append(
                AnchorMismatch(stream, f"version {version} no longer has its anchored hash")
            )
    return sorted(problems, key=lambda p: p.stream_id)
