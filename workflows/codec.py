"""Temporal holds no plaintext: every payload the engine sends (workflow inputs, updates,
results, state carried by continue-as-new, activity inputs and results) is sealed with
AES-256-GCM under a key bound to the master key, before it leaves the process.

A sealed payload's metadata names its encoding (``binary/ifss-sealed``) and the master key
id it was sealed under, so histories written before a rotation still open (with the old
key among the previous ones).

Sealing also proves where a payload came from: only a holder of the master key makes one
that opens. A payload in clear reaching a workflow (a signal or an update sent straight
to Temporal by someone who can reach it, with whatever actor and content they like) is
not the engine's: the worker turns it into one no converter reads, so the SDK drops such
a signal and rejects such an update, and the workflow goes on (failing the decode instead
would fail every workflow task of that case, for ever). Histories written before this
codec existed were in clear: ``IFSS_ACCEPT_UNSEALED_PAYLOADS`` lets them replay while such
episodes run, opening the door above meanwhile. The codec endpoint shows clear payloads as
they are (``open``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from events.keys import MasterKeys, MasterKeyWrong, PersonalDataTampered

ENCODING = b"binary/ifss-sealed"
# What an unsealed payload becomes for a workflow: an encoding no converter knows.
REFUSED = b"binary/ifss-unsealed-refused"
KEY_ID = "ifss-master-key-id"
NONCE_BYTES = 12
_ASSOCIATED = b"ifss-temporal-payload"


class SealedPayloadCodec(PayloadCodec):
    """Seals and opens payloads under the master keys' payload keys."""

    def __init__(self, master: MasterKeys, *, accept_unsealed: bool = False) -> None:
        self._current = master.current.key_id
        self._keys = {k.key_id: AESGCM(k.payload_key()) for k in (master.current, *master.previous)}
        self._accept_unsealed = accept_unsealed

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        aead = self._keys[self._current]
        out = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = aead.encrypt(nonce, payload.SerializeToString(), _ASSOCIATED)
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: self._current.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open sealed payloads; one in clear is refused (see the module's docstring) unless
        unsealed payloads are accepted."""
        return self._open(payloads, clear_as_is=self._accept_unsealed)

    async def open(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open sealed payloads for a person to read (the codec endpoint): one in clear is
        shown as it is, forged or from before the codec."""
        return self._open(payloads, clear_as_is=True)

    def _open(self, payloads: Sequence[Payload], *, clear_as_is: bool) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload if clear_as_is else Payload(metadata={"encoding": REFUSED}))
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode("ascii", "replace")
            aead = self._keys.get(key_id)
            if aead is None:
                raise MasterKeyWrong(
                    f"a Temporal payload is sealed under master key {key_id}, which is not "
                    "configured (IFSS_MASTER_KEY or IFSS_PREVIOUS_MASTER_KEYS)"
                )
            if len(payload.data) < NONCE_BYTES + 16:  # a nonce and a tag at the least
                raise PersonalDataTampered("a Temporal payload is too short to be sealed")
            try:
                plain = aead.decrypt(
                    payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], _ASSOCIATED
                )
            except InvalidTag:
                raise PersonalDataTampered(
                    "a Temporal payload does not open under its key: it was altered"
                ) from None
            opened = Payload()
            opened.ParseFromString(plain)
            out.append(opened)
        return out


def sealed_data_converter(master: MasterKeys, *, accept_unsealed: bool = False) -> DataConverter:
    """The engine's data converter (pydantic) with every payload sealed, failure messages
    and stack traces included (moved into a sealed attribute)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=SealedPayloadCodec(master, accept_unsealed=accept_unsealed),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
