"""The server-side store of learners' runs: a closed session's runs are released after the grace for a reload,
a reload (a second session holding the same runs) keeps them, and two sessions training at once each see only
their own runs."""

import gc
import time
import weakref

import torch

from core.image_data import ImageData
from core.models import ModelConfig
from core.runs import RunHistory, RunStore
from core.training import TrainConfig


def tiny_data(seed: int = 0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 2, (64,), generator=g)
    return ImageData("tiny", ("a", "b"), x, y, x[:16], y[:16], (0.5,), (0.25,))


def started(history: RunHistory) -> weakref.ref:
    """Start a short run in this history and train it to its end; a weak reference to its model."""
    run = history.start("tiny", tiny_data(), ModelConfig("mlp", 1, 8, 2, hidden=(4,)),
                        TrainConfig("sgd", batch_size=16, epochs=1, val_fraction=0.0))
    while run.state == "training":
        run.burst(1.0)
    assert run.state == "finished"
    return weakref.ref(run.model)


def wait_until(check, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def test_a_closed_sessions_runs_are_released_after_the_grace():
    store = RunStore(grace_s=0.3)
    history = RunHistory()
    model = started(history)
    store.keep(history)
    store.hold(history)  # the tab that trained it
    store.let_go(history)  # ... closed
    assert store.find(history.token) is history  # within the grace, a reload would find the runs
    assert wait_until(lambda: len(store) == 0)  # then a timer releases them, with no other visit to the store
    assert history.runs == [] and history.active_id is None
    del history
    gc.collect()
    assert model() is None, "the released run's model is still referenced"


def test_a_reload_keeps_the_runs_while_the_new_tab_holds_them():
    store = RunStore(grace_s=0.2)
    history = RunHistory()
    started(history)
    store.keep(history)
    store.hold(history)  # the first tab
    store.hold(store.find(history.token))  # the reloaded tab finds them by the token and holds them
    store.let_go(history)  # the first tab's session ends
    time.sleep(0.5)
    store.expire()
    assert store.find(history.token) is history and len(history.runs) == 1
    store.let_go(history)  # the reloaded tab closes too
    assert wait_until(lambda: store.find(history.token) is None)
    assert history.runs == []


def test_two_sessions_training_at_once_see_only_their_own_runs():
    store = RunStore()
    mine, theirs = RunHistory(), RunHistory()
    for history in (mine, theirs):
        store.keep(history)
        store.hold(history)
    started(mine)
    started(theirs)
    started(theirs)
    assert mine.token != theirs.token
    assert store.find(mine.token) is mine and store.find(theirs.token) is theirs
    assert [r.id for r in mine.runs] == [1] and [r.id for r in theirs.runs] == [1, 2]
    assert not {id(r.model) for r in mine.runs} & {id(r.model) for r in theirs.runs}
    assert store.find("x" * 22) is None  # a guessed token finds nothing


def test_a_history_held_by_an_open_tab_is_never_released_by_the_grace():
    store = RunStore(grace_s=0.1)
    history = RunHistory()
    started(history)
    store.keep(history)
    store.hold(history)
    time.sleep(0.3)
    store.expire()
    assert store.find(history.token) is history and len(history.runs) == 1
