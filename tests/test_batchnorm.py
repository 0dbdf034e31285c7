"""core.batchnorm against nn.BatchNorm1d: the running statistics' update rule, train vs eval, deep activations."""

import pytest
import torch
from torch import nn

from core import batchnorm
from core.batchnorm import BatchNormConfig, DeepMLPConfig
from tests.helpers import run_panel, same_output


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_statistics_follow_the_update_rule(momentum):
    run = batchnorm.batchnorm_run(BatchNormConfig(features=3, batch=8, steps=6, momentum=momentum, seed=2))
    assert torch.allclose(run.running_mean, run.expected_running_mean, atol=1e-5)
    assert torch.allclose(run.running_var, run.expected_running_var, atol=1e-5)
    assert run.num_batches_tracked == 6
    assert torch.allclose(run.train_out, run.train_manual, atol=1e-5)
    assert torch.allclose(run.eval_out, run.eval_manual, atol=1e-5)
    # train mode: every feature of the batch comes out with mean 0 and (biased) variance 1
    assert torch.allclose(run.train_out.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(run.train_out.var(0, unbiased=False), torch.ones(3), atol=1e-3)
    # eval mode differs: the running statistics are not this batch's statistics
    assert not torch.allclose(run.train_out, run.eval_out, atol=1e-3)


def test_batchnorm_first_step_with_momentum_one_tenth():
    run = batchnorm.batchnorm_run(BatchNormConfig(features=1, batch=4, steps=1, momentum=0.1, seed=0))
    x = run.last_batch[:, 0]
    assert run.running_mean[1, 0].item() == pytest.approx(0.1 * x.mean().item(), rel=1e-5)
    assert run.running_var[1, 0].item() == pytest.approx(0.9 + 0.1 * x.var(unbiased=True).item(), rel=1e-5)
    with pytest.raises(ValueError, match="at least 2 samples"):
        batchnorm.batchnorm_run(BatchNormConfig(batch=1))


def test_deep_mlp_batchnorm_keeps_activations_alive():
    cfg = DeepMLPConfig(depth=8, width=64, activation="tanh", init_std=0.02, batch=256)
    without = batchnorm.layer_activations(cfg, batchnorm=False)
    with_bn = batchnorm.layer_activations(cfg, batchnorm=True)
    assert without.shape == with_bn.shape == (8, 256 * 64)
    assert without[-1].std() < 1e-3  # small weights: the signal vanishes layer after layer
    assert with_bn[-1].std() > 0.3  # BN renormalises each layer
    model = batchnorm.deep_mlp(cfg, batchnorm=True)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model) == 8


def test_activation_stats_summarise_the_layers():
    cfg = DeepMLPConfig(depth=5, width=32, activation="sigmoid", init_std=1.0, batch=64)
    acts = batchnorm.layer_activations(cfg, batchnorm=False)
    stats = batchnorm.activation_stats(cfg, batchnorm=False, bins=20)
    assert stats.counts.shape == (5, 20) and torch.all(stats.counts.sum(1) == 64 * 32)
    assert torch.allclose(stats.std, acts.std(1)) and torch.allclose(stats.mean, acts.mean(1))
    assert stats.edges[0] == 0 and stats.edges[-1] == 1
    saturated = ((acts <= 0.02) | (acts >= 0.98)).float().mean(1)
    assert torch.allclose(stats.saturated, saturated)


@pytest.mark.parametrize("momentum, feature", [(0.1, 0), (None, 2)])
def test_batchnorm_code_prints_the_buffers(momentum, feature):
    run = batchnorm.batchnorm_run(BatchNormConfig(batch=8, steps=5, momentum=momentum, mean=-2.0, std=0.5, seed=4))
    results = run_panel(batchnorm.batchnorm_code(run, feature))
    assert len(results) == 6 and all(same_output(p, e) for _, p, e in results), results


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_deep_code_prints_the_last_layers_spread(activation):
    cfg = DeepMLPConfig(depth=4, width=32, activation=activation, init_std=0.3, batch=64, seed=2)
    plain, normed = batchnorm.activation_stats(cfg, False), batchnorm.activation_stats(cfg, True)
    results = run_panel(batchnorm.deep_code(cfg, plain, normed))
    assert len(results) == 1 and same_output(results[0][1], results[0][2]), results
