"""Trained models the lessons can look at: the learner's own Training studio runs, or a small shared MNIST CNN.

The shared model is trained once per server process on first use (a few seconds, with a progress bar), then
kept read-only in st.cache_resource: eval mode, used under inference mode, never trained again. A lesson that
attaches hooks or changes it must work on a `copy.deepcopy`.
"""

import threading

import streamlit as st


@st.cache_resource(show_spinner=False)
def _quick_slot() -> dict:
    return {"lock": threading.Lock(), "model": None, "accuracy": None}


def quick_mnist_model(data) -> tuple:
    """(model, test accuracy) of the small shared CNN, trained here on MNIST the first time any session asks."""
    from core import architectures as A

    slot = _quick_slot()
    if slot["model"] is None:
        with slot["lock"]:  # one session trains; the others wait for it and reuse the result
            if slot["model"] is None:
                with st.status("Training a small CNN on MNIST (once; it is then shared by every visitor) ...",
                               expanded=True) as status:
                    bar = st.progress(0.0)
                    model, accuracy = A.train_quick_cnn(
                        data, progress=lambda f: bar.progress(f, text=f"{A.QUICK_STEPS_NOTE}: {f:.0%}"))
                    slot["model"], slot["accuracy"] = model, accuracy
                    status.update(label=f"Trained: {accuracy:.1%} test accuracy", state="complete", expanded=False)
    return slot["model"], slot["accuracy"]


def trained_runs() -> list[dict]:
    """The Training studio runs of this session that hold a model, oldest first."""
    return [run for run in st.session_state.get("ts_runs", []) if run.get("model") is not None]
