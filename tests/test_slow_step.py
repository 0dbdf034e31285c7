"""core.slow_step: after a few prior steps (so the optimizer's state is not empty), the update written out by hand
equals what optimizer.step() did, for every optimizer and setting TrainConfig allows; the learner's model is not
touched; the code panel reproduces the step."""

import pytest
import torch
import torch.nn.functional as F

from core import slow_step
from core.models import ModelConfig, build_model, default_config
from core.quick_train import QuickConfig, random_batch
from core.training import TrainConfig, make_optimizer
from tests.helpers import run_panel, same_output

SETTINGS = [TrainConfig("sgd", lr=0.1, momentum=0.0), TrainConfig("sgd", lr=0.1, momentum=0.9, weight_decay=1e-3),
            TrainConfig("sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
            TrainConfig("adam", lr=1e-3), TrainConfig("adam", lr=1e-3, weight_decay=1e-3),
            TrainConfig("adamw", lr=1e-3, weight_decay=0.05), TrainConfig("rmsprop", lr=1e-3, momentum=0.0),
            TrainConfig("rmsprop", lr=1e-3, momentum=0.9, weight_decay=1e-3)]


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(1000, 100, seed=0)


@pytest.mark.parametrize("cfg", SETTINGS, ids=lambda c: f"{c.optimizer}-m{c.momentum}-wd{c.weight_decay}-n{c.nesterov}")
def test_hand_update_equals_optimizer_step(small, cfg):
    s = slow_step.slow_step_after(small, ModelConfig("mlp", hidden=(32,)), cfg, QuickConfig(steps=3, batch_size=32))
    assert s.optimizer == cfg.optimizer and len(s.params) == 4  # two weights, two biases
    assert s.max_diff < 1e-7, [(p.name, p.max_diff) for p in s.params]
    first = s.params[0]
    assert first.name == "net.1.weight" and first.delta.abs().max() > 1e-5  # it moved
    if cfg.optimizer in ("adam", "adamw"):
        assert sorted(first.state_before) == ["exp_avg", "exp_avg_sq", "step"] and first.terms["t"] == 4
        assert first.terms["1 - beta1^t"] == pytest.approx(1 - 0.9 ** 4) and first.state_after["step"] == 4
    elif cfg.momentum:
        assert "momentum_buffer" in first.state_before
        assert not torch.equal(first.state_before["momentum_buffer"], first.state_after["momentum_buffer"])


@pytest.mark.parametrize("cfg", [SETTINGS[2], SETTINGS[5], SETTINGS[7]], ids=lambda c: c.optimizer)
def test_hand_update_on_a_cnn_with_batchnorm_is_float32_rounding(small, cfg):
    s = slow_step.slow_step_after(small, default_config("cnnnet", 1, 28, batchnorm=True), cfg,
                                  QuickConfig(steps=2, batch_size=16))
    assert s.max_diff < 2e-7  # BatchNorm's weights sit near 1, where float32's spacing is 1.2e-7


def test_the_learners_model_is_untouched_and_logits_are_the_models(small):
    model = build_model(ModelConfig("mlp", hidden=(16,)), seed=0)
    optimizer = make_optimizer(model.parameters(), TrainConfig("adam", lr=1e-2))
    x, y = random_batch(small, 8, torch.Generator().manual_seed(0))
    before = [p.clone() for p in model.parameters()]
    s = slow_step.slow_step(model, optimizer, x, y)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)) and not optimizer.state
    assert torch.allclose(s.logits, model(x)) and s.loss == pytest.approx(F.cross_entropy(model(x), y).item())
    assert s.params[0].state_before == {} and s.params[0].terms["t"] == 1  # the first step: no state yet
    assert s.probs.sum(1).tolist() == pytest.approx([1.0] * 8)
    with pytest.raises(ValueError):
        slow_step.slow_step(model, torch.optim.Adagrad(model.parameters()), x, y)


@pytest.mark.parametrize("cfg", [SETTINGS[2], SETTINGS[5], SETTINGS[7]], ids=lambda c: c.optimizer)
def test_code_panel(small, cfg):
    model_cfg, quick = ModelConfig("mlp", hidden=(16,)), QuickConfig(steps=2, batch_size=16, seed=1)
    s = slow_step.slow_step_after(small, model_cfg, cfg, quick)
    code = slow_step.slow_step_code("mnist", model_cfg, cfg, quick, s).replace(
        "data = load_mnist()", "data = load_mnist().subset(1000, 100, seed=0)")
    results = run_panel(code)
    assert len(results) == 4 and all(same_output(p, e) for _, p, e in results), results
