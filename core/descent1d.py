"""Gradient descent in 1D: x <- x - lr * f'(x) with f'(x) from autograd, and what the iterates did.

`gradient_descent_code` writes the PyTorch loop behind a run, with the numbers the page shows as its expected
output.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from core.curves import Curve, num, printed


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


def gradient_descent_code(name: str, x0: float, steps: int, result: Descent) -> str:
    """The loop behind `gradient_descent_1d(name, x0, result.lr, steps)`, printing where it ended (or where it
    diverged)."""
    diverged = ""
    if result.diverged_at is not None:
        jump = result.lr * abs(result.grads[-1].item())
        diverged = f"  # diverged at step {result.diverged_at}: lr * |f'(x)| = {jump:.3g}"
    return f'''
import torch

def f(x):
    return {FUNCTIONS_1D[name].code}

x = torch.tensor({num(x0)}, dtype=torch.float64, requires_grad=True)
lr = {num(result.lr)}
xs = [x.item()]
for step in range({steps}):
    (grad,) = torch.autograd.grad(f(x), x)  # f'(x) by autograd
    with torch.no_grad():
        x_next = x - lr * grad  # gradient descent: step downhill, by lr times the slope
    if not torch.isfinite(x_next) or x_next.abs() > {DIVERGE_LIMIT:g}:
        print(f"diverged at step {{step + 1}}: lr * |f'(x)| = {{lr * grad.abs():.3g}}"){diverged}
        break
    x = x_next.requires_grad_(True)
    xs.append(x.item())
print(xs[-1], f(x).item())  # {printed(result.xs[-1].item(), result.fs[-1].item())}
'''
