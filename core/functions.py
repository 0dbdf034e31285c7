"""Functions and their gradients, every gradient computed by torch autograd.

Activations, losses, softmax, gradient descent in 1D, linear regression from scratch and backprop through a
tiny network. Each lesson's `*_code` function writes the PyTorch code that produced the result, with the
learner's values filled in, so the page can show exactly what ran.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SATURATION = 0.01  # |f'(x)| below this: the gradient barely moves the weights before it (a saturated unit)


def _num(value: float) -> str:
    """A number as it appears in generated code: short, and exact enough to reproduce the result."""
    return f"{float(value):.6g}"


# ---------------------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    latex: str
    code: str  # the torch call on x, with {slope} / {beta} filled in from the page
    fn: Callable[..., torch.Tensor]
    param: str | None = None  # "slope" (LeakyReLU) or "beta" (softplus)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(r"\sigma(x) = \frac{1}{1 + e^{-x}}", "torch.sigmoid(x)",
                          lambda x, **_: torch.sigmoid(x)),
    "tanh": Activation(r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}", "torch.tanh(x)",
                       lambda x, **_: torch.tanh(x)),
    "ReLU": Activation(r"\mathrm{ReLU}(x) = \max(0, x)", "F.relu(x)", lambda x, **_: F.relu(x)),
    "LeakyReLU": Activation(r"\mathrm{LeakyReLU}(x) = \max(0, x) + a \cdot \min(0, x)",
                            "F.leaky_relu(x, negative_slope={slope})",
                            lambda x, slope=0.01, **_: F.leaky_relu(x, negative_slope=slope), "slope"),
    "ELU": Activation(r"\mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ e^{x} - 1 & x \le 0 \end{cases}",
                      "F.elu(x)", lambda x, **_: F.elu(x)),
    "SELU": Activation(r"\mathrm{SELU}(x) = \lambda \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0"
                       r"\end{cases} \quad \lambda \approx 1.0507,\ \alpha \approx 1.6733",
                       "F.selu(x)", lambda x, **_: F.selu(x)),
    "softplus": Activation(r"\mathrm{softplus}(x) = \frac{1}{\beta} \log\left(1 + e^{\beta x}\right)",
                           "F.softplus(x, beta={beta})",
                           lambda x, beta=1.0, **_: F.softplus(x, beta=beta), "beta"),
    "GELU": Activation(r"\mathrm{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \mathrm{erf}(x / \sqrt{2})\right)",
                       "F.gelu(x)", lambda x, **_: F.gelu(x)),
    "SiLU": Activation(r"\mathrm{SiLU}(x) = x\,\sigma(x) = \frac{x}{1 + e^{-x}}", "F.silu(x)",
                       lambda x, **_: F.silu(x)),
}


@dataclass(frozen=True)
class Curve:
    """A function sampled on a grid, with its derivative from autograd."""

    x: torch.Tensor  # (n,)
    y: torch.Tensor  # (n,) f(x)
    grad: torch.Tensor  # (n,) f'(x)


def activation_curve(name: str, lo: float = -6.0, hi: float = 6.0, n: int = 401, *, slope: float = 0.01,
                     beta: float = 1.0, dtype: torch.dtype = torch.float32) -> Curve:
    """f(x) and f'(x) of one activation; f acts elementwise, so d(sum f)/dx_i is f'(x_i).

    Example: activation_curve("sigmoid").grad.max() -> 0.25 (at x = 0)
    """
    x = torch.linspace(lo, hi, n, dtype=dtype, requires_grad=True)  # (n,)
    y = ACTIVATIONS[name].fn(x, slope=slope, beta=beta)  # (n,)
    (grad,) = torch.autograd.grad(y.sum(), x)  # (n,)
    return Curve(x.detach(), y.detach(), grad)


def activation_curves(names: tuple[str, ...], lo: float, hi: float, n: int = 401, *, slope: float = 0.01,
                      beta: float = 1.0) -> dict[str, Curve]:
    """Several activations on the same grid."""
    return {name: activation_curve(name, lo, hi, n, slope=slope, beta=beta) for name in names}


def peak_gradient(curve: Curve) -> tuple[float, float]:
    """(x, f'(x)) where the derivative is largest: how strongly the unit can pass a gradient back."""
    i = int(torch.argmax(curve.grad))
    return float(curve.x[i]), float(curve.grad[i])


def saturation_zones(curve: Curve, threshold: float = SATURATION) -> list[tuple[float, float]]:
    """The intervals of x where |f'(x)| < threshold, as (start, end) pairs of grid points.

    Example: saturation_zones(activation_curve("sigmoid")) -> [(-6.0, -4.59), (4.59, 6.0)]
    """
    flat = (curve.grad.abs() < threshold).tolist()
    xs = curve.x.tolist()
    zones, start = [], None
    for i, is_flat in enumerate(flat):
        if is_flat and start is None:
            start = i
        if start is not None and (not is_flat or i == len(flat) - 1):
            end = i if is_flat else i - 1
            zones.append((xs[start], xs[end]))
            start = None
    return zones


def saturated_share(curve: Curve, threshold: float = SATURATION) -> float:
    """Fraction of the plotted range where |f'(x)| < threshold."""
    return float((curve.grad.abs() < threshold).float().mean())


def activation_code(names: tuple[str, ...], lo: float, hi: float, n: int = 401, *, slope: float = 0.01,
                    beta: float = 1.0) -> str:
    calls = "\n".join(f'    "{name}": lambda x: {ACTIVATIONS[name].code.format(slope=_num(slope), beta=_num(beta))},'
                      for name in names)
    return f'''
import torch
import torch.nn.functional as F

activations = {{
{calls}
}}
x = torch.linspace({_num(lo)}, {_num(hi)}, {n}, requires_grad=True)
for name, f in activations.items():
    y = f(x)
    # f acts elementwise, so the gradient of y.sum() with respect to x_i is f'(x_i)
    (dy,) = torch.autograd.grad(y.sum(), x)
    saturated = dy.abs() < {SATURATION}  # a unit here passes almost no gradient back
    i = dy.argmax()
    print(f"{{name}}: max f'(x) = {{dy[i]:.4f}} at x = {{x[i]:.2f}}, "
          f"saturated on {{saturated.float().mean():.0%}} of the range")
'''


# ---------------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------------


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


def regression_loss_code(names: tuple[str, ...], lo: float, hi: float, n: int, *, target: float,
                         delta: float) -> str:
    calls = "\n".join(f'    "{name}": {REGRESSION_LOSSES[name].code.format(delta=_num(delta))},' for name in names)
    return f'''
import torch
import torch.nn.functional as F

pred = torch.linspace({_num(lo)}, {_num(hi)}, {n}, requires_grad=True)  # many predictions y_hat at once
target = torch.full_like(pred, {_num(target)})
losses = {{
{calls}
}}
for name, loss in losses.items():
    # one loss per prediction, so the gradient of loss.sum() at pred_i is dL/dy_hat there
    (grad,) = torch.autograd.grad(loss.sum(), pred)
    print(name, "dL/dy_hat at y_hat =", pred[-1].item(), ":", grad[-1].item())
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


def classification_code(z0: float, lo: float, hi: float, n: int) -> str:
    calls = "\n".join(f'    "{name}": lambda z, y: {loss.code},' for name, loss in CLASSIFICATION_LOSSES.items())
    return f'''
import torch
import torch.nn.functional as F

losses = {{
{calls}
}}
z = torch.linspace({_num(lo)}, {_num(hi)}, {n}, requires_grad=True)  # logits of the true class
y = torch.ones_like(z)  # the true label is 1; p = sigmoid(z) is the probability the model gives it
for name, loss_fn in losses.items():
    loss = loss_fn(z, y)
    (grad,) = torch.autograd.grad(loss.sum(), z)  # dL/dz at every z
    i = (z - {_num(z0)}).abs().argmin()
    print(f"{{name:18}} z = {{z[i]:.2f}}  loss = {{loss[i]:.4f}}  dL/dz = {{grad[i]:.6f}}")
p = torch.sigmoid(z.detach())
print("(p - y) * p * (1 - p):", ((p - y) * p * (1 - p))[i].item())  # sigmoid + MSE: vanishes when p -> 0
print("p - y:                ", (p - y)[i].item())  # cross-entropy: stays near -1 when confidently wrong
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


def cross_entropy_code(logits: list[float], target: int) -> str:
    values = ", ".join(_num(v) for v in logits)
    return f'''
import torch
import torch.nn.functional as F

logits = torch.tensor([[{values}]], requires_grad=True)  # (1, C): one sample, C classes
target = torch.tensor([{target}])
ce = F.cross_entropy(logits, target)
nll = F.nll_loss(F.log_softmax(logits, dim=1), target)  # the same number: cross_entropy = log_softmax + nll_loss
print(ce.item(), nll.item(), -torch.softmax(logits, dim=1)[0, {target}].log().item())
ce.backward()
print(logits.grad)  # equals softmax(logits) - one_hot(target)
print(torch.softmax(logits, dim=1) - F.one_hot(target, {len(logits)}))
'''


# ---------------------------------------------------------------------------------------------------------
# Softmax
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftmaxJacobian:
    logits: torch.Tensor  # (C,)
    temperature: float
    probs: torch.Tensor  # (C,) softmax(logits / T)
    jacobian: torch.Tensor  # (C, C) d p_i / d z_j from torch.autograd.functional.jacobian
    formula: torch.Tensor  # (C, C) (diag(p) - p p^T) / T, the same matrix by hand


def softmax_jacobian(logits: list[float], temperature: float = 1.0) -> SoftmaxJacobian:
    """Probabilities at a temperature and their Jacobian with respect to the logits.

    Example: softmax_jacobian([0.0, 0.0]).jacobian -> [[0.25, -0.25], [-0.25, 0.25]]
    """
    z = torch.tensor(logits, dtype=torch.float32)  # (C,)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v / temperature, dim=0), z)  # (C, C)
    p = torch.softmax(z / temperature, dim=0)  # (C,)
    formula = (torch.diag(p) - torch.outer(p, p)) / temperature  # (C, C)
    return SoftmaxJacobian(z, temperature, p, jac, formula)


def softmax_code(logits: list[float], temperature: float) -> str:
    values = ", ".join(_num(v) for v in logits)
    return f'''
import torch

logits = torch.tensor([{values}])
T = {_num(temperature)}  # temperature: T > 1 flattens the distribution, T < 1 sharpens it
p = torch.softmax(logits / T, dim=0)
J = torch.autograd.functional.jacobian(lambda z: torch.softmax(z / T, dim=0), logits)  # J[i, j] = dp_i / dz_j
by_hand = (torch.diag(p) - torch.outer(p, p)) / T  # diagonal p_i (1 - p_i) / T, off-diagonal -p_i p_j / T
print(p)
print(J)
print((J - by_hand).abs().max())  # ~1e-8: autograd and the formula agree
'''


@dataclass(frozen=True)
class SoftmaxStability:
    logits: torch.Tensor  # (C,) the logits after adding the shift
    exp: torch.Tensor  # (C,) exp(logits): overflows to inf in float32 past ~88.7
    naive: torch.Tensor  # (C,) exp(z) / exp(z).sum()
    stable: torch.Tensor  # (C,) exp(z - max z) / sum: the log-sum-exp trick
    builtin: torch.Tensor  # (C,) torch.softmax
    naive_logsumexp: float  # log(exp(z).sum())
    logsumexp: float  # torch.logsumexp(z)

    @property
    def overflowed(self) -> bool:
        return not bool(torch.isfinite(self.naive).all())


def softmax_stability(logits: list[float], shift: float = 0.0) -> SoftmaxStability:
    """Softmax of logits + shift, naive and stable: the same maths, but exp overflows in float32.

    Example: softmax_stability([1.0, 2.0], shift=100).naive -> [nan, nan]; .stable -> [0.269, 0.731]
    """
    z = torch.tensor(logits, dtype=torch.float32) + shift  # (C,) softmax(z + c) = softmax(z) for any c
    e = torch.exp(z)
    naive = e / e.sum()
    stable_e = torch.exp(z - z.max())  # the largest term becomes exp(0) = 1: nothing can overflow
    stable = stable_e / stable_e.sum()
    return SoftmaxStability(z, e, naive, stable, torch.softmax(z, dim=0), torch.log(e.sum()).item(),
                            torch.logsumexp(z, dim=0).item())


def stability_code(logits: list[float], shift: float) -> str:
    values = ", ".join(_num(v) for v in logits)
    return f'''
import torch

z = torch.tensor([{values}]) + {_num(shift)}  # float32, like every model's logits
naive = torch.exp(z) / torch.exp(z).sum()  # exp(88.8) is already inf in float32 -> inf / inf = nan
stable = torch.exp(z - z.max()) / torch.exp(z - z.max()).sum()  # log-sum-exp trick: shift so max is 0
print(naive, stable, torch.softmax(z, dim=0))  # torch.softmax does the stable version for you
print(torch.exp(z).sum().log(), torch.logsumexp(z, dim=0))
'''


# ---------------------------------------------------------------------------------------------------------
# Gradient descent in 1D
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function1D:
    latex: str
    code: str  # a torch expression in x
    fn: Callable[[torch.Tensor], torch.Tensor]
    view: tuple[float, float]  # the x range drawn by default
    presets: tuple[tuple[str, float, float], ...] = ()  # (behaviour, x0, lr) that show it within 60 steps


FUNCTIONS_1D: dict[str, Function1D] = {
    "x^2 sin(x)": Function1D(r"f(x) = x^2 \sin(x)", "x**2 * torch.sin(x)", lambda x: x**2 * torch.sin(x),
                             (-6.0, 6.0), (("too small", 3.0, 0.002), ("just right", 3.0, 0.02),
                                           ("oscillating", 3.0, 0.06), ("diverging", 3.0, 0.4))),
    "x^2": Function1D(r"f(x) = x^2", "x**2", lambda x: x**2, (-3.0, 3.0),
                      (("too small", 2.0, 0.01), ("just right", 2.0, 0.2), ("oscillating", 2.0, 0.9),
                       ("diverging", 2.0, 1.1))),
    "x^4 - 3x^2 + x": Function1D(r"f(x) = x^4 - 3x^2 + x", "x**4 - 3 * x**2 + x",
                                 lambda x: x**4 - 3 * x**2 + x, (-2.2, 2.2),
                                 (("too small", 2.0, 0.002), ("just right", 2.0, 0.05),
                                  ("oscillating", 2.0, 0.15), ("diverging", 2.0, 0.2))),
    "sin(3x) + x^2/4": Function1D(r"f(x) = \sin(3x) + \frac{x^2}{4}", "torch.sin(3 * x) + x**2 / 4",
                                  lambda x: torch.sin(3 * x) + x**2 / 4, (-5.0, 5.0),
                                  (("too small", 2.5, 0.002), ("just right", 2.5, 0.05),
                                   ("oscillating", 2.5, 0.3), ("bouncing", 2.5, 1.0))),
}

DIVERGE_LIMIT = 1e4  # an iterate beyond |x| = 1e4 has left every curve we draw: call it diverged


@dataclass(frozen=True)
class Descent:
    """The iterates of gradient descent x_{k+1} = x_k - lr * f'(x_k), finite ones only."""

    xs: torch.Tensor  # (k+1,) x_0 .. x_k
    fs: torch.Tensor  # (k+1,) f(x_k)
    grads: torch.Tensor  # (k+1,) f'(x_k) from autograd
    lr: float
    status: str  # "converged", "oscillating", "diverged" or "moving"
    diverged_at: int | None  # the step whose iterate was not finite or beyond DIVERGE_LIMIT
    bad_value: float | None  # that iterate
    message: str


def function_curve(name: str, lo: float, hi: float, n: int = 600) -> Curve:
    """f and f' (autograd) of a 1D function on a grid."""
    x = torch.linspace(lo, hi, n, requires_grad=True)  # (n,)
    y = FUNCTIONS_1D[name].fn(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    return Curve(x.detach(), y.detach(), grad)


def gradient_descent_1d(name: str, x0: float, lr: float, steps: int, *, tol: float = 1e-6) -> Descent:
    """Run plain gradient descent on a 1D function; stop at the first non-finite or huge iterate.

    Example: gradient_descent_1d("x^2", 2.0, 0.1, 50).xs[-1] -> ~3e-5
    """
    f = FUNCTIONS_1D[name].fn
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)  # float64: "converged" means converged
    xs, fs, grads = [], [], []
    diverged_at, bad = None, None
    for step in range(steps + 1):
        y = f(x)
        (grad,) = torch.autograd.grad(y, x)
        xs.append(x.item())
        fs.append(y.item())
        grads.append(grad.item())
        if step == steps:
            break
        with torch.no_grad():
            x_next = x - lr * grad  # the whole algorithm
        if not torch.isfinite(x_next) or abs(x_next.item()) > DIVERGE_LIMIT or not torch.isfinite(grad):
            diverged_at, bad = step + 1, x_next.item()
            break
        x = x_next.requires_grad_(True)
    xs_t, fs_t, grads_t = (torch.tensor(v, dtype=torch.float64) for v in (xs, fs, grads))
    status, message = _judge(xs_t, fs_t, grads_t, lr, diverged_at, bad, tol)
    return Descent(xs_t, fs_t, grads_t, lr, status, diverged_at, bad, message)


def _judge(xs, fs, grads, lr, diverged_at, bad, tol) -> tuple[str, str]:
    if diverged_at is not None:
        k = diverged_at - 1
        jump = lr * abs(grads[k].item())
        return "diverged", (
            f"Diverged at step {diverged_at}: x went from {xs[k].item():.4g} to {bad:.4g}. The step "
            f"lr · |f'(x)| = {lr:g} · {abs(grads[k].item()):.4g} = {jump:.4g} is far larger than the distance to "
            "any minimum, so every step overshoots further and the gradient grows. Lower the learning rate.")
    moves = torch.diff(xs)  # (k,)
    if len(moves) < 2:
        return "moving", "Take more steps to see where x goes."
    flips = int(((moves[1:] * moves[:-1]) < 0).sum())
    zigzag = flips >= 0.5 * (len(moves) - 1)
    late = torch.diff(fs)[len(moves) // 2:]  # how f changed over the second half of the run
    rises = int((late > 1e-12).sum())
    if abs(grads[-1].item()) < tol or abs(moves[-1].item()) < tol * 1e-3:
        if zigzag:
            return "converged", (f"Converged to x = {xs[-1].item():.4f}, but zig-zagging across the minimum on "
                                 f"{flips} of {len(moves) - 1} steps: lr = {lr:g} is on the large side.")
        return "converged", f"Converged to x = {xs[-1].item():.4f}, where f'(x) = {grads[-1].item():.2g}."
    steady = flips >= 0.8 * (len(moves) - 1)  # a clean back-and-forth, not chaos
    if steady and abs(moves[-1].item()) > 1.5 * abs(moves[len(moves) // 2].item()):
        return "oscillating", (
            f"Oscillating and growing: x jumps across the minimum on {flips} of {len(moves) - 1} steps and each "
            "jump is longer than the last. lr is above 2 / f''(x) at the minimum: more steps will diverge.")
    if steady:
        return "oscillating", (
            f"Oscillating: x jumps across the minimum on {flips} of {len(moves) - 1} steps. Each step "
            "lr · f'(x) overshoots the minimum; the jumps shrink only while lr < 2 / f''(x) at the minimum.")
    if rises or zigzag:
        return "oscillating", (
            f"Not settling: f(x) went up on {rises} of the last {len(late)} steps. x bounces between the hills, "
            "because lr is too large for how sharply this curve bends.")
    return "moving", (f"Still moving after {len(moves)} steps (x = {xs[-1].item():.4f}, f'(x) = "
                      f"{grads[-1].item():.3g}): a larger learning rate or more steps would get further.")


def gradient_descent_code(name: str, x0: float, lr: float, steps: int) -> str:
    return f'''
import torch

def f(x):
    return {FUNCTIONS_1D[name].code}

x = torch.tensor({_num(x0)}, dtype=torch.float64, requires_grad=True)
lr = {_num(lr)}
xs = [x.item()]
for step in range({steps}):
    (grad,) = torch.autograd.grad(f(x), x)  # f'(x) by autograd
    with torch.no_grad():
        x_next = x - lr * grad  # gradient descent: step downhill, by lr times the slope
    if not torch.isfinite(x_next) or x_next.abs() > {DIVERGE_LIMIT:g}:
        print(f"diverged at step {{step + 1}}: lr * |f'(x)| = {{lr * grad.abs():.3g}}")
        break
    x = x_next.requires_grad_(True)
    xs.append(x.item())
print(xs[-1], f(x).item())
'''


# ---------------------------------------------------------------------------------------------------------
# Linear regression from scratch
# ---------------------------------------------------------------------------------------------------------


def make_line(n: int = 50, w: float = 2.0, b: float = -1.0, noise: float = 0.5, seed: int = 0):
    """Noisy points y = w x + b + noise * eps, x uniform in [-2, 2]; the same seed gives the same points."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=g) * 4 - 2  # (n,)
    y = w * x + b + noise * torch.randn(n, generator=g)  # (n,)
    return x, y


@dataclass(frozen=True)
class Fit:
    path: torch.Tensor  # (k+1, 2): (w, b) before each epoch and after the last
    losses: torch.Tensor  # (k+1,) the MSE at each point of the path
    diverged_at: int | None  # first epoch whose loss was not finite or BLOWUP times the first loss, if any

    @property
    def w(self) -> float:
        return self.path[-1, 0].item()

    @property
    def b(self) -> float:
        return self.path[-1, 1].item()


def _finite(value: float) -> bool:
    return value == value and abs(value) < 1e12  # not nan, not inf, not exploding


BLOWUP = 1e3  # gradient descent on a quadratic never raises the loss: 1000x the starting loss means divergence


def _diverging(loss: float, first: float | None) -> bool:
    return not _finite(loss) or (first is not None and loss > BLOWUP * max(first, 1e-12))


def fit_by_hand(x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, w0: float = 0.0,
                b0: float = 0.0) -> Fit:
    """Gradient descent on the MSE with the gradient derived by hand: dL/dw = 2 mean((y_hat - y) x)."""
    w, b = torch.tensor(w0), torch.tensor(b0)
    path, losses, diverged_at = [], [], None
    for epoch in range(epochs + 1):
        y_hat = w * x + b  # (n,)
        loss = ((y_hat - y) ** 2).mean()
        if _diverging(loss.item(), losses[0] if losses else None):
            diverged_at = epoch
            break
        path.append((w.item(), b.item()))
        losses.append(loss.item())
        if epoch == epochs:
            break
        dw = 2 * ((y_hat - y) * x).mean()  # dL/dw
        db = 2 * (y_hat - y).mean()  # dL/db
        w, b = w - lr * dw, b - lr * db
    return Fit(torch.tensor(path), torch.tensor(losses), diverged_at)


def fit_by_autograd(x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, momentum: float = 0.0,
                    w0: float = 0.0, b0: float = 0.0) -> Fit:
    """The same fit with loss.backward() and torch.optim.SGD: no derivative written by hand."""
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr, momentum=momentum)
    path, losses, diverged_at = [], [], None
    for epoch in range(epochs + 1):
        optimizer.zero_grad()
        loss = F.mse_loss(w * x + b, y)
        if _diverging(loss.item(), losses[0] if losses else None):
            diverged_at = epoch
            break
        path.append((w.item(), b.item()))
        losses.append(loss.item())
        if epoch == epochs:
            break
        loss.backward()
        optimizer.step()
    return Fit(torch.tensor(path), torch.tensor(losses), diverged_at)


def least_squares(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The exact minimiser of the MSE, (w, b), by torch.linalg.lstsq: what both fits should reach."""
    a = torch.stack([x, torch.ones_like(x)], dim=1).double()  # (n, 2)
    solution = torch.linalg.lstsq(a, y.double().unsqueeze(1)).solution  # (2, 1)
    return solution[0, 0].item(), solution[1, 0].item()


def loss_surface(x: torch.Tensor, y: torch.Tensor, w_range: tuple[float, float], b_range: tuple[float, float],
                 n: int = 60) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The MSE on an n x n grid of (w, b): returns (ws, bs, loss[b, w]).

    mean((w x + b - y)^2) expands into a quadratic in (w, b) whose coefficients are means over the data,
    so the grid costs O(n^2), not O(n^2 * points).
    """
    ws = torch.linspace(*w_range, n, dtype=torch.float64)  # (n,)
    bs = torch.linspace(*b_range, n, dtype=torch.float64)  # (n,)
    x, y = x.double(), y.double()
    xx, x1, xy, y1, yy = (x * x).mean(), x.mean(), (x * y).mean(), y.mean(), (y * y).mean()
    w, b = ws[None, :], bs[:, None]  # broadcast to (n_b, n_w)
    surface = w**2 * xx + 2 * w * b * x1 + b**2 - 2 * w * xy - 2 * b * y1 + yy
    return ws.float(), bs.float(), surface.clamp_min(0).float()  # clamp: rounding can dip below 0 at the minimum


def regression_code(n: int, w: float, b: float, noise: float, seed: int, lr: float, epochs: int,
                    momentum: float) -> tuple[str, str]:
    """(hand-derived loop, autograd + torch.optim loop), sharing the data code."""
    data = f'''
import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed({seed})  # same seed, same points
x = torch.rand({n}, generator=g) * 4 - 2
y = {_num(w)} * x + {_num(b)} + {_num(noise)} * torch.randn({n}, generator=g)
'''
    by_hand = data + f'''
w, b = torch.tensor(0.0), torch.tensor(0.0)
first = ((b - y) ** 2).mean()  # the loss at the start, w = b = 0
for epoch in range({epochs}):
    y_hat = w * x + b
    loss = ((y_hat - y) ** 2).mean()
    if not loss < {BLOWUP:g} * first:  # diverged: stop before the numbers turn into inf and nan
        break
    dw = 2 * ((y_hat - y) * x).mean()  # dL/dw, derived by hand
    db = 2 * (y_hat - y).mean()  # dL/db
    w, b = w - {_num(lr)} * dw, b - {_num(lr)} * db
print(w.item(), b.item())
'''
    by_autograd = data + f'''
w = torch.tensor(0.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
optimizer = torch.optim.SGD([w, b], lr={_num(lr)}, momentum={_num(momentum)})
first = F.mse_loss(w * x + b, y).item()
for epoch in range({epochs}):
    optimizer.zero_grad()
    loss = F.mse_loss(w * x + b, y)
    if not loss < {BLOWUP:g} * first:  # diverged
        break
    loss.backward()  # autograd fills w.grad and b.grad
    optimizer.step()
print(w.item(), b.item())
print(torch.linalg.lstsq(torch.stack([x, torch.ones_like(x)], 1), y[:, None]).solution)  # exact answer
'''
    return by_hand, by_autograd


# ---------------------------------------------------------------------------------------------------------
# Chain rule and backprop through a tiny network
# ---------------------------------------------------------------------------------------------------------

# activation, and its derivative written in terms of (z, a = act(z)) for the chain rule by hand
HIDDEN_ACTIVATIONS: dict[str, tuple[str, Callable, Callable]] = {
    "tanh": ("torch.tanh", torch.tanh, lambda z, a: 1 - a**2),
    "sigmoid": ("torch.sigmoid", torch.sigmoid, lambda z, a: a * (1 - a)),
    "ReLU": ("torch.relu", torch.relu, lambda z, a: (z > 0).to(z.dtype)),
}
PARAM_NAMES = ("W1", "b1", "W2", "b2")


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


def backprop_code(x: tuple[float, float], y: float, seed: int, activation: str) -> str:
    act_code = HIDDEN_ACTIVATIONS[activation][0]
    derivative = {"tanh": "1 - h**2", "sigmoid": "h * (1 - h)", "ReLU": "(z1 > 0).float()"}[activation]
    return f'''
import torch

g = torch.Generator().manual_seed({seed})
W1 = torch.randn(3, 2, generator=g).requires_grad_()
b1 = (torch.randn(3, generator=g) * 0.5).requires_grad_()
W2 = torch.randn(1, 3, generator=g).requires_grad_()
b2 = (torch.randn(1, generator=g) * 0.5).requires_grad_()
x, y = torch.tensor([{_num(x[0])}, {_num(x[1])}]), torch.tensor([{_num(y)}])  # data: no requires_grad

z1 = W1 @ x + b1        # forward
h = {act_code}(z1)
y_hat = W2 @ h + b2
loss = ((y_hat - y) ** 2).sum()
loss.backward()         # autograd fills W1.grad, b1.grad, W2.grad, b2.grad

with torch.no_grad():   # the chain rule by hand, from the loss backwards
    d_yhat = 2 * (y_hat - y)
    d_W2 = torch.outer(d_yhat, h)
    d_h = W2.T @ d_yhat
    d_z1 = d_h * ({derivative})  # derivative of {activation}
    d_W1 = torch.outer(d_z1, x)
print(torch.allclose(d_W1, W1.grad), torch.allclose(d_W2, W2.grad), torch.allclose(d_z1, b1.grad))
'''


def zero_grad_code(x: tuple[float, float], y: float, seed: int, activation: str, lr: float, steps: int,
                   zero_grad: bool) -> str:
    act_code = HIDDEN_ACTIVATIONS[activation][0]
    zero = "optimizer.zero_grad()  # forget this and .grad keeps summing" if zero_grad else \
        "# optimizer.zero_grad()  <- forgotten: .grad is now the sum of every gradient so far"
    return f'''
import torch

g = torch.Generator().manual_seed({seed})
params = [torch.randn(3, 2, generator=g), torch.randn(3, generator=g) * 0.5,
          torch.randn(1, 3, generator=g), torch.randn(1, generator=g) * 0.5]
W1, b1, W2, b2 = [p.requires_grad_() for p in params]
x, y = torch.tensor([{_num(x[0])}, {_num(x[1])}]), torch.tensor([{_num(y)}])
optimizer = torch.optim.SGD([W1, b1, W2, b2], lr={_num(lr)})
for step in range({steps}):
    {zero}
    loss = ((W2 @ {act_code}(W1 @ x + b1) + b2 - y) ** 2).sum()
    if not loss < 1e12:  # blew up: stop before inf and nan
        break
    loss.backward()
    optimizer.step()
    print(step, loss.item(), W2.grad)
'''
