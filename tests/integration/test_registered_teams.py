"""Teams are registered things: an admin registers a team (``TeamRegistered``); referrals,
key workers and policies naming any other team are refused, naming it, and nothing is
recorded. A rule's automatic rejection is the system's act, naming the rule. Real
PostgreSQL and the time-skipping Temporal server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from events import catalogue as ev
from events.envelope import Actor, EventMetadata
from events.policy import DEFAULT_POLICY
from events.records import NewEvent
from identity.users import add_user, create_token
from tests.api_client import REFERRAL, Api
from tests.temporal_harness import ADMIN, SUP, Harness
from workflows import client as cases
from workflows.client import CommandConflict, CommandForbidden, CommandRefused
from workflows.team_io import AdoptTeamPolicy, ChangeKeyWorker, RegisterTeam

pytestmark = pytest.mark.integration


async def test_a_referral_to_a_team_nobody_registered_is_refused_and_records_nothing(
    harness: Harness,
) -> None:
    h = harness
    h.registered.add("cardif")  # the harness must not register the misspelling itself
    with pytest.raises(CommandRefused, match="team_id: no team cardif is registered"):
        await h.refer("c1", team_id="cardif", family_id="fam-1")
    assert await h.stream("c1") == []
    assert await h.store.read_stream("team-cardif") == []
    # Nothing was claimed: the family can be referred to the right team at once.
    result = await h.refer("c2", team_id="cardiff", family_id="fam-1")
    assert result.events == ["ReferralReceived"]


async def test_registration_is_an_admins_once_and_recorded_with_who(harness: Harness) -> None:
    h = harness
    outside = RegisterTeam(actor=ADMIN, name="Vale of Glamorgan IFSS", area="vale")
    with pytest.raises(CommandRefused, match="area: must be one of the local authority areas"):
        await cases.register_team(h.client, "vale", outside, task_queue=h.task_queue)
    assert await h.store.read_stream("team-vale") == []
    register = outside.model_copy(update={"area": "vale_of_glamorgan"})
    version = await cases.register_team(h.client, "vale", register, task_queue=h.task_queue)
    [registered, policy] = await h.store.read_stream("team-vale")
    assert (registered.type, registered.data["team_name"], registered.data["area"]) == (
        "TeamRegistered",
        "Vale of Glamorgan IFSS",
        "vale_of_glamorgan",
    )
    assert registered.metadata.actor == ADMIN and policy.type == "TeamPolicyAdopted"
    assert version == 2
    with pytest.raises(CommandConflict, match="team_id: team vale is already registered"):
        await cases.register_team(h.client, "vale", register, task_queue=h.task_queue)
    as_supervisor = register.model_copy(update={"actor": SUP})
    with pytest.raises(CommandForbidden, match=r"actor\.role: only an admin may register a team"):
        await cases.register_team(h.client, "usk", as_supervisor, task_queue=h.task_queue)
    assert len(await h.store.read_stream("team-vale")) == 2
    assert await h.store.read_stream("team-usk") == []
    view = await cases.team_view(h.client, "vale")
    assert (view.name, view.area) == ("Vale of Glamorgan IFSS", "vale_of_glamorgan")


async def test_key_workers_and_policies_only_for_a_registered_team(harness: Harness) -> None:
    h = harness
    join = ChangeKeyWorker(actor=SUP, key_worker_id="kw-a", caseload_limit=2)
    with pytest.raises(CommandRefused, match="team_id: no team wye is registered"):
        await cases.change_key_worker(h.client, "wye", join)
    adopt = AdoptTeamPolicy(actor=SUP, policy=DEFAULT_POLICY)
    with pytest.raises(CommandRefused, match="team_id: no team wye is registered"):
        await cases.adopt_team_policy(h.client, "wye", adopt)
    assert await h.store.read_stream("team-wye") == []
    await h.register_team("wye")
    assert await cases.change_key_worker(h.client, "wye", join) > 0
    assert [e.type for e in await h.store.read_stream("team-wye")][-1] == "TeamKeyWorkerJoined"


async def test_a_team_from_before_registration_is_known_by_its_key_workers(
    harness: Harness,
) -> None:
    """A database from before this change: its teams have key workers and no
    registration; referrals to them go on."""
    h = harness
    joined = NewEvent.of(
        ev.TeamKeyWorkerJoined(key_worker_id="kw-o", caseload_limit=3),
        event_id=uuid.uuid4(),
        metadata=EventMetadata(actor=SUP),
        occurred_at=datetime.now(UTC),
    )
    await h.store.append("team-old", 0, [joined])
    assert await h.store.team_known("old")
    assert not await h.store.team_known("new")


async def test_a_rule_rejection_is_the_systems_act_naming_the_rule(harness: Harness) -> None:
    h = harness
    result = await h.refer("c1", referral_grounds=[])
    assert result.events == ["ReferralReceived", "ReferralRejected", "EpisodeEnded"]
    received, rejected, ended = await h.stream("c1")
    assert received.metadata.actor.id == "bs-price"  # who recorded the referral
    assert rejected.metadata.actor == Actor.system() == ended.metadata.actor
    assert rejected.data["rule"] == "referral-needs-a-statutory-ground"
    # A person's rejection stays theirs, with no rule.
    await h.refer("c2")
    await h.do("c2", "reject", actor=SUP, reason="outside_area")
    person = (await h.stream("c2"))[1]
    assert person.metadata.actor == SUP and person.data.get("rule") is None


async def test_teams_over_http(api: Api) -> None:
    body = {"team_id": "bay", "name": "Swansea Bay IFSS", "area": "swansea"}
    refused = await api.post("sup-evans", "/teams", body)
    assert refused.status_code == 403 and refused.json()["field"] == "actor.role"
    created = await api.post("ad-root", "/teams", body)
    assert created.status_code == 201, created.text
    assert created.json() == {"team_id": "bay", "team_version": 2}
    again = await api.post("ad-root", "/teams", body)
    assert again.status_code == 409 and again.json()["field"] == "team_id"
    alike = await api.post("ad-root", "/teams", {**body, "team_id": "Bay"})
    assert alike.status_code == 409, alike.text
    assert alike.json()["rule"] == "team bay is registered already (ids differ only in case)"
    bad = await api.post("ad-root", "/teams", {**body, "team_id": "-x", "name": "a\x00b"})
    assert bad.status_code == 422
    # A path two routes serve: a wrong method is told both (not only the first route's).
    wrong = await api.http.request(
        "DELETE", "/teams", headers={"Authorization": f"Bearer {api.tokens['ad-root']}"}
    )
    assert wrong.status_code == 405 and wrong.json()["field"] == "method"
    assert wrong.headers["allow"] == "GET, HEAD, POST"
    await api.settle()
    listed = (await api.get("cm-jones", "/teams")).json()
    assert [(t["team_id"], t["team_name"]) for t in listed] == [
        ("bay", "Swansea Bay IFSS"),
        ("cardiff", "Team cardiff"),
        ("newport", "Team newport"),
    ]
    # A user of a team that was never registered (added before teams were): their referral
    # is refused, naming the team.
    await add_user(api.pool, "bs-typo", "business_support", "cardif")
    api.tokens["bs-typo"] = await create_token(api.pool, "bs-typo")
    unknown = await api.post(
        "bs-typo",
        "/referrals",
        {"case_id": "c5", "referral": {**REFERRAL, "team_id": "cardif"}},
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "team_id"
    assert "no team cardif is registered" in unknown.json()["rule"]
    assert await api.h.stream("c5") == []


async def test_two_admins_registering_one_team_at_once_record_it_once(harness: Harness) -> None:
    h = harness
    commands = [
        RegisterTeam(actor=ADMIN, name=name, area="cardiff") for name in ("Bay 🌊 IFSS", "Bay B")
    ]
    outcomes = await asyncio.gather(
        *(cases.register_team(h.client, "bay", c, task_queue=h.task_queue) for c in commands),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["CommandConflict", "int"]
    types = [e.type for e in await h.store.read_stream("team-bay")]
    assert types.count("TeamRegistered") == 1 and types.count("TeamPolicyAdopted") == 1


def test_a_registration_with_bad_fields_is_refused_before_anything_is_sent() -> None:
    for fields, where in (
        ({"name": "Bay\x00", "area": "cardiff"}, "name"),
        ({"name": "  ", "area": "cardiff"}, "name"),
        ({"name": "Bay", "area": "card iff"}, "area"),
        ({"name": "Bay", "area": True}, "area"),
    ):
        with pytest.raises(ValidationError) as refused:
            RegisterTeam.model_validate({"actor": ADMIN, **fields})
        assert refused.value.errors()[0]["loc"] == (where,)
