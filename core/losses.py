"""Losses and the gradient each one sends back, every gradient computed by torch autograd.

Regression losses as functions of the prediction, classification losses as functions of the true class's
logit (why cross-entropy and not sigmoid + MSE), and cross-entropy = log_softmax + NLL. Each `*_code` function
writes the PyTorch code behind one part of the lesson, with the numbers the page shows as its expected output.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.curves import Curve, floats, num, printed


@dataclass(frozen=True)
class Loss:
    latex: str
    code: str  # the torch call producing one loss per element, with {delta} filled in from the page
    fn: Callable[..., torch.Tensor]


REGRESSION_LOSSES: dict[str, Loss] = {
    "MSE": Loss(r"(\hat y - y)^2", "F.mse_loss(pred, target, reduction='none')",
                lambda pred, target, **_: F.mse_loss(pred, target, reduction="none")),
    "L1": Loss(r"|\hat y - y|", "F.l1_loss(pred, target, reduction='none')",
               lambda pred, target, **_: F.l1_loss(pred, target, reduction="none")),
    "Huber": Loss(r"\begin{cases} \frac{1}{2}(\hat y - y)^2 & |\hat y - y| \le \delta \\"
                  r" \delta\,(|\hat y - y| - \frac{1}{2}\delta) & \text{otherwise} \end{cases}",
                  "F.huber_loss(pred, target, reduction='none', delta={delta})",
                  lambda pred, target, delta=1.0, **_: F.huber_loss(pred, target, reduction="none", delta=delta)),
}


def regression_loss_curves(names: tuple[str, ...], lo: float = -3.0, hi: float = 3.0, n: int = 301, *,
                           target: float = 0.0, delta: float = 1.0) -> dict[str, Curve]:
    """Each loss as a function of the prediction y_hat for a fixed target, with dL/dy_hat from autograd."""
    curves = {}
    for name in names:
        pred = torch.linspace(lo, hi, n, requires_grad=True)  # (n,)
        loss = REGRESSION_LOSSES[name].fn(pred, torch.full_like(pred, target), delta=delta)  # (n,)
        (grad,) = torch.autograd.grad(loss.sum(), pred)
        curves[name] = Curve(pred.detach(), loss.detach(), grad)
    return curves


def regression_loss_code(curves: dict[str, Curve], lo: float, hi: float, *, target: float,
                         delta: float) -> str:
    """The code behind `regression_loss_curves(tuple(curves), lo, hi, n, target=target, delta=delta)`; it
    prints each loss's gradient at the right end of the plot."""
    first = next(iter(curves.values()))
    calls = "\n".join(f'    "{name}": {REGRESSION_LOSSES[name].code.format(delta=num(delta))},'
                      for name in curves)
    prints = "\n".join(f'print("{name}", grads["{name}"][-1].item())'
                        f'  # {printed(name, curve.grad[-1].item())}' for name, curve in curves.items())
    return f'''
import torch
import torch.nn.functional as F

pred = torch.linspace({num(lo)}, {num(hi)}, {len(first.x)}, requires_grad=True)  # many predictions y_hat at once
target = torch.full_like(pred, {num(target)})
losses = {{
{calls}
}}
grads = {{}}
for name, loss in losses.items():
    # one loss per prediction, so the gradient of loss.sum() at pred_i is dL/dy_hat there
    (grads[name],) = torch.autograd.grad(loss.sum(), pred)
print("dL/dy_hat at y_hat =", pred[-1].item())  # {printed("dL/dy_hat at y_hat =", first.x[-1].item())}
{prints}
'''


# The true class is 1. z is the logit the model gives it, p = sigmoid(z) its probability. Cross-entropy and NLL
# see two classes with logits [0, z], so that softmax([0, z])[1] = sigmoid(z) and every loss sees the same p.
CLASSIFICATION_LOSSES: dict[str, Loss] = {
    "sigmoid + MSE": Loss(r"\tfrac{1}{2}\,(p - y)^2,\quad p = \sigma(z)",
                          "0.5 * F.mse_loss(torch.sigmoid(z), y, reduction='none')",
                          lambda z, y: 0.5 * F.mse_loss(torch.sigmoid(z), y, reduction="none")),
    "sigmoid + BCE": Loss(r"-\left[y \log p + (1 - y) \log (1 - p)\right],\quad p = \sigma(z)",
                          "F.binary_cross_entropy(torch.sigmoid(z), y, reduction='none')",
                          lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y, reduction="none")),
    "BCE with logits": Loss(r"-\left[y \log \sigma(z) + (1 - y) \log (1 - \sigma(z))\right]",
                            "F.binary_cross_entropy_with_logits(z, y, reduction='none')",
                            lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none")),
    "cross-entropy": Loss(r"-\log \mathrm{softmax}([0,\ z])_{y}",
                          "F.cross_entropy(torch.stack([torch.zeros_like(z), z], dim=1), y.long(), reduction='none')",
                          lambda z, y: F.cross_entropy(torch.stack([torch.zeros_like(z), z], dim=1), y.long(),
                                                       reduction="none")),
    "log_softmax + NLL": Loss(r"-\log \mathrm{softmax}([0,\ z])_{y}\ \text{(via log\_softmax, nll\_loss)}",
                              "F.nll_loss(F.log_softmax(torch.stack([torch.zeros_like(z), z], dim=1), dim=1), "
                              "y.long(), reduction='none')",
                              lambda z, y: F.nll_loss(F.log_softmax(torch.stack([torch.zeros_like(z), z], dim=1),
                                                                    dim=1), y.long(), reduction="none")),
}
PROBABILITY_LOSSES = ("sigmoid + MSE", "sigmoid + BCE")  # losses that take p itself, so dL/dp exists


@dataclass(frozen=True)
class ClassCurve:
    """A classification loss over the true class's logit z: value, dL/dz and (where the loss takes p) dL/dp."""

    z: torch.Tensor  # (n,)
    p: torch.Tensor  # (n,) sigmoid(z), the probability of the true class
    loss: torch.Tensor  # (n,)
    grad_z: torch.Tensor  # (n,) dL/dz from autograd
    grad_p: torch.Tensor | None  # (n,) dL/dp from autograd, for the losses that take p


def classification_losses(z_values, names: tuple[str, ...] = tuple(CLASSIFICATION_LOSSES)) -> dict[str, ClassCurve]:
    """Every classification loss at the given logits of the true class (label y = 1)."""
    result = {}
    for name in names:
        z = torch.as_tensor(z_values, dtype=torch.float32).reshape(-1).clone().requires_grad_(True)  # (n,)
        y = torch.ones_like(z)  # the true class
        loss = CLASSIFICATION_LOSSES[name].fn(z, y)
        (grad_z,) = torch.autograd.grad(loss.sum(), z)
        grad_p = None
        if name in PROBABILITY_LOSSES:
            p = torch.sigmoid(z.detach()).requires_grad_(True)  # p as its own leaf: dL/dp, not dL/dz
            loss_p = (0.5 * F.mse_loss(p, y, reduction="none") if name == "sigmoid + MSE"
                      else F.binary_cross_entropy(p, y, reduction="none"))
            (grad_p,) = torch.autograd.grad(loss_p.sum(), p)
        result[name] = ClassCurve(z.detach(), torch.sigmoid(z.detach()), loss.detach(), grad_z, grad_p)
    return result


def classification_loss_curves(lo: float = -10.0, hi: float = 10.0, n: int = 401) -> dict[str, ClassCurve]:
    """Every classification loss over a grid of logits of the true class."""
    return classification_losses(torch.linspace(lo, hi, n))


def classification_code(at: dict[str, ClassCurve], z0: float, lo: float, hi: float, n: int) -> str:
    """The code behind the classification curves on (lo, hi, n); it prints what `at`
    (= classification_losses([z0])) holds, at the grid point nearest z0."""
    calls = "\n".join(f'    "{name}": lambda z, y: {loss.code},'
                      for name, loss in CLASSIFICATION_LOSSES.items())
    p = at["sigmoid + MSE"].p[0]  # float32, as the code computes it
    mse_factor = printed("(p - y) * p * (1 - p):", ((p - 1) * p * (1 - p)).item())
    prints = "\n".join(
        f'print(f"{name}: loss = {{loss[\'{name}\'][i]:.4f}}, dL/dz = {{grads[\'{name}\'][i]:.6f}}")'
        f'  # {name}: loss = {float(c.loss[0]):.4f}, dL/dz = {float(c.grad_z[0]):.6f}'
        for name, c in at.items())
    return f'''
import torch
import torch.nn.functional as F

losses = {{
{calls}
}}
z = torch.linspace({num(lo)}, {num(hi)}, {n}, requires_grad=True)  # logits of the true class
y = torch.ones_like(z)  # the true label is 1; p = sigmoid(z) is the probability the model gives it
loss, grads = {{}}, {{}}
for name, loss_fn in losses.items():
    loss[name] = loss_fn(z, y)
    (grads[name],) = torch.autograd.grad(loss[name].sum(), z)  # dL/dz at every z
i = (z - {num(z0)}).abs().argmin()
print(f"z = {{z[i]:.2f}}, p = {{torch.sigmoid(z[i]):.4g}}")  # z = {z0:.2f}, p = {p:.4g}
{prints}
p = torch.sigmoid(z.detach())
# sigmoid + MSE: vanishes when p -> 0
print("(p - y) * p * (1 - p):", ((p - y) * p * (1 - p))[i].item())  # {mse_factor}
# cross-entropy: stays near -1 when confidently wrong
print("p - y:", (p - y)[i].item())  # {printed("p - y:", (p - 1).item())}
'''


@dataclass(frozen=True)
class CrossEntropyCheck:
    logits: torch.Tensor  # (C,)
    target: int
    probs: torch.Tensor  # (C,) softmax(logits)
    cross_entropy: float  # F.cross_entropy(logits, target)
    nll_of_log_softmax: float  # F.nll_loss(F.log_softmax(logits), target)
    minus_log_p: float  # -log(probs[target]), the definition
    grad: torch.Tensor  # (C,) dCE/dlogits from autograd
    p_minus_onehot: torch.Tensor  # (C,) softmax(logits) - onehot(target): the gradient by hand


def cross_entropy_check(logits: list[float], target: int) -> CrossEntropyCheck:
    """Cross-entropy three ways (F.cross_entropy, log_softmax + NLL, -log p) and its gradient p - onehot.

    Example: cross_entropy_check([2.0, 1.0, 0.1], 0).cross_entropy -> 0.417
    """
    z = torch.tensor([logits], dtype=torch.float32, requires_grad=True)  # (1, C): a batch of one sample
    t = torch.tensor([target])  # (1,)
    ce = F.cross_entropy(z, t)
    nll = F.nll_loss(F.log_softmax(z, dim=1), t)
    (grad,) = torch.autograd.grad(ce, z)
    probs = torch.softmax(z.detach(), dim=1)[0]  # (C,)
    onehot = F.one_hot(t, num_classes=z.shape[1])[0].float()  # (C,)
    return CrossEntropyCheck(z.detach()[0], target, probs, ce.item(), nll.item(), -torch.log(probs[target]).item(),
                             grad[0], probs - onehot)


def cross_entropy_code(check: CrossEntropyCheck) -> str:
    """The code behind `cross_entropy_check(logits, target)`, printing the three losses and the gradient."""
    values = floats(check.logits.tolist())
    target, classes = check.target, len(check.logits)
    losses = printed(check.cross_entropy, check.nll_of_log_softmax, check.minus_log_p)
    by_hand = printed(check.p_minus_onehot[None])  # (1, C), as the code computes it
    return f'''
import torch
import torch.nn.functional as F

logits = torch.tensor([[{values}]], requires_grad=True)  # (1, C): one sample, C classes
target = torch.tensor([{target}])
ce = F.cross_entropy(logits, target)
nll = F.nll_loss(F.log_softmax(logits, dim=1), target)  # the same number: cross_entropy = log_softmax + nll_loss
print(ce.item(), nll.item(), -torch.softmax(logits, dim=1)[0, {target}].log().item())  # {losses}
ce.backward()
print(logits.grad)  # {printed(check.grad[None])}
# it equals softmax(logits) - one_hot(target)
print(torch.softmax(logits.detach(), dim=1) - F.one_hot(target, {classes}))  # {by_hand}
'''
