import time

import pandas as pd
import streamlit as st
import torch

from core import data as D
from core import models as M
from core import training as T
from ui import figures_training as F
from ui import links
from ui.common import code_panel, header

LRS = tuple(float(f"{m}e{e}") for e in range(-5, 7) for m in (1, 2, 3, 5) if float(f"{m}e{e}") <= 1e6)
WEIGHT_DECAYS = (0.0, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1)
BATCHES = (16, 32, 64, 128, 256, 512, 1024)
SUBSETS = (0, 1000, 2000, 5000, 10000, 20000)
DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
            "custom": "My images (Datasets page)"}
OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
INIT_NAMES = {"default": "PyTorch default", "kaiming": "Kaiming (He)", "xavier": "Xavier (Glorot)",
              "bad": "bad: normal(0, 1)"}
MAX_RUNS = 8  # runs kept in the session (their models too)
BURST_S = 1.0  # seconds of training per live update

PARAMS = {
    "ts_dataset": links.Choice("mnist", tuple(DATASETS)),
    "ts_subset": links.Choice(0, SUBSETS),
    "ts_val": links.Float(0.1, 0.0, 0.3),
    "ts_crop": links.Choice(0, (0, 2, 4)),
    "ts_flip": links.Bool(False),
    "ts_arch": links.Choice("mlp", M.ARCHS),
    "ts_width": links.Choice(1.0, (0.5, 1.0, 1.5, 2.0)),
    "ts_init": links.Choice("default", M.INITS),
    "ts_act": links.Choice("relu", M.ACTIVATIONS),
    "ts_dropout": links.Float(0.0, 0.0, 0.8),
    "ts_bn": links.Bool(False),
    "ts_opt": links.Choice("sgd", T.OPTIMIZERS),
    "ts_lr": links.Choice(0.05, LRS),
    "ts_momentum": links.Float(0.9, 0.0, 0.99),
    "ts_nesterov": links.Bool(False),
    "ts_wd": links.Choice(0.0, WEIGHT_DECAYS),
    "ts_batch": links.Choice(128, BATCHES),
    "ts_epochs": links.Int(3, 1, 30),
    "ts_schedule": links.Choice("cosine", T.SCHEDULES),
    "ts_ls": links.Float(0.0, 0.0, 0.3),
    "ts_seed": links.Int(0, 0, 10_000),
    "ts_patience": links.Int(0, 0, 10),
    "ts_fast": links.Bool(False),
    "ts_tta": links.Bool(False),
    "ts_cifar_path": links.Text("", max_len=300),
}
PRESET_LABELS = {  # times measured on 2 CPU cores (BENCHMARKS.md); a busy or older CPU takes longer
    "mnist-fast": "MNIST, fast: FastNet, 1 epoch, ~99.2% in ~15 s",
    "mnist-mlp": "MNIST, the textbook MLP 784-200-200-10 with SGD, ~98%",
    "cifar-default": "CIFAR-10, default: FastNet, 2 epochs, ~77% in ~1 min",
    "cifar-80": "CIFAR-10, 85%: FastNet, 8 epochs, ~3.5 min",
}


def _apply_preset():
    name = st.session_state.get("ts_preset")
    preset = T.presets().get(name)
    if preset is None:
        return
    m, t = preset.model, preset.train
    base = M.BASE_WIDTHS.get(m.arch)
    width = round(m.widths[-1] / base[-1], 2) if base and m.widths else 1.0
    values = {
        "ts_dataset": preset.dataset, "ts_subset": t.train_subset, "ts_val": t.val_fraction,
        "ts_crop": t.crop_padding, "ts_flip": t.flip, "ts_arch": m.arch, "ts_width": width, "ts_init": m.init,
        "ts_act": m.activation, "ts_dropout": m.dropout, "ts_bn": m.batchnorm, "ts_opt": t.optimizer,
        "ts_lr": t.lr, "ts_momentum": t.momentum, "ts_nesterov": t.nesterov, "ts_wd": t.weight_decay,
        "ts_batch": t.batch_size, "ts_epochs": t.epochs, "ts_schedule": t.schedule, "ts_ls": t.label_smoothing,
        "ts_seed": t.seed, "ts_patience": t.early_stopping, "ts_fast": t.precision == "bf16", "ts_tta": t.tta,
    }
    for key, value in values.items():
        st.session_state[key] = value


links.bind(PARAMS)
header("Training studio", "Train a real network on **MNIST**, **Fashion-MNIST**, **CIFAR-10** or your own images. "
       "Pick a preset or set every knob yourself, press **Start**, and watch the loss and accuracy curves as "
       "`torch.optim` works. Training runs in short bursts, so you can pause, resume or stop at any time "
       "without losing finished steps. Afterwards: where the model goes wrong (confusion matrix, its most "
       "confident mistakes), what its first layer learned, and the weights to download.")

st.selectbox("Start from a preset", list(PRESET_LABELS), format_func=PRESET_LABELS.get, index=None,
             placeholder="Choose a preset (sets all the knobs below) ...", key="ts_preset", on_change=_apply_preset)
if st.session_state.get("ts_preset") in PRESET_LABELS:
    st.caption(T.presets()[st.session_state["ts_preset"]].note + " Change any knob to make it your own.")

# --- settings ----------------------------------------------------------------------------------------------
col_data, col_model, col_opt = st.columns(3, gap="medium")
with col_data:
    st.markdown("**Data**")
    st.selectbox("Dataset", list(DATASETS), format_func=DATASETS.get, key="ts_dataset")
    st.select_slider("Training images", SUBSETS, format_func=lambda n: "all" if n == 0 else f"{n:,}",
                     key="ts_subset", help="Train on a random subset for a quick run.")
    st.slider("Validation split", 0.0, 0.3, step=0.05, key="ts_val",
              help="Share of the training images held out to measure generalisation during training.")
    st.select_slider("Random crop (padding)", (0, 2, 4), key="ts_crop", format_func=lambda p: f"±{p} px" if p else "off",
                     help="Shift each image by up to this many pixels (zero padding), a new shift every time.")
    st.toggle("Random horizontal flip", key="ts_flip", help="Good for CIFAR-10; bad for digits (a mirrored 3 is not a 3).")
    st.slider("Early stopping patience", 0, 10, key="ts_patience",
              help="Stop after this many epochs without a better validation loss (0 = off); the best weights are kept.")
    if st.session_state["ts_dataset"] == "cifar10":
        st.text_input("CIFAR-10 folder (optional)", key="ts_cifar_path",
                      placeholder="auto: $PYLAB_CIFAR10_DIR, ../shared/datasets/cifar10-jpg, the cache",
                      help="A folder with train/<class>/*.jpg and test/<class>/*.jpg, or cifar-10-batches-py.")
with col_model:
    st.markdown("**Model**")
    st.selectbox("Architecture", M.ARCHS, format_func=M.ARCH_NAMES.get, key="ts_arch")
    arch = st.session_state["ts_arch"]
    if arch in M.BASE_WIDTHS:
        st.select_slider("Width (channels)", (0.5, 1.0, 1.5, 2.0), format_func=lambda w: f"x{w:g}", key="ts_width")
    st.selectbox("Initialisation", M.INITS, format_func=INIT_NAMES.get, key="ts_init",
                 help="'bad' draws every weight from normal(0, 1): activations explode through ReLU layers "
                      "and saturate sigmoids, so training stalls or diverges.")
    if arch == "mlp":
        st.selectbox("Hidden activation", M.ACTIVATIONS, key="ts_act")
    st.slider("Dropout", 0.0, 0.8, step=0.05, key="ts_dropout")
    st.toggle("BatchNorm", key="ts_bn")
    st.toggle("Fast math: bfloat16 + channels-last", key="ts_fast",
              help="Autocast to bfloat16 and NHWC memory: about 1.5-2x faster convolutions on CPUs with AVX-512 "
                   "BF16 or AMX (and on GPUs); slower on CPUs without them.")
with col_opt:
    st.markdown("**Optimisation**")
    o1, o2 = st.columns(2)
    o1.selectbox("Optimizer", T.OPTIMIZERS, format_func=OPTIMIZER_NAMES.get, key="ts_opt")
    o2.selectbox("LR schedule", T.SCHEDULES, key="ts_schedule")
    st.select_slider("Learning rate", LRS, format_func=lambda v: f"{v:g}", key="ts_lr")
    if st.session_state["ts_opt"] in ("sgd", "rmsprop"):
        o1, o2 = st.columns([3, 2])
        o1.slider("Momentum", 0.0, 0.99, step=0.01, key="ts_momentum")
        if st.session_state["ts_opt"] == "sgd":
            o2.toggle("Nesterov", key="ts_nesterov")
    st.select_slider("Weight decay", WEIGHT_DECAYS, format_func=lambda v: f"{v:g}", key="ts_wd")
    o1, o2 = st.columns(2)
    o1.select_slider("Batch size", BATCHES, key="ts_batch")
    o2.slider("Epochs", 1, 30, key="ts_epochs")
    o1, o2 = st.columns(2)
    o1.slider("Label smoothing", 0.0, 0.3, step=0.05, key="ts_ls")
    o2.number_input("Seed", 0, 10_000, step=1, key="ts_seed")
    st.toggle("Test-time flip augmentation", key="ts_tta", help="Average the predictions for each test image and its mirror.")
ss = st.session_state


@st.cache_data(show_spinner=False, max_entries=64)
def _summary(cfg: M.ModelConfig) -> tuple[int, pd.DataFrame, str | None]:
    model = M.build_model(cfg, seed=0)
    rows = M.layer_table(model, cfg.input_shape)
    table = pd.DataFrame({"layer": [r.name for r in rows], "type": [r.kind for r in rows],
                          "output shape": [str(r.output_shape) for r in rows], "parameters": [r.params for r in rows]})
    return M.count_parameters(model), table, M.sequential_code(model)


@st.cache_data(show_spinner=False, max_entries=32)
def _lr_curve(cfg: T.TrainConfig, steps_per_epoch: int) -> list[float]:
    return T.lr_curve(cfg, steps_per_epoch)


def _log_every(data: D.ImageData, state) -> int:
    """About 150 points per training curve, whatever the run's length."""
    n = int(state["ts_subset"]) or len(data.y_train)
    steps = int(state["ts_epochs"]) * max(1, int(n * (1 - float(state["ts_val"]))) // int(state["ts_batch"]))
    return max(1, steps // 150)


# --- the dataset and the configs ---------------------------------------------------------------------------
name = ss["ts_dataset"]
data, data_problem = None, None
if name == "custom":
    data = ss.get("ds_custom")
    if data is None:
        data_problem = "No images of your own yet: load a folder or a zip on the **Datasets** page, then come back."
elif name == "cifar10" and D.find_cifar10(ss["ts_cifar_path"] or None) is None:
    where = f"in `{ss['ts_cifar_path']}`" if ss["ts_cifar_path"] else "on this machine"
    data_problem = (f"CIFAR-10 is not {where}. Point the folder box to a copy in ImageFolder layout "
                    "(`train/<class>/*.jpg`, `test/<class>/*.jpg`) or a `cifar-10-batches-py` folder, set "
                    "`PYLAB_CIFAR10_DIR`, or download it (163 MB, needs internet) below.")
else:
    try:
        with st.spinner("Loading the dataset (decoded once, then kept in memory) ..."):
            data = D.load_shared(name, ss["ts_cifar_path"] if name == "cifar10" else "")
    except (D.DataUnavailable, D.DataError) as exc:
        data_problem = str(exc)

if data_problem:
    st.warning(data_problem, icon=":material/dataset:")
    if name == "cifar10" and st.button("Download CIFAR-10 (163 MB)", key="ts_download_cifar"):
        bar = st.progress(0.0, text="Connecting ...")
        try:
            D.download_cifar10(progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg))
            st.rerun()
        except D.DataUnavailable as exc:
            st.error(str(exc), icon=":material/cloud_off:")
    if name in ("mnist", "fashion-mnist") and st.button("Download with torchvision (needs internet)",
                                                         key="ts_download_tv"):
        try:
            with st.spinner("Downloading ..."):
                D.download(name)
            D.load_shared.cache_clear()
            st.rerun()
        except D.DataUnavailable as exc:
            st.error(str(exc), icon=":material/cloud_off:")

model_cfg = train_cfg = None
config_problem = None
if data is not None:
    c, s = data.image_shape[0], data.image_shape[1]
    try:
        model_cfg = M.ModelConfig(arch, c, s, data.num_classes, dropout=float(ss["ts_dropout"]),
                                  batchnorm=bool(ss["ts_bn"]), init=ss["ts_init"], activation=ss["ts_act"],
                                  widths=M.scaled_widths(arch, ss["ts_width"]))
        train_cfg = T.TrainConfig(
            ss["ts_opt"], lr=float(ss["ts_lr"]), momentum=float(ss["ts_momentum"]), nesterov=bool(ss["ts_nesterov"]),
            weight_decay=float(ss["ts_wd"]), batch_size=int(ss["ts_batch"]), epochs=int(ss["ts_epochs"]),
            schedule=ss["ts_schedule"], label_smoothing=float(ss["ts_ls"]), crop_padding=int(ss["ts_crop"]),
            flip=bool(ss["ts_flip"]), val_fraction=float(ss["ts_val"]), early_stopping=int(ss["ts_patience"]),
            seed=int(ss["ts_seed"]), train_subset=int(ss["ts_subset"]), tta=bool(ss["ts_tta"]),
            precision="bf16" if ss["ts_fast"] else "fp32", channels_last=bool(ss["ts_fast"]),
            log_every=_log_every(data, ss))
    except ValueError as exc:
        config_problem = f"These settings cannot train: {exc}."
        st.error(config_problem, icon=":material/tune:")

if model_cfg is not None:
    n_params, table, seq_code = _summary(model_cfg)
    m1, m2, m3 = st.columns(3)
    m1.metric("Parameters", f"{n_params:,}")
    m2.metric("Training images", f"{(train_cfg.train_subset or len(data.y_train)):,}" if train_cfg else "-")
    m3.metric("Input", " x ".join(map(str, data.image_shape)), help=data.source)
    if n_params > 5_000_000:
        st.caption(f"A large model ({n_params / 1e6:.1f} M parameters): expect minutes per epoch on a CPU.")
    with st.expander("Layer table: the output shape of every layer", icon=":material/table_rows:"):
        st.dataframe(table, hide_index=True, width="stretch", key="ts_layers")


# --- runs: start / pause / resume / stop -------------------------------------------------------------------
# Every run is a dict in ss["ts_runs"] (other lessons read it through ui.session_models.trained_runs):
# id, dataset (name), data (ImageData), model_cfg, train_cfg (None when uploaded), trainer (None when uploaded),
# model, probs (cached test predictions), test_acc (once finished or uploaded), started (time.time()).
runs: list[dict] = ss.setdefault("ts_runs", [])
ss.setdefault("ts_next_id", 1)


def _active() -> dict | None:
    return next((r for r in runs if r["id"] == ss.get("ts_active")), None)


def _request_start():
    ss["ts_start_requested"] = True


def _pause():
    ss["ts_running"] = False


def _resume():
    if _active() is not None and not _active()["trainer"].done:
        ss["ts_running"] = True


def _stop():
    run = _active()
    if run is not None:
        run["trainer"].stop()
        run["trainer"].release()
        run["test_acc"] = next((e.test_acc for e in reversed(run["trainer"].history.epochs)
                                if e.test_acc is not None), None)
    ss["ts_running"] = False


def _label(run: dict) -> str:
    t, m = run["train_cfg"], run["model_cfg"]
    how = f"{OPTIMIZER_NAMES[t.optimizer]} lr {t.lr:g}" if t else f"uploaded {run.get('file', '')}".strip()
    return f"#{run['id']} {M.ARCH_NAMES[m.arch].split(' (')[0]} · {how} · {run['dataset']}"


if ss.pop("ts_start_requested", False) and model_cfg is not None and train_cfg is not None:
    previous = _active()
    if previous is not None and not previous["trainer"].done:
        previous["trainer"].stop("Stopped: a new run was started.")
        previous["trainer"].release()
    model = M.build_model(model_cfg, seed=train_cfg.seed)
    trainer = T.Trainer(model, data, train_cfg)
    run = {"id": ss["ts_next_id"], "dataset": DATASETS[name].split(" (")[0], "data": data, "model_cfg": model_cfg,
           "train_cfg": train_cfg, "trainer": trainer, "model": trainer.model, "probs": None, "test_acc": None,
           "started": time.time()}
    ss["ts_next_id"] += 1
    runs.append(run)
    if len(runs) > MAX_RUNS:
        runs.pop(0)
        st.toast(f"Only the last {MAX_RUNS} runs are kept; the oldest was dropped.")
    ss["ts_active"] = run["id"]
    ss["ts_running"] = True

active = _active()
running = bool(ss.get("ts_running")) and active is not None and not active["trainer"].done
b1, b2, b3, b4, _ = st.columns([1, 1, 1, 1, 3])
b1.button("Start", type="primary", icon=":material/play_arrow:", key="ts_start", on_click=_request_start,
          disabled=model_cfg is None or train_cfg is None, width="stretch",
          help="A new run with the settings above (a run in progress is stopped and kept).")
b2.button("Pause", icon=":material/pause:", key="ts_pause", on_click=_pause, disabled=not running, width="stretch")
b3.button("Resume", icon=":material/resume:", key="ts_resume", on_click=_resume, width="stretch",
          disabled=running or active is None or active["trainer"].done)
b4.button("Stop", icon=":material/stop:", key="ts_stop", on_click=_stop, width="stretch",
          disabled=active is None or active["trainer"].done)


def _state(run: dict) -> str:
    """What a learner would call the run's state: training / paused / finished / stopped early / diverged ..."""
    if run["trainer"] is None:
        return "uploaded"
    status = run["trainer"].status
    if status in T.DONE:
        return status.replace("_", " ")
    if run["id"] == ss.get("ts_active") and ss.get("ts_running"):
        return "training"
    return "paused" if run["trainer"].step else "ready"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA -"
    return f"ETA {int(seconds // 60)}:{int(seconds % 60):02d}"


@st.fragment(run_every=0.2 if running else None)
def live_panel():
    run = _active()
    if run is None:
        st.info("Press **Start** to train with the settings above; the curves appear here as it learns.",
                icon=":material/model_training:")
        return
    trainer: T.Trainer = run["trainer"]
    if ss.get("ts_running") and not trainer.done:
        trainer.run(max_seconds=BURST_S)
        run["probs"] = None  # the model changed: predictions are computed again when asked for
    h = trainer.history
    epoch_now = min(trainer.epoch + 1, trainer.cfg.epochs)
    state = _state(run)
    st.progress(trainer.progress, text=f"{_label(run)} · {state} · epoch {epoch_now}/{trainer.cfg.epochs} · step "
                f"{trainer.step:,}/{trainer.total_steps:,} · {trainer.samples_per_s():,.0f} samples/s · "
                f"{_eta(trainer.eta_seconds())}")
    last = h.epochs[-1] if h.epochs else None
    k1, k2, k3, k4, k5 = st.columns(5)
    k1.metric("Train loss", f"{h.steps[-1].loss:.4f}" if h.steps else "-")
    k2.metric("Train accuracy", f"{h.steps[-1].accuracy:.2%}" if h.steps else "-")
    k3.metric("Val accuracy", f"{last.val_acc:.2%}" if last and last.val_acc is not None else "-")
    k4.metric("Test accuracy", f"{last.test_acc:.2%}" if last and last.test_acc is not None else "-")
    k5.metric("Time", f"{trainer.train_seconds:.1f} s")
    if h.status == "diverged":
        st.error(h.reason, icon=":material/local_fire_department:")
    elif h.status in T.DONE:
        st.success(h.reason, icon=":material/check_circle:")
    smoothing = st.slider("Curve smoothing", 0.0, 0.95, 0.6, 0.05, key="ts_smooth")
    tab_curves, tab_grads, tab_lr = st.tabs(["Loss & accuracy", "Gradients per layer", "Learning rate"])
    with tab_curves:
        c1, c2 = st.columns(2)
        c1.plotly_chart(F.curves(h, "loss", smoothing=smoothing), key="ts_loss_fig")
        c2.plotly_chart(F.curves(h, "accuracy", smoothing=smoothing), key="ts_acc_fig")
    with tab_grads:
        if h.steps:
            st.plotly_chart(F.grad_norms(h), key="ts_grad_fig")
            st.caption("Healthy training keeps every layer's gradient within a few orders of magnitude. "
                       "With the 'bad' initialisation the norms start huge (ReLU) or tiny in the first layers "
                       "(sigmoid): exploding and vanishing gradients.")
    with tab_lr:
        st.plotly_chart(F.lr_schedule(_lr_curve(trainer.cfg, trainer.steps_per_epoch), trainer.steps_per_epoch,
                                      done_steps=trainer.step), key="ts_lr_fig")
    if trainer.done and ss.get("ts_running"):
        ss["ts_running"] = False
        trainer.release()
        last_test = next((e.test_acc for e in reversed(h.epochs) if e.test_acc is not None), None)
        run["test_acc"] = last_test
        st.rerun()  # the whole page: the results of the finished run appear below


live_panel()

# --- run history and comparison ----------------------------------------------------------------------------
finished = [r for r in runs if r["trainer"] is None or r["trainer"].done or
            (r["id"] == ss.get("ts_active") and not running)]
if runs:
    st.subheader("Runs")
    rows = []
    for r in runs:
        t, m = r["train_cfg"], r["model_cfg"]
        h = r["trainer"].history if r["trainer"] else None
        last = h.epochs[-1] if h and h.epochs else None
        rows.append({"run": _label(r), "status": _state(r), "epochs done": len(h.epochs) if h else 0,
                     "test acc": last.test_acc if last and last.test_acc is not None else r.get("test_acc"),
                     "val acc": last.val_acc if last else None,
                     "time s": round(r["trainer"].train_seconds, 1) if r["trainer"] else None,
                     "arch": m.arch, "params": _summary(m)[0], "optimizer": t.optimizer if t else "", "lr": t.lr if t else None,
                     "momentum": t.momentum if t else None, "weight decay": t.weight_decay if t else None,
                     "batch": t.batch_size if t else None, "schedule": t.schedule if t else "",
                     "label smoothing": t.label_smoothing if t else None, "dropout": m.dropout, "BN": m.batchnorm,
                     "init": m.init, "seed": t.seed if t else None})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ts_runs_table",
                 column_config={"test acc": st.column_config.NumberColumn(format="percent"),
                                "val acc": st.column_config.NumberColumn(format="percent")})
    trained = [r for r in runs if r["trainer"] is not None and r["trainer"].history.steps]
    if len(trained) >= 2:
        labels = {_label(r): r for r in trained}
        c1, c2 = st.columns([3, 1])
        chosen = c1.multiselect("Compare runs", list(labels), default=list(labels)[-3:], key="ts_compare",
                                wrap=True)
        metric = c2.radio("Metric", ["test accuracy", "val accuracy", "train loss"], key="ts_compare_metric")
        if chosen:
            st.plotly_chart(F.compare_runs([(c, labels[c]["trainer"].history) for c in chosen], metric),
                            key="ts_compare_fig")
    if st.button("Clear run history", icon=":material/delete:", key="ts_clear", disabled=running):
        runs.clear()
        ss["ts_active"] = None
        st.rerun()

# --- results of one run ------------------------------------------------------------------------------------


def _figure(run: dict, key: tuple, build):
    """Figures of a trained run are built once per run and view (galleries take ~0.1 s each to build)."""
    figs = run.setdefault("figs", {})
    if key not in figs:
        figs[key] = build()
    return figs[key]


def _probs(run: dict):
    if run["probs"] is None:
        run["figs"] = {}
        t = run["train_cfg"]
        run["probs"] = T.predict(run["model"], run["data"].x_test, run["data"], tta=bool(t and t.tta),
                                 precision=t.precision if t else "fp32", channels_last=bool(t and t.channels_last))
    return run["probs"]


viewable = [r for r in finished if r["model"] is not None]
if viewable:
    st.subheader("Inside a trained model")
    labels = {_label(r): r for r in viewable}
    choice = st.selectbox("Run", list(labels)[::-1], key="ts_view_run")
    run = labels[choice]
    ds: D.ImageData = run["data"]
    with st.spinner("Predicting the test set ..."):
        probs = _probs(run)
    pred = probs.argmax(1)
    cm = T.confusion_matrix(ds.y_test, pred, ds.num_classes)
    acc = (pred == ds.y_test).float().mean().item()
    r1, r2, r3 = st.columns(3)
    r1.metric("Test accuracy", f"{acc:.2%}")
    r2.metric("Test errors", f"{int((pred != ds.y_test).sum()):,} of {len(ds.y_test):,}")
    r3.metric("Parameters", f"{M.count_parameters(run['model']):,}")
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(_figure(run, ("cm",), lambda: F.confusion(cm, ds.classes)), key="ts_cm_fig")
    c2.plotly_chart(_figure(run, ("per_class",), lambda: F.per_class(T.per_class_accuracy(cm), ds.classes)),
                    key="ts_per_class_fig")

    st.markdown("**Test predictions** (green: right, red: wrong; the three most likely classes)")
    g1, _ = st.columns([1, 4])
    gseed = g1.number_input("Sample", 0, 10_000, 0, step=1, key="ts_gallery_seed", help="Another sample of test images.")
    pick = torch.randperm(len(ds.y_test), generator=torch.Generator().manual_seed(int(gseed)))[:16]
    st.plotly_chart(_figure(run, ("gallery", int(gseed)),
                            lambda: F.gallery(ds.x_test[pick], ds.y_test[pick], probs[pick], ds.classes)),
                    key="ts_gallery_fig")
    mistakes = T.confident_mistakes(probs, ds.y_test, 16)
    st.markdown("**The most confident mistakes**: wrong, and sure of it. Some are mislabelled, many are hard.")
    if len(mistakes):
        st.plotly_chart(_figure(run, ("mistakes",), lambda: F.gallery(ds.x_test[mistakes], ds.y_test[mistakes],
                                                                      probs[mistakes], ds.classes)),
                        key="ts_mistakes_fig")
    else:
        st.caption("No mistakes on the test set.")
    st.plotly_chart(_figure(run, ("filters",), lambda: F.filters(M.first_layer_filters(run["model"], ds.image_shape))),
                    key="ts_filters_fig")
    st.caption("The first layer's weights drawn as images: edge and colour detectors in a CNN, digit-like "
               "templates in an MLP. With a 'bad' initialisation they stay noise.")

    d1, d2, _ = st.columns([1, 1, 3])
    stem = f"{run['model_cfg'].arch}-run{run['id']}"
    d1.download_button("Weights (.pt)", data=lambda m=run["model"]: T.weights_bytes(m), file_name=f"{stem}.pt",
                       mime="application/octet-stream", icon=":material/download:", key="ts_dl_weights",
                       on_click="ignore")
    d2.download_button("Config (.json)", data=T.config_json(run["model_cfg"], run["train_cfg"],
                                                            dataset=run["dataset"], metrics={"test_acc": acc}),
                       file_name=f"{stem}.json", mime="application/json", icon=":material/download:",
                       key="ts_dl_config", on_click="ignore")

# --- upload weights to evaluate ----------------------------------------------------------------------------
with st.expander("Evaluate uploaded weights (.pt + its config .json)", icon=":material/upload:"):
    st.caption("Upload a state_dict saved here (or with `torch.save(model.state_dict(), f)`), and the config "
               ".json that came with it; without a config, the architecture selected above is used. The file "
               "is read with `torch.load(weights_only=True)`: no code inside it can run.")
    files = st.file_uploader("Weights and config", type=["pt", "pth", "json"], accept_multiple_files=True,
                             key="ts_upload", max_upload_size=200)
    seen = ss.setdefault("ts_uploaded_ids", set())
    if files and data is not None and model_cfg is not None:
        weights_file = next((f for f in files if f.name.lower().endswith((".pt", ".pth"))), None)
        config_file = next((f for f in files if f.name.lower().endswith(".json")), None)
        key = tuple(sorted(f.file_id for f in files))
        if weights_file is None:
            st.warning("Add the weights file (.pt) too.", icon=":material/upload_file:")
        elif key not in seen:
            try:
                cfg = T.read_config_json(config_file.getvalue())[0] if config_file else model_cfg
                if (cfg.in_channels, cfg.image_size, cfg.num_classes) != (*data.image_shape[:2], data.num_classes):
                    raise T.CheckpointError(
                        f"These weights are for {cfg.in_channels} x {cfg.image_size} x {cfg.image_size} images in "
                        f"{cfg.num_classes} classes; {DATASETS[name]} has {' x '.join(map(str, data.image_shape))} "
                        f"images in {data.num_classes} classes. Choose the matching dataset above.")
                model = T.load_weights(weights_file.getvalue(), cfg)
                metrics = T.evaluate(model, data.x_test, data.y_test, data)
                runs.append({"id": ss["ts_next_id"], "dataset": DATASETS[name].split(" (")[0], "data": data,
                             "model_cfg": cfg, "train_cfg": None, "trainer": None, "model": model, "probs": None,
                             "test_acc": metrics.accuracy, "file": weights_file.name, "started": time.time()})
                ss["ts_next_id"] += 1
                seen.add(key)
                ss["ts_upload_msg"] = (f"Loaded {weights_file.name} ({cfg.arch}): test accuracy "
                                       f"{metrics.accuracy:.2%} on {DATASETS[name]}.")
                st.rerun()
            except T.CheckpointError as exc:
                st.error(str(exc), icon=":material/error:")
    if ss.get("ts_upload_msg"):
        st.success(ss["ts_upload_msg"], icon=":material/check_circle:")

if model_cfg is not None and train_cfg is not None:
    code_panel(T.training_code(name, model_cfg, train_cfg, seq_code),
               title="PyTorch code: this training run as a standalone loop")
