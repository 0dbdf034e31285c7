"""Common mistakes on the way from scratch to nn.Module, each run for real on the network of core.scratch (the
error torch raises, the warning it prints, or the loss curve it bends), and a dynamic graph: Python control flow
in `forward` builds a different graph for each input."""

import warnings
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils import skip_init

from core.scratch import MyReLU, Setup, WrongReLU, _autograd, autograd, data, gradcheck
from core.tensor_common import torch_message

MISTAKES = {
    "no_grad": "backward without requires_grad",
    "non_leaf": "w = w - lr * w.grad",
    "clamp": "ReLU backward as grad.clamp(min=0)",
    "zero_grad": "forgetting to zero the gradients",
}


@dataclass
class Mistake:
    error: str | None = None  # what torch (or Python) raised
    warning: str | None = None  # what torch warned
    facts: dict[str, str] = field(default_factory=dict)  # the symptom, in numbers
    curves: dict[str, list[float]] = field(default_factory=dict)  # correct vs mistaken, where training runs


def mistake(kind: str, s: Setup) -> Mistake:
    return {"no_grad": _no_requires_grad, "non_leaf": _non_leaf, "clamp": _clamp,
            "zero_grad": _no_zero_grad}[kind](s)


def _no_requires_grad(s: Setup) -> Mistake:
    d = data(s)
    loss = ((d["x"] @ d["w1"] + d["b1"]).clamp(min=0) @ d["w2"] + d["b2"] - d["y"]).pow(2).mean()
    m = Mistake(facts={"loss.requires_grad": str(loss.requires_grad), "loss.grad_fn": str(loss.grad_fn)})
    try:
        loss.backward()
    except RuntimeError as exc:
        m.error = torch_message(exc)
    return m


def _non_leaf(s: Setup) -> Mistake:
    d = data(s)
    x, y = d["x"], d["y"]
    w1, b1, w2, b2 = (d[k].clone().requires_grad_() for k in ("w1", "b1", "w2", "b2"))
    m = Mistake(facts={"w1.is_leaf before": str(w1.is_leaf)})
    loss = ((x @ w1 + b1).clamp(min=0) @ w2 + b2 - y).pow(2).mean()
    loss.backward()
    w1 = w1 - s.lr * w1.grad  # the mistake: a new tensor, computed by the graph, not the leaf it replaces
    m.facts["w1.is_leaf after"] = str(w1.is_leaf)
    m.facts["w1.grad_fn"] = type(w1.grad_fn).__name__
    loss = ((x @ w1 + b1).clamp(min=0) @ w2 + b2 - y).pow(2).mean()
    loss.backward()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad = w1.grad
    m.facts["w1.grad after the next backward"] = str(grad)
    m.warning = next((str(w.message).split(". ")[0] + "." for w in caught), None)
    try:
        w1 = w1 - s.lr * grad
    except TypeError as exc:
        m.error = str(exc)
    return m


def _clamp(s: Setup) -> Mistake:
    m = Mistake(curves={"correct backward": autograd(s), "grad.clamp(min=0)": _autograd(s, WrongReLU.apply)})
    d = data(s)
    inp = (d["x"] @ d["w1"] + d["b1"]).requires_grad_()
    upstream = torch.randn(inp.shape, generator=torch.Generator().manual_seed(s.seed + 1))
    right = torch.autograd.grad(MyReLU.apply(inp), inp, upstream)[0]
    wrong = torch.autograd.grad(WrongReLU.apply(inp), inp, upstream)[0]
    m.facts = {"gradcheck(MyReLU)": str(gradcheck()), "gradcheck(wrong ReLU)": str(gradcheck(WrongReLU.apply)),
               "gradient entries that differ": f"{int((right != wrong).sum()):,} of {right.numel():,}"}
    return m


def _no_zero_grad(s: Setup) -> Mistake:
    d = data(s)
    x, y = d["x"], d["y"]
    w1, b1, w2, b2 = (d[k].clone().requires_grad_() for k in ("w1", "b1", "w2", "b2"))
    losses, norms = [], []
    for _ in range(s.steps):
        loss = ((x @ w1 + b1).clamp(min=0) @ w2 + b2 - y).pow(2).mean()
        losses.append(loss.item())
        loss.backward()
        norms.append(w2.grad.norm().item())
        with torch.no_grad():
            for w in (w1, b1, w2, b2):
                w -= s.lr * w.grad  # .grad is never reset: each step adds to the sum of all earlier gradients
    m = Mistake(curves={"zeroed every step": autograd(s), "never zeroed": losses})
    m.facts = {"|w2.grad| after step 1": f"{norms[0]:.4f}",
               f"|w2.grad| after step {len(norms)}": f"{norms[-1]:.4f}"}
    return m


# --- a dynamic graph ---------------------------------------------------------------------------------------------

class DynamicNet(nn.Module):
    """Its forward repeats the middle layer as often as it is told: the graph is built anew by every call."""

    def __init__(self, d_in: int, hidden: int, d_out: int):
        super().__init__()
        # skip_init: `dynamic` initialises them from its own seed, not from the process-wide generator
        self.input, self.middle = skip_init(nn.Linear, d_in, hidden), skip_init(nn.Linear, hidden, hidden)
        self.output = skip_init(nn.Linear, hidden, d_out)

    def forward(self, x: torch.Tensor, repeats: int) -> torch.Tensor:
        h = self.input(x).clamp(min=0)
        for _ in range(repeats):  # ordinary Python: a loop, an if, anything
            h = self.middle(h).clamp(min=0)
        return self.output(h)


def graph_nodes(t: torch.Tensor) -> int:
    """Nodes of the autograd graph behind t (following grad_fn.next_functions)."""
    seen, todo = set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo.extend(f for f, _ in fn.next_functions)
    return len(seen)


def dynamic(seed: int, calls: int = 5) -> list[dict]:
    """Several forward passes of one DynamicNet; each draws how often to repeat the middle layer."""
    g = torch.Generator().manual_seed(seed)
    net = DynamicNet(8, 16, 1)
    with torch.no_grad():  # nn.Linear's own initialisation (uniform in +-1/sqrt(fan_in)), from this seed
        for layer in (net.input, net.middle, net.output):
            bound = layer.in_features ** -0.5
            layer.weight.uniform_(-bound, bound, generator=g)
            layer.bias.uniform_(-bound, bound, generator=g)
    x = torch.randn(4, 8, generator=g)
    rows = []
    for i in range(calls):
        repeats = int(torch.randint(0, 4, (1,), generator=g))
        net.zero_grad()
        out = net(x, repeats).sum()
        out.backward()
        rows.append({"call": i + 1, "middle layer used": f"{repeats} time" + ("" if repeats == 1 else "s"), "graph nodes": graph_nodes(out),
                     "|middle.weight.grad|": round(net.middle.weight.grad.norm().item(), 4)
                     if repeats else 0.0})
    return rows
