"""Training slots: runs of several learners take turns at the server's training slots, in the order they asked,
never two more than the limit at once, none lost from the line; a paused run leaves the line at once."""

import threading
import time

import pytest
import torch

from core.datasets import load_shared
from core.models import ModelConfig
from core.runs import RunHistory
from core.slots import TrainingSlots, policy
from core.training import TrainConfig


class Who:
    """A stand-in for a run (the slots know runs only by identity)."""


def test_policy_leaves_a_core_to_the_pages_on_a_shared_server():
    assert policy(2, shared=False) == (1, 2)  # a learner's own machine: every core, one turn at a time
    assert policy(2, shared=True) == (1, 1)
    assert policy(8, shared=True) == (2, 3)
    assert policy(1, shared=True) == (1, 1)


def test_turns_follow_the_line_and_respect_the_limit():
    slots = TrainingSlots(limit=1, threads=1)
    a, b, c = Who(), Who(), Who()
    order, inside, most = [], [0], [0]
    lock = threading.Lock()

    def train(who, name):
        with slots.turn(who, wait_s=5) as turn:
            assert turn.granted and torch.get_num_threads() == 1  # the turn's thread count
            with lock:
                order.append(name)
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.15)
            with lock:
                inside[0] -= 1

    with slots.turn(a, wait_s=0) as first:  # a holds the only slot while b, then c, line up
        assert first.granted
        tb = threading.Thread(target=train, args=(b, "b"))
        tb.start()
        time.sleep(0.1)
        tc = threading.Thread(target=train, args=(c, "c"))
        tc.start()
        time.sleep(0.1)
        with slots.turn(Who(), wait_s=0) as late:  # a fourth finds two runs before it
            assert not late.granted and late.ahead == 2
    tb.join()
    tc.join()
    assert order == ["b", "c"] and most[0] == 1
    assert slots.busy() == 4


def test_a_run_that_gives_up_keeps_its_place_and_a_paused_one_leaves():
    slots = TrainingSlots(limit=1, threads=1)
    holder, waiting, paused = Who(), Who(), Who()
    with slots.turn(holder, wait_s=0):
        with slots.turn(waiting, wait_s=0.05) as t:  # in line, gave up: keeps its place
            assert not t.granted and t.ahead == 0
        with slots.turn(paused, wait_s=0.05, keep_waiting=lambda: False) as t:  # paused while waiting
            assert not t.granted
        with slots.turn(Who(), wait_s=0) as t:
            assert t.ahead == 1  # only `waiting` is before it: `paused` left the line
    with slots.turn(Who(), wait_s=0) as t:  # the slot is free, but `waiting` asked first and ...
        assert t.granted  # ... is not waiting right now: a free slot never idles for an absent run
    with slots.turn(waiting, wait_s=0) as t:
        assert t.granted


@pytest.mark.parametrize("limit", [1, 2])
def test_two_learners_training_at_once_both_finish_with_their_own_runs(limit):
    """Two sessions' runs trained by two threads through shared slots: each ends exactly where the same run trained
    alone ends (nothing lost, nothing stepped twice), and each history holds only its own run."""
    data = load_shared("mnist")
    slots = TrainingSlots(limit=limit, threads=1)
    cfg = TrainConfig("sgd", lr=0.05, epochs=1, batch_size=64, train_subset=1000, seed=3)
    histories = [RunHistory(), RunHistory()]
    runs = [h.start("MNIST", data, ModelConfig("mlp"), cfg) for h in histories]
    for run in runs:
        run.slots = slots

    def drive(run):
        while run.state == "training":
            run.burst(0.05, wait_s=1.0)

    threads = [threading.Thread(target=drive, args=(run,)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    alone = RunHistory().start("MNIST", data, ModelConfig("mlp"), cfg)
    alone.slots = TrainingSlots(limit=1, threads=1)
    drive(alone)
    for history, run in zip(histories, runs, strict=True):
        assert run.state == "finished" and history.runs == [run]
        assert run.trainer.step == alone.trainer.step
        for name, tensor in alone.model.state_dict().items():
            assert torch.equal(run.model.state_dict()[name], tensor), name
