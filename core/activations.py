"""Activations and their derivatives, every derivative computed by torch autograd.

`activation_code` writes the PyTorch code behind the lesson's curves, with the learner's values filled in and
the numbers the page shows as the expected output of its print lines.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.curves import Curve, num, printed

SATURATION = 0.01  # |f'(x)| below this: the gradient barely moves the weights before it (a saturated unit)


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


def summary(name: str, curve: Curve) -> str:
    """The line the code panel prints for one activation: its peak gradient and saturated share."""
    x, grad = peak_gradient(curve)
    return printed(f"{name}: max f'(x) = {grad:.4f} at x = {x:.2f}, "
                   f"saturated on {saturated_share(curve):.0%} of the range")


def activation_code(curves: dict[str, Curve], lo: float, hi: float, *, slope: float = 0.01,
                    beta: float = 1.0) -> str:
    """The code behind `activation_curves(tuple(curves), lo, hi, n, slope=slope, beta=beta)`, printing what
    the page shows for each activation."""
    n = len(next(iter(curves.values())).x)
    calls = "\n".join(f'    "{name}": lambda x: {ACTIVATIONS[name].code.format(slope=num(slope), beta=num(beta))},'
                      for name in curves)
    prints = "\n".join(f'print(summary("{name}"))  # {summary(name, curve)}'
                        for name, curve in curves.items())
    return f'''
import torch
import torch.nn.functional as F

activations = {{
{calls}
}}
x = torch.linspace({num(lo)}, {num(hi)}, {n}, requires_grad=True)
ys, grads = {{}}, {{}}
for name, f in activations.items():
    ys[name] = f(x)
    # f acts elementwise, so the gradient of y.sum() with respect to x_i is f'(x_i)
    (grads[name],) = torch.autograd.grad(ys[name].sum(), x)


def summary(name):
    dy = grads[name]
    saturated = dy.abs() < {SATURATION}  # a unit here passes almost no gradient back
    i = dy.argmax()
    return (f"{{name}}: max f'(x) = {{dy[i]:.4f}} at x = {{x[i]:.2f}}, "
            f"saturated on {{saturated.float().mean():.0%}} of the range")


{prints}
'''
