"""A class leaving closes many sessions: the server collects and trims once, after the last."""

import time

from core import memory


def test_tidy_runs_once_after_the_last_call(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "tidy", lambda: calls.append(time.monotonic()))
    start = time.monotonic()
    for _ in range(5):  # five tabs closing within a moment
        memory.tidy_after(0.3)
        time.sleep(0.05)
    time.sleep(0.8)
    assert len(calls) == 1 and calls[0] - start >= 0.5  # 0.3 s after the fifth call, not the first


def test_tidy_collects_cycles():
    import gc
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    gc.disable()
    try:
        del a, b
        assert gone() is not None
        memory.tidy()
        assert gone() is None
    finally:
        gc.enable()
