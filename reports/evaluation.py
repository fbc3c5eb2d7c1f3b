"""The evaluation data set for a period: every figure with its definition.

A pure function of the episodes' outcome facts (``projections.models.outcomes``): the same
code counts the live read model and a fold "as of" an earlier moment, so a report sent last
April can be produced again exactly. Each figure carries its numerator, its denominator,
who is excluded and why (families lost to follow-up are counted as such, never dropped),
and for a proportion a 95% Wilson score interval. Items of the data set the engine does not
record yet are listed as such, never shown as zero.

Periods are days in Europe/London, both ends included; the default is the financial year
(1 April to 31 March).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from events.calendar import is_working_day, local_day
from events.programmes import DEFAULT_PROGRAMME, Programme
from events.programmes import programme as programme_of
from events.vocabulary import AgeBand, LanguagePreference

MAINTAINED = frozenset({"exceeded", "maintained"})
LOST = frozenset({"declined", "could_not_contact", "moved_away"})
STAGES = ("baseline", "closing", "1", "3", "6", "12")
STAGE_LABELS = {
    "baseline": "Goals set",
    "closing": "Closure",
    "1": "1 month",
    "3": "3 months",
    "6": "6 months",
    "12": "12 months",
}
WAIT_BANDS = (
    (0, 0, "same day"),
    (1, 1, "1"),
    (2, 2, "2"),
    (3, 3, "3"),
    (4, 5, "4-5"),
    (6, 10, "6-10"),
    (11, 10**6, "over 10"),
)
Z95 = 1.959963984540054
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    @classmethod
    def financial_year(cls, containing: date) -> Period:
        first = containing.year if containing.month >= 4 else containing.year - 1
        return cls(date(first, 4, 1), date(first + 1, 3, 31))

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        # Facts keep days as ISO text, which sorts as the days do: compare the text.
        object.__setattr__(self, "_first", self.start.isoformat())
        object.__setattr__(self, "_last", self.end.isoformat())

    def holds(self, day: str | None) -> bool:
        return day is not None and self._first <= day <= self._last  # type: ignore[attr-defined]

    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None: nothing to estimate from)."""
    if n <= 0:
        return None
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return (max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator))


@dataclass
class Figure:
    key: str
    label: str
    definition: str
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None
    interval: tuple[float, float] | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    unit: str = "count"  # count | proportion | days | pounds
    recorded: bool = True
    note: str | None = None

    @classmethod
    def proportion(
        cls, key: str, label: str, definition: str, numerator: int, denominator: int, **kw: Any
    ) -> Figure:
        return cls(
            key=key,
            label=label,
            definition=definition,
            value=(numerator / denominator) if denominator else None,
            numerator=numerator,
            denominator=denominator,
            interval=wilson(numerator, denominator),
            unit="proportion",
            **kw,
        )

    @classmethod
    def missing(cls, key: str, label: str, needs: str) -> Figure:
        return cls(
            key=key,
            label=label,
            definition=f"Not recorded by the engine yet: {needs}.",
            value=None,
            recorded=False,
        )


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    definition: str = ""


@dataclass
class Report:
    title: str
    period: Period
    scope: dict[str, str | None]
    as_of: datetime | None
    episodes: int
    figures: list[Figure]
    tables: list[Table]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "scope": self.scope,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "episodes": self.episodes,
            "figures": [asdict(f) for f in self.figures],
            "tables": [asdict(t) for t in self.tables],
        }


@dataclass(frozen=True)
class UnitCost:
    """The cost of one negative outcome (a programme's measure), with where it came from."""

    cost: float
    source: str


@dataclass(frozen=True)
class Costs:
    """What a team cost over a stretch of days (staff and overheads, in pounds)."""

    team_id: str
    start: date
    end: date
    staff: float
    overheads: float
    recorded: bool = False  # from TeamCostsRecorded (else from a costs file)

    def days_within(self, period: Period) -> set[date]:
        first, last = max(self.start, period.start), min(self.end, period.end)
        return {date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)}

    def within(self, period: Period) -> float:
        """The share of these costs that falls in ``period`` (by days)."""
        first, last = max(self.start, period.start), min(self.end, period.end)
        if last < first:
            return 0.0
        days = (self.end - self.start).days + 1
        return (self.staff + self.overheads) * ((last - first).days + 1) / days


# --- what each episode contributes ------------------------------------------------------


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0: the same day)."""
    if end <= start:
        return 0
    count, day = 0, start
    while day < end:
        day = date.fromordinal(day.toordinal() + 1)
        if is_working_day(day):
            count += 1
    return count


def _latest_held(e: Mapping[str, Any], period: Period) -> tuple[str, dict[str, Any]] | None:
    held = [
        (int(month), month, r)
        for month, r in e.get("reviews", {}).items()
        if r.get("status") == "held" and period.holds(r.get("on"))
    ]
    if not held:
        return None
    _, month, review = max(held, key=lambda h: h[0])
    return month, review


def _lost(e: Mapping[str, Any], period: Period, today: str) -> str | None:
    """Why a family whose review fell in the period has no review held in it (None: not
    lost): the reason recorded for the latest review not held, else a review past due and
    never recorded. Reviews not held for want of goals are counted under their reason."""
    reviews = sorted(e.get("reviews", {}).items(), key=lambda m: -int(m[0]))
    for _, r in reviews:
        if r.get("status") == "not_held" and period.holds(r.get("on")):
            return str(r.get("reason"))
        if r.get("status") == "cancelled" and period.holds(r.get("on")):
            return "consent to follow-up withdrawn"
    for _, r in reviews:
        due = r.get("due_on")
        if r.get("status") in ("overdue", "scheduled") and period.holds(due) and due < today:
            return "review not recorded"
    return None


def _status_on(child: Mapping[str, Any], day: str) -> str | None:
    status = None
    for s, on, _ in child.get("history", []):
        if on <= day:
            status = s
    return status


# --- the report ------------------------------------------------------------------------


def evaluate(
    episodes: Iterable[Mapping[str, Any]],
    period: Period,
    *,
    team: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    as_of: datetime | None = None,
    costs: Sequence[Costs] = (),
    first_meeting_target: int = 2,
    programme: str = DEFAULT_PROGRAMME,
    unit_costs: Mapping[str, UnitCost] | None = None,
    team_work: Iterable[Mapping[str, Any]] = (),
) -> Report:
    defined = programme_of(programme)
    chosen = [
        e
        for e in episodes
        if e.get("referred_on") is not None
        and e.get("programme", DEFAULT_PROGRAMME) == programme
        and (team is None or e.get("team_id") == team or e.get("referral_team_id") == team)
        and (area is None or e.get("area") == area)
        and (agency is None or e.get("agency") == agency)
    ]
    today = local_day(as_of or datetime.now(UTC)).isoformat()
    figures: list[Figure] = []
    tables: list[Table] = []
    figures += _intake(chosen, period, tables)
    figures += _first_meetings(chosen, period, tables, first_meeting_target)
    figures += _intensive(chosen, period, tables)
    headline, by_ground = _follow_up(chosen, period, today)
    figures += headline
    tables.append(by_ground)
    figures += _children(chosen, period)
    tables.append(_maintained_change(chosen, period))
    tables += _breakdowns(chosen, period, today)
    figures += _costs(chosen, period, costs, team)
    figures += _recorded_facts(chosen, period, tables)
    figures += _measures(chosen, period, defined, tables)
    figures += _costs_avoided(chosen, period, defined, unit_costs or {})
    work = [w for w in team_work if team is None or w.get("team_id") == team]
    figures += _team_work(work, period, tables)
    return Report(
        title=f"{defined.name}: evaluation data set",
        period=period,
        scope={"team": team, "area": area, "agency": agency},
        as_of=as_of,
        episodes=len(chosen),
        figures=figures,
        tables=tables,
    )


def _count(key: str, label: str, definition: str, value: int, **kw: Any) -> Figure:
    return Figure(key=key, label=label, definition=definition, value=value, **kw)


def _table_of(key: str, title: str, column: str, counts: Counter[str], definition: str) -> Table:
    rows = [[k, v] for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return Table(key, title, [column, "families"], rows, definition)


def _intake(chosen: list[Mapping[str, Any]], period: Period, tables: list[Table]) -> list[Figure]:
    referred = [e for e in chosen if period.holds(e["referred_on"])]
    decided = [e for e in chosen if period.holds(e.get("decided_on"))]
    accepted = [e for e in decided if e.get("decision") == "accepted"]
    rejected = [e for e in decided if e.get("decision") == "rejected"]
    full = [e for e in rejected if e.get("rejection_reason") == "service_full"]
    waitlisted = [e for e in chosen if period.holds(e.get("waitlisted_on"))]
    allocated = [e for e in chosen if period.holds(e.get("allocated_on"))]
    withdrawn = [e for e in chosen if period.holds((e.get("withdrawn") or {}).get("on"))]
    rereferred = [e for e in referred if e.get("previous_case_id") or e.get("earlier_record")]
    imported = [e for e in referred if e.get("imported")]
    tables.append(
        _table_of(
            "referrals_by_agency",
            "Referrals by referring agency",
            "agency",
            Counter(e.get("agency") or "unknown" for e in referred),
            "Families whose referral was received in the period, by the agency that referred.",
        )
    )
    tables.append(
        _table_of(
            "referrals_by_area",
            "Referrals by area",
            "area",
            Counter(e.get("area") or "unknown" for e in referred),
            "Families whose referral was received in the period, by the area they live in.",
        )
    )
    tables.append(
        _table_of(
            "rejection_reasons",
            "Referrals not accepted, by reason",
            "reason",
            Counter(e.get("rejection_reason") or "unknown" for e in rejected),
            "Referrals decided in the period and not accepted, by the coded reason.",
        )
    )
    tables.append(_profile(referred))
    profile = _profile_codes(referred, tables)
    return [
        _count(
            "referrals",
            "Referrals received",
            "Families whose referral was received (dated) in the period; a case imported "
            "from another system counts on its own referral date.",
            len(referred),
            note=f"{len(imported)} imported from another case system" if imported else None,
        ),
        _count(
            "accepted",
            "Referrals accepted",
            "Referrals accepted in the period (the decision's date, whenever referred).",
            len(accepted),
        ),
        _count(
            "rejected",
            "Referrals not accepted",
            "Referrals rejected in the period, with the reasons in the table below; rejections "
            "made by a rule (no eligible ground, no consent) included.",
            len(rejected),
        ),
        _count(
            "turned_away_full",
            "Turned away for lack of space",
            "Referrals rejected in the period because the service was full.",
            len(full),
        ),
        _count(
            "waitlisted",
            "Waitlisted for lack of space",
            "Accepted families who had to wait for a key worker with space, placed on the "
            "waitlist in the period.",
            len(waitlisted),
        ),
        _count(
            "allocated",
            "Allocated cases",
            "Families given a key worker in the period (first allocation only).",
            len(allocated),
        ),
        _count(
            "withdrawn_before_start",
            "Withdrawn before the work began",
            "Families who left between referral and the first meeting in the period.",
            len(withdrawn),
        ),
        _count(
            "re_referrals",
            "Re-referrals",
            "Referrals received in the period of a family whose earlier episode had ended "
            "(here, or in the case system a case was imported from).",
            len(rereferred),
        ),
        *profile,
    ]


def _profile(referred: list[Mapping[str, Any]]) -> Table:
    rows: list[list[Any]] = [
        ["families referred", len(referred)],
        ["children", sum(len(e.get("children", {})) for e in referred)],
        [
            "unborn children",
            sum(1 for e in referred for c in e.get("children", {}).values() if c.get("unborn")),
        ],
        ["adults", sum(e.get("adults", 0) for e in referred)],
    ]
    statuses = Counter(
        c.get("at_referral") or "joined later"
        for e in referred
        for c in e.get("children", {}).values()
    )
    rows += [[f"children with status {s} at referral", n] for s, n in sorted(statuses.items())]
    grounds = Counter(g for e in referred for g in e.get("grounds", []))
    rows += [[f"ground: {g}", n] for g, n in sorted(grounds.items())]
    needs = Counter(g for e in referred for g in e.get("needs", []))
    rows += [[f"need: {g}", n] for g, n in sorted(needs.items())]
    return Table(
        "family_profiles",
        "Family profiles",
        ["item", "number"],
        rows,
        "Families referred in the period: their children (with statutory status at referral), "
        "adults, referral grounds and presenting needs (a family may have several).",
    )


def _first_meetings(
    chosen: list[Mapping[str, Any]], period: Period, tables: list[Table], target: int
) -> list[Figure]:
    waits: list[int] = []
    no_acceptance = 0
    for e in chosen:
        held = e.get("first_meeting_at")
        if held is None:
            continue
        held_day = local_day(datetime.fromisoformat(held))
        if not period.holds(held_day.isoformat()):
            continue
        accepted = e.get("decided_on") if e.get("decision") == "accepted" else None
        if accepted is None:
            no_acceptance += 1
            continue
        waits.append(working_days_between(date.fromisoformat(accepted), held_day))
    bands = Counter(
        next(label for low, high, label in WAIT_BANDS if low <= w <= high) for w in waits
    )
    tables.append(
        Table(
            "time_to_first_meeting",
            "Time from acceptance to first meeting",
            ["working days", "families"],
            [[label, bands.get(label, 0)] for _, _, label in WAIT_BANDS],
            "First meetings held in the period, by working days (Monday to Friday, not bank "
            "holidays of England and Wales) from the acceptance to the meeting.",
        )
    )
    within = sum(1 for w in waits if w <= target)
    excluded = {"no acceptance recorded (imported mid-way)": no_acceptance} if no_acceptance else {}
    return [
        Figure(
            key="first_meeting_median_days",
            label="Time from acceptance to first meeting (median)",
            definition="Median working days from the acceptance to the first meeting, over "
            "first meetings held in the period.",
            value=statistics.median(waits) if waits else None,
            denominator=len(waits),
            excluded=excluded,
            unit="days",
        ),
        Figure.proportion(
            "first_meeting_within_target",
            f"First meeting within {target} working days",
            f"First meetings held in the period within {target} working days of acceptance "
            "(the policy's target), of all first meetings held in the period.",
            within,
            len(waits),
            excluded=excluded,
        ),
    ]


def _intensive(
    chosen: list[Mapping[str, Any]], period: Period, tables: list[Table]
) -> list[Figure]:
    closed = [e for e in chosen if period.holds((e.get("closure") or {}).get("on"))]
    planned = [e for e in closed if e["closure"]["kind"] == "planned"]
    unplanned = [e for e in closed if e["closure"]["kind"] == "unplanned"]
    tables.append(
        _table_of(
            "unplanned_exit_reasons",
            "Unplanned exits, by reason",
            "reason",
            Counter(e["closure"].get("reason") or "unknown" for e in unplanned),
            "Intensive phases closed unplanned in the period, by the coded reason.",
        )
    )
    with_goals = [
        e for e in chosen if any(period.holds(g.get("agreed_on")) for g in e["goals"].values())
    ]
    return [
        _count(
            "closed",
            "Closed cases",
            "Intensive phases closed in the period, planned or unplanned.",
            len(closed),
        ),
        _count(
            "completed",
            "Families completing the intervention",
            "Intensive phases closed as planned in the period.",
            len(planned),
        ),
        _count(
            "unplanned_exits",
            "Unplanned exits",
            "Intensive phases closed unplanned in the period (the reasons in the table below).",
            len(unplanned),
        ),
        _count(
            "families_with_goals",
            "Families agreeing goals",
            "Families who agreed at least one measurable goal in the period.",
            len(with_goals),
        ),
        _count(
            "onward_referrals",
            "Referrals on to specialist agencies",
            "Onward referrals made at the closures in the period (a family may have several).",
            sum(e["closure"].get("onward_referrals", 0) for e in closed),
        ),
        _count(
            "less_formal_transfers",
            "Transfers to less formal services",
            "Families closed in the period who were transferred to less formal services.",
            sum(1 for e in closed if e["closure"].get("less_formal")),
        ),
    ]


def _follow_up(
    chosen: list[Mapping[str, Any]], period: Period, today: str
) -> tuple[list[Figure], Table]:
    goals_ok = goals_n = subst_ok = subst_n = 0
    together = families = achieved = 0
    lost: Counter[str] = Counter()
    lost_goals: Counter[str] = Counter()
    lost_subst: Counter[str] = Counter()
    no_goals = 0
    substance: Counter[str] = Counter()
    by_ground: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in chosen:
        latest = _latest_held(e, period)
        if latest is None:
            reason = _lost(e, period, today)
            if reason is not None:
                lost[reason] += 1
                lost_goals[reason] += len(e["goals"])
                lost_subst[reason] += sum(
                    1 for g in e["goals"].values() if g["category"] == "substance_use"
                )
            continue
        month, review = latest
        families += 1
        together += bool(review.get("together"))
        substance[str(review.get("substance"))] += 1
        rated = [(g, r) for g in e["goals"].values() if (r := _rating_at(g, month)) is not None]
        if not rated:
            no_goals += 1
        ok = [g for g, r in rated if r in MAINTAINED]
        goals_ok += len(ok)
        goals_n += len(rated)
        subst = [(g, r) for g, r in rated if g["category"] == "substance_use"]
        subst_ok += sum(1 for _, r in subst if r in MAINTAINED)
        subst_n += len(subst)
        if rated and len(ok) == len(rated):
            achieved += 1
        for ground in e.get("grounds", []):
            row = by_ground[ground]
            row[0] += len(ok)
            row[1] += len(rated)
            row[2] += bool(review.get("together"))
            row[3] += 1
    lost_families = sum(lost.values())
    excluded_families = {f"lost to follow-up: {k}": v for k, v in sorted(lost.items())}
    ground_rows = [
        [
            ground,
            f"{ok}/{n}",
            _pct(ok, n),
            f"{tog}/{fam}",
            _pct(tog, fam),
        ]
        for ground, (ok, n, tog, fam) in sorted(by_ground.items())
    ]
    lost_note = (
        f"{lost_families} families lost to follow-up are not in the denominator; counting "
        "their goals as not maintained would give "
    )
    figures = [
        Figure.proportion(
            "goals_maintained",
            "Goals exceeded or maintained",
            "Of the goals rated at a follow-up review held in the period (each goal once, at "
            "its family's latest review in the period), those rated exceeded or maintained "
            "against closure. Families whose review fell due in the period and was not held "
            "(declined, could not be contacted, moved away, not recorded) are lost to "
            "follow-up: counted below, not in the denominator.",
            goals_ok,
            goals_n,
            excluded=_goals_lost(lost_goals),
            note=lost_note + _pct(goals_ok, goals_n + lost_goals.total()) + "."
            if lost_families
            else None,
        ),
        Figure.proportion(
            "substance_goals_maintained",
            "Substance-related goals exceeded or maintained",
            "As for all goals, over goals in the substance use category.",
            subst_ok,
            subst_n,
            excluded=_goals_lost(lost_subst),
            note=lost_note + _pct(subst_ok, subst_n + lost_subst.total()) + "."
            if lost_families
            else None,
        ),
        Figure.proportion(
            "families_together",
            "Families staying together",
            "Of the families with a follow-up review held in the period, those recorded as "
            "staying together at their latest review in the period. Families lost to "
            "follow-up are counted below, not in the denominator.",
            together,
            families,
            excluded=excluded_families,
            note=lost_note.replace("their goals", "them")
            + _pct(together, families + lost_families)
            + "."
            if lost_families
            else None,
        ),
        Figure.proportion(
            "families_achieving_goals",
            "Families achieving their goals",
            "Of the families with a follow-up review held in the period and goals to rate, "
            "those whose every rated goal was exceeded or maintained at the latest review.",
            achieved,
            families - no_goals,
            excluded={"families with no goals to rate": no_goals} if no_goals else {},
        ),
        _count(
            "lost_to_follow_up",
            "Families lost to follow-up",
            "Families whose follow-up review fell due (or was recorded as not held) in the "
            "period with no review held in the period, by reason.",
            lost_families,
            excluded=dict(lost),
        ),
    ]
    for status in ("abstinent", "reduced", "unchanged", "increased", "not_applicable"):
        figures.append(
            Figure.proportion(
                f"substance_use_{status}",
                f"Substance use at follow-up: {status.replace('_', ' ')}",
                "Of the families with a follow-up review held in the period, the substance use "
                f"status recorded at their latest review was '{status.replace('_', ' ')}'.",
                substance.get(status, 0),
                families,
            )
        )
    table = Table(
        "outcomes_by_ground",
        "Outcomes by referral ground",
        ["ground", "goals maintained", "%", "families together", "%"],
        ground_rows,
        "The follow-up outcomes above, for the families referred on each ground (a family "
        "referred on two grounds counts under both).",
    )
    return figures, table


def _goals_lost(lost: Counter[str]) -> dict[str, int]:
    return {f"goals of families lost to follow-up: {k}": v for k, v in sorted(lost.items()) if v}


def _rating_at(goal: Mapping[str, Any], month: str) -> str | None:
    review = goal.get("reviews", {}).get(month)
    return None if review is None else review.get("rating")


def _pct(numerator: int, denominator: int) -> str:
    return f"{100 * numerator / denominator:.0f}%" if denominator else "n/a"


def _children(chosen: list[Mapping[str, Any]], period: Period) -> list[Figure]:
    end = period.end.isoformat()
    cpr = cpr_removed = cpr_not_lac = cin = cin_kept = became_lac = 0
    for e in chosen:
        if not period.holds((e.get("closure") or {}).get("on")):
            continue
        for child in e.get("children", {}).values():
            start, now = child.get("at_referral"), _status_on(child, end)
            if now == "lac" and start != "lac":
                became_lac += 1
            if start == "cpr":
                cpr += 1
                cpr_removed += now in ("none", "cin")
                cpr_not_lac += now != "lac"
            elif start == "cin":
                cin += 1
                cin_kept += now in ("cin", "none")
    cohort = (
        "Children of families whose intensive phase closed in the period, by their statutory "
        "status at referral and at the end of the period (status changes carry their "
        "effective dates; a status found at a review counts from the review)."
    )
    return [
        Figure.proportion(
            "cpr_removed",
            "Children removed from the child protection register",
            cohort + " Numerator: on the register at referral and off it (CIN or none) at "
            "the period's end. Denominator: on the register at referral.",
            cpr_removed,
            cpr,
        ),
        Figure.proportion(
            "cpr_not_lac",
            "Children on the register who did not become looked after",
            cohort + " Numerator: on the register at referral and not looked after at the "
            "period's end. Denominator: on the register at referral.",
            cpr_not_lac,
            cpr,
        ),
        Figure.proportion(
            "cin_not_escalated",
            "Children in need who did not become CPR or LAC",
            cohort + " Numerator: a child in need at referral who is neither on the register "
            "nor looked after at the period's end. Denominator: children in need at referral.",
            cin_kept,
            cin,
        ),
        _count(
            "became_lac",
            "Children who became looked after",
            cohort + " Children not looked after at referral who were at the period's end.",
            became_lac,
        ),
    ]


def _maintained_change(chosen: list[Mapping[str, Any]], period: Period) -> Table:
    scores: dict[str, list[int]] = {s: [] for s in STAGES}
    for e in chosen:
        in_cohort = (
            period.holds((e.get("closure") or {}).get("on")) or _latest_held(e, period) is not None
        )
        if not in_cohort:
            continue
        for goal in e["goals"].values():
            scores["baseline"].append(goal["baseline"])
            if goal.get("closing") is not None:
                scores["closing"].append(goal["closing"])
            for month, review in goal.get("reviews", {}).items():
                if review.get("score") is not None and month in scores:
                    scores[month].append(review["score"])
    rows = [
        [
            STAGE_LABELS[s],
            len(scores[s]),
            round(statistics.fmean(scores[s]), 2) if scores[s] else None,
        ]
        for s in STAGES
    ]
    return Table(
        "average_maintained_change",
        "Average maintained change",
        ["stage", "goals scored", "mean score"],
        rows,
        "Mean score (0-10) of the goals of families whose intensive phase closed in the period "
        "or who had a follow-up review held in it, at each stage of their trajectory: the "
        "baseline when the goal was set, the score at closure, and the score recorded at "
        "each review (goals not scored at a stage are not in that stage's mean: see the "
        "number scored).",
    )


def _breakdowns(chosen: list[Mapping[str, Any]], period: Period, today: str) -> list[Table]:
    tables = []
    for key, title, of in (
        ("by_area", "Key figures by area", lambda e: e.get("area")),
        ("by_team", "Key figures by team", lambda e: e.get("team_id")),
        ("by_agency", "Key figures by referring agency", lambda e: e.get("agency")),
    ):
        tables.append(_breakdown(chosen, period, today, key, title, of))
    return tables


def _breakdown(
    chosen: list[Mapping[str, Any]],
    period: Period,
    today: str,
    key: str,
    title: str,
    of: Callable[[Mapping[str, Any]], Any],
) -> Table:
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for e in chosen:
        groups[str(of(e) or "unknown")].append(e)
    rows = []
    for name, members in sorted(groups.items()):
        figures, _ = _follow_up(members, period, today)
        goals = next(f for f in figures if f.key == "goals_maintained")
        rows.append(
            [
                name,
                sum(1 for e in members if period.holds(e["referred_on"])),
                sum(
                    1
                    for e in members
                    if period.holds(e.get("decided_on")) and e.get("decision") == "accepted"
                ),
                sum(
                    1
                    for e in members
                    if period.holds((e.get("closure") or {}).get("on"))
                    and e["closure"]["kind"] == "planned"
                ),
                f"{goals.numerator}/{goals.denominator}",
            ]
        )
    return Table(
        key,
        title,
        ["", "referrals", "accepted", "completed", "goals maintained"],
        rows,
        "The figures above (same definitions) for each group; a case counts under its "
        "current team.",
    )


def _costs(
    chosen: list[Mapping[str, Any]], period: Period, costs: Sequence[Costs], team: str | None
) -> list[Figure]:
    relevant = [c for c in costs if team is None or c.team_id == team]
    if not relevant:
        return [
            Figure.missing(
                "cost_per_case",
                "Cost per case",
                "no team costs recorded for the period (ifss team costs, "
                "POST /teams/{team}/costs) or given in a costs file",
            )
        ]
    total = sum(c.within(period) for c in relevant)
    recorded = sum(1 for c in relevant if c.recorded)
    lines = len(relevant) - recorded
    sources = f"from {recorded} recorded cost {'record' if recorded == 1 else 'records'}" + (
        f" and {lines} {'line' if lines == 1 else 'lines'} of a costs file" if lines else ""
    )
    days = (period.end - period.start).days + 1
    covered: dict[str, set[date]] = defaultdict(set)
    for c in relevant:
        covered[c.team_id] |= c.days_within(period)
    short = [f"{t} {len(d)} of {days} days" for t, d in sorted(covered.items()) if len(d) < days]
    note = sources + ("; costs cover only " + ", ".join(short) if short else "")
    closed = [e for e in chosen if period.holds((e.get("closure") or {}).get("on"))]
    completed = [e for e in closed if e["closure"]["kind"] == "planned"]
    return [
        Figure(
            key="total_cost",
            label="Cost of the service",
            definition="Staff and overhead costs of the teams in the period (a cost line "
            "spanning the period's edge counts for its days within it).",
            value=round(total, 2),
            unit="pounds",
            note=note,
        ),
        Figure(
            key="cost_per_case",
            label="Cost per case",
            definition="The cost of the service in the period divided by the intensive "
            "phases closed in it (planned or unplanned).",
            value=round(total / len(closed), 2) if closed else None,
            numerator=None,
            denominator=len(closed),
            unit="pounds",
        ),
        Figure(
            key="cost_per_completion",
            label="Cost per family completing",
            definition="The cost of the service in the period divided by the families who "
            "completed the intervention (planned closure) in it.",
            value=round(total / len(completed), 2) if completed else None,
            denominator=len(completed),
            unit="pounds",
        ),
    ]


def _recorded_facts(
    chosen: list[Mapping[str, Any]], period: Period, tables: list[Table]
) -> list[Figure]:
    plans = sum(1 for e in chosen for day in e.get("plans", []) if period.holds(day))
    families_with_plans = sum(
        1 for e in chosen if any(period.holds(day) for day in e.get("plans", []))
    )
    feedback: dict[str, Counter[str]] = defaultdict(Counter)
    for e in chosen:
        for source, rating, day in e.get("feedback", []):
            if period.holds(day):
                feedback[source][rating] += 1
    ratings = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
    tables.append(
        Table(
            "feedback",
            "Feedback from families and referrers",
            ["from", *ratings],
            [
                [source, *(feedback[source].get(r, 0) for r in ratings)]
                for source in ("family", "referrer")
            ],
            "Feedback recorded in the period, by who gave it and how satisfied they said "
            "they were (a five-point scale).",
        )
    )
    purchases = [
        (service, pence) for e in chosen for service, pence, day in e.get("purchases", [])
        if period.holds(day)
    ]  # fmt: skip
    by_service: Counter[str] = Counter()
    for service, _ in purchases:
        by_service[service] += 1
    tables.append(
        _table_of(
            "spot_purchases",
            "Services spot purchased, by service",
            "service",
            by_service,
            "Services not otherwise available that were bought for families in the period.",
        )
    )
    joint: Counter[str] = Counter()
    for e in chosen:
        for work in e.get("joint_work", {}).values():
            for outcome in ("requested", "obtained", "refused"):
                if period.holds(work.get(outcome)):
                    joint[outcome] += 1
    figures = [
        _count(
            "family_plans",
            "Number of family plans",
            "Family plans agreed in the period (a family may agree more than one; "
            f"{families_with_plans} families agreed at least one).",
            plans,
        ),
        _count(
            "spot_purchases",
            "Services spot purchased",
            "Services not otherwise available bought for families in the period.",
            len(purchases),
        ),
        Figure(
            key="spot_purchase_cost",
            label="Cost of services spot purchased",
            definition="What the services spot purchased in the period cost, in pounds.",
            value=sum(p for _, p in purchases) / 100,
            unit="pounds",
        ),
    ]
    for outcome, words in (
        ("requested", "Joint work to reach a service: requested"),
        ("obtained", "Joint work to reach a service: service obtained"),
        ("refused", "Joint work to reach a service: service refused"),
    ):
        figures.append(
            _count(
                f"joint_work_{outcome}",
                words,
                f"Joint work with the family's case manager recorded as {outcome} in the period.",
                joint[outcome],
            )
        )
    for source in ("family", "referrer"):
        given = feedback[source]
        figures.append(
            Figure.proportion(
                f"feedback_{source}_satisfied",
                f"Feedback from {'families' if source == 'family' else 'referrers'}: satisfied",
                f"Of the feedback from {'families' if source == 'family' else 'referrers'} "
                "recorded in the period, the share satisfied or very satisfied.",
                given["satisfied"] + given["very_satisfied"],
                given.total(),
            )
        )
    return figures


def _after(e: Mapping[str, Any], period: Period) -> tuple[str, dict[str, Any]] | None:
    """The measures a family's change is judged on: taken at closure in the period, else
    at its latest review in the period."""
    measures = e.get("measures", {})
    closure = measures.get("closure")
    if closure is not None and period.holds(closure["on"]):
        return "closure", closure
    reviews = [
        (int(k.split("-")[1]), v) for k, v in measures.items()
        if k.startswith("review-") and period.holds(v["on"])
    ]  # fmt: skip
    if reviews:
        month, taken = max(reviews, key=lambda r: r[0])
        return f"review-{month}", taken
    return None


def _measures(
    chosen: list[Mapping[str, Any]], period: Period, defined: Programme, tables: list[Table]
) -> list[Figure]:
    figures, rows = [], []
    for measure in defined.measures:
        improved = compared = no_baseline = 0
        before: list[int] = []
        after: list[int] = []
        for e in chosen:
            later = _after(e, period)
            if later is None or measure.code not in later[1]["values"]:
                continue
            first = e.get("measures", {}).get("referral", {}).get("values", {})
            if measure.code not in first:
                no_baseline += 1
                continue
            b, a = first[measure.code], later[1]["values"][measure.code]
            before.append(b)
            after.append(a)
            compared += 1
            improved += (a > b) if measure.better == "higher" else (a < b)
        figures.append(
            Figure.proportion(
                f"improved_{measure.code}",
                f"Improved {measure.label[0].lower()}{measure.label[1:]}",
                f"{measure.definition} Of the families measured at referral and again at "
                "closure (or, failing that, at their latest review) in the period, those "
                f"whose measure was {'higher' if measure.better == 'higher' else 'lower'} "
                "than at referral.",
                improved,
                compared,
                excluded={"measured later but not at referral": no_baseline} if no_baseline else {},
            )
        )
        rows.append(
            [
                measure.label,
                compared,
                round(statistics.fmean(before), 2) if before else None,
                round(statistics.fmean(after), 2) if after else None,
            ]
        )
    tables.append(
        Table(
            "measures_before_after",
            "Outcome measures before and after",
            ["measure", "families", "mean at referral", "mean after"],
            rows,
            f"The {defined.name}'s outcome measures, for the families measured at referral "
            "and again in the period (at closure, or at their latest review).",
        )
    )
    return figures


def _costs_avoided(
    chosen: list[Mapping[str, Any]],
    period: Period,
    defined: Programme,
    unit_costs: Mapping[str, UnitCost],
) -> list[Figure]:
    figures = []
    for outcome in defined.negative_outcomes:
        avoided = 0
        for e in chosen:
            later = _after(e, period)
            first = e.get("measures", {}).get("referral", {}).get("values", {})
            if later is None or outcome.measure not in later[1]["values"]:
                continue
            if first.get(outcome.measure, 0) > 0 and later[1]["values"][outcome.measure] == 0:
                avoided += 1
        given = unit_costs.get(outcome.measure)
        cost = given.cost if given else outcome.unit_cost
        source = given.source if given else outcome.source
        figures.append(
            Figure(
                key=f"avoided_{outcome.measure}",
                label=f"{outcome.label}: estimated costs avoided",
                definition=f"Families with {outcome.measure.replace('_', ' ')} at referral "
                "and none at closure (or at their latest review) in the period (the "
                "numerator), times the unit cost ("
                + (f"£{cost:,.2f}" if cost is not None else "not given")
                + f"; source: {source}).",
                value=None if cost is None else round(avoided * cost, 2),
                numerator=avoided,
                unit="pounds",
                recorded=cost is not None,
            )
        )
    return figures


def _team_work(work: list[Mapping[str, Any]], period: Period, tables: list[Table]) -> list[Figure]:
    given = [w for w in work if period.holds(w.get("given_on"))]
    consultations = [w for w in given if w["type"] == "ConsultationGiven"]
    training = [w for w in given if w["type"] == "TrainingGiven"]
    by_agency: Counter[str] = Counter()
    for w in consultations:
        by_agency[str(w["agency"])] += 1
    tables.append(
        Table(
            "consultations_by_agency",
            "Consultation and advice, by the practitioners' agency",
            ["agency", "sessions"],
            [[k, v] for k, v in sorted(by_agency.items(), key=lambda kv: (-kv[1], kv[0]))],
            "Consultation and advice sessions given in the period to practitioners of other "
            "agencies, by their agency.",
        )
    )
    models: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for w in training:
        models[str(w["model"])][0] += w["sessions"]
        models[str(w["model"])][1] += w["attendees"]
    tables.append(
        Table(
            "training_by_model",
            "Training given to the wider workforce, by the model taught",
            ["model", "sessions", "attendees"],
            [[k, n, a] for k, (n, a) in sorted(models.items())],
            "Training sessions given in the period and the people who attended them.",
        )
    )
    return [
        _count(
            "consultations",
            "Consultation and advice sessions to other practitioners",
            "Sessions of consultation or advice the teams gave in the period to practitioners "
            "of other agencies, recorded by the teams' supervisors.",
            len(consultations),
        ),
        _count(
            "practitioners_advised",
            "Practitioners given consultation or advice",
            "The practitioners present at those sessions (one counted at each session).",
            sum(w["practitioners"] for w in consultations),
        ),
        _count(
            "training_sessions",
            "Training sessions given to the wider workforce",
            "Training sessions in the service's model (motivational interviewing, "
            "solution-focused and cognitive behavioural techniques) given in the period.",
            sum(w["sessions"] for w in training),
        ),
        _count(
            "training_attendees",
            "People trained",
            "Attendances at the training sessions given in the period.",
            sum(w["attendees"] for w in training),
        ),
    ]


def _profile_codes(referred: list[Mapping[str, Any]], tables: list[Table]) -> list[Figure]:
    """Children by age band and families by the language they chose: the coded profile of
    the families referred in the period (what was not asked counted as "not recorded")."""
    bands = Counter(
        c.get("band") or NOT_RECORDED for e in referred for c in e.get("children", {}).values()
    )
    tables.append(
        Table(
            "children_by_age_band",
            "Children by age band",
            ["age band", "children"],
            [[b, bands[b]] for b in (*(a.value for a in AgeBand), NOT_RECORDED) if bands[b]],
            "The children of the families referred in the period, by their age band when "
            "recorded (at the referral, or the day a child joined the family; worked out from "
            "the date of birth when one was given).",
        )
    )
    languages = Counter(e.get("language") or NOT_RECORDED for e in referred)
    tables.append(
        Table(
            "families_by_language",
            "Families by the language they chose",
            ["language", "families"],
            [
                [lang, languages[lang]]
                for lang in (*(p.value for p in LanguagePreference), NOT_RECORDED)
                if languages[lang]
            ],
            "Families referred in the period, by the language they chose to be worked with in.",
        )
    )
    asked = sum(n for lang, n in languages.items() if lang != NOT_RECORDED)
    welsh = (
        languages[LanguagePreference.WELSH.value] + languages[LanguagePreference.BILINGUAL.value]
    )
    return [
        Figure.proportion(
            "welsh_language",
            "Families who chose to work in Welsh",
            "Families referred in the period who chose Welsh, or Welsh and English, as the "
            "language of the work, of those whose choice was recorded.",
            welsh,
            asked,
            excluded={"language not recorded": languages[NOT_RECORDED]}
            if languages[NOT_RECORDED]
            else {},
        ),
        _count(
            "children_with_age_band",
            "Children with an age band recorded",
            "Children of the families referred in the period whose age band was recorded; "
            "the bands are in the table below.",
            sum(n for b, n in bands.items() if b != NOT_RECORDED),
            note=f"{bands[NOT_RECORDED]} not recorded" if bands[NOT_RECORDED] else None,
        ),
    ]
