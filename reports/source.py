"""Where a report's episodes come from: the outcomes read model (live), or the events
recorded by a moment folded with the same code (``--as-of``), so the report sent last
April can be produced again exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from events.db import Conn
from events.store import EventStore
from projections.models.common import case_of
from projections.models.outcomes import OUTCOME_EVENTS, fold_facts, new_facts

PAGE = 5000


async def live_episodes(conn: Conn, *, team: str | None = None) -> list[dict[str, Any]]:
    """Every episode's facts from the read model (a team's: its current or referring team,
    the report filters again)."""
    if team is None:
        rows = await conn.fetch("SELECT facts FROM episode_outcomes")
    else:
        rows = await conn.fetch(
            "SELECT facts FROM episode_outcomes WHERE team_id = $1 OR referral_team_id = $1",
            team,
        )
    return [orjson.loads(r["facts"]) for r in rows]


async def episodes_as_of(store: EventStore, moment: datetime) -> list[dict[str, Any]]:
    """Every episode's facts folded from the events recorded by ``moment``."""
    facts: dict[str, dict[str, Any]] = {}
    after = 0
    while True:
        page = await store.read_recorded_by(
            moment, OUTCOME_EVENTS, prefix="case-", after_position=after, limit=PAGE
        )
        for event in page:
            case_id = case_of(event.stream_id)
            if case_id is None:
                continue
            episode = facts.get(case_id)
            if episode is None:
                episode = facts[case_id] = new_facts(case_id)
            fold_facts(episode, event)
        if len(page) < PAGE:
            break
        after = page[-1].global_position
    return list(facts.values())
