"""The codec endpoint: the Temporal UI (and `temporal` CLI) send sealed payloads here to
be opened for an authorised person (role ``admin``: the operators who look at workflow
histories); each use is logged with who and how many payloads, never their content.
The request and answer follow Temporal's remote codec protocol:
``{"payloads": [{"metadata": {name: base64}, "data": base64}]}``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import structlog
from fastapi import APIRouter, Header
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api import problems
from api.deps import Services, ServicesDep, UserDep
from api.json_body import JsonBodyRoute
from api.problems import ApiError
from events.keys import KeyProblem
from events.vocabulary import Role
from identity.users import User
from workflows.codec import SealedPayloadCodec

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/codec", tags=["codec"], route_class=JsonBodyRoute)

MAX_PAYLOADS = 1000


class JsonPayload(BaseModel):
    metadata: dict[str, str] = Field(default_factory=dict, max_length=32)
    data: str = ""


class Payloads(BaseModel):
    payloads: list[JsonPayload] = Field(max_length=MAX_PAYLOADS)


def _from_json(payloads: Payloads) -> list[Payload]:
    out = []
    for n, p in enumerate(payloads.payloads):
        try:
            out.append(
                Payload(
                    metadata={k: base64.b64decode(v, validate=True) for k, v in p.metadata.items()},
                    data=base64.b64decode(p.data, validate=True),
                )
            )
        except (binascii.Error, ValueError):
            raise ApiError(
                422, f"payloads[{n}]", "metadata values and data must be base64"
            ) from None
    return out


def _to_json(payloads: list[Payload]) -> Payloads:
    return Payloads(
        payloads=[
            JsonPayload(
                metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


def _codec(s: Services, user: User) -> SealedPayloadCodec:
    if user.role is not Role.ADMIN:
        raise ApiError(403, "authorization", "only an admin may use the codec endpoint")
    codec = s.temporal.data_converter.payload_codec
    if not isinstance(codec, SealedPayloadCodec):
        raise ApiError(503, "codec", "this API's Temporal client seals nothing")
    return codec


CODEC = problems.responses(401, 403, 413, 422, 503)


@router.post("/decode", response_model=Payloads, responses=CODEC)
async def decode(
    body: Payloads,
    user: UserDep,
    s: ServicesDep,
    x_namespace: Annotated[str | None, Header(max_length=255)] = None,
) -> Payloads:
    """Open sealed payloads (clear ones pass through) for an admin; logged."""
    codec = _codec(s, user)
    try:
        opened = await codec.open(_from_json(body))
    except (KeyProblem, ValueError) as exc:
        # A key not configured, a payload altered: logged (who, how many, what kind).
        log.warning(
            "codec_decode_refused",
            actor=user.user_id,
            payloads=len(body.payloads),
            error=type(exc).__name__,
        )
        raise ApiError(422, "payloads", str(exc)) from None
    log.info(
        "codec_decoded",
        actor=user.user_id,
        payloads=len(opened),
        namespace=(x_namespace or "")[:100],
    )
    return _to_json(opened)


@router.post("/encode", response_model=Payloads, responses=CODEC)
async def encode(body: Payloads, user: UserDep, s: ServicesDep) -> Payloads:
    """Seal payloads (what the Temporal UI sends to a workflow) for an admin; logged: a
    sealed payload is one a workflow takes as the engine's, so who sealed what is kept."""
    codec = _codec(s, user)
    sealed = await codec.encode(_from_json(body))
    log.warning("codec_encoded", actor=user.user_id, payloads=len(sealed))
    return _to_json(sealed)
