import pandas as pd
import streamlit as st

from core import cifar10, datasets, models
from core.image_data import DataError, DataUnavailable
from core.layer_table import layer_table
from core.presets import presets
from core.training_code import sequential_code, training_code
from ui import links, studio_results, studio_runs, studio_settings
from ui.common import code_panel, header
from ui.session_models import custom_dataset, run_history
from ui.studio_settings import DATASETS, PRESET_LABELS

links.bind(studio_settings.PARAMS, persisted=True)  # the settings persist natively: see studio_settings.draw
header("Training studio", "Train a real network on **MNIST**, **Fashion-MNIST**, **CIFAR-10** or your own images. "
       "Pick a preset or set every knob yourself, press **Start**, and watch the loss and accuracy curves as "
       "`torch.optim` works. Training runs in short bursts, so you can pause, resume or stop at any time "
       "without losing finished steps. Afterwards: where the model goes wrong (confusion matrix, its most "
       "confident mistakes), what its first layer learned, and the weights to download.")
ss = st.session_state

st.selectbox("Start from a preset", list(PRESET_LABELS), format_func=PRESET_LABELS.get, index=None,
             placeholder="Choose a preset (sets all the knobs below) ...", key="ts_preset",
             on_change=studio_settings.apply_preset)
if ss.get("ts_preset") in PRESET_LABELS:
    st.caption(presets()[ss["ts_preset"]].note + " Change any knob to make it your own.")
studio_settings.draw(ss)


@st.cache_data(show_spinner=False, max_entries=64)
def _summary(cfg: models.ModelConfig) -> tuple[int, pd.DataFrame, str | None]:
    model = models.build_model(cfg, seed=0)
    rows = layer_table(model, cfg.input_shape)
    table = pd.DataFrame({"layer": [r.name for r in rows], "type": [r.kind for r in rows],
                          "output shape": [str(r.output_shape) for r in rows], "parameters": [r.params for r in rows]})
    return models.count_parameters(model), table, sequential_code(model)


def _dataset(name: str):
    """(the dataset, None) or (None, a message saying why it is not here and how to get it)."""
    if name == "custom":
        custom = custom_dataset()
        if custom is None:
            return None, "No images of your own yet: load a folder or a zip on the **Datasets** page, then come back."
        return custom, None
    folder = ss["ts_cifar_path"] if name == "cifar10" else ""
    try:
        found = name != "cifar10" or cifar10.find_cifar10(folder or None) is not None
    except DataError as exc:  # on a shared server, a folder outside its data folders
        return None, str(exc)
    if not found:
        where = "in the folder you typed" if folder else "on this machine"
        return None, (f"CIFAR-10 is not {where}. Point the folder box to a copy in ImageFolder layout "
                      "(`train/<class>/*.jpg`, `test/<class>/*.jpg`) or a `cifar-10-batches-py` folder, set "
                      "`PYLAB_CIFAR10_DIR`, or download it (163 MB, needs internet) below.")
    try:
        with st.spinner("Loading the dataset (decoded once, then kept in memory) ..."):
            return datasets.load_shared(name, folder), None
    except (DataUnavailable, DataError) as exc:
        return None, str(exc)


def _offer_downloads(name: str) -> None:
    if name == "cifar10" and st.button("Download CIFAR-10 (163 MB)", key="ts_download_cifar"):
        bar = st.progress(0.0, text="Connecting ...")
        try:
            cifar10.download_cifar10(progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg))
            st.rerun()
        except DataUnavailable as exc:
            st.error(str(exc), icon=":material/cloud_off:")
    if name in ("mnist", "fashion-mnist") and st.button("Download with torchvision (needs internet)",
                                                         key="ts_download_tv"):
        try:
            with st.spinner("Downloading ..."):
                datasets.download(name)
            datasets.load_shared.cache_clear()
            st.rerun()
        except DataUnavailable as exc:
            st.error(str(exc), icon=":material/cloud_off:")


# --- the dataset and the configs ---------------------------------------------------------------------------
name = ss["ts_dataset"]
data, problem = _dataset(name)
if problem:
    st.warning(problem, icon=":material/dataset:")
    _offer_downloads(name)
model_cfg = train_cfg = None
if data is not None:
    try:
        model_cfg, train_cfg = studio_settings.configs(ss, data.image_shape, data.num_classes,
                                                       studio_settings.log_every(ss, len(data.y_train)))
    except ValueError as exc:
        st.error(f"These settings cannot train: {exc}.", icon=":material/tune:")
if model_cfg is not None:
    n_params, table, seq_code = _summary(model_cfg)
    m1, m2, m3 = st.columns(3)
    m1.metric("Parameters", f"{n_params:,}")
    m2.metric("Training images", f"{(train_cfg.train_subset or len(data.y_train)):,}" if train_cfg else "-")
    m3.metric("Input", " x ".join(map(str, data.image_shape)), help=data.source)
    if model_cfg.arch == "cnn48" and data.image_shape != (3, 48, 48):
        st.caption("CNN48 is the classic network for 48 x 48 colour images: on the Datasets page, load your own "
                   "image folders at 48 x 48 in colour. (It runs on any input size.)")
    if n_params > 5_000_000:
        st.caption(f"A large model ({n_params / 1e6:.1f} M parameters): expect minutes per epoch on a CPU.")
    with st.expander("Layer table: the output shape of every layer", icon=":material/table_rows:"):
        st.dataframe(table, hide_index=True, width="stretch", key="ts_layers")

# --- runs: start / pause / resume / stop, live curves, the table ----------------------------------------------
can_start = model_cfg is not None and train_cfg is not None
# Made on the first visit: its private token goes into this tab's URL before any training, so that a reload
# (a new session) finds the runs again.
history = run_history(create=True)
clicked = ss.pop("ts_start_requested", None)
if clicked and can_start:
    try:
        start_cfgs = studio_settings.start_configs(clicked, ss, data.image_shape, data.num_classes, len(data.y_train))
    except ValueError as exc:
        st.error(f"These settings cannot train: {exc}.", icon=":material/tune:")
    else:
        chosen_device = studio_settings.device({"ts_device": clicked.get("ts_device", ss.get("ts_device"))})
        history.start(DATASETS[name], data, *start_cfgs, device=chosen_device)
        if history.dropped:
            st.toast("Only the last 8 runs are kept; the oldest was dropped.")
studio_runs.controls(history, can_start)
studio_runs.live_panel(history)
studio_runs.runs_table(history)
studio_results.results(history)
studio_runs.mark_shown(history)
studio_results.upload(history, name, data, model_cfg)

if can_start:
    code_panel(training_code(name, model_cfg, train_cfg, seq_code, n_params=n_params, n_images=len(data.y_train)),
               title="PyTorch code: this training run as a standalone loop")
