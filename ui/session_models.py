"""Trained models the lessons can look at: the learner's own Training studio runs, or a small shared MNIST CNN.

The learner's runs (a core.runs.RunHistory) live in the session and in a server-side store, found again after a
reload by a private token in the URL (`?session=...`, never part of a share link). When the last tab showing them
closes, they stay findable for a minute (`core.runs.GRACE_S`: a reload), then are released. The shared model is
trained once per server process on first use (a few seconds, with a progress bar), then kept read-only in
st.cache_resource: eval mode, used under inference mode, never trained again. A lesson
that attaches hooks or changes it must work on a `copy.deepcopy`.
"""

from __future__ import annotations

import threading

import streamlit as st

from core import memory

HISTORY = "ts_history"  # session-state key of the learner's RunHistory (the Training studio's)
CUSTOM = "dsb_custom"  # session-state key of the learner's own images (loaded on the Datasets page)
TOKEN = "session"  # the query parameter that finds a session's runs again after a reload


@st.cache_resource(show_spinner=False)
def _quick_slot() -> dict:
    return {"lock": threading.Lock(), "model": None, "accuracy": None}


def quick_mnist_model(data) -> tuple:
    """(model, test accuracy) of the small shared CNN, trained here on MNIST the first time any session asks."""
    from core import inspection

    slot = _quick_slot()
    if slot["model"] is None:
        with slot["lock"]:  # one session trains; the others wait for it and reuse the result
            if slot["model"] is None:
                with st.status("Training a small CNN on MNIST (once; it is then shared by every visitor) ...",
                               expanded=True) as status:
                    bar = st.progress(0.0)
                    model, accuracy = inspection.train_quick_cnn(
                        data, progress=lambda f: bar.progress(f, text=f"{inspection.QUICK_STEPS_NOTE}: {f:.0%}"))
                    slot["model"], slot["accuracy"] = model, accuracy
                    status.update(label=f"Trained: {accuracy:.1%} test accuracy", state="complete", expanded=False)
    return slot["model"], slot["accuracy"]


@st.cache_resource(show_spinner=False)
def _store():
    from core.runs import RunStore

    return RunStore()


def run_history(create: bool = False):
    """This session's RunHistory: its own, or after a reload the one the URL's token finds; None if it has none
    (with `create`, a new empty one)."""
    history = st.session_state.get(HISTORY)
    if history is None:
        token = st.query_params.get(TOKEN)
        if token is not None:
            history = _store().find(token)
            if history is None:  # expired, or a link from somebody else: never shown, just dropped
                del st.query_params[TOKEN]
        if history is None and create:
            from core.runs import RunHistory

            history = RunHistory()
        if history is not None:
            st.session_state[HISTORY] = history
    if history is not None:
        _held(history.token, history)
    return history


def _let_go(history) -> None:
    _store().let_go(history)


@st.cache_resource(scope="session", on_release=_let_go, show_spinner=False)
def _held(token: str, _history):
    """Once per session and history (by its token; `_history` is not hashed): the store counts this session as
    holding the history until the session ends (Streamlit releases a session's resources when its tab
    disconnects)."""
    _store().hold(_history)
    return _history


def keep_runs() -> None:
    """After every run of the app: keep this session's runs in the store and their token in the URL."""
    if HISTORY not in st.session_state and TOKEN not in st.query_params:
        return
    history = run_history()
    if history is not None:
        _store().keep(history)
        if st.query_params.get(TOKEN) != history.token:
            st.query_params[TOKEN] = history.token


def trained_runs() -> list:
    """The Training studio runs of this session that hold a model, oldest first."""
    history = run_history()
    return list(history.runs) if history is not None else []


def active_run_id() -> int | None:
    """The run the Training studio shows (the last one started), if any."""
    history = run_history()
    return history.active_id if history is not None else None


def custom_dataset():
    """The images this session loaded on the Datasets page (an ImageData), or None."""
    return st.session_state.get(CUSTOM)


def _session_closed(_) -> None:
    # Streamlit drops a closed tab's session server.disconnectedSessionTTL seconds after it disconnected.
    memory.tidy_after(float(st.config.get_option("server.disconnectedSessionTTL")) + 5)


@st.cache_resource(scope="session", on_release=_session_closed, show_spinner=False)
def _session() -> bool:
    return True


def watch_session() -> None:
    """Every run: when this tab closes, the server collects and trims what its session left (core.memory)."""
    _session()
