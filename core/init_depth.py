"""Initialisation and depth: one forward and one backward pass of 1,000 random inputs through a deep plain net
(depth x [Linear(width, width) -> activation], then Linear(width, 10)) shows how each layer's activations and
gradients grow or shrink with the initialisation; zero or constant weights make every unit of a layer identical.

    r = depth_probe(DepthConfig(init="normal", sigma=0.01, activation="tanh", depth=20))
    r.act_std[-1], r.grad_norm[0]         # -> ~1e-38 and ~0: the signal dies on the way in, the gradient on the way out
    depth_probe(DepthConfig(init="kaiming", activation="relu", depth=50)).act_std   # stays ~1 all the way

and `compare_inits`: the classic 784-200-200-10 MLP trained for one epoch from two initialisations, side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from core.image_data import ImageData
from core.models import ModelConfig, build_model
from core.training import TrainConfig, Trainer

INITS = ("zeros", "constant", "normal", "xavier", "kaiming")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
MAX_DEPTH = 50
MAX_WIDTH = 1024
CLASSES = 10  # the output layer: 10 logits, a cross-entropy loss on random labels
SYMMETRIC = 1e-6  # a layer is symmetric when the spread across its units is below this times its mean |activation|


@dataclass(frozen=True)
class DepthConfig:
    """One deep plain net and its probe batch."""

    init: str = "kaiming"  # zeros | constant | normal (0, sigma) | xavier (Glorot normal) | kaiming (He normal, ReLU)
    activation: str = "relu"  # tanh | relu | sigmoid | linear
    depth: int = 10  # hidden layers, 1 .. MAX_DEPTH
    width: int = 128  # units per hidden layer (and input features); cost ~ n_inputs * width^2 * depth
    sigma: float = 0.01  # "normal": the weights' std
    constant: float = 0.1  # "constant": every weight's value
    n_inputs: int = 1000  # random inputs, x ~ N(0, 1)
    seed: int = 0  # weights from seed, inputs and labels from seed + 1
    double: bool = True  # float64: shows 1e-60 or 1e+50 where float32 would show 0 or inf

    def __post_init__(self):
        if self.init not in INITS or self.activation not in ACTIVATIONS:
            raise ValueError(f"init must be one of {', '.join(INITS)}; activation one of {', '.join(ACTIVATIONS)}")
        if not (1 <= self.depth <= MAX_DEPTH and 1 <= self.width <= MAX_WIDTH and 1 <= self.n_inputs <= 10_000):
            raise ValueError(f"depth must be in 1..{MAX_DEPTH}, width in 1..{MAX_WIDTH}, inputs in 1..10,000")
        if not (self.sigma > 0 and math.isfinite(self.sigma) and math.isfinite(self.constant)):
            raise ValueError("sigma must be a positive number and the constant a finite one")


@dataclass(frozen=True, eq=False)
class DepthProbe:
    """Per hidden layer (index 0 = the first): what one forward and one backward pass did."""

    act_std: tuple[float, ...]  # std of the layer's activations (after the activation function), over all units
    act_mean: tuple[float, ...]
    grad_norm: tuple[float, ...]  # |dL/dW| of the layer's weight (then the output layer's, last)
    symmetric: tuple[bool, ...]  # every unit of the layer computes the same thing on every input (to SYMMETRIC)
    unit_spread: tuple[float, ...]  # std across the layer's units, averaged over the inputs (0: all identical)
    loss: float
    weight_std: float  # the std the init gave the first hidden layer's weights


def init_linear(layer: nn.Linear, cfg: DepthConfig, generator: torch.Generator) -> None:
    """Initialise one layer as `cfg.init` says; the bias is always zero."""
    w = layer.weight
    with torch.no_grad():
        if cfg.init == "zeros":
            w.zero_()
        elif cfg.init == "constant":
            w.fill_(cfg.constant)
        elif cfg.init == "normal":
            w.normal_(0.0, cfg.sigma, generator=generator)
        elif cfg.init == "xavier":
            nn.init.xavier_normal_(w, generator=generator)  # std = sqrt(2 / (fan_in + fan_out))
        else:
            nn.init.kaiming_normal_(w, nonlinearity="relu", generator=generator)  # std = sqrt(2 / fan_in)
        layer.bias.zero_()


def build_deep_net(cfg: DepthConfig) -> nn.Sequential:
    """depth x [Linear(width, width) -> activation] -> Linear(width, 10), initialised from cfg.seed, layer by layer."""
    act = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity}[cfg.activation]
    layers: list[nn.Module] = []
    for _ in range(cfg.depth):
        layers += [nn.Linear(cfg.width, cfg.width), act()]
    layers.append(nn.Linear(cfg.width, CLASSES))
    net = nn.Sequential(*layers).to(torch.float64 if cfg.double else torch.float32)
    g = torch.Generator().manual_seed(cfg.seed)
    for m in net:
        if isinstance(m, nn.Linear):
            init_linear(m, cfg, g)
    return net


def probe_batch(cfg: DepthConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (n_inputs, width) ~ N(0, 1), random labels (n_inputs,)) from cfg.seed + 1."""
    g = torch.Generator().manual_seed(cfg.seed + 1)
    x = torch.randn(cfg.n_inputs, cfg.width, generator=g, dtype=torch.float64 if cfg.double else torch.float32)
    return x, torch.randint(0, CLASSES, (cfg.n_inputs,), generator=g)


def depth_probe(cfg: DepthConfig) -> DepthProbe:
    """One forward + one backward pass through `build_deep_net(cfg)`: activation std and gradient norm per layer."""
    net = build_deep_net(cfg)
    x, y = probe_batch(cfg)
    acts = []
    h = x  # (n, width)
    for i in range(0, 2 * cfg.depth, 2):
        h = net[i + 1](net[i](h))  # Linear then activation: (n, width)
        acts.append(h)
    loss = F.cross_entropy(net[-1](h), y)
    loss.backward()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        std = [a.std(correction=0).item() for a in acts]
        mean = [a.mean().item() for a in acts]
        spread = [a.std(dim=1, correction=0).mean().item() for a in acts]  # across units, per input
        # identical up to rounding (BLAS may sum the same numbers in another order for another column)
        same = [s <= SYMMETRIC * a.abs().mean().item() for s, a in zip(spread, acts, strict=True)]
        grads = [m.weight.grad.norm().item() for m in linears]
    return DepthProbe(tuple(std), tuple(mean), tuple(grads), tuple(same), tuple(spread), loss.item(),
                      linears[0].weight.detach().std(correction=0).item())


def depth_probe_code(cfg: DepthConfig, result: DepthProbe) -> str:
    """A script building the same net with the same draws and printing the last layer's activation std, the first
    layer's gradient norm and whether the first layer's units are all identical."""
    dtype = "torch.float64" if cfg.double else "torch.float32"
    act = {"tanh": "nn.Tanh()", "relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()",
           "linear": "nn.Identity()"}[cfg.activation]
    init = {"zeros": "layer.weight.zero_()", "constant": f"layer.weight.fill_({cfg.constant!r})",
            "normal": f"layer.weight.normal_(0.0, {cfg.sigma!r}, generator=g)",
            "xavier": "nn.init.xavier_normal_(layer.weight, generator=g)  # std = sqrt(2 / (fan_in + fan_out))",
            "kaiming": "nn.init.kaiming_normal_(layer.weight, nonlinearity='relu', generator=g)  # sqrt(2 / fan_in)",
            }[cfg.init]
    return f"""import torch
import torch.nn.functional as F
from torch import nn

depth, width = {cfg.depth}, {cfg.width}
layers = []
for _ in range(depth):
    layers += [nn.Linear(width, width), {act}]
net = nn.Sequential(*layers, nn.Linear(width, {CLASSES})).to({dtype})
g = torch.Generator().manual_seed({cfg.seed})
with torch.no_grad():
    for layer in net:
        if isinstance(layer, nn.Linear):
            {init}
            layer.bias.zero_()

g = torch.Generator().manual_seed({cfg.seed + 1})
x = torch.randn({cfg.n_inputs}, width, generator=g, dtype={dtype})  # (n, width)
y = torch.randint(0, {CLASSES}, ({cfg.n_inputs},), generator=g)
acts = []
h = x
for i in range(0, 2 * depth, 2):
    h = net[i + 1](net[i](h))  # Linear, then the activation: (n, width)
    acts.append(h)
loss = F.cross_entropy(net[-1](h), y)
loss.backward()
print(f'{{acts[-1].std(correction=0).item():.4g}}')  # {result.act_std[-1]:.4g}
print(f'{{net[0].weight.grad.norm().item():.4g}}')  # {result.grad_norm[0]:.4g}
spread = acts[0].std(dim=1, correction=0).mean()  # across the units of layer 1, per input (0: all identical)
print(bool(spread <= {SYMMETRIC} * acts[0].abs().mean()))  # {result.symmetric[0]}
"""


# --- the classic MLP on MNIST, two initialisations side by side ---------------------------------------------------

@dataclass(frozen=True, eq=False)
class InitCurve:
    init: str  # a core.models init scheme: "kaiming", "default", "xavier", "bad"
    steps: tuple[int, ...]  # optimizer steps at each point
    losses: tuple[float, ...]  # mean training loss over the steps since the previous point
    test_acc: float  # after the epoch (nan when it diverged)
    status: str  # "finished" or "diverged" (core.training.History.status)
    reason: str  # the run's end in words


def compare_inits(data: ImageData, inits: tuple[str, ...] = ("kaiming", "default"),
                  cfg: TrainConfig = TrainConfig("sgd", lr=0.01, momentum=0.0, batch_size=64, epochs=1,
                                                 val_fraction=0.0, log_every=20),
                  model_cfg: ModelConfig = ModelConfig("mlp")) -> list[InitCurve]:
    """The 784-200-200-10 MLP trained for `cfg` (one epoch of plain SGD) from each init; the same seed, so the
    same batches: only the initial weights differ. "default" is PyTorch's own init (kaiming_uniform_ with
    a=sqrt(5), about 1/sqrt(3) of Kaiming's std); "bad" is normal(0, 1)."""
    curves = []
    for init in inits:
        model = build_model(replace(model_cfg, init=init), seed=cfg.seed)
        trainer = Trainer(model, data, cfg)
        trainer.run()
        history = trainer.history
        test = next((e.test_acc for e in reversed(history.epochs) if e.test_acc is not None), math.nan)
        curves.append(InitCurve(init, tuple(s.step for s in history.steps), tuple(s.loss for s in history.steps),
                                test, history.status, history.reason))
    return curves
