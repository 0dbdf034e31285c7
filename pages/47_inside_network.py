import copy

import streamlit as st
from torch import nn

from core import inspection, models
from core.batches import normalize
from core.datasets import load_shared
from core.image_data import DataUnavailable
from ui import figures_networks as figures
from ui import links
from ui.common import code_panel, fail, header
from ui.session_models import active_run_id, quick_mnist_model, trained_runs

QUICK = "quick"
MAX_FILTERS = 32
PARAMS = {
    "in_index": links.Int(0, 0, 9999),
    "in_maps": links.Int(16, 4, 64),
}

links.bind(PARAMS)
header("Inside a trained network",
       "What a trained network computes for one image: the **filters** of its first layer, the **feature maps** "
       "every convolution produces, and the **probabilities** it ends with. It uses the model you trained in the "
       "Training studio in this session; without one, a small CNN is trained here on MNIST first.")
ss = st.session_state


runs = trained_runs()
by_id = {r.id: r for r in runs}
options = [r.id for r in runs] + [QUICK]
if ss.get("in_model") not in options:
    active = active_run_id()
    ss.in_model = active if active in by_id else (runs[-1].id if runs else QUICK)


def _label(option) -> str:
    if option == QUICK:
        return "A small CNN trained here on MNIST (shared, read-only)"
    run = by_id[option]
    return f"Training studio run #{run.id}: {models.ARCH_NAMES[run.model_cfg.arch]} on {run.dataset}"


c1, c2 = st.columns([3, 2])
c1.selectbox("Model", options, key="in_model", format_func=_label)
if ss.in_model == QUICK:
    try:
        data = load_shared("mnist")
    except DataUnavailable as exc:
        fail(str(exc))
    shared, accuracy = quick_mnist_model(data)
    model = copy.deepcopy(shared)  # a private copy: inspection hooks must not reach other sessions
    model_cfg = models.ModelConfig("cnnnet", in_channels=1, image_size=28)
    about = f"`cnnnet` ({models.count_parameters(model):,} parameters), {inspection.QUICK_STEPS_NOTE}."
else:
    run = by_id[ss.in_model]
    model, data, model_cfg = run.model, run.data, run.model_cfg
    trainer = run.trainer
    accuracy = run.test_acc
    if trainer is not None:
        tested = [e.test_acc for e in trainer.history.epochs if e.test_acc is not None]
        accuracy = tested[-1] if tested else None
    about = f"{models.ARCH_NAMES[model_cfg.arch]} ({models.count_parameters(model):,} parameters) on {run.dataset}."
    if trainer is not None and not trainer.done:
        about += " Its training is not finished: these are the weights so far."

dataset_name = "MNIST" if ss.in_model == QUICK else by_id[ss.in_model].dataset
n_test = len(data.y_test)
if n_test == 0:
    fail("This dataset has no test images to look at.")
if ss.in_index > n_test - 1:
    ss.in_index = n_test - 1
c2.number_input(f"Test image (0 to {min(n_test, 10_000) - 1})", 0, min(n_test, 10_000) - 1, key="in_index")
st.caption(about)

i = ss.in_index
x = normalize(data.x_test[i:i + 1], data.mean, data.std)  # (1, C, H, W) float
seen = inspection.inspect(model, x)
probs = seen.probs
true, pred = int(data.y_test[i]), int(probs.argmax())
classes = data.classes

st.subheader("1 · The image and the prediction")
cols = st.columns([1, 2])
cols[0].plotly_chart(figures.image(data.x_test[i].float() / 255, height=260), key="in_image")
cols[0].caption(f"Test image {i}, a **{classes[true]}**, {'x'.join(map(str, data.x_test.shape[1:]))}")
cols[1].plotly_chart(figures.probabilities(probs, classes, true_index=true, height=60 + 26 * len(classes)),
                     key="in_probs")
m = st.columns(4)
m[0].metric("True class", classes[true])
m[1].metric("Predicted", classes[pred])
m[2].metric("Confidence", f"{float(probs[pred]):.1%}")
m[3].metric("Test accuracy of the model", "-" if accuracy is None else f"{accuracy:.1%}")
if pred != true:
    st.warning(f"A mistake: the model says **{classes[pred]}** ({float(probs[pred]):.1%}); it is a "
               f"**{classes[true]}** ({float(probs[true]):.1%}).", icon=":material/error:")

st.subheader("2 · First-layer filters")
first = models.first_layer(model)
filters = models.first_layer_filters(model, tuple(data.x_test.shape[1:]))  # (K, C, h, w)
shown = filters[:MAX_FILTERS]
titles = [f"#{k}" for k in range(len(shown))]
if shown.shape[1] == 3:
    st.plotly_chart(figures.rgb_tiles(shown, titles, cols=8 if shown.shape[-1] <= 7 else 6), key="in_filters")
else:
    st.plotly_chart(figures.maps(shown[:, 0], titles, cols=8,
                                 panel_height=120 if shown.shape[-1] <= 7 else 170), key="in_filters")
kind = (f"`{type(first).__name__}` with {filters.shape[0]} filters of "
        f"{filters.shape[1]}x{filters.shape[2]}x{filters.shape[3]}")
st.caption(f"{kind}{f' (the first {MAX_FILTERS} shown)' if len(filters) > MAX_FILTERS else ''}. "
           + ("Red = positive weight, blue = negative: each filter responds where the image looks like it "
              "(edges and strokes in a given direction)." if shown.shape[1] == 1 else
              "Each colour filter stretched to its own range.")
           + (" An MLP's first layer sees the whole image: each unit's weights form a template."
              if isinstance(first, nn.Linear) else ""))

st.subheader("3 · Feature maps of each convolution")
if not seen.layers:
    st.info("This model has no convolution layers (an MLP): it has no feature maps, only the templates above.",
            icon=":material/info:")
else:
    st.slider("Channels to show per layer", 4, 64, step=4, key="in_maps")
    limit = ss.in_maps
    for name, out in seen.layers:
        c, h, w = out.shape
        st.markdown(f"**`{name}`**: {c} channels of {h}x{w}"
                    + (f" (the first {limit} shown)" if c > limit else ""))
        shown_maps = out[:limit]
        st.plotly_chart(figures.maps(shown_maps, [f"{k}" for k in range(len(shown_maps))], cols=8,
                                     panel_height=110 if h <= 16 else 140), key=f"in_maps_{name}")
    st.caption("Each map is one output channel of the convolution (before its BatchNorm/ReLU), with its own colour "
               "range: red where the filter matches, blue where it anti-matches. Deeper layers are smaller and "
               "respond to larger, more abstract patterns.")

run_weights = None if ss.in_model == QUICK else (f"{model_cfg.arch}-run{ss.in_model}.pt", model_cfg.to_dict())
code_panel(inspection.inspect_code(i, seen, tuple(first.weight.shape), dataset=dataset_name, run_weights=run_weights,
                                   image_size=data.x_test.shape[-1],
                                   accuracy=accuracy if ss.in_model == QUICK else None))
