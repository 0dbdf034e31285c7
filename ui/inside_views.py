"""See inside training, parts 4-6: one optimizer step in slow motion, why the model said 7 (saliency, Grad-CAM,
occlusion), and the model's map of the data (PCA of its penultimate features). Keyed widgets bound in
pages/54_inside_training.py; one core module per part; figures in ui/figures_inside.py."""

from __future__ import annotations

import copy

import pandas as pd
import streamlit as st
import torch

from core import feature_pca, saliency, slow_step, training
from core.batches import normalize
from core.models import ModelConfig
from core.quick_train import QuickConfig, random_batch
from core.training import TrainConfig
from ui import figures_inside as figures
from ui import figures_networks
from ui import inside_models as sources
from ui.common import code_panel, fail
from ui.inside_parts import LRS
from ui.session_models import trained_runs

ss = st.session_state
SS_ARCHS = {"mlp": "MLP 784-200-200-10", "cnn": "Small CNN (CNNNet)"}
MOMENTA = (0.0, 0.5, 0.9, 0.99)
DECAYS = (0.0, 1e-4, 1e-3, 1e-2)
BATCHES = (4, 16, 64)
PATCHES = (3, 4, 6, 8)
FM_STEPS = (0, 50, 200, 500)
RULES = {
    "sgd": "g = grad + wd·w\nb = μ·b + g          (b = g at the first step)\nw = w − lr·b",
    "adam": "g = grad + wd·w\nm = β1·m + (1 − β1)·g\nv = β2·v + (1 − β2)·g²\n"
            "w = w − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)     ← the bias corrections",
    "adamw": "w = w − lr·wd·w     ← decoupled weight decay, outside the moments\nm = β1·m + (1 − β1)·grad\n"
             "v = β2·v + (1 − β2)·grad²\nw = w − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)",
    "rmsprop": "g = grad + wd·w\ns = α·s + (1 − α)·g²\nb = μ·b + g / (√s + ε)\nw = w − lr·b",
}


def _model_cfg(arch: str) -> ModelConfig:
    return ModelConfig("mlp") if arch == "mlp" else sources.QUICK_ARCHS["cnn"]


# --- 4. one step in slow motion --------------------------------------------------------------------------------

@st.cache_data(max_entries=8, show_spinner=False)
def _slow(model_cfg: ModelConfig, train_cfg: TrainConfig, quick: QuickConfig) -> tuple:
    """The slow step after `quick.steps` steps, and the labels of its batch (the next batch of the same draws)."""
    data = sources.mnist()
    result = slow_step.slow_step_after(data, model_cfg, train_cfg, quick)
    g = torch.Generator().manual_seed(quick.seed)
    for _ in range(quick.steps + 1):
        _, y = random_batch(data, quick.batch_size, g)
    return result, y


def _tensor_states(p) -> list[str]:
    """The per-element entries of optimizer.state[p] (not Adam's scalar `step`)."""
    keys = sorted(set(p.state_before) | set(p.state_after))
    return [k for k in keys if (p.state_after.get(k, p.state_before.get(k))).shape == p.before.shape]


def _elements(p, k: int = 4) -> pd.DataFrame:
    """One column per element of `p` with the largest |grad|: w, grad, the optimizer's state before/after, Δw."""
    flat = p.grad.reshape(-1)
    top = flat.abs().topk(min(k, flat.numel())).indices.tolist()
    shape = tuple(p.before.shape)
    rows = []
    for i in top:
        index = tuple(int(v) for v in torch.unravel_index(torch.tensor(i), shape)) if shape else ()
        row = {"element": str(list(index)), "w": f"{p.before.reshape(-1)[i]:.5g}", "grad": f"{flat[i]:.5g}"}
        for key in _tensor_states(p):
            for when, state in (("before", p.state_before), ("after", p.state_after)):
                value = state.get(key)
                row[f"{key} {when}"] = "-" if value is None else f"{value.reshape(-1)[i].item():.5g}"
        row["Δw by step()"] = f"{p.delta.reshape(-1)[i]:.6g}"
        row["Δw by hand"] = f"{p.by_hand.reshape(-1)[i]:.6g}"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("element").T  # one column per element: it fits any width
    return table.rename_axis("element").reset_index()


def _first(t: torch.Tensor, k: int = 3) -> str:
    values = t.reshape(-1)[:k].tolist()
    return ", ".join(f"{v:.4g}" for v in values) + (" ..." if t.numel() > k else "")


def slow_step_part() -> None:
    st.markdown("One mini-batch through the model: logits, probabilities, the loss, each parameter's gradient, the "
                "optimizer's state before and after `optimizer.step()`, and each weight's change next to the same "
                "change computed **by hand** from the update rule (in float64). **Try** Adam with 0 steps before "
                "(its state is empty, the bias corrections are largest at t = 1), then 10. **Notice** that the "
                "difference is rounding only: the rule is all `optimizer.step()` does.")
    c = st.columns([2.2, 1.4, 2, 1.6, 1.6])
    c[0].selectbox("Model", tuple(SS_ARCHS), key="it_ss_arch", format_func=lambda a: SS_ARCHS.get(a, a))
    c[1].selectbox("Optimizer", training.OPTIMIZERS, key="it_ss_opt",
                   format_func=lambda o: training.OPTIMIZER_NAMES.get(o, o))
    c[2].select_slider("Learning rate", LRS, key="it_ss_lr", format_func=lambda v: f"{v:g}")
    momentum = ss["it_ss_opt"] in ("sgd", "rmsprop")
    if momentum:
        c[3].select_slider("Momentum", MOMENTA, key="it_ss_mom")
    c[4].select_slider("Weight decay", DECAYS, key="it_ss_wd", format_func=lambda v: f"{v:g}")
    c = st.columns(2)
    c[0].slider("Steps before this one (so the optimizer has state)", 0, 20, key="it_ss_before")
    c[1].select_slider("Batch size", BATCHES, key="it_ss_batch")
    model_cfg = _model_cfg(ss["it_ss_arch"])
    train_cfg = TrainConfig(ss["it_ss_opt"], lr=ss["it_ss_lr"], momentum=ss["it_ss_mom"] if momentum else 0.9,
                            weight_decay=ss["it_ss_wd"])
    quick = QuickConfig(steps=ss["it_ss_before"], batch_size=ss["it_ss_batch"])
    result, labels = _slow(model_cfg, train_cfg, quick)
    st.code(RULES[result.optimizer], language=None)
    m = st.columns(4)
    m[0].metric("Loss on this batch", f"{result.loss:.4f}")
    m[1].metric("Max |by hand − step()|", f"{result.max_diff:.1e}",
                help="The largest difference between the change by hand and by optimizer.step(), over every element "
                     "of every parameter: float32 rounding")
    terms = result.params[0].terms
    m[2].metric("Step number t", f"{terms['t']}" if "t" in terms else f"{quick.steps + 1}")
    m[3].metric("Parameters", f"{sum(p.before.numel() for p in result.params):,}")
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(figures.batch_probs(result.probs, labels), key="it_ss_probs_fig")
    with c2:
        if "t" in terms:
            st.markdown(f"**Bias corrections at t = {terms['t']}**: 1 − β1^t = {terms['1 - beta1^t']:.4g}, "
                        f"1 − β2^t = {terms['1 - beta2^t']:.4g}. The moments start at 0, so early on they are "
                        "too small; dividing by these undoes that.")
        st.caption(f"The logits are the model's raw scores (first row: {_first(result.logits[0], 4)}); softmax turns "
                   "them into probabilities, and the loss is the mean of −log p(true class) over the batch.")
    rows = [{"parameter": p.name, "shape": "x".join(map(str, p.before.shape)), "|w|": f"{p.before.norm():.4g}",
             "|grad|": f"{p.grad.norm():.4g}", "|Δw| by step()": f"{p.delta.norm():.4g}",
             "max |by hand − step()|": f"{p.max_diff:.1e}",
             "optimizer.state[p] after": ", ".join(sorted(p.state_after)) + (" (new)" if not p.state_before else "")}
            for p in result.params]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="it_ss_table")
    names = [p.name for p in result.params]
    if ss.get("it_ss_param") not in names:
        ss["it_ss_param"] = names[0]
    st.selectbox("Look at one parameter", names, key="it_ss_param")
    p = result.params[names.index(ss["it_ss_param"])]
    st.dataframe(_elements(p), hide_index=True, width="stretch", key="it_ss_state")
    scalars = {k: v.item() for k, v in p.state_after.items() if k not in _tensor_states(p)}
    st.caption("The elements with the largest gradient: the weight, its gradient, each entry of "
               "`optimizer.state[p]` before and after the step, and the change, by `step()` and by hand."
               + (" Plain SGD without momentum keeps no state: the step is −lr·grad." if not p.state_after else "")
               + "".join(f" `{k}` after the step: {v:g}." for k, v in scalars.items()))
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(figures.delta_scatter(p.delta, p.by_hand, p.name), key="it_ss_delta_fig")
    c2.markdown(f"Every dot is one element of `{p.name}`: its change by `optimizer.step()` across, the same change "
                "by the rule above (float64) up. They sit on the diagonal: the largest gap over this parameter is "
                f"**{p.max_diff:.1e}**, float32 rounding.")
    code_panel(slow_step.slow_step_code("mnist", model_cfg, train_cfg, quick, result))


# --- 5. why did it say 7? ---------------------------------------------------------------------------------------

def _explain(model, image: torch.Tensor, patch: int) -> tuple:
    return (saliency.saliency(model, image), saliency.grad_cam(model, image),
            saliency.occlusion(model, image, patch=patch, stride=2))


@st.cache_data(max_entries=64, show_spinner=False)
def _explain_test(_model, key: tuple, index: int, patch: int) -> tuple:
    """The three maps of MNIST test image `index` for a model shared by every session (named by `key`)."""
    image, _ = saliency.pick_image(sources.mnist(), index)
    return _explain(_model, image, patch)


def _why_model(option, run):
    """(model, data, key for the cache or None, words) of the chosen model."""
    if run is not None:  # a copy: Grad-CAM's hooks and eval mode must not reach the learner's model
        return copy.deepcopy(run.model).to("cpu"), run.data, None, sources.run_label(run)
    if option == sources.SHARED:
        model, accuracy = sources.shared_model()
        return model, sources.mnist(), (sources.SHARED,), f"the shared CNN ({accuracy:.1%} test accuracy)"
    return sources.quick_model(option), sources.mnist(), (option, sources.QUICK_STEPS), \
        f"{sources.MODEL_NAMES[option]} ({sources.QUICK_STEPS} steps of Adam)"


def why_part() -> None:
    st.markdown("Which pixels did the prediction depend on? **Saliency**: how much the winning logit changes per "
                "pixel (its gradient). **Grad-CAM**: the last convolution's feature maps, weighted by their mean "
                "gradient (coarse, but about *objects*). **Occlusion**: how much the probability drops when a grey "
                "patch hides each spot. **Try** a misread digit (a low probability), or an MLP. **Notice** that the "
                "maps mostly agree on the strokes that tell this digit from its runner-up.")
    drawing = ss.get(sources.DRAWING)
    runs = {r.id: r for r in trained_runs()}  # the run that read the drawing may still be training: a copy is used
    if drawing is not None:
        image_u8, option = drawing
        run = runs.get(option)
        st.info("Explaining **your drawing** from Draw a digit, with the model that read it"
                + ("" if run is not None or option == sources.SHARED else " (that run is gone: the shared CNN "
                   "instead)")
                + ".", icon=":material/draw:")
        if st.button("Back to the test images", key="it_why_back", icon=":material/arrow_back:"):
            ss.pop(sources.DRAWING, None)
            st.rerun()
        st.select_slider("Occlusion patch (pixels)", PATCHES, key="it_patch")
        model, data, _, words = _why_model(sources.SHARED if run is None else None, run)
        image = normalize(image_u8, data.mean, data.std)[0]
        sal, cam, occ = _explain(model, image, ss["it_patch"])
        true, shown = None, image_u8[0].float() / 255
    else:
        run = sources.studio_source("it_why_source", "Model", own="A model set up below")
        c = st.columns([2.2, 3, 1.5])
        if run is None:
            c[0].selectbox("Model", (*sources.QUICK_ARCHS, sources.SHARED), key="it_why_arch",
                           format_func=lambda a: sources.MODEL_NAMES.get(a, a))
        model, data, key, words = _why_model(ss["it_why_arch"], run)
        n_test = min(len(data.y_test), 10_000)
        if n_test == 0:
            fail("This dataset has no test images to explain.")
        if ss["it_index"] > n_test - 1:
            ss["it_index"] = n_test - 1
        c[1].slider("Test image", 0, n_test - 1, key="it_index")
        c[2].select_slider("Occlusion patch (pixels)", PATCHES, key="it_patch")
        index = ss["it_index"]
        if key is not None:
            sal, cam, occ = _explain_test(model, key, index, ss["it_patch"])
        else:
            sal, cam, occ = sources.memo(("why", run.id, run.steps, index, ss["it_patch"]),
                                         lambda: _explain(model, saliency.pick_image(data, index)[0], ss["it_patch"]))
        true, shown = int(data.y_test[index]), data.x_test[index].float() / 255
    classes = data.classes
    pred = sal.target
    m = st.columns(4)
    m[0].metric("Predicted", classes[pred])
    m[1].metric("Probability", f"{float(sal.probs[pred]):.1%}")
    m[2].metric("True class", classes[true] if true is not None else "your drawing")
    m[3].metric("Grad-CAM layer", cam.layer.split(" ")[0] if cam.available else "none")
    st.caption(f"Model: {words}.")
    st.plotly_chart(figures.explain_maps(shown, [("saliency |d logit / d pixel|", sal.map),
                                                 ("Grad-CAM (last conv features)", cam.map if cam.available else None),
                                                 (f"occlusion: probability drop ({occ.patch}x{occ.patch})", occ.map)]),
                    key="it_why_fig")
    if not cam.available:
        st.info(cam.reason, icon=":material/info:")
    c1, c2 = st.columns([2, 3])
    c1.plotly_chart(figures_networks.probabilities(sal.probs, classes, true_index=true,
                                                   height=60 + 26 * len(classes)), key="it_why_probs")
    c2.markdown(f"Red = where the map is largest (each map scaled to its own maximum). The occlusion map's largest "
                f"drop: {float(occ.drops.max()):.1%} of probability; spots where hiding *helps* the prediction are "
                "left clear. Saliency is sharp but noisy; "
                + (f"Grad-CAM is blurred to the feature map's size ({'x'.join(map(str, cam.cam.shape))}); "
                   if cam.available else "")
                + "occlusion is slow but asks the model directly.")
    _why_code(run, drawing, sal, cam, occ)


def _why_code(run, drawing, sal, cam, occ) -> None:
    arch = ss["it_why_arch"]
    if run is None and drawing is None and arch in sources.QUICK_ARCHS:
        index = ss["it_index"]
    else:
        arch, index = "cnn", ss["it_index"] if drawing is None else 0
        sal, cam, occ = _explain_test(sources.quick_model(arch), (arch, sources.QUICK_STEPS), index, ss["it_patch"])
        st.caption(f"The code below trains its own small CNN ({sources.QUICK_STEPS} steps) and explains MNIST test "
                   f"image {index} with it: the model shown here is not replayed by a script.")
    code_panel(saliency.saliency_code("mnist", sources.QUICK_ARCHS[arch], sources.QUICK_TRAIN,
                                      QuickConfig(sources.QUICK_STEPS), index, sal, cam, occ))


# --- 6. the model's map of the data ----------------------------------------------------------------------------

@st.cache_data(max_entries=32, show_spinner=False)
def _feature_map(_model, key: tuple, dims: int) -> feature_pca.FeatureMap:
    return feature_pca.feature_map(_model, sources.mnist(), n=2000, dims=dims)


def feature_map_part() -> None:
    st.markdown("Each of 2,000 test images becomes the vector the model computes just before its last layer; PCA "
                "projects those vectors to 2 or 3 axes. **Try** 0 training steps, then 50, 200, 500. **Notice** "
                "the classes pulling apart into clusters as the model trains (the last layer only has to draw lines "
                "between them), and where the crosses (wrong predictions) sit: between clusters.")
    run = sources.studio_source("it_fm_source", "Model", own="A model set up below")
    c = st.columns([2, 2, 1])
    if run is None:
        c[0].selectbox("Model", (*sources.QUICK_ARCHS, sources.SHARED), key="it_fm_arch",
                       format_func=lambda a: sources.MODEL_NAMES.get(a, a))
        if ss["it_fm_arch"] in sources.QUICK_ARCHS:
            c[1].select_slider("Training steps", FM_STEPS, key="it_fm_steps")
    c[2].segmented_control("Axes", (2, 3), key="it_fm_dims", required=True, format_func=lambda d: f"{d}-D")
    dims = ss["it_fm_dims"] or 2
    arch, steps = ss["it_fm_arch"], ss["it_fm_steps"]
    with st.spinner("Computing the features of 2,000 test images ..."):
        if run is not None:
            result = sources.memo(("fm", run.id, run.steps, dims),
                                  lambda: feature_pca.feature_map(copy.deepcopy(run.model).to("cpu"), run.data,
                                                                  n=2000, dims=dims))
            classes, words = run.data.classes, sources.run_label(run)
        elif arch == sources.SHARED:
            model, accuracy = sources.shared_model()
            result, classes = _feature_map(model, (arch,), dims), sources.mnist().classes
            words = f"the shared CNN ({accuracy:.1%} test accuracy)"
        else:
            result = _feature_map(sources.quick_model(arch, steps), (arch, steps), dims)
            classes, words = sources.mnist().classes, f"{sources.MODEL_NAMES[arch]}, {steps} steps of Adam"
    m = st.columns(4)
    m[0].metric("Variance kept by the axes", f"{sum(result.explained):.1%}",
                help=" + ".join(f"{e:.1%}" for e in result.explained))
    m[1].metric("Feature size", f"{result.dim:,}", help=f"the input of the last Linear layer, {result.layer}")
    m[2].metric("Accuracy on these images", f"{(result.predictions == result.labels).float().mean().item():.1%}")
    m[3].metric("Images", f"{len(result.indices):,}")
    st.plotly_chart(figures.feature_scatter(result.coords, result.labels, result.predictions, result.indices, classes,
                                            result.explained), key="it_fm_fig")
    st.caption(f"Model: {words}. Colour = the true class; a cross = a wrong prediction. The axes are the directions "
               "of largest variance of the features (PC1, PC2 ...), each with the share of the variance it keeps.")
    if run is None and arch in sources.QUICK_ARCHS:
        code_panel(feature_pca.feature_pca_code("mnist", sources.QUICK_ARCHS[arch], sources.QUICK_TRAIN,
                                                QuickConfig(steps), result))
        return
    own = _feature_map(sources.quick_model("cnn"), ("cnn", sources.QUICK_STEPS), dims)
    st.caption(f"The code below trains its own small CNN ({sources.QUICK_STEPS} steps) and maps its features: the "
               "model shown here is not replayed by a script.")
    code_panel(feature_pca.feature_pca_code("mnist", sources.QUICK_ARCHS["cnn"], sources.QUICK_TRAIN,
                                            QuickConfig(sources.QUICK_STEPS), own))
