"""The lifecycle explored: every phase reached, an end reachable from every state, and
docs/lifecycle.md rendered from the same walk."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from workflows.lifecycle import Phase
from workflows.lifecycle.table import Lifecycle, Move, Node, explore, render

ROOT = Path(__file__).resolve().parents[2]
# One process walks the lifecycle (half a minute) for all of these (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("lifecycle_walk")


@cache
def walk() -> Lifecycle:
    return explore()


def test_the_walk_is_complete() -> None:
    assert walk().complete, "the walk stopped at its limit: the proof below would be partial"
    assert not explore(limit=10).complete


def test_every_phase_is_reached() -> None:
    assert {node.phase for node in walk().moves} == set(Phase) - {Phase.NEW}


def test_an_end_is_reachable_from_every_state() -> None:
    stranded = [node for node in walk().moves if not walk().reaches_an_end(node)]
    assert stranded == []


def test_every_phase_before_the_work_began_has_a_way_out() -> None:
    for phase in (Phase.REFERRED, Phase.ACCEPTED, Phase.WAITLISTED, Phase.ALLOCATED):
        exits = {
            move.command
            for node, moves in walk().moves.items()
            if node.phase is phase
            for move in moves
            if move.to.phase is Phase.ENDED
        }
        assert "withdraw" in exits, phase


def test_a_state_with_no_way_out_is_found() -> None:
    stuck = Node(Phase.ALLOCATED, frozenset(), (0, 0, 0), (False, False, False, False))
    loop = Node(Phase.ALLOCATED, frozenset({("x", "y")}), (0, 0, 0), (False, False, False, False))
    lifecycle = Lifecycle(start=stuck, moves={stuck: [Move("x", ("y",), loop, ())], loop: []})
    assert not lifecycle.reaches_an_end(stuck)


def test_docs_lifecycle_md_is_current() -> None:
    written = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert written == render(walk()), "run `ifss docs lifecycle` (or `make docs`)"
