"""The models "See inside training" looks at: small models trained here by `core.quick_train` (the code panels
replay them exactly), the shared MNIST CNN of the other lessons, and the learner's finished Training studio runs
(always on a copy: the learner's model and optimizer never change).

Also the hand-off from Draw a digit: `explain_drawing` keeps the drawing and opens the lesson's "why" part.
"""

from __future__ import annotations

import copy

import streamlit as st
from torch import nn

from core import models
from core.datasets import load_shared
from core.image_data import DataUnavailable
from core.models import ModelConfig, build_model
from core.quick_train import QuickConfig, quick_train
from core.training import TrainConfig, make_optimizer
from ui.common import fail
from ui.session_models import quick_mnist_model, trained_runs

PAGE = "pages/54_inside_training.py"
OWN = "own"  # a source selector's first option: the model this part sets up itself
QUICK_ARCHS = {"cnn": ModelConfig("cnnnet", in_channels=1, image_size=28), "mlp": ModelConfig("mlp")}
QUICK_TRAIN = TrainConfig("adam", lr=1e-3)  # the quick models' optimizer (the code panels write the same)
QUICK_STEPS = 200
SHARED = "shared"
MODEL_NAMES = {"cnn": "Small CNN (CNNNet), trained here", "mlp": "MLP 784-200-200-10, trained here",
               SHARED: "The shared CNN of Draw a digit (2 epochs on 6,000 images)"}
DRAWING = "it_why_image"  # session state: (the drawn image (1, 1, 28, 28) uint8, its model: "shared" or a run id)
MEMO = "it_memo"  # session state: results computed on a learner's own runs (not shareable between sessions)


def mnist():
    """MNIST as every lesson shares it; a clear message (and the end of this run) when it cannot be had."""
    try:
        return load_shared("mnist")
    except DataUnavailable as exc:
        fail(str(exc))


@st.cache_resource(show_spinner=False, max_entries=12)
def _quick_model(arch: str, steps: int) -> nn.Module:
    """Read-only, shared by every session: callers get a deep copy (hooks and modes are per module)."""
    model = build_model(QUICK_ARCHS[arch], seed=0)
    quick_train(model, make_optimizer(model.parameters(), QUICK_TRAIN), load_shared("mnist"), QuickConfig(steps))
    return model.eval()


def quick_model(arch: str, steps: int = QUICK_STEPS) -> nn.Module:
    """A private copy of the `arch` model ("cnn" or "mlp") after `steps` of quick_train on MNIST (Adam, lr 1e-3,
    batches of 64, seed 0): exactly what `core.quick_train.quick_train_code` replays."""
    mnist()  # a clear message if MNIST is missing
    with st.spinner(f"Training the {MODEL_NAMES[arch].split(',')[0]} for {steps} steps (once) ..."):
        return copy.deepcopy(_quick_model(arch, steps))


def shared_model():
    """(a private copy of the shared MNIST CNN, its test accuracy)."""
    model, accuracy = quick_mnist_model(mnist())
    return copy.deepcopy(model), accuracy


def finished_runs(usable=None) -> list:
    """The learner's Training studio runs that are done (finished, stopped or uploaded): a run still training is
    being changed by another thread."""
    return [r for r in trained_runs() if r.done and (usable is None or usable(r))]


def run_label(run) -> str:
    return f"Your Training studio run {run.label()}"


def studio_source(key: str, label: str, *, own: str, usable=None, help: str | None = None):
    """A selector between this part's own model and the learner's finished studio runs, drawn only when there are
    such runs. Returns the chosen run, or None for the part's own model."""
    runs = finished_runs(usable)
    if not runs:
        return None
    by_id = {r.id: r for r in runs}
    options = [OWN, *by_id]
    if st.session_state.get(key) not in options:
        st.session_state[key] = OWN
    st.selectbox(label, options, key=key, help=help,
                 format_func=lambda o: own if o == OWN else run_label(by_id[o]) if o in by_id else str(o))
    return by_id.get(st.session_state[key])


def memo(key: tuple, compute):
    """`compute()` once per key for this session (the last 8 kept): results about the learner's own runs."""
    store = st.session_state.setdefault(MEMO, {})
    if key not in store:
        while len(store) >= 8:
            store.pop(next(iter(store)))
        store[key] = compute()
    return store[key]


def arch_label(model_cfg: ModelConfig) -> str:
    return models.ARCH_NAMES.get(model_cfg.arch, model_cfg.arch)


def explain_drawing(image, model_option) -> None:
    """Draw a digit's "Why did it say N?": keep the drawing (1, 1, 28, 28) uint8 and the model that read it
    ("shared" or a studio run's id), and open this lesson's "why" part."""
    st.session_state[DRAWING] = (image.clone(), model_option)
    st.session_state["it_part"] = "why"
    st.switch_page(PAGE)
