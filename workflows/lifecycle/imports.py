"""Importing a case already open in another case system: a family at its current phase,
with its real past dates.

The row is replayed through the same rules as a live case (``decide``), each step at the
time it happened there, so an import can never hold a state the engine could not have
reached itself; a step the rules refuse is reported with the row's own field. The events
keep their real dates (``occurred_at``); ``CaseImported`` comes first and names the source
record. Deadlines already past at import are not raised by the history: the case's own
loop raises each once, after the import, like any deadline it finds passed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from events import catalogue as ev
from events.bounds import (
    MAX_GOALS,
    Code,
    Day,
    Moment,
    Score,
    StrictBool,
    Words,
    whole_number,
)
from events.calendar import local_day
from events.catalogue import DomainEvent, GoalScore
from events.envelope import Actor
from events.policy import ProgrammePolicy
from events.validation import first_problem
from events.vocabulary import (
    ClosureKind,
    GoalCategory,
    GoalRating,
    OverdueOnImport,
    Role,
    SessionKind,
    StatutoryStatus,
    SubstanceUseStatus,
    UnplannedExitReason,
)
from workflows import commands as cmd
from workflows.lifecycle.decide import decide
from workflows.lifecycle.evolve import evolve
from workflows.lifecycle.intake import refer
from workflows.lifecycle.state import CaseState, CommandRejected, Phase

MAX_ROWS_PER_LIST = 200  # sessions, scores or reviews of one family


class ImportedPhase(StrEnum):
    """The phases a family can be imported at (an ended episode is not imported)."""

    REFERRED = "referred"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    ALLOCATED = "allocated"
    INTENSIVE = "intensive"
    FOLLOW_UP = "follow_up"


ORDER = list(ImportedPhase)


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImportSource(_Row):
    system: Code
    record_id: Code


class EarlierEpisode(_Row):
    """The family's earlier episode there, ended before this referral: the import keeps
    the fact that this one is a re-referral (the earlier episode is not imported)."""

    record_id: Code
    ended_on: Day


class ImportedGoal(_Row):
    goal_id: Code
    category: GoalCategory
    description: Words
    baseline: Score
    target: Score
    agreed_on: Day


class ImportedScore(_Row):
    goal_id: Code
    score: Score
    scored_on: Day


class ImportedSession(_Row):
    session_id: Code
    held_at: Moment
    kind: SessionKind
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60), BeforeValidator(whole_number)]


class ImportedClosure(_Row):
    closed_on: Day
    kind: ClosureKind
    unplanned_reason: UnplannedExitReason | None = None
    closing_scores: list[GoalScore] = Field(default=[], max_length=MAX_GOALS)


class ImportedReview(_Row):
    month: Annotated[int, BeforeValidator(whole_number)]
    held_on: Day
    ratings: dict[Code, GoalRating] = Field(default={}, max_length=MAX_GOALS)
    family_staying_together: StrictBool
    substance_use_status: SubstanceUseStatus
    children_statuses: dict[Code, StatutoryStatus] = {}


# Which fields each phase needs (and the phases before it may not have).
NEEDS: dict[str, ImportedPhase] = {
    "accepted_on": ImportedPhase.ACCEPTED,
    "key_worker_id": ImportedPhase.ALLOCATED,
    "allocated_on": ImportedPhase.ALLOCATED,
    "first_meeting_at": ImportedPhase.INTENSIVE,
    "closure": ImportedPhase.FOLLOW_UP,
}
ONLY_FROM: dict[str, ImportedPhase] = {
    "goals": ImportedPhase.INTENSIVE,
    "sessions": ImportedPhase.INTENSIVE,
    "scores": ImportedPhase.INTENSIVE,
    "reviews": ImportedPhase.FOLLOW_UP,
}


class ImportCase(cmd.ReferFamily):
    """One family from another system: its referral (the fields of a referral), the source
    record, the phase reached, and what happened there, with dates."""

    source: ImportSource
    phase: ImportedPhase
    # Set by the importing admin for the whole file (``ifss import --overdue-alerts``).
    overdue_alerts: OverdueOnImport = OverdueOnImport.INBOX
    accepted_on: Day | None = None
    key_worker_id: Code | None = None
    allocated_on: Day | None = None
    first_meeting_at: Moment | None = None
    goals: list[ImportedGoal] = Field(default=[], max_length=MAX_GOALS)
    sessions: list[ImportedSession] = Field(default=[], max_length=MAX_ROWS_PER_LIST)
    scores: list[ImportedScore] = Field(default=[], max_length=MAX_ROWS_PER_LIST)
    closure: ImportedClosure | None = None
    reviews: list[ImportedReview] = Field(default=[], max_length=4)
    earlier_episode: EarlierEpisode | None = None

    @model_validator(mode="after")
    def _fits_its_phase(self) -> ImportCase:
        reached = ORDER.index(self.phase)
        for name, phase in NEEDS.items():
            given = getattr(self, name) is not None
            if ORDER.index(phase) <= reached and not given:
                raise ValueError(f"{name}: required for a family at phase {self.phase.value}")
            if ORDER.index(phase) > reached and given:
                raise ValueError(f"{name}: only for a family at phase {phase.value} or later")
        for name, phase in ONLY_FROM.items():
            if getattr(self, name) and ORDER.index(phase) > reached:
                raise ValueError(f"{name}: only for a family at phase {phase.value} or later")
        return self

    def referral(self) -> cmd.ReferFamily:
        fields = {name: getattr(self, name) for name in cmd.ReferFamily.model_fields}
        return cmd.ReferFamily.model_validate(fields)


def fresh_state(case_id: str, policy: ProgrammePolicy) -> CaseState:
    """A case as a workflow started today holds it before anything is recorded: every
    rule of today in force (the checks of a file use it, as the workflow will)."""
    return CaseState(
        case_id=case_id,
        policy=policy,
        input_bounds=True,
        coded_profile=True,
        edge_rules=True,
        late_dates=True,
        person_ids_fold_case=True,
        alert_timers=True,
        uk_calendar=True,
        follow_up_rules=True,
        review_requests=True,
        corrections=True,
        team_follows_up=True,
        consent_per_person=True,
    )


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _met_that_morning(row: ImportCase, days_in_wales: bool) -> datetime | None:
    """The first meeting, when it was held on the morning of the day the family was accepted
    or allocated (before noon, where facts known only by their day stand, which would put
    the meeting before them): then that day's facts stand at the meeting instead. (Imports
    recorded before days in Wales looked at the acceptance's day only.)"""
    met = row.first_meeting_at
    if met is None:
        return None
    day = local_day(met)
    days = (row.accepted_on, row.allocated_on) if days_in_wales else (row.accepted_on,)
    if day in days and met < _noon(day):
        return met
    return None


class _Replay:
    """The row's steps through the rules, in the order they happened, none after ``now``
    (the import) and none of the intensive work after the closure."""

    def __init__(self, state: CaseState, actor: Actor, now: datetime, in_wales: bool) -> None:
        self.state = state
        self.now = now
        # The rules of the patch "import-days-in-wales" (see ``import_events``).
        self.in_wales = in_wales
        self.day_of: Callable[[datetime], date] = local_day if in_wales else _written_day
        self.closed_on: date | None = None
        # The rules are asked as a supervisor would be (every step is one a supervisor may
        # record); the events are recorded as the importing admin's.
        self.as_supervisor = Actor(id=actor.id, role=Role.SUPERVISOR)
        self.recorded: list[tuple[DomainEvent, datetime]] = []

    def apply(self, events: list[DomainEvent], at: datetime) -> None:
        for event in events:
            self.state = evolve(self.state, event, at)
            self.recorded.append((event, at))

    def step(
        self,
        where: str,
        at: datetime,
        decision: Callable[[], list[DomainEvent]],
        *,
        nested: bool = True,
        timed: str | None = None,
    ) -> None:
        """One step at ``at``; a refusal names the row's field: ``where`` itself, or (for
        an item of a list) the item's field under it. ``timed`` names the field that gave
        ``at`` as a moment (a meeting's, a session's), not as a day placed at noon."""
        if at > self.now:
            if timed is not None and self.in_wales:  # later today: it has not happened yet
                raise CommandRejected(timed, "cannot be in the future", "invalid")
            if self.day_of(at) > self.day_of(self.now):
                raise CommandRejected(where or "received_on", "cannot be in the future", "invalid")
            at = self.now  # a day's step dated today, placed at noon: it happened by now
        try:
            events = decision()
        except CommandRejected as exc:
            if not nested or exc.field in ("phase", "command"):
                field = where or exc.field
            else:
                field = f"{where}.{exc.field}" if where else exc.field
            raise CommandRejected(field, exc.template, "invalid", **exc.params) from None
        self.apply(events, at)

    def do(
        self,
        where: str,
        at: datetime,
        command: type[cmd.Command],
        *,
        nested: bool = True,
        timed: str | None = None,
        **fields: object,
    ) -> None:
        try:
            made = command.model_validate({"actor": self.as_supervisor, **fields})
        except ValidationError as exc:  # stricter than the row's own model: name the field
            field, rule = first_problem(exc.errors(include_input=False), prefix=where)
            raise CommandRejected(field, rule, "invalid") from None
        self.step(where, at, lambda: decide(self.state, made, at), nested=nested, timed=timed)


def _written_day(moment: datetime) -> date:
    """The day in the offset the file wrote (how imports were checked before days in Wales:
    their histories replay so)."""
    return moment.date()


def _in_order(row: ImportCase, now: datetime, day_of: Callable[[datetime], date]) -> None:
    """Dates that must not run backwards, each named by its field."""
    milestones: list[tuple[str, date | None]] = [
        ("earlier_episode.ended_on", row.earlier_episode.ended_on if row.earlier_episode else None),
        ("received_on", row.received_on),
        ("accepted_on", row.accepted_on),
        ("allocated_on", row.allocated_on),
        ("first_meeting_at", day_of(row.first_meeting_at) if row.first_meeting_at else None),
        ("closure.closed_on", row.closure.closed_on if row.closure else None),
    ]
    last_name, last = "", None
    for name, day in milestones:
        if day is None:
            continue
        if day > day_of(now):
            raise CommandRejected(name, "cannot be in the future", "invalid")
        if last is not None and day < last:
            raise CommandRejected(
                name, "cannot be before {field} ({day})", "invalid", field=last_name, day=last
            )
        last_name, last = name, day
    agreed = {g.goal_id: g.agreed_on for g in row.goals}
    for n, score in enumerate(row.scores):
        if score.goal_id not in agreed:
            raise CommandRejected(
                f"scores[{n}].goal_id", "no goal {goal_id}", "invalid", goal_id=score.goal_id
            )
        if score.scored_on < agreed[score.goal_id]:
            raise CommandRejected(
                f"scores[{n}].scored_on",
                "cannot be before goal {goal_id} was agreed ({agreed_on})",
                "invalid",
                goal_id=score.goal_id,
                agreed_on=agreed[score.goal_id],
            )


def import_events(
    state: CaseState,
    row: ImportCase,
    now: datetime,
    *,
    previous_case_id: str | None = None,
    open_case_id: str | None = None,
    team_known: bool = True,
    known_as: str | None = None,
    waitlist_position: int | None = None,
    days_in_wales: bool = True,
) -> list[tuple[DomainEvent, datetime]]:
    """``CaseImported`` and the family's history there, each event with the time it
    happened. Raises ``CommandRejected`` naming the row's field and the rule. A moment's
    day is its day in Wales, whatever offset the file wrote it in (``days_in_wales``; an
    import recorded before replays with the offsets as written)."""
    if state.phase is not Phase.NEW:
        raise CommandRejected(
            "case_id", "case {case_id} exists already", "conflict", case_id=state.case_id
        )
    if row.actor.role is not Role.ADMIN:
        raise CommandRejected("actor.role", "only an admin may import cases", "forbidden")
    replay = _Replay(state, row.actor, now, days_in_wales)
    _in_order(row, now, replay.day_of)
    replay.recorded.append(
        (
            ev.CaseImported(
                source_system=row.source.system,
                source_record=row.source.record_id,
                phase=row.phase.value,
                overdue_alerts=row.overdue_alerts,
                earlier_record=row.earlier_episode.record_id if row.earlier_episode else None,
                earlier_ended_on=row.earlier_episode.ended_on if row.earlier_episode else None,
            ),
            now,
        )
    )
    referral = row.referral().model_copy(update={"actor": replay.as_supervisor})
    morning = _met_that_morning(row, days_in_wales)

    def on(day: date) -> datetime:
        return morning if morning is not None and day == local_day(morning) else _noon(day)

    received = on(row.received_on)
    replay.step(
        "",
        received,
        lambda: refer(
            replay.state,
            referral,
            previous_case_id,
            received,
            open_case_id=open_case_id,
            team_known=team_known,
            known_as=known_as,
        ),
    )
    if replay.state.ended:  # the rules reject it on receipt: name what they need
        field = "referral_grounds" if not row.referral_grounds else "consent_to_referral"
        raise CommandRejected(field, "a referral the rules reject cannot be imported open")
    reached = ORDER.index(row.phase)
    if row.accepted_on is not None:
        replay.do("accepted_on", on(row.accepted_on), cmd.AcceptReferral, nested=False)
    if row.phase is ImportedPhase.WAITLISTED:
        replay.do(
            "phase",
            _noon(row.accepted_on or row.received_on),
            cmd.PlacedOnWaitlist,
            nested=False,
            team_id=row.team_id,
            position=waitlist_position or 1,
            priority=row.priority,
        )
    if row.key_worker_id is not None and row.allocated_on is not None:
        replay.do(
            "key_worker_id",
            on(row.allocated_on),
            cmd.KeyWorkerAssigned,
            nested=False,
            key_worker_id=row.key_worker_id,
            team_id=row.team_id,
        )
    if row.first_meeting_at is not None:
        replay.do(
            "first_meeting_at", row.first_meeting_at, cmd.RecordFirstMeeting, nested=False,
            timed="first_meeting_at", held_at=row.first_meeting_at,
        )  # fmt: skip
    if reached >= ORDER.index(ImportedPhase.INTENSIVE):
        _intensive(replay, row)
    if row.closure is not None:
        closure = row.closure
        replay.closed_on = closure.closed_on
        replay.do(
            "closure",
            _closed_at(replay, closure.closed_on),
            cmd.CloseIntensivePhase,
            kind=closure.kind,
            unplanned_reason=closure.unplanned_reason,
            closing_scores=closure.closing_scores,
        )
        _refuse_an_end(replay)
        _reviews(replay, row)
    _refuse_an_end(replay)
    return replay.recorded


def _closed_at(replay: _Replay, closed_on: date) -> datetime:
    """Noon on the closure's day, or after that day's last step (a visit that evening):
    the closure comes after the work it closes. (Imports recorded before days in Wales:
    noon.)"""
    noon = _noon(closed_on)
    if not replay.in_wales:
        return noon
    that_day = [at for _, at in replay.recorded if replay.day_of(at) == closed_on]
    return max([noon, *that_day])


def _refuse_an_end(replay: _Replay) -> None:
    """An episode its own history ends (no consent to follow-up, every review held) is
    closed there, not open: it is not imported."""
    if replay.state.ended:
        raise CommandRejected(
            "phase", "the history ends the episode there; an ended episode is not imported"
        )


def _intensive(replay: _Replay, row: ImportCase) -> None:
    """Goals, sessions and scores in the order they happened (a goal agreed on a day comes
    before that day's sessions and scores)."""
    Step = tuple[datetime, int, str, type[cmd.Command], dict[str, object]]
    steps: list[Step] = []
    for n, g in enumerate(row.goals):
        fields = g.model_dump(exclude={"agreed_on"})
        steps.append((_noon(g.agreed_on), 0, f"goals[{n}]", cmd.AgreeGoal, fields))
    for n, s in enumerate(row.sessions):
        steps.append((s.held_at, 1, f"sessions[{n}]", cmd.RecordSession, s.model_dump()))
    for n, sc in enumerate(row.scores):
        scores = [GoalScore(goal_id=sc.goal_id, score=sc.score)]
        steps.append((_noon(sc.scored_on), 2, f"scores[{n}]", cmd.ScoreGoals, {"scores": scores}))
    started = replay.state.first_meeting_at
    closed = row.closure.closed_on if row.closure else None
    for at, kind, where, command, fields in sorted(steps, key=lambda step: (step[0], step[1])):
        if started is not None and replay.day_of(at) < replay.day_of(started):
            raise CommandRejected(
                where,
                "cannot be before the first meeting ({started_on})",
                "invalid",
                started_on=replay.day_of(started),
            )
        if closed is not None and replay.day_of(at) > closed:
            raise CommandRejected(
                where, "cannot be after the closure ({closed_on})", "invalid", closed_on=closed
            )
        replay.do(
            where,
            max(at, started) if started else at,
            command,
            nested=True,
            timed=f"{where}.held_at" if kind == 1 else None,  # a session's moment
            **fields,
        )


def _reviews(replay: _Replay, row: ImportCase) -> None:
    by_month = {r.month: r for r in replay.state.reviews.values()}
    for n, held in sorted(enumerate(row.reviews), key=lambda item: item[1].held_on):
        review = by_month.get(held.month)
        if review is None:
            raise CommandRejected(
                f"reviews[{n}].month",
                "no {month}-month review (the reviews are at {months} months)",
                "invalid",
                month=held.month,
                months=[str(m) for m in sorted(by_month)],
            )
        replay.do(
            f"reviews[{n}]",
            _noon(held.held_on),
            cmd.CompleteReview,
            review_id=review.review_id,
            ratings=held.ratings,
            family_staying_together=held.family_staying_together,
            substance_use_status=held.substance_use_status,
            children_statuses=held.children_statuses,
        )
