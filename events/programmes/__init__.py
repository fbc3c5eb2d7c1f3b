"""Programmes as data: what a family may be referred on and what is measured.

A programme (``ifss.json``, ``fip.json`` beside this module) names its eligible referral
grounds, the coded outcome measures its key workers record (at referral, at closure and at
each review: ``record_measures``) with their ranges and which way is better, and the
negative outcomes whose avoidance a report may cost. The IFSS data set and the four
statutory grounds are the default programme; a Family Intervention Project is a second,
defined the same way. A case records the programme it runs under on its referral.

The definitions ship with the code (a case's rules must replay the same), so a new
programme or measure is a new file and a release, never a setting.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from events.bounds import Code
from events.vocabulary import ReferralGround

DEFAULT_PROGRAMME = "ifss"


class Measure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    label: str
    label_cy: str
    unit: Literal["percent", "count", "scale", "yes_no"]
    minimum: int
    maximum: int
    better: Literal["higher", "lower"]
    definition: str


class NegativeOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    measure: Code
    label: str
    unit_cost: float | None = Field(default=None, ge=0)
    source: str


class Programme(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    programme_id: Code
    name: str
    name_cy: str
    source: str
    eligible_grounds: frozenset[ReferralGround]
    measures: tuple[Measure, ...]
    negative_outcomes: tuple[NegativeOutcome, ...] = ()

    def measure(self, code: str) -> Measure | None:
        return next((m for m in self.measures if m.code == code), None)


def _load() -> dict[str, Programme]:
    found = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            programme = Programme.model_validate_json(entry.read_bytes())
            found[programme.programme_id] = programme
    return found


# Read once, when the module is imported (outside any workflow sandbox).
PROGRAMMES: dict[str, Programme] = _load()


def programme(programme_id: str | None) -> Programme:
    """The programme ``programme_id`` names (None: the default); KeyError if unknown."""
    return PROGRAMMES[programme_id or DEFAULT_PROGRAMME]
