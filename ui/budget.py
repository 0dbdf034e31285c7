"""Every interaction has a compute budget: work estimated above `HEAVY_S` seconds runs with a progress bar and a
Cancel button, so one learner's 80 x 80 map of 3,000 steps never holds a shared server's CPU without them
seeing it and being able to stop it.

    result = budget.compute(("basins", formula, config, n, steps), lambda progress: work(..., progress=progress),
                            seconds=estimate, label="Running every start", key="bs_cancel")

The result is kept for every session (the last `KEEP` results): the same settings show at once the next time.
Unlike st.cache_data's copies, every session gets the same object: read it, never change it in place. Cancel stops the run at its next progress report (Streamlit interrupts a script run at
its next element update when a new run is requested) and remembers which settings were cancelled: the page then
says so and offers to run them anyway, instead of starting the same long run again on the next click.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import streamlit as st

from ui.common import halt

T = TypeVar("T")
HEAVY_S = 1.0  # estimated seconds (on these 2 cores) above which a run shows progress and can be cancelled
KEEP = 64  # results kept for every session


@st.cache_resource(show_spinner=False)
def _kept() -> tuple[threading.Lock, OrderedDict]:
    return threading.Lock(), OrderedDict()


def _cancel(key: str, what: Hashable) -> None:
    st.session_state[f"{key}_what"] = what


def compute(what: Hashable, work: Callable[[Callable[[float], None] | None], T], *, seconds: float, label: str,
            key: str) -> T:
    """`work(progress)` for the settings `what` (a hashable tuple), or the kept result of an earlier run.

    `seconds` is the caller's estimate; above HEAVY_S the run reports progress (a fraction in [0, 1]) to a bar
    drawn with a Cancel button whose widget key is `key`.
    """
    lock, kept = _kept()
    with lock:
        if what in kept:
            kept.move_to_end(what)
            return kept[what]
    if seconds <= HEAVY_S:
        result = work(None)
    else:
        if st.session_state.get(f"{key}_what") == what:
            st.info(f"Stopped: these settings take about {seconds:.0f} s to compute. Lower the steps or the grid, "
                    "or run them anyway.", icon=":material/timer_off:")
            if not st.button("Run them anyway", key=f"{key}_anyway"):
                halt()
        st.session_state.pop(f"{key}_what", None)
        slot = st.empty()
        with slot.container():
            bar = st.progress(0.0, text=f"{label} (about {seconds:.0f} s) ...")
            st.button("Cancel", key=key, icon=":material/stop_circle:", on_click=_cancel, args=(key, what))
        result = work(lambda done: bar.progress(min(max(done, 0.0), 1.0), text=f"{label}: {done:.0%}"))
        slot.empty()
    with lock:
        kept[what] = result
        while len(kept) > KEEP:
            kept.popitem(last=False)
    return result
