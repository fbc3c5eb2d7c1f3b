"""Temporal holds no plaintext: every payload the engine sends (workflow inputs, updates,
results, state carried by continue-as-new, activity inputs and results) is sealed with
AES-256-GCM under a key bound to the master key, before it leaves the process.

A sealed payload's metadata names its encoding (``binary/ifss-sealed``) and the master key
id it was sealed under, so histories written before a rotation still open (with the old
key among the previous ones). Payloads written before this codec existed pass through
unchanged, so running episodes keep replaying.
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
KEY_ID = "ifss-master-key-id"
NONCE_BYTES = 12
_ASSOCIATED = b"ifss-temporal-payload"


class SealedPayloadCodec(PayloadCodec):
    """Seals and opens payloads under the master keys' payload keys."""

    def __init__(self, master: MasterKeys) -> None:
        self._current = master.current.key_id
        self._keys = {k.key_id: AESGCM(k.payload_key()) for k in (master.current, *master.previous)}

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
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)  # written before the codec: in clear already
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


def sealed_data_converter(master: MasterKeys) -> DataConverter:
    """The engine's data converter (pydantic) with every payload sealed, failure messages
    and stack traces included (moved into a sealed attribute)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=SealedPayloadCodec(master),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
