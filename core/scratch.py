"""From scratch to nn.Module: one two-layer regression network (Linear -> ReLU -> Linear, MSE) trained five ways,
each a step closer to idiomatic PyTorch, from the same weights on the same data:

1. raw tensors, forward and backward derived by hand in matrix form, manual update;
2. autograd computes the gradients, the update is manual inside `torch.no_grad()`;
3. as 2, with ReLU as a custom `torch.autograd.Function` that has its own backward;
4. `nn.Sequential`, with a manual loop over `model.parameters()`;
5. `torch.optim.SGD`.

The five loss curves coincide to float tolerance: each way computes the same thing. Example:
    curves = five_ways(Setup())  # {"raw": [...], "autograd": [...], ...}
"""

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import skip_init

from core.parsing import InputError

WAYS = {"raw": "1 · raw tensors, backward by hand", "autograd": "2 · autograd, manual update",
        "function": "3 · custom autograd.Function", "sequential": "4 · nn.Sequential, manual update",
        "optim": "5 · torch.optim"}


@dataclass(frozen=True)
class Setup:
    batch: int = 64
    d_in: int = 1000
    hidden: int = 100
    d_out: int = 10
    lr: float = 0.1
    steps: int = 50
    seed: int = 0

    def check(self) -> None:
        if not (1 <= self.batch <= 256 and 1 <= self.d_in <= 2000 and 1 <= self.hidden <= 500
                and 1 <= self.d_out <= 50 and 1 <= self.steps <= 500 and 0 < self.lr <= 10):
            raise InputError("Sizes must be batch 1-256, inputs 1-2000, hidden 1-500, outputs 1-50; steps 1-500; "
                             "a learning rate in (0, 10].")


def data(s: Setup) -> dict[str, torch.Tensor]:
    """Inputs, targets and the starting weights, from one seeded generator (weights stored as (in, out))."""
    g = torch.Generator().manual_seed(s.seed)
    x = torch.randn(s.batch, s.d_in, generator=g)
    y = torch.randn(s.batch, s.d_out, generator=g)
    w1 = torch.randn(s.d_in, s.hidden, generator=g) / s.d_in ** 0.5
    w2 = torch.randn(s.hidden, s.d_out, generator=g) / s.hidden ** 0.5
    return {"x": x, "y": y, "w1": w1, "b1": torch.zeros(s.hidden), "w2": w2, "b2": torch.zeros(s.d_out)}


def raw(s: Setup) -> list[float]:
    """Way 1: no autograd at all. The backward pass is the chain rule in matrix form."""
    d = data(s)
    x, y, w1, b1, w2, b2 = (d[k].clone() for k in ("x", "y", "w1", "b1", "w2", "b2"))
    losses = []
    for _ in range(s.steps):
        h = x @ w1 + b1
        h_relu = h.clamp(min=0)
        y_pred = h_relu @ w2 + b2
        loss = (y_pred - y).pow(2).mean()
        losses.append(loss.item())
        grad_y_pred = 2.0 * (y_pred - y) / y.numel()
        grad_w2 = h_relu.T @ grad_y_pred
        grad_b2 = grad_y_pred.sum(0)
        grad_h = grad_y_pred @ w2.T
        grad_h[h < 0] = 0  # ReLU passes the gradient only where its input was positive
        grad_w1 = x.T @ grad_h
        grad_b1 = grad_h.sum(0)
        w1 -= s.lr * grad_w1
        b1 -= s.lr * grad_b1
        w2 -= s.lr * grad_w2
        b2 -= s.lr * grad_b2
    return losses


def _leaves(d: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    return [d[k].clone().requires_grad_() for k in ("w1", "b1", "w2", "b2")]


def _autograd(s: Setup, relu) -> list[float]:
    d = data(s)
    x, y = d["x"], d["y"]
    w1, b1, w2, b2 = _leaves(d)
    losses = []
    for _ in range(s.steps):
        y_pred = relu(x @ w1 + b1) @ w2 + b2
        loss = (y_pred - y).pow(2).mean()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():  # the update itself must not become part of the graph
            for w in (w1, b1, w2, b2):
                w -= s.lr * w.grad
                w.grad = None
    return losses


def autograd(s: Setup) -> list[float]:
    """Way 2: loss.backward() fills .grad; the update runs inside torch.no_grad()."""
    return _autograd(s, lambda t: t.clamp(min=0))


class MyReLU(torch.autograd.Function):
    """ReLU with a backward written by hand: the gradient passes where the input was positive."""

    @staticmethod
    def forward(ctx, inp):
        ctx.save_for_backward(inp)
        return inp.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (inp,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[inp < 0] = 0
        return grad_input


class WrongReLU(MyReLU):
    """The classic mistake: the backward clamps the *gradient* instead of masking where the *input* was <= 0."""

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.clamp(min=0)


def function(s: Setup) -> list[float]:
    """Way 3: as way 2, with ReLU as a custom autograd.Function."""
    return _autograd(s, MyReLU.apply)


def gradcheck(fn=MyReLU.apply, seed: int = 0) -> bool:
    """torch.autograd.gradcheck on float64 inputs away from 0 (ReLU has a kink there)."""
    g = torch.Generator().manual_seed(seed)
    inp = torch.randn(6, 4, dtype=torch.float64, generator=g)
    inp = (inp + inp.sign() * 0.1).requires_grad_()
    return torch.autograd.gradcheck(fn, (inp,), eps=1e-6, atol=1e-4, raise_exception=False)


def sequential(s: Setup, named: bool = False) -> nn.Sequential:
    """The same network as nn.Sequential (with named layers from an OrderedDict if `named`), holding the same
    starting weights. nn.Linear stores its weight as (out, in) and computes x @ weight.T + bias."""
    d = data(s)
    # skip_init: the weights are copied in below, so nn.Linear's own random init (process-wide generator) is skipped
    layers = [skip_init(nn.Linear, s.d_in, s.hidden), nn.ReLU(), skip_init(nn.Linear, s.hidden, s.d_out)]
    model = nn.Sequential(OrderedDict(zip(("hidden", "relu", "output"), layers, strict=True))) if named \
        else nn.Sequential(*layers)
    with torch.no_grad():
        model[0].weight.copy_(d["w1"].T)
        model[0].bias.copy_(d["b1"])
        model[2].weight.copy_(d["w2"].T)
        model[2].bias.copy_(d["b2"])
    return model


def sequential_manual(s: Setup, named: bool = False) -> list[float]:
    """Way 4: nn.Sequential and nn.MSELoss; the update loops over model.parameters()."""
    d = data(s)
    model, loss_fn = sequential(s, named), nn.MSELoss()
    losses = []
    for _ in range(s.steps):
        loss = loss_fn(model(d["x"]), d["y"])
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= s.lr * p.grad
    return losses


def optim(s: Setup) -> list[float]:
    """Way 5: torch.optim.SGD does the update (and zero_grad)."""
    d = data(s)
    model, loss_fn = sequential(s), nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=s.lr)
    losses = []
    for _ in range(s.steps):
        loss = loss_fn(model(d["x"]), d["y"])
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def five_ways(s: Setup, named: bool = False) -> dict[str, list[float]]:
    """The five loss curves, keyed as WAYS."""
    s.check()
    return {"raw": raw(s), "autograd": autograd(s), "function": function(s),
            "sequential": sequential_manual(s, named), "optim": optim(s)}


def max_difference(curves: dict[str, list[float]]) -> float:
    """The largest gap between any way's loss and way 1's, over all steps."""
    base = torch.tensor(curves["raw"], dtype=torch.float64)
    return max(float((torch.tensor(c, dtype=torch.float64) - base).abs().max()) for c in curves.values())


def linear_check(s: Setup) -> tuple[tuple[int, ...], float]:
    """nn.Linear's weight shape and max |layer(x) - (x @ W.T + b)| for the first layer."""
    layer = sequential(s)[0]
    x = data(s)["x"]
    with torch.no_grad():
        gap = (layer(x) - (x @ layer.weight.T + layer.bias)).abs().max().item()
    return tuple(layer.weight.shape), gap
