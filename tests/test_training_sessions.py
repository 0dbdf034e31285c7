"""Training studio sessions: two learners training at once stay apart, repeated runs do not leak memory, and a
click during training loses no finished epoch."""

import gc
import os
import weakref

import psutil
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import datasets, models
from core.training import Trainer
from tests.helpers import ROOT, rerun

STUDIO = "pages/50_training_studio.py"


def studio(**settings) -> AppTest:
    """A new session (a new browser tab) on the Training studio with these settings."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    rerun(at)
    at.switch_page(STUDIO)
    rerun(at)
    for key, value in settings.items():
        at.session_state[key] = value
    return rerun(at)


def training(at) -> bool:
    return not at.button(key="ts_pause").disabled


def start(at):
    at.button(key="ts_start").click()
    return rerun(at)


def finish(at, limit: int = 120):
    """Rerun (a burst of about a second each) until the run is over, then once more for the results."""
    for _ in range(limit):
        if not training(at):
            break
        rerun(at)
    assert not training(at)
    return rerun(at)


def reference_weights(run: dict) -> dict[str, torch.Tensor]:
    """The same run trained here in one go, outside any session."""
    model = models.build_model(run.model_cfg, seed=run.train_cfg.seed)
    Trainer(model, run.data, run.train_cfg).run()
    return model.state_dict()


# Big enough that neither run ends within one burst (BURST_S = 1 s), small enough for a few seconds in all.
SESSION_A = {"ts_subset": 10000, "ts_epochs": 2, "ts_batch": 16, "ts_seed": 1, "ts_lr": 0.05}
SESSION_B = {"ts_subset": 10000, "ts_epochs": 3, "ts_batch": 32, "ts_seed": 2, "ts_lr": 0.001, "ts_opt": "adam",
             "ts_val": 0.2}


@pytest.mark.slow
def test_two_sessions_training_at_once_keep_their_own_model_and_history():
    a, b = studio(**SESSION_A), studio(**SESSION_B)
    start(a)
    start(b)
    both_running = training(a) and training(b)
    while training(a) or training(b):  # interleave their bursts, as two browser tabs would
        for at in (a, b):
            if training(at):
                rerun(at)
    finish(a)
    finish(b)
    assert both_running, "the runs were meant to overlap: each should need more than one burst"
    (run_a,), (run_b,) = a.session_state["ts_history"].runs, b.session_state["ts_history"].runs
    assert run_a.train_cfg.seed == 1 and run_a.train_cfg.optimizer == "sgd" and run_a.model_cfg.arch == "mlp"
    assert run_b.train_cfg.seed == 2 and run_b.train_cfg.optimizer == "adam" and run_b.model_cfg.arch == "mlp"
    assert [e.epoch for e in run_a.trainer.history.epochs] == [1, 2]
    assert [e.epoch for e in run_b.trainer.history.epochs] == [1, 2, 3]
    assert run_a.model is not run_b.model and run_a.trainer.history is not run_b.trainer.history
    assert run_a.trainer.history.status == run_b.trainer.history.status == "finished"
    # Each model is exactly what its own settings give when trained alone: the other session never touched it.
    for run in (run_a, run_b):
        expected = reference_weights(run)
        for name, tensor in run.model.state_dict().items():
            assert torch.equal(tensor, expected[name]), name
    weights_a, weights_b = run_a.model.state_dict(), run_b.model.state_dict()
    assert all(not torch.equal(weights_a[name], weights_b[name]) for name in weights_a)
    # and each page shows its own run
    for at, run in ((a, run_a), (b, run_b)):
        m = {x.label: x.value for x in at.metric}
        assert m["Test accuracy"] == f"{run.trainer.history.epochs[-1].test_acc:.2%}"


def rss() -> int:
    gc.collect()
    return psutil.Process(os.getpid()).memory_info().rss


def test_five_trainings_in_a_row_leave_memory_flat():
    datasets.load_shared("mnist")  # the shared dataset is loaded once for the process, before measuring
    at = studio(ts_subset=1000, ts_epochs=1, ts_val=0.0)
    sizes = []
    for i in range(5):
        at.session_state["ts_seed"] = i  # a new model each time
        start(at)
        finish(at)
        sizes.append(rss())
    runs = at.session_state["ts_history"].runs
    assert [r.id for r in runs] == [1, 2, 3, 4, 5]
    assert all(r.trainer.status == "finished" and not r.trainer.optimizer.state for r in runs)
    growth = (sizes[-1] - sizes[0]) / sizes[0]
    assert growth < 0.10, f"RSS after each run (MB): {[s // 2**20 for s in sizes]}"
    # Clearing the history frees every model: nothing else in the session or the page holds on to them.
    refs = [weakref.ref(r.model) for r in runs]
    del runs
    at.button(key="ts_clear").click()
    rerun(at)
    rerun(at)
    gc.collect()
    assert [ref() for ref in refs] == [None] * 5


@pytest.mark.slow
def test_a_click_during_training_loses_no_finished_epoch():
    # 30 epochs of about half a second each: the run is still going after the clicks below
    at = studio(ts_subset=10000, ts_epochs=30, ts_batch=16, ts_val=0.1)
    start(at)
    trainer = at.session_state["ts_history"].runs[-1].trainer
    while not trainer.history.epochs and training(at):
        rerun(at)
    for click in (lambda: at.slider(key="ts_smooth").set_value(0.9),  # the curve smoothing, in the live panel
                  lambda: at.number_input(key="ts_seed").set_value(7)):  # a setting: it applies to the next run
        assert training(at), "the run was meant to take several bursts"
        done, step = list(trainer.history.epochs), trainer.step
        click()
        rerun(at)
        assert at.session_state["ts_history"].runs[-1].trainer is trainer  # the same run, not a new one
        assert trainer.history.epochs[:len(done)] == done
        assert trainer.step > step  # and it goes on
    assert [e.epoch for e in trainer.history.epochs] == list(range(1, len(trainer.history.epochs) + 1))
    # Start while it trains: the run is stopped and kept with its finished epochs, and a new one begins
    assert training(at)
    start(at)
    runs = at.session_state["ts_history"].runs
    assert len(runs) == 2 and runs[0].trainer is trainer
    assert trainer.status == "stopped" and trainer.history.epochs[:len(done)] == done
    assert runs[1].train_cfg.seed == 7 and runs[1].trainer.step > 0
    at.button(key="ts_stop").click()
    rerun(at)
    table = next(df.value for df in at.dataframe if "status" in df.value.columns)
    assert table["status"].tolist() == ["stopped", "stopped"]
    assert table["epochs done"][0] == len(trainer.history.epochs) >= len(done)
