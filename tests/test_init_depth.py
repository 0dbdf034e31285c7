"""core.init_depth: the probe equals a plain forward/backward of the same net, zero and constant init make every
unit of a layer identical, the textbook depth effects show (Kaiming keeps ReLU activations alive, small normal
weights make tanh's vanish), and the MLP comparison returns one curve per init."""

import math

import pytest
import torch
import torch.nn.functional as F

from core import init_depth
from core.init_depth import DepthConfig
from core.training import TrainConfig
from tests.helpers import run_panel, same_output


def test_probe_equals_a_plain_forward_and_backward():
    cfg = DepthConfig(init="xavier", activation="tanh", depth=4, width=16, n_inputs=50, seed=3)
    r = init_depth.depth_probe(cfg)
    net = init_depth.build_deep_net(cfg)
    x, y = init_depth.probe_batch(cfg)
    assert x.shape == (50, 16) and x.dtype == torch.float64
    hidden = [net[:i](x) for i in range(2, 9, 2)]  # after each activation
    F.cross_entropy(net(x), y).backward()
    assert r.act_std == pytest.approx([h.std(correction=0).item() for h in hidden])
    assert r.grad_norm == pytest.approx([m.weight.grad.norm().item() for m in net if hasattr(m, "weight")])
    assert len(r.grad_norm) == 5 and not any(r.symmetric)
    assert r.weight_std == pytest.approx(math.sqrt(2 / 32), rel=0.3)  # Glorot: sqrt(2 / (fan_in + fan_out))


@pytest.mark.parametrize("init", ["zeros", "constant"])
def test_zero_and_constant_init_are_symmetric(init):
    r = init_depth.depth_probe(DepthConfig(init=init, activation="tanh", depth=3, width=8, n_inputs=20))
    assert all(r.symmetric) and max(r.unit_spread) < 1e-12
    if init == "zeros":
        assert r.act_std == (0.0, 0.0, 0.0) and max(r.grad_norm[:-1]) == 0.0  # nothing flows back: nothing learns


def test_depth_effects():
    kaiming = init_depth.depth_probe(DepthConfig(init="kaiming", activation="relu", depth=30, width=64,
                                                 n_inputs=200))
    assert 0.2 < kaiming.act_std[-1] < 5 and kaiming.grad_norm[0] > 1e-3
    small = init_depth.depth_probe(DepthConfig(init="normal", sigma=0.01, activation="tanh", depth=10, width=64,
                                               n_inputs=200))
    assert small.act_std[-1] < 1e-10 and small.act_std[-1] < small.act_std[0]  # the signal dies on the way in
    big = init_depth.depth_probe(DepthConfig(init="normal", sigma=1.0, activation="relu", depth=30, width=64,
                                             n_inputs=200))
    assert big.act_std[-1] > 1e20  # float64: a huge number, not inf
    with pytest.raises(ValueError):
        DepthConfig(depth=51)


@pytest.mark.parametrize("init,activation", zip(init_depth.INITS, ("relu", "tanh", "sigmoid", "linear", "relu"),
                                                 strict=True))
def test_code_panel(init, activation):
    cfg = DepthConfig(init=init, activation=activation, depth=5, width=32, n_inputs=100, double=init != "xavier")
    results = run_panel(init_depth.depth_probe_code(cfg, init_depth.depth_probe(cfg)))
    assert len(results) == 3 and all(same_output(p, e) for _, p, e in results), results


def test_compare_inits_on_an_mnist_subset(mnist):
    data = mnist.subset(640, 300, seed=0)
    cfg = TrainConfig("sgd", lr=0.05, momentum=0.0, batch_size=32, epochs=1, val_fraction=0.0, log_every=4)
    curves = init_depth.compare_inits(data, ("kaiming", "bad"), cfg)
    assert [c.init for c in curves] == ["kaiming", "bad"]
    kaiming, bad = curves
    assert kaiming.steps == (4, 8, 12, 16, 20) and kaiming.status == "finished"  # one point every 4 steps
    assert bad.steps == kaiming.steps[:len(bad.steps)]  # the same batches (until it diverges, if it does)
    assert kaiming.losses[0] < bad.losses[0]  # normal(0, 1) weights start with huge logits
    assert kaiming.test_acc > 0.6 and math.isfinite(kaiming.losses[-1])
