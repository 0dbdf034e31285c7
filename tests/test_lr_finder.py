"""core.lr_finder: the range test never touches the learner's model or optimizer (checksums and tensors bit for
bit), its marks are where the curve says, the suggestion lies inside the range, and its script reproduces it."""

import math

import pytest
import torch

from core import lr_finder
from core.lr_finder import FinderConfig
from core.models import ModelConfig, build_model
from core.quick_train import QuickConfig, quick_train
from core.training import TrainConfig, make_optimizer
from tests.helpers import run_panel, same_output


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(2000, 100, seed=0)


def test_the_learners_model_and_optimizer_are_untouched(small):
    model = build_model(ModelConfig("mlp", hidden=(32,), dropout=0.2), seed=0)
    optimizer = make_optimizer(model.parameters(), TrainConfig("adam", lr=1e-3, weight_decay=1e-4))
    quick_train(model, optimizer, small, QuickConfig(steps=3, batch_size=32))  # Adam's moments are not empty
    dropout_state = next(m for m in model.modules() if hasattr(m, "generator")).generator.get_state()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    state = {k: v.clone() for k, v in optimizer.state[next(model.parameters())].items()}
    result = lr_finder.find_lr(model, optimizer, small, FinderConfig(steps=30, batch_size=32, seeds=(0, 1)))
    assert result.untouched and result.checksum_before == lr_finder.checksum(model, optimizer)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    after = optimizer.state[next(model.parameters())]
    assert all(torch.equal(v, after[k]) for k, v in state.items()) and optimizer.param_groups[0]["lr"] == 1e-3
    assert torch.equal(dropout_state, next(m for m in model.modules() if hasattr(m, "generator")).generator.get_state())
    with torch.no_grad():
        next(model.parameters())[0, 0] += 1e-6  # one weight, one step: another checksum
    assert lr_finder.checksum(model, optimizer) != result.checksum_before
    assert len(result.tests) == 2 and result.band.shape == (3, len(result.lrs))
    assert (result.band[0] <= result.band[1]).all() and (result.band[1] <= result.band[2]).all()
    assert 1e-7 <= result.suggested <= 10 and result.lrs[0] == pytest.approx(1e-7)


def test_schedule_marks_and_stop(small):
    cfg = FinderConfig(steps=40, batch_size=32, seeds=(3,))
    assert cfg.lr(0) == pytest.approx(1e-7) and cfg.lr(39) == pytest.approx(10.0)
    assert cfg.lr(1) / cfg.lr(0) == pytest.approx(cfg.lr(39) / cfg.lr(38))  # exponential
    model = build_model(ModelConfig("mlp", hidden=(32,)), seed=0)
    test = lr_finder.range_test(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), small, cfg, 3)
    lrs, smoothed = test.lrs.tolist(), test.smoothed.tolist()
    assert test.lrs.tolist() == [cfg.lr(i) for i in range(len(lrs))] and len(test.losses) == len(lrs)
    ema = 0.0
    for i, loss in enumerate(test.losses.tolist()):  # the debiased EMA
        ema = 0.98 * ema + 0.02 * loss
        assert smoothed[i] == pytest.approx(ema / (1 - 0.98 ** (i + 1)))
    if len(lrs) < 40:  # it stopped: the last smoothed loss exploded past 4x the best before it
        assert "exploded" in test.stopped
        assert not math.isfinite(smoothed[-1]) or smoothed[-1] > 4 * min(smoothed[:-1])
    lo, hi = len(lrs) // 10, len(lrs) - 5
    kept_lrs, kept = lrs[lo:hi], torch.tensor(smoothed[lo:hi], dtype=torch.float64)
    assert test.minimum == kept_lrs[int(kept.argmin())]
    slope = torch.gradient(kept, spacing=(torch.tensor(kept_lrs).log10(),))[0]
    assert test.steepest == kept_lrs[int(slope.argmin())]
    assert test.valley in kept_lrs
    assert lr_finder.valley([5.0, 4.0, 3.0, 2.0, 1.0, 9.0]) == 1
    with pytest.raises(ValueError):
        FinderConfig(start_lr=1.0, end_lr=0.1)


def test_code_panel_reproduces_the_suggestion(small):
    model_cfg, train_cfg = ModelConfig("mlp", hidden=(32,)), TrainConfig("sgd", lr=0.1, momentum=0.9)
    cfg = FinderConfig(steps=30, batch_size=32, seeds=(1,))
    model = build_model(model_cfg, seed=0)
    test = lr_finder.range_test(model, make_optimizer(model.parameters(), train_cfg), small, cfg, 1)
    code = lr_finder.lr_finder_code("mnist", model_cfg, train_cfg, cfg, test).replace(
        "data = load_mnist()", "data = load_mnist().subset(2000, 100, seed=0)")
    results = run_panel(code)
    assert len(results) == 3 and all(same_output(p, e) for _, p, e in results), results
