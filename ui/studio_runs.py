"""The Training studio's runs on the page: Start/Pause/Resume/Stop, the live panel that trains in bursts, and the
table and comparison of every run of the session (a core.runs.RunHistory).

The live panel is a fragment that reruns every 0.2 s while a run trains; each rerun trains for about a second
(`Run.burst`). A widget moved meanwhile starts a second script run of the session: it finds the run's lock taken
and only draws, so one model is never stepped by two runs at once.
"""

from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from core import training
from core.models import count_parameters
from ui import figures_training as figures
from ui import studio_settings

BURST_S = 1.0  # seconds of training per live update


def _request_start() -> None:
    """Start's callback. Streamlit calls it before the page runs, with the values this click brought from the browser
    already in session state: the run starts with exactly those (what the learner saw when clicking)."""
    ss = st.session_state
    ss["ts_start_requested"] = {key: ss[key] for key in studio_settings.PARAMS if key in ss}


def controls(history, can_start: bool) -> None:
    """Start / Pause / Resume / Stop. Start only asks: the page starts the run once its configs are built."""
    active = history.active if history is not None else None
    state = active.state if active is not None else None
    b1, b2, b3, b4, _ = st.columns([1, 1, 1, 1, 3])
    b1.button("Start", type="primary", icon=":material/play_arrow:", key="ts_start", disabled=not can_start,
              on_click=_request_start, width="stretch",
              help="A new run with the settings above (a run in progress is stopped and kept).")
    b2.button("Pause", icon=":material/pause:", key="ts_pause", on_click=lambda: active.pause(), width="stretch",
              disabled=state != "training")
    b3.button("Resume", icon=":material/resume:", key="ts_resume", on_click=lambda: active.resume(),
              width="stretch", disabled=state not in ("paused", "ready"))
    b4.button("Stop", icon=":material/stop:", key="ts_stop", on_click=lambda: active.stop(), width="stretch",
              disabled=active is None or active.done)


def _eta(seconds: float | None) -> str:
    return "ETA -" if seconds is None else f"ETA {int(seconds // 60)}:{int(seconds % 60):02d}"


@st.cache_data(show_spinner=False, max_entries=32)
def _lr_curve(cfg: training.TrainConfig, steps_per_epoch: int) -> list[float]:
    return training.lr_curve(cfg, steps_per_epoch)


_page_run = threading.local()  # set while a full run of the page draws the live panel (not a fragment run)
SHOWN = "ts_shown_done"  # session-state key: the id of the ended run a full run of the page last drew whole


def live_panel(history) -> None:
    """The active run's progress, metrics and curves; it trains while the run's state is "training"."""
    active = history.active if history is not None else None
    _page_run.on = True
    try:
        _live(history, active is not None and active.state == "training")
    finally:
        _page_run.on = False


def mark_shown(history) -> None:
    """At the end of a full run of the page: the active run, if it ended, is now drawn whole (results included)."""
    active = history.active if history is not None else None
    if active is not None and active.done:
        st.session_state[SHOWN] = active.id


def _draw_live(run) -> None:
    trainer = run.trainer
    h = trainer.history
    steps, epochs = list(h.steps), list(h.epochs)  # snapshots: another thread may be appending
    epoch_now = min(trainer.epoch + 1, trainer.cfg.epochs)
    st.progress(trainer.progress, text=f"{run.label()} · {run.state} · epoch {epoch_now}/{trainer.cfg.epochs} · "
                f"step {trainer.step:,}/{trainer.total_steps:,} · {trainer.samples_per_s():,.0f} samples/s · "
                f"{_eta(trainer.eta_seconds())}")
    _sharing(run)
    last = epochs[-1] if epochs else None
    k1, k2, k3, k4, k5 = st.columns(5)
    k1.metric("Train loss", f"{steps[-1].loss:.4f}" if steps else "-")
    k2.metric("Train accuracy", f"{steps[-1].accuracy:.2%}" if steps else "-")
    k3.metric("Val accuracy", f"{last.val_acc:.2%}" if last and last.val_acc is not None else "-")
    k4.metric("Test accuracy", f"{last.test_acc:.2%}" if last and last.test_acc is not None else "-")
    k5.metric("Time", f"{trainer.train_seconds:.1f} s")
    if h.status == "diverged":
        st.error(h.reason, icon=":material/local_fire_department:")
    elif h.warning:
        st.warning(f"{h.reason} {h.warning}", icon=":material/trending_flat:")
    elif h.status in training.DONE:
        st.success(h.reason, icon=":material/check_circle:")
    smoothing = st.slider("Curve smoothing", 0.0, 0.95, 0.6, 0.05, key="ts_smooth")
    tab_curves, tab_grads, tab_lr = st.tabs(["Loss & accuracy", "Gradients per layer", "Learning rate"])
    shown = training.History(h.layers, steps, epochs)
    with tab_curves:
        c1, c2 = st.columns(2)
        c1.plotly_chart(figures.curves(shown, "loss", smoothing=smoothing), key="ts_loss_fig")
        c2.plotly_chart(figures.curves(shown, "accuracy", smoothing=smoothing), key="ts_acc_fig")
    with tab_grads:
        if steps:
            st.plotly_chart(figures.grad_norms(shown), key="ts_grad_fig")
            st.caption("Healthy training keeps every layer's gradient within a few orders of magnitude. "
                       "With the 'bad' initialisation the norms start huge (ReLU) or tiny in the first layers "
                       "(sigmoid): exploding and vanishing gradients.")
    with tab_lr:
        st.plotly_chart(figures.lr_schedule(_lr_curve(trainer.cfg, trainer.steps_per_epoch), trainer.steps_per_epoch,
                                            done_steps=trainer.step), key="ts_lr_fig")


def _sharing(run) -> None:
    """Why a run trains slower than alone: other learners' runs share the server's training slots."""
    if run.state != "training":
        return
    busy, limit = run.slots.busy(), run.slots.limit
    slots = f"{limit} training slot" + ("s" if limit > 1 else "")
    if run.ahead is not None:
        place = f"{run.ahead} ahead" if run.ahead else "next in line"
        st.info(f"Waiting for a free training slot ({place}). {busy} runs on this server want to train; "
                f"they take turns of about a second at its {slots}.", icon=":material/hourglass_top:")
    elif busy > limit:
        st.caption(f"The server is busy: {busy} runs take turns at its {slots}, so yours trains about "
                   f"{limit}/{busy} of the time and takes longer than alone (the ETA counts its own turns only).")


def _live_body(history) -> None:
    run = history.active if history is not None else None
    if run is None or run.trainer is None:
        st.info("Press **Start** to train with the settings above; the curves appear here as it learns.",
                icon=":material/model_training:")
        return
    was_training = run.state == "training"
    run.burst(BURST_S)  # trains only if no other script run of this session is training it right now
    _draw_live(run)
    ended_now = was_training and run.done
    # A fragment run that finds the run ended by itself but not yet drawn whole by a full run asks for one again:
    # the full rerun asked for when it ended may not have come (a Stop in the toolbar, a request the server
    # dropped), and the page would keep the results and buttons of a run in progress. (A run the learner stopped
    # is redrawn by the full run of that click, or of whatever interrupted it.)
    unshown = (run.done and run.state != "stopped" and not getattr(_page_run, "on", False)
               and st.session_state.get(SHOWN) != run.id)
    if ended_now or unshown:
        st.session_state["ts_view_newest"] = True  # the results below switch to the run that just ended
        st.rerun()  # the whole page: the results of the finished run appear below, the buttons change


def _live(history, training_now: bool) -> None:
    @st.fragment(run_every=0.2 if training_now else None)
    def live():
        _live_body(history)

    live()


def runs_table(history) -> None:
    """Every run of the session with its settings and results; a comparison of their curves."""
    runs = list(history.runs) if history is not None else []
    if not runs:
        return
    st.subheader("Runs")
    rows = []
    for r in runs:
        t, m = r.train_cfg, r.model_cfg
        h = r.trainer.history if r.trainer else None
        last = h.epochs[-1] if h and h.epochs else None
        rows.append({"run": r.label(), "status": r.state, "epochs done": len(h.epochs) if h else 0,
                     "test acc": last.test_acc if last and last.test_acc is not None else r.test_acc,
                     "val acc": last.val_acc if last else None,
                     "time s": round(r.trainer.train_seconds, 1) if r.trainer else None,
                     "arch": m.arch, "params": count_parameters(r.model), "optimizer": t.optimizer if t else "",
                     "lr": t.lr if t else None, "momentum": t.momentum if t else None,
                     "weight decay": t.weight_decay if t else None, "batch": t.batch_size if t else None,
                     "schedule": t.schedule if t else "", "label smoothing": t.label_smoothing if t else None,
                     "dropout": m.dropout, "BN": m.batchnorm, "init": m.init, "seed": t.seed if t else None})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ts_runs_table",
                 column_config={"test acc": st.column_config.NumberColumn(format="percent"),
                                "val acc": st.column_config.NumberColumn(format="percent")})
    trained = [r for r in runs if r.trainer is not None and r.trainer.history.steps]
    if len(trained) >= 2:
        labels = {r.label(): r for r in trained}
        c1, c2 = st.columns([3, 1])
        chosen = c1.multiselect("Compare runs", list(labels), default=list(labels)[-3:], key="ts_compare", wrap=True)
        metric = c2.radio("Metric", ["test accuracy", "val accuracy", "train loss"], key="ts_compare_metric")
        if chosen:
            st.plotly_chart(figures.compare_runs([(c, labels[c].trainer.history) for c in chosen], metric),
                            key="ts_compare_fig")
    training_now = any(r.state == "training" for r in runs)
    if st.button("Clear run history", icon=":material/delete:", key="ts_clear", disabled=training_now):
        history.clear()
        st.rerun()
