"""The Training studio after training: what a run's model gets right and wrong, its weights to download, and
weights to upload and evaluate."""

from __future__ import annotations

import streamlit as st
import torch

from core import checkpoints, evaluation, models
from ui import figures_training as figures
from ui.common import escape_markdown
from ui.studio_settings import DATASETS


def _figure(run, key: tuple, build):
    """Figures of a run are built once per model state and view (galleries take ~0.1 s each to build)."""
    if key not in run.figures:
        run.figures[key] = build()
    return run.figures[key]


def results(history) -> None:
    """Confusion matrix, per-class accuracy, galleries, first-layer filters and downloads of one finished run."""
    viewable = [r for r in (history.runs if history is not None else []) if r.state != "training"]
    if not viewable:
        return
    st.subheader("Inside a trained model")
    labels = {r.label(): r for r in viewable}
    if st.session_state.pop("ts_view_newest", False) or st.session_state.get("ts_view_run") not in labels:
        st.session_state["ts_view_run"] = viewable[-1].label()
    run = labels[st.selectbox("Run", list(labels)[::-1], key="ts_view_run")]
    ds = run.data
    with st.spinner("Predicting the test set ..."):
        probs = run.predictions()
    pred = probs.argmax(1)
    cm = evaluation.confusion_matrix(ds.y_test, pred, ds.num_classes)
    acc = (pred == ds.y_test).float().mean().item()
    r1, r2, r3 = st.columns(3)
    r1.metric("Test accuracy", f"{acc:.2%}")
    r2.metric("Test errors", f"{int((pred != ds.y_test).sum()):,} of {len(ds.y_test):,}")
    r3.metric("Parameters", f"{models.count_parameters(run.model):,}")
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(_figure(run, ("cm",), lambda: figures.confusion(cm, ds.classes)), key="ts_cm_fig")
    c2.plotly_chart(_figure(run, ("per_class",), lambda: figures.per_class(evaluation.per_class_accuracy(cm),
                                                                           ds.classes)), key="ts_per_class_fig")

    st.markdown("**Test predictions** (green: right, red: wrong; the three most likely classes)")
    g1, _ = st.columns([1, 4])
    seed = int(g1.number_input("Sample", 0, 10_000, 0, step=1, key="ts_gallery_seed",
                               help="Another sample of test images."))
    pick = torch.randperm(len(ds.y_test), generator=torch.Generator().manual_seed(seed))[:16]
    st.plotly_chart(_figure(run, ("gallery", seed), lambda: figures.gallery(ds.x_test[pick], ds.y_test[pick],
                                                                            probs[pick], ds.classes)),
                    key="ts_gallery_fig")
    mistakes = evaluation.confident_mistakes(probs, ds.y_test, 16)
    st.markdown("**The most confident mistakes**: wrong, and sure of it. Some are mislabelled, many are hard.")
    if len(mistakes):
        st.plotly_chart(_figure(run, ("mistakes",), lambda: figures.gallery(
            ds.x_test[mistakes], ds.y_test[mistakes], probs[mistakes], ds.classes)), key="ts_mistakes_fig")
    else:
        st.caption("No mistakes on the test set.")
    st.plotly_chart(_figure(run, ("filters",), lambda: figures.filters(
        models.first_layer_filters(run.model, ds.image_shape))), key="ts_filters_fig")
    st.caption("The first layer's weights drawn as images: edge and colour detectors in a CNN, digit-like "
               "templates in an MLP. With a 'bad' initialisation they stay noise.")
    d1, d2, _ = st.columns([1, 1, 3])
    stem = f"{run.model_cfg.arch}-run{run.id}"
    d1.download_button("Weights (.pt)", data=lambda m=run.model: checkpoints.weights_bytes(m), file_name=f"{stem}.pt",
                       mime="application/octet-stream", icon=":material/download:", key="ts_dl_weights",
                       on_click="ignore")
    d2.download_button("Config (.json)", data=checkpoints.config_json(run.model_cfg, run.train_cfg, dataset=run.dataset,
                                                                      metrics={"test_acc": acc}),
                       file_name=f"{stem}.json", mime="application/json", icon=":material/download:",
                       key="ts_dl_config", on_click="ignore")


def upload(history, name: str, data, model_cfg) -> None:
    """Weights (.pt) and their config (.json) to evaluate on the chosen dataset; they join the runs."""
    ss = st.session_state
    if ss.get("ts_upload_msg"):  # shown outside the expander, which closes on the rerun after an upload
        st.success(ss.pop("ts_upload_msg"), icon=":material/check_circle:")
    with st.expander("Evaluate uploaded weights (.pt + its config .json)", icon=":material/upload:"):
        st.caption("Upload a state_dict saved here (or with `torch.save(model.state_dict(), f)`), and the config "
                   ".json that came with it; without a config, the architecture selected above is used. The file "
                   "is read with `torch.load(weights_only=True)`: no code inside it can run.")
        files = st.file_uploader("Weights and config", type=["pt", "pth", "json"], accept_multiple_files=True,
                                 key="ts_upload", max_upload_size=200)
        seen = ss.setdefault("ts_uploaded_ids", set())
        if not files or data is None or model_cfg is None:
            return
        weights_file = next((f for f in files if f.name.lower().endswith((".pt", ".pth"))), None)
        config_file = next((f for f in files if f.name.lower().endswith(".json")), None)
        key = tuple(sorted(f.file_id for f in files))
        if weights_file is None:
            st.warning("Add the weights file (.pt) too.", icon=":material/upload_file:")
            return
        if key in seen:
            return
        try:
            cfg = checkpoints.read_config_json(config_file.getvalue())[0] if config_file else model_cfg
            if (cfg.in_channels, cfg.image_size, cfg.num_classes) != (*data.image_shape[:2], data.num_classes):
                raise checkpoints.CheckpointError(
                    f"These weights are for {cfg.in_channels} x {cfg.image_size} x {cfg.image_size} images in "
                    f"{cfg.num_classes} classes; {DATASETS[name]} has {' x '.join(map(str, data.image_shape))} "
                    f"images in {data.num_classes} classes. Choose the matching dataset above.")
            model = checkpoints.load_weights(weights_file.getvalue(), cfg)
            metrics = evaluation.evaluate(model, data.x_test, data.y_test, data)
        except checkpoints.CheckpointError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        history.add_uploaded(DATASETS[name], data, cfg, model, weights_file.name, metrics.accuracy)
        seen.add(key)
        ss["ts_upload_msg"] = (f"Loaded {escape_markdown(weights_file.name)} ({cfg.arch}): test accuracy {metrics.accuracy:.2%} on "
                               f"{DATASETS[name]}. It is in the runs table below.")
        st.rerun()
