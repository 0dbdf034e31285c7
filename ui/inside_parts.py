"""See inside training, parts 1-3: distributions per layer over a recorded run, the learning-rate range test, and
initialisation against depth. Each part draws its keyed widgets (bound in pages/54_inside_training.py), calls
one core module and shows its figures and its code panel."""

from __future__ import annotations

import copy
import math

import streamlit as st

from core import diagnosis, init_depth, lr_finder, models, recorder, training
from core.models import ModelConfig, build_model, default_config
from core.parsing import InputError, parse_ints
from core.quick_train import QuickConfig
from core.training import TrainConfig, make_optimizer
from ui import figures_inside as figures
from ui import inside_models as sources
from ui.common import code_panel, fail
from ui.studio_settings import INIT_NAMES
from ui.studio_settings import LRS as STUDIO_LRS

ss = st.session_state
LRS = (1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0)
DIST_ARCHS = ("mlp", "cnnnet", "lenet5")
STEPS = (100, 200, 300, 500)
KIND_NAMES = {"weights": "weights", "grads": "gradients", "activations": "activations"}
MAX_LAYERS, MAX_UNITS, MAX_WEIGHTS = 12, 1024, 2_000_000
FINDER_ARCHS = {"mlp": "a fresh MLP 784-200-200-10", "cnn": "a fresh small CNN (the shared model's architecture)"}
WIDTHS = (16, 32, 64, 128, 256, 512)
SIGMAS = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0)
SCHEMES = {"zeros": "zeros", "constant": "constant 0.1", "normal": "normal(0, σ)", "xavier": "Xavier (Glorot)",
           "kaiming": "Kaiming (He)"}
DEAD_BAND, RATIO_BAND = (0.0, diagnosis.DEAD), (1e-3, 1e-2)


def _optimizer_label(name: str) -> str:
    return training.OPTIMIZER_NAMES.get(name, name)


def _train_cfg(optimizer: str, lr: float) -> TrainConfig:
    return TrainConfig(optimizer, lr=lr)


def hidden_sizes(text: str) -> tuple[int, ...]:
    """The MLP's hidden sizes typed as '200,200' (InputError in the learner's words)."""
    try:
        sizes = tuple(parse_ints(text, max_len=MAX_LAYERS))
    except InputError as exc:
        raise InputError(f"Hidden layer sizes: {exc} Type whole numbers separated by commas, e.g. 200,200.") from None
    if not all(1 <= h <= MAX_UNITS for h in sizes):
        raise InputError(f"Hidden layer sizes must be whole numbers from 1 to {MAX_UNITS:,}, e.g. 200,200 or "
                         "64,64,64,64.")
    weights = sum(a * b for a, b in zip((784, *sizes), (*sizes, 10), strict=True))
    if weights > MAX_WEIGHTS:
        raise InputError(f"That MLP has {weights:,} weights; a short recorded run here takes at most "
                         f"{MAX_WEIGHTS:,}. Use fewer or narrower layers.")
    return sizes


# --- 1. distributions ------------------------------------------------------------------------------------------

@st.cache_data(max_entries=32, show_spinner=False)
def _record(model_cfg: ModelConfig, train_cfg: TrainConfig, quick: QuickConfig) -> list:
    model = build_model(model_cfg, seed=quick.seed)
    optimizer = make_optimizer(model.parameters(), train_cfg)
    return recorder.record_training(model, optimizer, sources.mnist(), quick)


def _continue(run, train_cfg: TrainConfig, quick: QuickConfig) -> list:
    """A short recorded continuation of a studio run, on a deep copy of its model (a fresh optimizer)."""
    model = copy.deepcopy(run.model).to("cpu")  # the learner's own model never moves
    optimizer = make_optimizer(model.parameters(), train_cfg)
    return recorder.record_training(model, optimizer, run.data, quick)


def _model_settings() -> ModelConfig:
    """The architecture, hidden sizes, activation and initialisation widgets; the model they describe."""
    c = st.columns([2, 2, 1.4, 1.6])
    c[0].selectbox("Architecture", DIST_ARCHS, key="it_arch", format_func=lambda a: models.ARCH_NAMES.get(a, a))
    mlp = ss["it_arch"] == "mlp"
    if mlp:
        c[1].text_input("Hidden layer sizes", key="it_hidden", help="e.g. 200,200, or 64,64,64,64,64,64,64,64 for "
                        "a deep net (at most 12 layers of at most 1,024 units)")
        c[2].selectbox("Activation", models.ACTIVATIONS, key="it_act")
    c[3].selectbox("Initialisation", models.INITS, key="it_init", format_func=lambda i: INIT_NAMES.get(i, i))
    return ModelConfig("mlp", activation=ss["it_act"], init=ss["it_init"]) if mlp else \
        default_config(ss["it_arch"], 1, 28, init=ss["it_init"])


def distributions_part() -> None:
    st.markdown("A short run on MNIST is **recorded** every 10 steps: each layer's weights, gradients and "
                "activations (their histograms and percentiles), the size of each update against the weights, "
                "and the share of dead ReLU units. **Try** the *bad* initialisation (every weight ~ N(0, 1)), "
                "a sigmoid MLP of eight layers of 64 units, or a learning rate of 1 with SGD, and read the "
                "diagnosis. **Notice** how the healthy run's distributions stay put while their spread changes slowly.")
    run = sources.studio_source("it_source", "Record", own="A new model, set up below",
                                help="A finished Training studio run: a short continuation is recorded on a copy "
                                     "of its model (your run itself does not change)")
    model_cfg = _model_settings() if run is None else None
    c = st.columns(3)
    c[0].selectbox("Optimizer", training.OPTIMIZERS, key="it_opt", format_func=_optimizer_label)
    c[1].select_slider("Learning rate", LRS, key="it_lr", format_func=lambda v: f"{v:g}")
    c[2].select_slider("Steps", STEPS, key="it_steps")
    train_cfg, quick = _train_cfg(ss["it_opt"], ss["it_lr"]), QuickConfig(steps=ss["it_steps"])
    try:
        if model_cfg is not None and model_cfg.arch == "mlp":
            model_cfg = ModelConfig("mlp", activation=model_cfg.activation, init=model_cfg.init,
                                    hidden=hidden_sizes(ss["it_hidden"]))
    except InputError as exc:
        fail(str(exc))
    with st.spinner(f"Recording {quick.steps} training steps ..."):
        if run is None:
            records = _record(model_cfg, train_cfg, quick)
        else:
            records = sources.memo(("dist", run.id, run.steps, train_cfg, quick), lambda: _continue(run, train_cfg, quick))
            st.caption(f"{sources.run_label(run)}: {quick.steps} more steps of {_optimizer_label(train_cfg.optimizer)} "
                       f"at lr {train_cfg.lr:g} on {run.dataset}, recorded on a copy of its model (a fresh optimizer; "
                       "your run is not changed).")
    if not records or not records[-1].layers:
        fail("Nothing was recorded: the model has no Linear or Conv2d layer that trained.")
    for finding in diagnosis.diagnose(records):
        (st.success if finding.kind == "ok" else st.warning)(finding.text, icon=":material/stethoscope:"
                                                            if finding.kind == "ok" else ":material/warning:")
    last = records[-1]
    names = [layer.name for layer in last.layers]
    m = st.columns(4)
    m[0].metric("Records", f"{len(records)}", help=f"every 10 steps, at steps 1 to {last.step}")
    m[1].metric("Layers recorded", f"{len(names)}")
    m[2].metric("Update / weight, layer 1", f"{last.layers[0].update_ratio:.2g}",
                help="|w_after - w_before| / |w_before| at the last record: a typical step is 1e-3 to 1e-2")
    dead = [layer.dead_fraction for layer in last.layers if layer.dead_fraction is not None]
    m[3].metric("Dead ReLU units (worst layer)", f"{max(dead):.0%}" if dead else "-",
                help="units never positive on the whole recorded batch, at the last record")
    st.segmented_control("Show", recorder.KINDS, key="it_kind", required=True,
                         format_func=lambda k: KIND_NAMES.get(k, k))
    kind = ss["it_kind"] or "activations"
    panels = []
    for i, name in enumerate(names):
        edges, steps, counts = diagnosis.heatmap(records, name, kind)
        _, bands = diagnosis.percentile_bands(records, name, kind)
        panels.append((f"layer {i + 1}: {last.layers[i].activation if kind == 'activations' else name}", edges,
                       steps, counts, bands))
    st.plotly_chart(figures.distribution_heatmaps(panels, kind=KIND_NAMES[kind]), key="it_heat_fig")
    st.caption("Each column is one recorded step: the colour is the share of the values in each bin (a common "
               "range per layer), the red lines the 5th, 50th and 95th percentiles. Hover for all five.")
    steps, _ = diagnosis.layer_series(records, names[0], "update_ratio")
    ratios = {f"layer {i + 1} ({n})": diagnosis.layer_series(records, n, "update_ratio")[1] for i, n in enumerate(names)}
    deads = {f"layer {i + 1} ({n})": diagnosis.layer_series(records, n, "dead_fraction")[1]
             for i, n in enumerate(names) if last.layers[i].dead_fraction is not None}
    c1, c2 = st.columns(2)
    c1.plotly_chart(figures.layer_lines(steps, ratios, y_title="|Δw| / |w|", log_y=True, band=RATIO_BAND,
                                        title="Update-to-weight ratio (healthy: the green band)"), key="it_ratio_fig")
    if deads:
        c2.plotly_chart(figures.layer_lines(steps, deads, y_title="share of units never positive", band=DEAD_BAND,
                                            y_range=[-0.02, 1.02], title="Dead ReLU units"), key="it_dead_fig")
    else:
        c2.info("No layer here is followed by a ReLU, so no unit can be dead in that sense.", icon=":material/info:")
    _distributions_code(run, model_cfg, train_cfg, quick, records)


def _distributions_code(run, model_cfg, train_cfg, quick, records) -> None:
    if run is None:
        code_panel(recorder.recorder_code("mnist", model_cfg, train_cfg, quick, records[-1]))
        return
    model_cfg = ModelConfig("mlp")
    own = _record(model_cfg, train_cfg, quick)
    st.caption("Your run's weights live in this session only: the code below records the same steps for a fresh "
               "MLP 784-200-200-10 on MNIST, and prints that model's numbers.")
    code_panel(recorder.recorder_code("mnist", model_cfg, train_cfg, quick, own[-1]))


# --- 2. the learning-rate range test ---------------------------------------------------------------------------

def _finder_setup(run):
    """(model, optimizer, data, key, what) of the test: a studio run's own model and optimizer, or a fresh one."""
    if run is not None:
        optimizer = run.trainer.optimizer if run.trainer is not None else \
            make_optimizer(run.model.parameters(), _train_cfg(ss["it_lr_opt"], 1e-3))
        what = f"{sources.run_label(run)}, with {'its own' if run.trainer is not None else 'a new'} optimizer"
        return run.model, optimizer, run.data, ("run", run.id, run.steps, ss["it_lr_opt"]), what
    cfg = sources.QUICK_ARCHS[ss["it_lr_arch"]]
    model = build_model(cfg, seed=0)
    optimizer = make_optimizer(model.parameters(), _train_cfg(ss["it_lr_opt"], 1e-3))
    return model, optimizer, sources.mnist(), ("fresh", ss["it_lr_arch"], ss["it_lr_opt"]), \
        f"{FINDER_ARCHS[ss['it_lr_arch']]}, {_optimizer_label(ss['it_lr_opt'])}"


def _fresh_test(model_cfg: ModelConfig, train_cfg: TrainConfig, cfg) -> lr_finder.RangeTest:
    """The range test (first seed) of a fresh model of this config on MNIST: what the code panel reproduces."""
    model = build_model(model_cfg, seed=0)
    return lr_finder.range_test(model, make_optimizer(model.parameters(), train_cfg), sources.mnist(), cfg, cfg.seeds[0])


def nearest_lr(lr: float, options=STUDIO_LRS) -> float:
    """The studio's learning-rate option closest to lr on a log scale. Example: nearest_lr(0.0021) -> 0.002"""
    return min(options, key=lambda o: abs(math.log10(o) - math.log10(lr)))


def _use_in_studio(lr: float) -> None:
    ss["ts_lr"] = nearest_lr(lr)  # the studio's widgets persist in the session: it shows this value when opened
    ss["it_lr_used"] = ss["ts_lr"]


def lr_finder_part() -> None:
    st.markdown("The **range test** trains a *copy* of the model for 100 batches while the learning rate grows "
                "exponentially from 1e-7 to 10, three times (three seeds). The loss first barely moves, then falls, "
                "then explodes: a good learning rate sits on the way down, before the minimum. **Try** SGD against "
                "Adam, or your own studio run. **Notice** the checksums: your model and optimizer are not touched.")
    run = sources.studio_source("it_lr_source", "Model", own="A fresh model, set up below",
                                help="A finished Training studio run: the test runs on a copy of its model and optimizer")
    c = st.columns(2)
    if run is None:
        c[0].selectbox("Model", tuple(FINDER_ARCHS), key="it_lr_arch",
                       format_func=lambda a: FINDER_ARCHS.get(a, a)[:1].upper() + FINDER_ARCHS.get(a, a)[1:])
    if run is None or run.trainer is None:
        c[1].selectbox("Optimizer", training.OPTIMIZERS, key="it_lr_opt", format_func=_optimizer_label)
    model, optimizer, data, key, what = _finder_setup(run)
    cfg = lr_finder.FinderConfig()
    if st.button(f"Run the range test ({len(cfg.seeds)} seeds x {cfg.steps} batches)", key="it_lr_run",
                 icon=":material/play_arrow:", type="primary"):
        with st.spinner("Running the range test on a copy of the model ..."):
            result = lr_finder.find_lr(model, optimizer, data, cfg)
            code_cfg = sources.QUICK_ARCHS[ss["it_lr_arch"]], _train_cfg(ss["it_lr_opt"], 1e-3)
            panel_test = result.tests[0] if run is None else _fresh_test(*code_cfg, cfg)
        ss["it_lr_result"] = dict(key=key, what=what, result=result, code=(*code_cfg, panel_test), run=run is not None)
        ss["it_lr_used"] = None
    kept = ss.get("it_lr_result")
    if kept is None or kept["key"] != key:
        st.info("Press the button: the test takes a few seconds (1-2 s for the MLP, about 6 s for the CNN on 2 CPU "
                "cores).", icon=":material/timer:")
        return
    _finder_result(kept, cfg)


def _finder_result(kept: dict, cfg) -> None:
    result = kept["result"]
    st.caption(f"Range test of {kept['what']}: {result.seconds:.1f} s. "
               + "; ".join(f"seed {t.seed}: {t.stopped}" for t in result.tests) + ".")
    m = st.columns(4)
    m[0].metric("Suggested lr (valley)", f"{result.suggested:.3g}", help="the median of the seeds' valleys")
    m[1].metric("Steepest descent", f"{result.steepest:.3g}")
    m[2].metric("Minimum of the loss", f"{result.minimum:.3g}", help="too high to train at: divide it by ~10")
    m[3].metric("Model untouched", "yes" if result.untouched else "NO")
    st.plotly_chart(figures.finder(result), key="it_finder_fig")
    (st.success if result.untouched else st.error)(
        f"sha256 of the model's and optimizer's state_dict tensors before the test: `{result.checksum_before}`; "
        f"after: `{result.checksum_after}`.", icon=":material/verified:" if result.untouched else ":material/error:")
    studio = nearest_lr(result.suggested)
    if st.button(f"Use this learning rate in the Training studio ({studio:g})", key="it_lr_use",
                 icon=":material/model_training:"):
        _use_in_studio(result.suggested)
    if ss.get("it_lr_used") is not None:
        st.success(f"The Training studio's learning rate is now {ss['it_lr_used']:g} (the option closest to "
                   f"{result.suggested:.3g}).", icon=":material/check:")
        st.page_link("pages/50_training_studio.py", label="Open the Training studio", icon=":material/model_training:")
    model_cfg, train_cfg, test = kept["code"]
    if kept["run"]:
        st.caption(f"The code below runs the test (seed {test.seed}) on a fresh "
                   f"{models.ARCH_NAMES[model_cfg.arch]} on MNIST, and prints that model's valley.")
    code_panel(lr_finder.lr_finder_code("mnist", model_cfg, train_cfg, cfg, test))


# --- 3. initialisation against depth ---------------------------------------------------------------------------

@st.cache_data(max_entries=64, show_spinner=False)
def _probe(cfg: init_depth.DepthConfig) -> tuple:
    """The probe, and the first hidden layer's activations for 8 inputs x 16 units."""
    import torch

    net = init_depth.build_deep_net(cfg)
    x, _ = init_depth.probe_batch(cfg)
    with torch.no_grad():
        first = net[1](net[0](x[:8]))[:, :16]  # (8, 16)
    return init_depth.depth_probe(cfg), first.float()


@st.cache_data(max_entries=1, show_spinner=False)
def _compare() -> list:
    return init_depth.compare_inits(sources.mnist())


def init_depth_part() -> None:
    st.markdown("One batch of 1,000 random inputs through a plain deep net (depth x [Linear -> activation]), "
                "forward and backward. **Try** depth 50 with tanh and normal(0, 0.01), then Xavier; ReLU with "
                "Kaiming; a constant. **Notice** the activations' spread shrinking or growing geometrically with depth "
                "unless the initialisation keeps it at ~1, and zero or constant weights making every unit of a "
                "layer identical: they all receive the same gradient, so they stay identical.")
    c = st.columns(4)
    c[0].selectbox("Initialisation", tuple(SCHEMES), key="it_scheme", format_func=lambda s: SCHEMES.get(s, s))
    c[1].selectbox("Activation", init_depth.ACTIVATIONS, key="it_fn")
    c[2].slider("Depth (hidden layers)", 1, init_depth.MAX_DEPTH, key="it_depth")
    c[3].select_slider("Width", WIDTHS, key="it_width")
    if ss["it_scheme"] == "normal":
        st.select_slider("σ of normal(0, σ)", SIGMAS, key="it_sigma", format_func=lambda v: f"{v:g}")
    cfg = init_depth.DepthConfig(init=ss["it_scheme"], activation=ss["it_fn"], depth=ss["it_depth"],
                                 width=ss["it_width"], sigma=ss["it_sigma"])
    probe, first = _probe(cfg)
    same = sum(probe.symmetric)
    m = st.columns(4)
    m[0].metric("Activation std, last layer", f"{probe.act_std[-1]:.3g}")
    m[1].metric("|grad| of layer 1's weight", f"{probe.grad_norm[0]:.3g}")
    m[2].metric("Layers with identical units", f"{same} of {cfg.depth}")
    m[3].metric("Loss (random labels)", f"{probe.loss:.4g}", help="ln 10 = 2.303: a net that outputs nothing useful")
    st.plotly_chart(figures.depth_curves(probe), key="it_depth_fig")
    zeros = [i + 1 for i, v in enumerate(probe.act_std) if not v > 0]
    if zeros:
        st.caption(f"Layers {zeros[0]}..{zeros[-1]}: std exactly 0 (or a non-number), not drawn on the log axis.")
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(figures.unit_grid(first, "layer 1's activations: 8 inputs x the first 16 units"),
                    key="it_units_fig")
    if same:
        c2.warning(f"In {same} of {cfg.depth} layers every unit computes the same value for every input (the spread "
                   f"across units is 0 to 1e-6): with {SCHEMES[cfg.init]} weights the units are *symmetric*, get "
                   "the same gradient and never become different. Random initialisation breaks the symmetry.",
                   icon=":material/content_copy:")
    else:
        c2.info("Every column differs: random weights give each unit its own job.", icon=":material/shuffle:")
    st.subheader("The same on MNIST: 784-200-200-10 with and without Kaiming")
    st.markdown("One epoch of plain SGD (lr 0.01, batches of 64, the same batches) from Kaiming's initialisation and "
                "from PyTorch's default (about 1/√3 of Kaiming's spread for ReLU).")
    if st.button("Train both (one epoch each, a few seconds)", key="it_cmp_run", icon=":material/play_arrow:"):
        ss["it_cmp_shown"] = True
    if ss.get("it_cmp_shown"):
        with st.spinner("Training the MLP twice ..."):
            curves = _compare()
        m = st.columns(len(curves))
        for col, curve in zip(m, curves, strict=True):
            col.metric(f"Test accuracy, {curve.init}", f"{curve.test_acc:.2%}" if math.isfinite(curve.test_acc) else "-",
                       help=curve.reason)
        st.plotly_chart(figures.init_curves(curves), key="it_cmp_fig")
    code_panel(init_depth.depth_probe_code(cfg, probe))
