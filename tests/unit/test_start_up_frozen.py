"""A long-running process's start-up objects are frozen out of the cyclic garbage
collector's full passes, after what is garbage already has been collected (nothing that
is garbage at that moment is kept for ever)."""

from __future__ import annotations

import gc
import weakref

from workers.root import freeze_start_up


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_garbage_is_collected_and_the_rest_frozen() -> None:
    live = _Node()
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    frozen_before = gc.get_freeze_count()
    try:
        freeze_start_up()
        assert gone() is None  # collected first, not frozen with the rest
        assert gc.get_freeze_count() > frozen_before
        assert not any(o is live for o in gc.get_objects())  # out of every generation
    finally:
        gc.unfreeze()  # the test process carries on as it was
