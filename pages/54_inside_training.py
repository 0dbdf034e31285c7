import streamlit as st

from core import init_depth, models, recorder, training
from ui import inside_parts as parts
from ui import inside_views as views
from ui import links
from ui.common import header

LABELS = dict(distributions="distributions", lr_finder="lr finder", init_depth="init vs depth",
              slow_step="a step in slow motion", why="why did it say 7?", feature_map="map of the data")  # part -> label
OPTIONS = tuple(LABELS)
PARAMS = {
    "it_part": links.Choice("distributions", OPTIONS),
    # distributions over time
    "it_arch": links.Choice("mlp", parts.DIST_ARCHS),
    "it_hidden": links.Text("200,200", max_len=80, refused=("a", "0, 10"), accepted="64,64,64,64,64,64,64,64"),
    "it_act": links.Choice("relu", models.ACTIVATIONS),
    "it_init": links.Choice("default", models.INITS),
    "it_opt": links.Choice("sgd", training.OPTIMIZERS),
    "it_lr": links.Choice(0.05, parts.LRS),
    "it_steps": links.Choice(300, parts.STEPS),
    "it_kind": links.Choice("activations", recorder.KINDS),
    # the learning-rate finder
    "it_lr_arch": links.Choice("mlp", tuple(parts.FINDER_ARCHS)),
    "it_lr_opt": links.Choice("adam", training.OPTIMIZERS),
    # initialisation vs depth
    "it_scheme": links.Choice("kaiming", init_depth.INITS),
    "it_fn": links.Choice("relu", init_depth.ACTIVATIONS),
    "it_depth": links.Int(10, 1, init_depth.MAX_DEPTH),
    "it_width": links.Choice(128, parts.WIDTHS),
    "it_sigma": links.Choice(0.01, parts.SIGMAS),
    # one step in slow motion
    "it_ss_arch": links.Choice("mlp", tuple(views.SS_ARCHS)),
    "it_ss_opt": links.Choice("adam", training.OPTIMIZERS),
    "it_ss_lr": links.Choice(0.001, parts.LRS),
    "it_ss_mom": links.Choice(0.9, views.MOMENTA),
    "it_ss_wd": links.Choice(0.0, views.DECAYS),
    "it_ss_before": links.Int(3, 0, 20),
    "it_ss_batch": links.Choice(16, views.BATCHES),
    # why did it say 7?
    "it_why_arch": links.Choice("cnn", ("cnn", "mlp", "shared")),
    "it_index": links.Int(0, 0, 9999),
    "it_patch": links.Choice(6, views.PATCHES),
    # the model's map of the data
    "it_fm_arch": links.Choice("cnn", ("cnn", "mlp", "shared")),
    "it_fm_steps": links.Choice(200, views.FM_STEPS),
    "it_fm_dims": links.Choice(2, (2, 3)),
}

links.bind(PARAMS)
header("See inside training", "What happens inside a network while it learns, measured with hooks on real PyTorch "
       "models: the **distributions** of weights, gradients and activations per layer over time, a **learning-rate "
       "finder**, how **initialisation and depth** decide whether a signal survives, one optimizer **step in slow "
       "motion**, **why** the model said 7, and the model's **map of the data**.")
st.segmented_control("Part", OPTIONS, key="it_part", required=True, format_func=lambda p: LABELS.get(p, p))

# one function per part (dict(...) keeps "lr_finder", an option, from reading as a key of the "lr" lesson)
PARTS = dict(distributions=parts.distributions_part, lr_finder=parts.lr_finder_part, init_depth=parts.init_depth_part,
             slow_step=views.slow_step_part, why=views.why_part, feature_map=views.feature_map_part)
PARTS[st.session_state["it_part"] or "distributions"]()
