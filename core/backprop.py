"""The chain rule through a tiny 2 -> 3 -> 1 network: gradients by hand next to autograd's, retain_graph, and
what forgetting zero_grad does.

`backprop_code` and `zero_grad_code` write the PyTorch code behind the lesson, with the numbers the page
shows as their expected output.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from core.curves import floats, num, printed

# activation, and its derivative written in terms of (z, a = act(z)) for the chain rule by hand
HIDDEN_ACTIVATIONS: dict[str, tuple[str, Callable, Callable]] = {
    "tanh": ("torch.tanh", torch.tanh, lambda z, a: 1 - a**2),
    "sigmoid": ("torch.sigmoid", torch.sigmoid, lambda z, a: a * (1 - a)),
    "ReLU": ("torch.relu", torch.relu, lambda z, a: (z > 0).to(z.dtype)),
}
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _finite(value: float) -> bool:
    return value == value and abs(value) < 1e12  # not nan, not inf, not exploding


def tiny_net(seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights of a 2 -> 3 -> 1 network, drawn from a seeded generator (leaf tensors, no grad yet)."""
    g = torch.Generator().manual_seed(seed)
    return {"W1": torch.randn(3, 2, generator=g), "b1": torch.randn(3, generator=g) * 0.5,
            "W2": torch.randn(1, 3, generator=g), "b2": torch.randn(1, generator=g) * 0.5}


def _forward(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, activation: str):
    act = HIDDEN_ACTIVATIONS[activation][1]
    z1 = params["W1"] @ x + params["b1"]  # (3,) pre-activations
    h = act(z1)  # (3,) hidden units
    y_hat = params["W2"] @ h + params["b2"]  # (1,) prediction
    loss = ((y_hat - y) ** 2).sum()  # () squared error of one sample
    return z1, h, y_hat, loss


def _graph_flags(x: tuple[float, float], y: float, seed: int, activation: str) -> list[dict]:
    """What autograd records about each tensor, and which ones hold a .grad after a plain backward()."""
    params = {k: v.requires_grad_(True) for k, v in tiny_net(seed).items()}
    xt = torch.tensor(x)
    z1, h, y_hat, loss = _forward(params, xt, torch.tensor([y]), activation)
    tensors = [("x", xt), ("W1", params["W1"]), ("b1", params["b1"]), ("z1", z1), ("h", h),
               ("W2", params["W2"]), ("b2", params["b2"]), ("y_hat", y_hat), ("loss", loss)]
    rows = [{"tensor": name, "requires_grad": t.requires_grad, "is_leaf": t.is_leaf,
             "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else "None"} for name, t in tensors]
    loss.backward()
    with warnings.catch_warnings():  # reading .grad of a non-leaf warns; None is the answer we show
        warnings.simplefilter("ignore")
        for row, (_, t) in zip(rows, tensors, strict=True):
            row["has .grad after backward()"] = t.grad is not None
    return rows


@dataclass(frozen=True)
class Backprop:
    forward: dict[str, torch.Tensor]  # x, z1, h, y_hat, loss
    manual: dict[str, torch.Tensor]  # dL/d(everything) by the chain rule, written out
    autograd: dict[str, torch.Tensor]  # .grad after loss.backward() (retain_grad for the non-leaves)
    flags: list[dict]  # requires_grad / is_leaf / grad_fn of every tensor in the graph


def backprop(x: tuple[float, float], y: float, seed: int = 0, activation: str = "tanh") -> Backprop:
    """One forward and backward pass through the tiny network, gradients by hand and by autograd."""
    params = {k: v.requires_grad_(True) for k, v in tiny_net(seed).items()}
    xt, yt = torch.tensor(x), torch.tensor([y])
    flags = _graph_flags(x, y, seed, activation)
    z1, h, y_hat, loss = _forward(params, xt, yt, activation)
    for t in (z1, h, y_hat):
        t.retain_grad()  # keep .grad on intermediate (non-leaf) tensors too, to compare with the chain rule
    loss.backward()

    with torch.no_grad():  # the chain rule, one local derivative at a time, from the loss backwards
        d_yhat = 2 * (y_hat - yt)  # (1,) dL/dy_hat
        d_W2 = torch.outer(d_yhat, h)  # (1, 3) y_hat = W2 h + b2
        d_b2 = d_yhat  # (1,)
        d_h = params["W2"].T @ d_yhat  # (3,)
        d_z1 = d_h * HIDDEN_ACTIVATIONS[activation][2](z1, h)  # (3,) through the activation
        d_W1 = torch.outer(d_z1, xt)  # (3, 2) z1 = W1 x + b1
        d_b1 = d_z1  # (3,)
    manual = {"y_hat": d_yhat, "h": d_h, "z1": d_z1, "W1": d_W1, "b1": d_b1, "W2": d_W2, "b2": d_b2}
    auto = {"y_hat": y_hat.grad, "h": h.grad, "z1": z1.grad, **{k: params[k].grad for k in PARAM_NAMES}}
    forward = {"x": xt, "z1": z1.detach(), "h": h.detach(), "y_hat": y_hat.detach(), "loss": loss.detach()}
    return Backprop(forward, manual, auto, flags)


@dataclass(frozen=True)
class TwoBackwards:
    first: dict[str, torch.Tensor]  # grads after one backward()
    error: str  # what torch says when backward() runs twice without retain_graph
    second: dict[str, torch.Tensor]  # grads after a second backward() with retain_graph=True: accumulated


def backward_twice(x: tuple[float, float], y: float, seed: int = 0, activation: str = "tanh") -> TwoBackwards:
    """Call backward() a second time on the same graph, with and without retain_graph."""
    params = {k: v.requires_grad_(True) for k, v in tiny_net(seed).items()}
    *_, loss = _forward(params, torch.tensor(x), torch.tensor([y]), activation)
    loss.backward()  # frees the graph's saved tensors
    first = {k: params[k].grad.clone() for k in PARAM_NAMES}
    try:
        loss.backward()
        error = ""
    except RuntimeError as exc:
        error = str(exc).split(". ")[0] + "."

    params = {k: v.requires_grad_(True) for k, v in tiny_net(seed).items()}
    *_, loss = _forward(params, torch.tensor(x), torch.tensor([y]), activation)
    loss.backward(retain_graph=True)  # keep the graph alive for another backward
    loss.backward()
    second = {k: params[k].grad.clone() for k in PARAM_NAMES}
    return TwoBackwards(first, error, second)


def accumulated_grads(x: tuple[float, float], y: float, seed: int = 0, activation: str = "tanh",
                      calls: int = 5, zero_grad: bool = False) -> torch.Tensor:
    """W2.grad after each of `calls` forward+backward passes on the same sample; (calls, 3).

    Without zero_grad, .grad is a running sum: after k calls it holds k times the true gradient.
    """
    params = {k: v.requires_grad_(True) for k, v in tiny_net(seed).items()}
    optimizer = torch.optim.SGD(params.values(), lr=0.0)  # lr 0: only the .grad bookkeeping matters here
    rows = []
    for _ in range(calls):
        if zero_grad:
            optimizer.zero_grad()
        *_, loss = _forward(params, torch.tensor(x), torch.tensor([y]), activation)
        loss.backward()
        rows.append(params["W2"].grad[0].clone())
    return torch.stack(rows)  # (calls, 3)


def train_tiny(x: tuple[float, float], y: float, seed: int = 0, activation: str = "tanh", lr: float = 0.05,
               steps: int = 40, zero_grad: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """SGD on the one sample, with or without zero_grad: (loss per step, gradient norm used per step)."""
    params = {k: v.requires_grad_(True) for k, v in tiny_net(seed).items()}
    optimizer = torch.optim.SGD(params.values(), lr=lr)
    xt, yt = torch.tensor(x), torch.tensor([y])
    losses, norms = [], []
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        *_, loss = _forward(params, xt, yt, activation)
        if not _finite(loss.item()):
            break
        loss.backward()
        losses.append(loss.item())
        norms.append(torch.sqrt(sum((p.grad**2).sum() for p in params.values())).item())
        optimizer.step()
    return torch.tensor(losses), torch.tensor(norms)


def backprop_code(x: tuple[float, float], y: float, seed: int, activation: str, result: Backprop) -> str:
    """The forward pass and both backward passes of `backprop(x, y, seed, activation)`, printing its
    numbers."""
    act_code = HIDDEN_ACTIVATIONS[activation][0]
    derivative = {"tanh": "1 - h**2", "sigmoid": "h * (1 - h)", "ReLU": "(z1 > 0).float()"}[activation]
    forward = printed(result.forward["y_hat"].item(), result.forward["loss"].item())
    agree = printed(*(torch.allclose(result.manual[mine], result.autograd[theirs])
                      for mine, theirs in (("W1", "W1"), ("W2", "W2"), ("z1", "b1"))))
    return f'''
import torch

g = torch.Generator().manual_seed({seed})
W1 = torch.randn(3, 2, generator=g).requires_grad_()
b1 = (torch.randn(3, generator=g) * 0.5).requires_grad_()
W2 = torch.randn(1, 3, generator=g).requires_grad_()
b2 = (torch.randn(1, generator=g) * 0.5).requires_grad_()
x, y = torch.tensor([{floats(x)}]), torch.tensor([{floats([y])}])  # data: no requires_grad

z1 = W1 @ x + b1        # forward
h = {act_code}(z1)
y_hat = W2 @ h + b2
loss = ((y_hat - y) ** 2).sum()
print(y_hat.item(), loss.item())  # {forward}
loss.backward()         # autograd fills W1.grad, b1.grad, W2.grad, b2.grad

with torch.no_grad():   # the chain rule by hand, from the loss backwards
    d_yhat = 2 * (y_hat - y)
    d_W2 = torch.outer(d_yhat, h)
    d_h = W2.T @ d_yhat
    d_z1 = d_h * ({derivative})  # derivative of {activation}
    d_W1 = torch.outer(d_z1, x)
print(torch.allclose(d_W1, W1.grad), torch.allclose(d_W2, W2.grad), torch.allclose(d_z1, b1.grad))  # {agree}
'''


def zero_grad_code(x: tuple[float, float], y: float, seed: int, activation: str, lr: float, steps: int,
                   zero_grad: bool, losses: torch.Tensor) -> str:
    """The training loop behind `train_tiny(..., zero_grad=zero_grad)`, whose losses per step are `losses`."""
    act_code = HIDDEN_ACTIVATIONS[activation][0]
    zero = "optimizer.zero_grad()  # forget this and .grad keeps summing" if zero_grad else \
        "# optimizer.zero_grad()  <- forgotten: .grad is now the sum of every gradient so far"
    final = f"  # final loss {losses[-1].item():.3g} after {len(losses)} steps" if len(losses) else ""
    return f'''
import torch

g = torch.Generator().manual_seed({seed})
params = [torch.randn(3, 2, generator=g), torch.randn(3, generator=g) * 0.5,
          torch.randn(1, 3, generator=g), torch.randn(1, generator=g) * 0.5]
W1, b1, W2, b2 = [p.requires_grad_() for p in params]
x, y = torch.tensor([{floats(x)}]), torch.tensor([{floats([y])}])
optimizer = torch.optim.SGD([W1, b1, W2, b2], lr={num(lr)})
losses = []
for step in range({steps}):
    {zero}
    loss = ((W2 @ {act_code}(W1 @ x + b1) + b2 - y) ** 2).sum()
    if not loss < 1e12:  # blew up: stop before inf and nan
        break
    loss.backward()
    losses.append(loss.item())
    optimizer.step()
    print(step, loss.item(), W2.grad)
print(f"final loss {{losses[-1]:.3g}} after {{len(losses)}} steps"){final}
'''
