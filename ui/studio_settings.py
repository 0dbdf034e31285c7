"""The Training studio's settings: one table from which its widgets, share links, presets and configs all derive.

Each `Setting` names its widget key, its link format and default, how it is drawn, and where its value goes:
`target` is the ModelConfig/TrainConfig field it fills and reads back from a preset; settings with no such field
(the dataset, the width multiplier, fast math) say how with `to_value`/`from_preset`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from core import models, system, training
from core.parsing import InputError, parse_ints
from core.presets import Preset, presets
from ui import links
from ui.common import log

LRS = tuple(float(f"{m}e{e}") for e in range(-5, 7) for m in (1, 2, 3, 5) if float(f"{m}e{e}") <= 1e6)
WEIGHT_DECAYS = (0.0, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1)
BATCHES = (16, 32, 64, 128, 256, 512, 1024)
SUBSETS = (0, 1000, 2000, 5000, 10000, 20000)
WIDTHS = (0.5, 1.0, 1.5, 2.0)
DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "custom": "My images"}
INIT_NAMES = {"default": "PyTorch default", "kaiming": "Kaiming (He)", "xavier": "Xavier (Glorot)",
              "bad": "bad: normal(0, 1)"}
PRESET_LABELS = {  # times measured on 2 CPU cores (BENCHMARKS.md); a busy or older CPU takes longer
    "mnist-fast": "MNIST, fast: FastNet, 1 epoch, ~99.2% in ~15 s",
    "mnist-mlp": "MNIST, the textbook MLP 784-200-200-10 with SGD, ~98%",
    "cifar-default": "CIFAR-10, default: FastNet, 2 epochs, ~77% in ~1 min",
    "cifar-80": "CIFAR-10, 85%: FastNet, 8 epochs, ~3.5 min",
}


@dataclass(frozen=True)
class Setting:
    key: str  # the widget key (and the link's query key)
    param: links.Param  # link format and default
    label: str
    widget: str  # selectbox | select_slider | slider | toggle | number_input | text_input
    target: str = ""  # "model.<ModelConfig field>" or "train.<TrainConfig field>" it fills
    kwargs: dict = field(default_factory=dict)  # more widget arguments: format_func, step, help, placeholder ...
    shown: Callable[[dict], bool] | None = None  # drawn only when this holds for the current values
    from_preset: Callable[[Preset], Any] | None = None  # its value in a preset, when `target` does not say
    to_value: Callable[[Any], Any] | None = None  # the widget's value -> the config field's (ValueError if it cannot)


def _width_of(preset: Preset) -> float:
    base = models.BASE_WIDTHS.get(preset.model.arch)
    return round(preset.model.widths[-1] / base[-1], 2) if base and preset.model.widths else 1.0


def _choices(values) -> links.Choice:
    return links.Choice(values[0], tuple(values))


SETTINGS = (
    # Data
    Setting("ts_dataset", _choices(tuple(DATASETS)), "Dataset", "selectbox",
            kwargs=dict(format_func=lambda d: {**DATASETS, "custom": "My images (Datasets page)"}[d]),
            from_preset=lambda p: p.dataset),
    Setting("ts_subset", links.Choice(0, SUBSETS), "Training images", "select_slider", "train.train_subset",
            dict(options=SUBSETS, format_func=lambda n: "all" if n == 0 else f"{n:,}",
                 help="Train on a random subset for a quick run.")),
    Setting("ts_val", links.Float(0.1, 0.0, 0.3), "Validation split", "slider", "train.val_fraction",
            dict(min_value=0.0, max_value=0.3, step=0.05,
                 help="Share of the training images held out to measure generalisation during training.")),
    Setting("ts_crop", links.Choice(0, (0, 2, 4)), "Random crop (padding)", "select_slider", "train.crop_padding",
            dict(options=(0, 2, 4), format_func=lambda p: f"±{p} px" if p else "off",
                 help="Shift each image by up to this many pixels (zero padding), a new shift every time.")),
    Setting("ts_flip", links.Bool(False), "Random horizontal flip", "toggle", "train.flip",
            dict(help="Good for CIFAR-10; bad for digits (a mirrored 3 is not a 3).")),
    Setting("ts_patience", links.Int(0, 0, 10), "Early stopping patience", "slider", "train.early_stopping",
            dict(min_value=0, max_value=10, help="Stop after this many epochs without a better validation loss "
                 "(0 = off); the best weights are kept.")),
    Setting("ts_cifar_path", links.Text("", max_len=300), "CIFAR-10 folder (optional)", "text_input",
            kwargs=dict(placeholder="auto: $PYLAB_CIFAR10_DIR or the cache", help="A folder with "
                        "train/<class>/*.jpg and test/<class>/*.jpg, or cifar-10-batches-py."),
            shown=lambda v: v["ts_dataset"] == "cifar10", from_preset=lambda p: None),
    # Model
    Setting("ts_arch", _choices(models.ARCHS), "Architecture", "selectbox", "model.arch",
            dict(format_func=models.ARCH_NAMES.get)),
    Setting("ts_width", links.Choice(1.0, WIDTHS), "Width (channels)", "select_slider",
            kwargs=dict(options=WIDTHS, format_func=lambda w: f"x{w:g}"),
            shown=lambda v: v["ts_arch"] in models.BASE_WIDTHS, from_preset=_width_of),
    Setting("ts_hidden", links.Text("200,200", max_len=80, refused=("a", "0, 10"), accepted="512"),
            "Hidden layer sizes", "text_input", "model.hidden",
            dict(help="Units per hidden layer, e.g. 512 (784-512-10: 407,050 parameters), 500 or 200,200."),
            shown=lambda v: v["ts_arch"] == "mlp", from_preset=lambda p: ",".join(map(str, p.model.hidden)),
            to_value=lambda text: hidden_sizes(text)),
    Setting("ts_init", _choices(models.INITS), "Initialisation", "selectbox", "model.init",
            dict(format_func=INIT_NAMES.get, help="'bad' draws every weight from normal(0, 1): activations explode "
                 "through ReLU layers and saturate sigmoids, so training stalls or diverges.")),
    Setting("ts_act", _choices(models.ACTIVATIONS), "Hidden activation", "selectbox", "model.activation",
            shown=lambda v: v["ts_arch"] == "mlp"),
    Setting("ts_dropout", links.Float(0.0, 0.0, 0.8), "Dropout", "slider", "model.dropout",
            dict(min_value=0.0, max_value=0.8, step=0.05)),
    Setting("ts_bn", links.Bool(False), "BatchNorm", "toggle", "model.batchnorm"),
    Setting("ts_fast", links.Bool(False), "Fast math: bfloat16 + channels-last", "toggle",
            kwargs=dict(help="Autocast to bfloat16 and NHWC memory: about 1.5-2x faster convolutions on CPUs with "
                        "AVX-512 BF16 or AMX (and on GPUs); slower on CPUs without them."),
            from_preset=lambda p: p.train.precision == "bf16"),
    # Optimisation
    Setting("ts_opt", _choices(training.OPTIMIZERS), "Optimizer", "selectbox", "train.optimizer",
            dict(format_func=training.OPTIMIZER_NAMES.get)),
    Setting("ts_schedule", links.Choice("cosine", training.SCHEDULES), "LR schedule", "selectbox",
            "train.schedule", dict(options=training.SCHEDULES)),
    Setting("ts_lr", links.Choice(0.05, LRS), "Learning rate", "select_slider", "train.lr",
            dict(options=LRS, format_func=lambda v: f"{v:g}")),
    Setting("ts_momentum", links.Float(0.9, 0.0, 0.99), "Momentum", "slider", "train.momentum",
            dict(min_value=0.0, max_value=0.99, step=0.01), shown=lambda v: v["ts_opt"] in ("sgd", "rmsprop")),
    Setting("ts_nesterov", links.Bool(False), "Nesterov", "toggle", "train.nesterov",
            shown=lambda v: v["ts_opt"] == "sgd"),
    Setting("ts_wd", links.Choice(0.0, WEIGHT_DECAYS), "Weight decay", "select_slider", "train.weight_decay",
            dict(options=WEIGHT_DECAYS, format_func=lambda v: f"{v:g}")),
    Setting("ts_batch", links.Choice(128, BATCHES), "Batch size", "select_slider", "train.batch_size",
            dict(options=BATCHES)),
    Setting("ts_epochs", links.Int(3, 1, 30), "Epochs", "slider", "train.epochs", dict(min_value=1, max_value=30)),
    Setting("ts_ls", links.Float(0.0, 0.0, 0.3), "Label smoothing", "slider", "train.label_smoothing",
            dict(min_value=0.0, max_value=0.3, step=0.05)),
    Setting("ts_seed", links.Int(0, 0, 10_000), "Seed", "number_input", "train.seed",
            dict(min_value=0, max_value=10_000, step=1)),
    Setting("ts_tta", links.Bool(False), "Test-time flip augmentation", "toggle", "train.tta",
            dict(help="Average the predictions for each test image and its mirror.")),
    Setting("ts_device", links.Choice("cpu", ("cpu", "cuda", "mps")), "Device", "selectbox",
            kwargs=dict(options=system.devices(), help="Where the next run trains: the CPU, or a GPU (CUDA, Apple "
                        "MPS) when this machine has one."),
            shown=lambda v: len(system.devices()) > 1, from_preset=lambda p: None),
)
BY_KEY = {s.key: s for s in SETTINGS}
PARAMS = {s.key: s.param for s in SETTINGS}
# Where each setting is drawn: three columns; a row of two keys shares a line ("momentum" gets more room).
LAYOUT = {
    "Data": [("ts_dataset",), ("ts_subset",), ("ts_val",), ("ts_crop",), ("ts_flip",), ("ts_patience",),
             ("ts_cifar_path",)],
    "Model": [("ts_arch",), ("ts_hidden",), ("ts_width",), ("ts_init",), ("ts_act",), ("ts_dropout",), ("ts_bn",), ("ts_fast",)],
    "Optimisation": [("ts_opt", "ts_schedule"), ("ts_lr",), ("ts_momentum", "ts_nesterov"), ("ts_wd",),
                     ("ts_batch", "ts_epochs"), ("ts_ls", "ts_seed"), ("ts_tta",), ("ts_device",)],
}


def _options(setting: Setting) -> dict:
    """Widget arguments: selectboxes take their options from the link's choices."""
    kwargs = dict(setting.kwargs)
    if setting.widget == "selectbox" and "options" not in kwargs:
        kwargs["options"] = setting.param.options
    return kwargs


def draw(values: dict) -> None:
    """Every setting's widget, in LAYOUT's columns (a setting whose `shown` is false is not drawn)."""
    for column, (title, rows) in zip(st.columns(3, gap="medium"), LAYOUT.items(), strict=True):
        with column:
            st.markdown(f"**{title}**")
            for row in rows:
                visible = [BY_KEY[k] for k in row if BY_KEY[k].shown is None or BY_KEY[k].shown(values)]
                if not visible:
                    continue
                places = st.columns([3, 2] if "ts_momentum" in row else len(row)) if len(row) > 1 else [st]
                for place, setting in zip(places, visible, strict=False):  # st.columns and st draw the same widgets
                    getattr(place, setting.widget)(setting.label, key=setting.key, persist_state="session",
                                                   **_options(setting))


def preset_values(name: str) -> dict[str, Any]:
    """The value of every setting in a preset (a setting with no value in it keeps its current one)."""
    preset = presets()[name]
    out = {}
    for s in SETTINGS:
        if s.from_preset is not None:
            value = s.from_preset(preset)
        elif s.target:
            part, name_ = s.target.split(".")
            value = getattr(preset.model if part == "model" else preset.train, name_)
        else:
            continue
        if value is not None:
            out[s.key] = value
    return out


def apply_preset() -> None:
    """The preset selectbox's callback: set every knob to the chosen preset."""
    name = st.session_state.get("ts_preset")
    if name in presets():
        st.session_state.update(preset_values(name))


def configs(values: dict, image_shape: tuple[int, ...], num_classes: int, log_every: int):
    """(ModelConfig, TrainConfig) for these settings on data of this shape; ValueError says what cannot train."""
    fields_of = {"model": {}, "train": {}}
    for s in SETTINGS:
        if s.target and (s.shown is None or s.shown(values) or not s.to_value):  # a hidden typed box is not read
            part, name = s.target.split(".")
            fields_of[part][name] = s.to_value(values[s.key]) if s.to_value else values[s.key]
    arch = values["ts_arch"]
    model_cfg = models.ModelConfig(in_channels=image_shape[0], image_size=image_shape[1], num_classes=num_classes,
                                   widths=models.scaled_widths(arch, values["ts_width"]), **fields_of["model"])
    fast = bool(values["ts_fast"])
    train_cfg = training.TrainConfig(precision="bf16" if fast else "fp32", channels_last=fast, log_every=log_every,
                                     **fields_of["train"])
    return model_cfg, train_cfg


def hidden_sizes(text: str) -> tuple[int, ...]:
    """The MLP's hidden sizes typed as '512' or '200, 200' (ValueError with the learner's words)."""
    try:
        sizes = tuple(parse_ints(text, max_len=models.MAX_HIDDEN_LAYERS))
    except InputError as exc:
        raise ValueError(f"hidden layer sizes: {str(exc).rstrip('.')}") from None
    if not all(1 <= h <= 4096 for h in sizes):
        raise ValueError("hidden layer sizes must be whole numbers from 1 to 4096, e.g. 512 or 200, 200")
    return sizes


def device(values: dict) -> str:
    """The device the next run trains on: the chosen one where this machine has it, else the CPU."""
    return values.get("ts_device") if values.get("ts_device") in system.devices() else "cpu"


def log_every(values: dict, n_train: int) -> int:
    """About 150 points per training curve, whatever the run's length."""
    n = int(values["ts_subset"]) or n_train
    steps = int(values["ts_epochs"]) * max(1, int(n * (1 - float(values["ts_val"]))) // int(values["ts_batch"]))
    return max(1, steps // 150)


def start_configs(clicked: dict, values: dict, image_shape: tuple[int, ...], num_classes: int, n_train: int):
    """The configs a Start click trains with: the settings its click carried from the browser (`clicked`, taken by
    the button's callback), over this run's `values` for any it did not carry. The dataset is this run's: its data
    is what the page loaded. A setting this run holds otherwise is logged, never used."""
    chosen = {**{key: values[key] for key in PARAMS}, **clicked,
              "ts_dataset": values["ts_dataset"], "ts_cifar_path": values["ts_cifar_path"]}
    differ = sorted(key for key in PARAMS if chosen[key] != values[key])
    if differ:
        log.warning("Start: the run's settings differ from the click's in %s; the click's are used",
                    ", ".join(f"{key} ({values[key]!r} -> {chosen[key]!r})" for key in differ))
    return configs(chosen, image_shape, num_classes, log_every(chosen, n_train))
