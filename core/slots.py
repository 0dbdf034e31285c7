"""Training slots: how many runs of this server train at the same moment, and with how many threads each.

On a shared server every learner's training competes for the same cores, and so do the lesson pages of everyone
else. A run trains in bursts (`Run.burst`); before each burst it takes a slot, and gives it back after, so runs
that want to train take turns, first come first served:

    slots = TrainingSlots(limit=1, threads=1)
    with slots.turn(run, wait_s=1.0, keep_waiting=lambda: run.wants_training) as turn:
        if turn.granted:
            ...                                  # train for about a second with `turn.threads` threads
        else:
            turn.ahead                           # runs before this one in line: "2 ahead"

A waiting run holds no lock of its own run, so Pause and Stop stay instant. `busy()` says how many runs shared the
slots lately, so that the studio can tell a learner why their training goes slower than alone.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import torch

from core.shared_server import shared

RECENT_S = 5.0  # a run that asked for a turn this recently counts as training now
KEEP_PLACE_S = 3.0  # a run that gave up waiting keeps its place in line this long (its page draws meanwhile)


@dataclass
class Turn:
    granted: bool
    ahead: int  # runs waiting before this one when it gave up waiting (0 when granted)
    threads: int


def policy(cores: int, shared: bool) -> tuple[int, int]:
    """(slots, threads per training) for a server with `cores` cores. A learner's own machine: one turn at a time
    with every core. A shared server: a slot per 4 cores, and one core left to the lesson pages of everyone else
    (BENCHMARKS.md, "Training slots", measured the options on 2 cores)."""
    if not shared:
        return 1, max(1, cores)
    limit = max(1, cores // 4)
    return limit, max(1, (cores - 1) // limit)


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return max(1, int(value)) if value.isdigit() else None


class TrainingSlots:
    """At most `limit` bursts at once; the others wait in line in the order they first asked.

    A run keeps its place in line between attempts (its page draws between two), for up to KEEP_PLACE_S; a free
    slot goes to the earliest run in line that is waiting at that moment, so no slot idles while a run draws.
    """

    def __init__(self, limit: int | None = None, threads: int | None = None):
        """Unset, `limit` and `threads` come from PYLAB_TRAINING_SLOTS and PYLAB_TRAINING_THREADS, else `policy`."""
        default = policy(os.cpu_count() or 1, shared())
        self.limit = limit or _env_int("PYLAB_TRAINING_SLOTS") or default[0]
        self.threads = threads or _env_int("PYLAB_TRAINING_THREADS") or default[1]
        self._cond = threading.Condition()
        self._line: OrderedDict[int, float] = OrderedDict()  # runs in line (by id), oldest first -> last asked
        self._waiting: set[int] = set()
        self._in_use = 0
        self._seen: dict[int, float] = {}  # runs that asked lately -> when, for busy()

    def _tidy(self, now: float) -> None:
        for key in [k for k, t in self._line.items() if now - t > KEEP_PLACE_S and k not in self._waiting]:
            del self._line[key]
        for key in [k for k, t in self._seen.items() if now - t > RECENT_S]:
            del self._seen[key]

    def _first_waiting(self) -> int | None:
        return next((k for k in self._line if k in self._waiting), None)

    @contextlib.contextmanager
    def turn(self, who: object, wait_s: float, keep_waiting=lambda: True):
        """Wait up to `wait_s` for a slot for `who` (a run), while `keep_waiting()` holds; yields a Turn."""
        key = id(who)
        deadline = time.monotonic() + wait_s
        granted = False
        with self._cond:
            now = time.monotonic()
            self._tidy(now)
            self._seen[key] = now
            self._line[key] = now  # a run already in line keeps its place
            self._waiting.add(key)
            try:
                while True:
                    if self._in_use < self.limit and self._first_waiting() == key:
                        granted = True
                        self._in_use += 1
                        del self._line[key]  # its next turn is asked for at the end of the line
                        break
                    left = deadline - time.monotonic()
                    if left <= 0 or not keep_waiting():
                        break
                    self._cond.wait(min(left, 0.05))
                ahead = 0 if granted else list(self._line).index(key)
            finally:
                self._waiting.discard(key)
                if not granted and not keep_waiting():
                    self._line.pop(key, None)  # paused or stopped: out of the line
                self._cond.notify_all()
        if not granted:
            yield Turn(False, ahead, self.threads)
            return
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)  # this thread's OpenMP team; put back after
        try:
            yield Turn(True, 0, self.threads)
        finally:
            torch.set_num_threads(previous)
            with self._cond:
                self._in_use -= 1
                self._cond.notify_all()

    def leave(self, who: object) -> None:
        """`who` no longer wants to train (paused, stopped, finished): out of the line at once."""
        with self._cond:
            self._line.pop(id(who), None)
            self._seen.pop(id(who), None)
            self._cond.notify_all()

    def busy(self) -> int:
        """Runs that wanted to train in the last RECENT_S seconds."""
        with self._cond:
            self._tidy(time.monotonic())
            return len(self._seen)


SLOTS = TrainingSlots()
