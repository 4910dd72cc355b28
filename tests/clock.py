"""A clock the test moves: code that paces itself with ``time.sleep`` runs at once, and what it
measures is exact instead of whatever a busy machine made of the gaps."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from django.utils import timezone


class SteppedClock:
    """The wall clock frozen (time-machine) and ``time.monotonic()`` frozen with it; a
    ``time.sleep(s)`` in the test's thread returns at once and moves both clocks ``s`` ahead.

    Other threads (servers answering the test) still really sleep; they read the same frozen
    clocks, so a server records a request at the test thread's time of sending it."""

    def __init__(self, traveller: time_machine.Traveller, *, owner: int) -> None:
        self._traveller = traveller
        self._owner = owner
        self._real_sleep = time.sleep
        self._monotonic = time.monotonic()
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._monotonic += seconds
            self._traveller.shift(seconds)

    def sleep(self, seconds: float) -> None:
        if threading.get_ident() != self._owner:
            self._real_sleep(seconds)
            return
        if seconds > 0:
            self.advance(seconds)


@contextmanager
def stepped_clock() -> Iterator[SteppedClock]:
    """Both clocks frozen at the current time until the block ends."""
    with (
        time_machine.travel(timezone.now(), tick=False) as traveller,
        pytest.MonkeyPatch.context() as patch,
    ):
        clock = SteppedClock(traveller, owner=threading.get_ident())
        patch.setattr(time, "monotonic", clock.monotonic)
        patch.setattr(time, "sleep", clock.sleep)
        yield clock
