"""BatchNorm, computed by torch: batch vs running statistics of nn.BatchNorm1d, train vs eval mode, and the
activations of a deep MLP with and without BatchNorm."""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class BatchNormConfig:
    features: int = 3
    batch: int = 16
    steps: int = 10
    momentum: float | None = 0.1  # None: cumulative average, as nn.BatchNorm1d(momentum=None)
    mean: float = 5.0  # feature j of the data ~ N(mean + j, std^2)
    std: float = 2.0
    seed: int = 0


@dataclass
class BatchNormRun:
    config: BatchNormConfig
    batch_mean: torch.Tensor  # (steps, F): mean of each training batch
    batch_var: torch.Tensor  # (steps, F): biased variance, the one used to normalise in train mode
    running_mean: torch.Tensor  # (steps + 1, F): bn.running_mean before the first and after each step
    running_var: torch.Tensor  # (steps + 1, F): bn.running_var (updated with the unbiased variance)
    expected_running_mean: torch.Tensor  # (steps + 1, F): the same, computed by the update rule by hand
    expected_running_var: torch.Tensor
    last_batch: torch.Tensor  # (B, F)
    train_out: torch.Tensor  # (B, F): bn(last_batch) in train mode
    eval_out: torch.Tensor  # (B, F): bn(last_batch) in eval mode (running statistics)
    train_manual: torch.Tensor  # (x - batch mean) / sqrt(batch var + eps) * weight + bias
    eval_manual: torch.Tensor  # (x - running mean) / sqrt(running var + eps) * weight + bias
    num_batches_tracked: int


def batchnorm_run(cfg: BatchNormConfig) -> BatchNormRun:
    """Feed `steps` batches through nn.BatchNorm1d in train mode, then compare train- and eval-mode outputs."""
    if cfg.batch < 2:
        raise ValueError("BatchNorm needs at least 2 samples per batch in train mode: the variance of one "
                         "value is undefined.")
    if cfg.steps < 1:
        raise ValueError("Feed at least one batch.")
    g = torch.Generator().manual_seed(cfg.seed)
    bn = nn.BatchNorm1d(cfg.features, momentum=cfg.momentum)
    shift = cfg.mean + torch.arange(cfg.features, dtype=torch.float32)  # (F,)
    rm, rv = [bn.running_mean.clone()], [bn.running_var.clone()]
    erm, erv = [torch.zeros(cfg.features)], [torch.ones(cfg.features)]
    means, variances = [], []
    bn.train()
    with torch.no_grad():
        for step in range(cfg.steps):
            x = shift + cfg.std * torch.randn(cfg.batch, cfg.features, generator=g)  # (B, F)
            train_out = bn(x)  # train mode: normalised by this batch's own statistics
            means.append(x.mean(0))
            variances.append(x.var(0, unbiased=False))
            # The update rule: new = (1 - momentum) * old + momentum * batch statistic (unbiased variance);
            # momentum=None means a cumulative average, i.e. momentum = 1 / (number of batches seen).
            m = 1.0 / (step + 1) if cfg.momentum is None else cfg.momentum
            erm.append((1 - m) * erm[-1] + m * x.mean(0))
            erv.append((1 - m) * erv[-1] + m * x.var(0, unbiased=True))
            rm.append(bn.running_mean.clone())
            rv.append(bn.running_var.clone())
        last = x
        bn.eval()
        eval_out = bn(last)  # eval mode: the same batch, normalised by the running statistics
        w, b = bn.weight, bn.bias
        train_manual = (last - means[-1]) / torch.sqrt(variances[-1] + bn.eps) * w + b
        eval_manual = (last - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * w + b
    return BatchNormRun(cfg, torch.stack(means), torch.stack(variances), torch.stack(rm), torch.stack(rv),
                        torch.stack(erm), torch.stack(erv), last, train_out, eval_out, train_manual, eval_manual,
                        int(bn.num_batches_tracked))


@dataclass(frozen=True)
class DeepMLPConfig:
    depth: int = 10  # hidden layers
    width: int = 256
    activation: str = "tanh"  # "tanh", "relu" or "sigmoid"
    init_std: float = 0.1  # weights ~ N(0, init_std^2); "Kaiming" scale for width 256 is sqrt(2/256) ~ 0.088
    batch: int = 512
    seed: int = 0


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def deep_mlp(cfg: DeepMLPConfig, batchnorm: bool) -> nn.Sequential:
    """Linear -> [BatchNorm1d] -> activation, `depth` times, with seeded N(0, init_std^2) weights."""
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}")
    g = torch.Generator().manual_seed(cfg.seed)
    layers: list[nn.Module] = []
    for _ in range(cfg.depth):
        linear = nn.Linear(cfg.width, cfg.width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(cfg.width, cfg.width, generator=g) * cfg.init_std)
            linear.bias.zero_()
        layers.append(linear)
        if batchnorm:
            layers.append(nn.BatchNorm1d(cfg.width))
        layers.append(ACTIVATIONS[cfg.activation]())
    return nn.Sequential(*layers)


def layer_activations(cfg: DeepMLPConfig, batchnorm: bool) -> torch.Tensor:
    """(depth, batch * width): the output of every activation of the deep MLP on one N(0, 1) batch, in train mode."""
    model = deep_mlp(cfg, batchnorm)
    x = torch.randn(cfg.batch, cfg.width, generator=torch.Generator().manual_seed(cfg.seed + 1))
    acts = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            if isinstance(layer, tuple(ACTIVATIONS.values())):
                acts.append(x.flatten())
    return torch.stack(acts)


ACTIVATION_RANGE = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, 3.0)}


@dataclass
class ActivationStats:
    edges: torch.Tensor  # (bins + 1,) histogram bin edges (values outside are counted in the end bins)
    counts: torch.Tensor  # (depth, bins): units per bin, layer by layer
    mean: torch.Tensor  # (depth,)
    std: torch.Tensor  # (depth,)
    saturated: torch.Tensor  # (depth,) share of units within 2% of the activation's bounds (tanh, sigmoid), or 0


def activation_stats(cfg: DeepMLPConfig, batchnorm: bool, bins: int = 60) -> ActivationStats:
    """Histograms and statistics of every layer's activations in the deep MLP (small to keep and to cache)."""
    acts = layer_activations(cfg, batchnorm)  # (depth, batch * width)
    lo, hi = ACTIVATION_RANGE[cfg.activation]
    edges = torch.linspace(lo, hi, bins + 1)
    counts = torch.stack([torch.histc(a.clamp(lo, hi), bins=bins, min=lo, max=hi) for a in acts])
    if cfg.activation == "relu":
        saturated = torch.zeros(cfg.depth)
    else:
        margin = 0.02 * (hi - lo)
        saturated = ((acts <= lo + margin) | (acts >= hi - margin)).float().mean(1)
    return ActivationStats(edges, counts, acts.mean(1), acts.std(1), saturated)


def batchnorm_code(run: BatchNormRun, feature: int) -> str:
    """The loop behind batchnorm_run, printing the buffers and the statistics of one feature the page shows."""
    cfg, f = run.config, feature
    return f"""import torch
from torch import nn

bn = nn.BatchNorm1d({cfg.features}, momentum={cfg.momentum})
g = torch.Generator().manual_seed({cfg.seed})
shift = {cfg.mean} + torch.arange({float(cfg.features)})                     # feature j has mean {cfg.mean} + j
bn.train()
for step in range({cfg.steps}):
    x = shift + {cfg.std} * torch.randn({cfg.batch}, {cfg.features}, generator=g)  # (B, {cfg.features})
    y = bn(x)                                            # normalised with this batch's mean and var
print(bn.running_mean)  # {run.running_mean[-1]}
print(bn.running_var)  # {run.running_var[-1]}
print(bn.num_batches_tracked)  # tensor({run.num_batches_tracked})
# train mode: feature {f} of the last batch comes out with mean 0 and std sqrt(var / (var + eps)), just below 1
print(y[:, {f}].mean().item(), y[:, {f}].std(unbiased=False).item())  # \
{float(run.train_out[:, f].mean())} {float(run.train_out[:, f].std(unbiased=False))}

bn.eval()
y_eval = bn(x)                                           # normalised with the running statistics
manual = (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
print(torch.allclose(y_eval, manual, atol=1e-6))  # True
print(y_eval[:, {f}].mean().item(), y_eval[:, {f}].std(unbiased=False).item())  # \
{float(run.eval_out[:, f].mean())} {float(run.eval_out[:, f].std(unbiased=False))}
"""


def deep_code(cfg: DeepMLPConfig, plain: ActivationStats, normed: ActivationStats) -> str:
    """The deep MLP of activation_stats with and without BatchNorm, printing the spread of its last layer."""
    act = ACTIVATIONS[cfg.activation].__name__
    return f"""import torch
from torch import nn

def deep_mlp(batchnorm: bool) -> nn.Sequential:
    g = torch.Generator().manual_seed({cfg.seed})
    layers = []
    for _ in range({cfg.depth}):
        linear = nn.Linear({cfg.width}, {cfg.width})
        with torch.no_grad():
            linear.weight.copy_(torch.randn({cfg.width}, {cfg.width}, generator=g) * {cfg.init_std})
            linear.bias.zero_()
        layers += [linear] + ([nn.BatchNorm1d({cfg.width})] if batchnorm else []) + [nn.{act}()]
    return nn.Sequential(*layers)

x = torch.randn({cfg.batch}, {cfg.width}, generator=torch.Generator().manual_seed({cfg.seed + 1}))
spread = {{}}
for batchnorm in (False, True):
    h, spread[batchnorm] = x, []
    with torch.no_grad():
        for layer in deep_mlp(batchnorm):
            h = layer(h)
            if isinstance(layer, nn.{act}):
                spread[batchnorm].append(h.std().item())  # the spread of this layer's activations
# the spread at layer {cfg.depth}, without and with BatchNorm
print(spread[False][-1], spread[True][-1])  # {float(plain.std[-1])} {float(normed.std[-1])}
"""
