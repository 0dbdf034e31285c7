"""The neural network playground: a small real nn.Module learning 2D points, trained epoch by epoch while the
learner changes its learning rate, regularisation and dropout, and every neuron's output over the plane.

    play = Playground(DataConfig("circles"), NetConfig(features=("x1", "x2"), hidden=(4, 2)))
    play.train_epochs(50, Settings(lr=0.03))
    play.history[-1].test_loss, play.maps(100).output      # -> 0.02, (100, 100, 2) class probabilities

Everything random draws from generators seeded by the configs (weights, batch order, dropout masks), so a run is
reproduced exactly by the script `core.playground_code.export_code` writes from `play.segments`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from core.playground_data import EXTENT, DataConfig, Points, features, points

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity,
               "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU}
INITS = ("default", "xavier", "kaiming", "zeros", "normal")
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
MAX_LAYERS, MAX_WIDTH = 6, 8


class SeededDropout(nn.Module):
    """nn.Dropout drawing its masks from its own generator, so that a run can be replayed exactly."""

    def __init__(self, p: float, generator: torch.Generator):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= self.p  # each unit kept with probability 1 - p
        return x * keep / (1 - self.p)


class PlaygroundNet(nn.Module):
    """Hidden layers of Linear (+ BatchNorm1d) + activation (+ dropout), then a Linear to the outputs."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int, activation: str = "tanh",
                 batchnorm: bool = False, dropout: float = 0.0, generator: torch.Generator | None = None):
        super().__init__()
        blocks = []
        for width in hidden:
            block = [nn.Linear(n_in, width)]
            if batchnorm:
                block.append(nn.BatchNorm1d(width))
            block.append(ACTIVATIONS[activation]())
            block.append(SeededDropout(dropout, generator or torch.Generator()))
            blocks.append(nn.Sequential(*block))
            n_in = width
        self.hidden = nn.ModuleList(blocks)
        self.out = nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor, neurons: list | None = None) -> torch.Tensor:
        for block in self.hidden:
            *layers, drop = block
            for layer in layers:
                x = layer(x)
            if neurons is not None:
                neurons.append(x)  # (N, width): each neuron's output, after its activation
            x = drop(x)
        return self.out(x)


def initialise(model: PlaygroundNet, init: str, sigma: float, activation: str, generator: torch.Generator) -> None:
    """Set every Linear's weights and biases from `generator` (the "default" is PyTorch's own rule)."""
    gains = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "leaky_relu": "leaky_relu"}
    for linear in [m for m in model.modules() if isinstance(m, nn.Linear)]:
        w, b = linear.weight, linear.bias
        with torch.no_grad():
            if init == "default":  # nn.Linear.reset_parameters, with a generator
                nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator)
                bound = 1 / math.sqrt(w.shape[1])
                nn.init.uniform_(b, -bound, bound, generator=generator)
                continue
            if init == "xavier":
                nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(gains.get(activation, "linear")),
                                        generator=generator)
            elif init == "kaiming":
                nn.init.kaiming_normal_(w, nonlinearity="relu", generator=generator)
            elif init == "zeros":
                nn.init.zeros_(w)
            else:
                nn.init.normal_(w, 0.0, sigma, generator=generator)
            nn.init.zeros_(b)


@dataclass(frozen=True)
class NetConfig:
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)  # neurons per hidden layer (0-6 layers of 1-8)
    activation: str = "tanh"
    init: str = "default"  # one of INITS
    sigma: float = 1.0  # the "normal" init's standard deviation
    batchnorm: bool = False


@dataclass(frozen=True)
class Settings:
    """What the learner may change while it trains: each epoch uses the values it starts with."""

    optimizer: str = "sgd"
    lr: float = 0.03
    momentum: float = 0.0  # SGD and RMSprop
    regularization: str = "none"  # none | L1 | L2: a penalty on the weights added to the loss
    reg_rate: float = 0.0
    dropout: float = 0.0
    batch_size: int = 10


@dataclass(frozen=True)
class Epoch:
    epoch: int
    steps: int  # optimizer steps so far
    train_loss: float  # data loss over the training points (eval mode, no penalty)
    test_loss: float
    train_acc: float | None  # classification only
    test_acc: float | None


def make_optimizer(params, name: str, lr: float, momentum: float) -> torch.optim.Optimizer:
    """Example: make_optimizer(model.parameters(), "sgd", 0.1, 0.9) -> torch.optim.SGD"""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.0)  # regularisation is the loss's penalty
    return torch.optim.Adam(params, lr=lr)


def penalty(model: nn.Module, regularization: str, rate: float) -> torch.Tensor:
    """L1: rate * sum |w|; L2: rate * sum w^2, over the Linear weights (not biases, not BatchNorm)."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    if regularization == "L1" and rate:
        return rate * sum(w.abs().sum() for w in weights)
    if regularization == "L2" and rate:
        return rate * sum((w ** 2).sum() for w in weights)
    return torch.zeros(())


def train_epoch(model, optimizer, x, y, loss_fn, batch_size, regularization, rate, generator) -> int:
    """One pass over the training points in mini-batches, in a random order; returns the steps taken."""
    model.train()
    order = torch.randperm(len(x), generator=generator)
    steps = 0
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        if len(batch) < 2 and any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
            continue  # BatchNorm needs two points for a batch statistic
        loss = loss_fn(model(x[batch]), y[batch]) + penalty(model, regularization, rate)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    return steps


@dataclass(frozen=True, eq=False)
class Maps:
    grid: int
    output: torch.Tensor  # (G, G, classes) probabilities, or (G, G) regression values; row 0 is the top (x2 = 6)
    features: list[torch.Tensor]  # each input feature over the plane, (G, G)
    neurons: list[torch.Tensor]  # per hidden layer: (width, G, G)
    dead: list[torch.Tensor]  # per hidden layer: (width,) bool, the neuron outputs 0 on every training point


@dataclass(eq=False)
class Playground:
    data: DataConfig
    net: NetConfig
    settings: Settings = field(default_factory=Settings)
    history: list[Epoch] = field(default_factory=list)
    segments: list[tuple[int, Settings]] = field(default_factory=list)  # (epochs, settings) in the order trained
    status: str = ""  # why training stopped by itself ("diverged ...")
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        self.points: Points = points(self.data)
        self.n_classes = self.data.n_classes
        self.regression = self.n_classes == 1
        self.inputs = features(self.points.x_train, self.net.features)  # (N, F)
        self.test_inputs = features(self.points.x_test, self.net.features)
        seed = self.data.seed
        self.init_gen = torch.Generator().manual_seed(seed + 2)
        self.batch_gen = torch.Generator().manual_seed(seed + 3)
        self.drop_gen = torch.Generator().manual_seed(seed + 4)
        self.model = PlaygroundNet(len(self.net.features), self.net.hidden, self.n_classes, self.net.activation,
                                   self.net.batchnorm, self.settings.dropout, self.drop_gen)
        initialise(self.model, self.net.init, self.net.sigma, self.net.activation, self.init_gen)
        self.optimizer = make_optimizer(self.model.parameters(), self.settings.optimizer, self.settings.lr,
                                        self.settings.momentum)
        self.steps = 0
        self.history = [self.evaluate()]

    @property
    def epoch(self) -> int:
        return self.history[-1].epoch

    def loss_fn(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out[:, 0], y) if self.regression else F.cross_entropy(out, y)

    def apply(self, s: Settings) -> None:
        """Take new settings: a new optimizer if its kind changed, otherwise the same one with new values."""
        old = self.settings
        if s.optimizer != old.optimizer:
            self.optimizer = make_optimizer(self.model.parameters(), s.optimizer, s.lr, s.momentum)
        else:
            for group in self.optimizer.param_groups:
                group["lr"] = s.lr
                if "momentum" in group:
                    group["momentum"] = s.momentum
        for m in self.model.modules():
            if isinstance(m, SeededDropout):
                m.p = s.dropout
        self.settings = s

    def train_epochs(self, n: int, s: Settings | None = None) -> None:
        """Train `n` epochs (mini-batches in a seeded random order) with settings `s`."""
        if s is not None and s != self.settings:
            self.apply(s)
        s = self.settings
        for _ in range(n):
            if self.status or len(self.inputs) == 0:
                return
            self.steps += train_epoch(self.model, self.optimizer, self.inputs, self.points.y_train, self.loss_fn,
                                      s.batch_size, s.regularization, s.reg_rate, self.batch_gen)
            if self.segments and self.segments[-1][1] == s:
                self.segments[-1] = (self.segments[-1][0] + 1, s)
            else:
                self.segments.append((1, s))
            record = self.evaluate()
            self.history.append(record)
            if not math.isfinite(record.train_loss):
                self.status = (f"The loss became {record.train_loss} at epoch {record.epoch}: the steps grew too big. "
                               "Lower the learning rate and press Reset.")

    def train_for(self, seconds: float, s: Settings, max_epochs: int = 50) -> int:
        """Whole epochs for about `seconds` (at least one); the number trained."""
        start, done = time.perf_counter(), 0
        while done < max_epochs and not self.status and (done == 0 or time.perf_counter() - start < seconds):
            self.train_epochs(1, s)
            done += 1
        return done

    def evaluate(self) -> Epoch:
        """Losses (and accuracies) over all training and test points, in eval mode."""
        self.model.eval()
        with torch.inference_mode():
            rows = []
            for inputs, y in ((self.inputs, self.points.y_train), (self.test_inputs, self.points.y_test)):
                if len(y) == 0:
                    rows.append((float("nan"), None))
                    continue
                out = self.model(inputs)
                acc = None if self.regression else float((out.argmax(1) == y).float().mean())
                rows.append((float(self.loss_fn(out, y)), acc))
        (train_loss, train_acc), (test_loss, test_acc) = rows
        epoch = self.history[-1].epoch + 1 if self.history else 0
        return Epoch(epoch, self.steps, train_loss, test_loss, train_acc, test_acc)

    def maps(self, grid: int = 100) -> Maps:
        """The output and every neuron's output at grid x grid points of the plane (eval mode)."""
        axis = torch.linspace(-EXTENT, EXTENT, grid)
        x2, x1 = torch.meshgrid(axis.flip(0), axis, indexing="ij")  # row 0 at the top
        plane = torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)  # (G*G, 2)
        inputs = features(plane, self.net.features)
        self.model.eval()
        neurons: list[torch.Tensor] = []
        train_neurons: list[torch.Tensor] = []
        with torch.inference_mode():
            out = self.model(inputs, neurons)
            if len(self.inputs):
                self.model(self.inputs, train_neurons)
        output = out[:, 0] if self.regression else out.softmax(1)
        dead = [(t <= 0).all(0) if len(self.inputs) else torch.zeros(t.shape[1], dtype=torch.bool)
                for t in train_neurons] if self.net.activation == "relu" else \
            [torch.zeros(width, dtype=torch.bool) for width in self.net.hidden]
        return Maps(grid, output.reshape(grid, grid, -1).squeeze(-1) if self.regression else
                    output.reshape(grid, grid, -1),
                    [inputs[:, i].reshape(grid, grid) for i in range(inputs.shape[1])],
                    [t.T.reshape(-1, grid, grid) for t in neurons], dead)

    def weights(self) -> list[torch.Tensor]:
        """Each Linear's weight (out, in), from the features to the output."""
        return [m.weight.detach() for m in self.model.modules() if isinstance(m, nn.Linear)]

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def diagram_parameter_count(n_features: int, hidden: tuple[int, ...], n_out: int, batchnorm: bool) -> int:
    """The parameters the network diagram draws: an edge per weight, a bias per neuron (+ BatchNorm's scale and
    shift). Example: diagram_parameter_count(2, (4, 2), 2, False) -> 2*4+4 + 4*2+2 + 2*2+2 = 28"""
    sizes = (n_features, *hidden, n_out)
    count = sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))
    return count + (2 * sum(hidden) if batchnorm else 0)

