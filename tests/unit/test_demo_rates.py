"""The demo is calibrated: its imported families follow the outcome rates it is given, and
the report gives each rate back within sampling error (pure: the demo's rows through the
import's own rules, the outcomes fold and the report; the live demo runs in
tests/integration/test_projections.py)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from events.envelope import Actor
from events.policy import DEFAULT_POLICY
from events.records import canonical_json
from events.vocabulary import Role
from projections.models.outcomes import fold_facts, new_facts
from reports.evaluation import Period, evaluate
from tests.factories import recorded
from workers.demo import Rates, plan_imports
from workflows.lifecycle.imports import ImportCase, fresh_state, import_events

TODAY = date(2026, 11, 25)
ADMIN = Actor(id="admin-demo", role=Role.ADMIN)
META = canonical_json({"actor": {"id": "admin-demo", "role": "admin"}})


def facts_of(row: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in row.items() if k != "case_id"}
    command = ImportCase.model_validate({**fields, "actor": ADMIN})
    now = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    facts = new_facts(row["case_id"])
    state = fresh_state(row["case_id"], DEFAULT_POLICY)
    for version, (event, at) in enumerate(import_events(state, command, now), 1):
        fold_facts(facts, recorded(event, version, at, f"case-{row['case_id']}"))
    return facts


def within(figure: Any, rate: float) -> None:
    n = figure.denominator
    assert n and n >= 100, figure
    error = 3.5 * math.sqrt(rate * (1 - rate) / n)  # well inside: a seed is fixed
    assert abs(figure.value - rate) <= error, (figure.key, figure.value, rate, n)


@pytest.mark.parametrize(
    "rates",
    [
        Rates(),
        Rates(
            goals_maintained=0.55,
            substance_maintained=0.9,
            together=0.4,
            unplanned=0.35,
            re_referrals=0.3,
        ),
    ],
    ids=["the service's figures", "other figures"],
)
def test_the_report_gives_back_the_rates_the_demo_was_given(rates: Rates) -> None:
    rows = plan_imports(31, 900, TODAY, DEFAULT_POLICY, rates)
    episodes = [facts_of(r) for r in rows]
    report = evaluate(
        episodes,
        Period(TODAY - timedelta(days=800), TODAY),
        as_of=datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC),
    )
    within(report.figure("goals_maintained"), rates.goals_maintained)
    within(report.figure("substance_goals_maintained"), rates.substance_maintained)
    within(report.figure("families_together"), rates.together)
    closed = report.figure("closed").value
    unplanned = report.figure("unplanned_exits").value
    assert isinstance(closed, int) and isinstance(unplanned, int) and closed >= 100
    error = 3.5 * math.sqrt(rates.unplanned * (1 - rates.unplanned) / closed)
    assert abs(unplanned / closed - rates.unplanned) <= error
    referred = report.figure("referrals").value
    again = report.figure("re_referrals").value
    assert isinstance(referred, int) and isinstance(again, int) and referred >= 100
    error = 3.5 * math.sqrt(rates.re_referrals * (1 - rates.re_referrals) / referred)
    assert abs(again / referred - rates.re_referrals) <= error, (again, referred)


def test_rates_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(ValueError, match="together: must be between 0 and 1"):
        Rates(together=1.5)
    with pytest.raises(ValueError, match="re_referrals: must be between 0 and 1"):
        Rates(re_referrals=-0.1)
