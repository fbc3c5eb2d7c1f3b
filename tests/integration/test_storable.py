"""Property: whatever an event or a command model accepts, PostgreSQL can store, and it
comes back byte for byte (canonical JSON). Hypothesis swaps a hostile value — any character
(NUL, controls, lone surrogates), any date or time from year 1 to 9999, huge numbers,
booleans, nulls — into a valid example of every model; the model must refuse it with a
``ValidationError`` naming a field, or the real database must hold it exactly."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from events.bounds import RECORDED
from events.catalogue import DomainEvent, all_event_types
from events.envelope import Actor, EventMetadata
from events.keys import is_sealed, open_personal, personal_places
from events.records import NewEvent, canonical_json
from events.store import EventStore
from events.vocabulary import Role
from tests.examples import T0, example_of, hostile, leaves, replaced
from workflows.commands import COMMANDS, sent_fields

pytestmark = pytest.mark.integration

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
META = EventMetadata(actor=Actor(id="prop", role=Role.SYSTEM))


def accepted(model: type[BaseModel], data: Any, as_json: bool) -> BaseModel | None:
    """The model built from ``data`` (sent as a dict or as JSON text), or None if refused
    the proper way: a ``ValidationError`` that names where."""
    try:
        if as_json:
            return model.model_validate_json(json.dumps(data, ensure_ascii=True))
        return model.model_validate(data)
    except ValidationError as exc:
        assert exc.errors(), exc
        return None


def mutation(model: type[BaseModel]) -> st.SearchStrategy[tuple[Any, bool]]:
    """A valid example with one leaf replaced by a hostile value (or an unknown field
    added), sent as a dict or as JSON."""
    base = example_of(model)
    swapped = [
        hostile.map(lambda v, p=p: replaced(base, p, v))  # type: ignore[misc]
        for p in leaves(base)
    ]
    added = hostile.map(lambda v: {**base, "unexpected": v})
    return st.tuples(st.one_of(*swapped, added), st.booleans())


@pytest.mark.parametrize("event_class", all_event_types(), ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
async def test_an_event_the_catalogue_accepts_is_stored_and_read_back_exactly(
    store: EventStore, event_class: type[DomainEvent], data: st.DataObject
) -> None:
    payload, as_json = data.draw(mutation(event_class))
    event = accepted(event_class, payload, as_json)
    if event is not None:
        await stored_exactly(store, event)


@pytest.mark.parametrize("event_class", all_event_types(), ids=lambda c: c.__name__)
async def test_every_event_s_plain_example_is_stored_exactly(
    store: EventStore, event_class: type[DomainEvent]
) -> None:
    event = accepted(event_class, example_of(event_class), as_json=True)
    assert event is not None  # the property above is not only about refusals
    await stored_exactly(store, event)


async def stored_exactly(store: EventStore, event: BaseModel) -> None:
    assert isinstance(event, DomainEvent)
    stream = f"prop-{uuid.uuid4().hex}"
    new = NewEvent.of(event, event_id=uuid.uuid4(), metadata=META, occurred_at=T0)
    await store.append(stream, 0, [new])
    [back] = await store.read_stream(stream)
    plain = event.model_dump(mode="json")
    # Personal parts are stored sealed, never in clear, and open to exactly what was sent.
    assert all(is_sealed(h[k]) for _, h, k in personal_places(back.stored_data))
    [opened] = await open_personal(
        store.keyring, store.pool, [(back.stream_id, back.event_id, back.stored_data)]
    )
    assert canonical_json(opened) == canonical_json(plain)
    # Readers without a key see the event with its personal parts left out.
    for _, holder, key in list(personal_places(plain)):
        del holder[key]
    assert back.event == type(event).model_validate(plain, context=RECORDED)
    assert (await store.verify(stream)).intact


@pytest.mark.parametrize("name", sorted(COMMANDS))
@SETTINGS
@given(data=st.data())
async def test_a_command_its_model_accepts_is_storable_and_round_trips(
    pool: asyncpg.Pool, name: str, data: st.DataObject
) -> None:
    fields = sent_fields(COMMANDS[name])
    payload, as_json = data.draw(mutation(fields))
    command = accepted(fields, payload, as_json)
    if command is None:
        return
    text = command.model_dump_json()
    assert fields.model_validate_json(text) == command  # what Temporal carries
    back = await pool.fetchval("SELECT $1::jsonb::text", text)
    assert canonical_json(orjson.loads(back)) == canonical_json(orjson.loads(text))
