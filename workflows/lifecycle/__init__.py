"""The lifecycle of one family's episode as pure rules, without I/O or Temporal.

* ``decide(state, command, now)`` returns the events a command causes, or raises
  ``CommandRejected`` naming the field and the rule (then nothing is recorded);
* ``evolve(state, event, at)`` returns the state after an event (``evolve_all`` after
  several, copying the state once);
* ``due(state, now)`` returns the events that deadlines cause by ``now`` and
  ``next_wakeup(state)`` when the next deadline falls.

One module per concept, each read in one sitting: ``state`` (the case's state),
``guards`` (who may, and when), ``intake`` (referral, acceptance, allocation),
``intensive`` (the 4-6 weeks at home), ``follow_up`` (reviews and boosters), ``episode``
(children, consent, alerts, ending), ``decide`` (which module decides a command),
``deadlines`` and ``evolve``.
"""

from workflows.lifecycle.deadlines import due, next_wakeup
from workflows.lifecycle.decide import decide
from workflows.lifecycle.evolve import evolve, evolve_all
from workflows.lifecycle.intake import refer
from workflows.lifecycle.state import (
    Booster,
    CaseState,
    CommandRejected,
    Extension,
    Goal,
    Phase,
    RefusalKind,
    Review,
    ReviewStatus,
    midnight,
)

__all__ = [
    "Booster",
    "CaseState",
    "CommandRejected",
    "Extension",
    "Goal",
    "Phase",
    "RefusalKind",
    "Review",
    "ReviewStatus",
    "decide",
    "due",
    "evolve",
    "evolve_all",
    "midnight",
    "next_wakeup",
    "refer",
]
