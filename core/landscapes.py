"""Functions of two variables for the Optimization lessons: the named landscapes, a learner's formula, and where a
point stands on a landscape (near which minimum, how steep)."""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.expr import Formula, compile_formula

REACH_TOL = 1e-2  # a path "reached" a minimum when it ends this close to it
STATIONARY_GRAD = 1e-2  # a gradient norm below this counts as a stationary point


@dataclass(frozen=True)
class Landscape:
    """A function of two variables with its plotting box and its known minima."""

    name: str
    formula: str  # in core.expr's safe formula language, compiled to torch
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[tuple[float, float], ...] = ()
    start: tuple[float, float] = (0.0, 0.0)
    note: str = ""
    known: bool = True  # False for a learner's formula: its minima are unknown
    lrs: tuple[tuple[str, float], ...] = ()  # learning rates that show this landscape well, per optimizer

    @property
    def f(self) -> Formula:
        return formula(self.formula)

    @property
    def bound(self) -> float:
        """A path whose |x| or |y| passes this has left the landscape for good: it diverged."""
        return 100.0 * max(abs(v) for v in (*self.xlim, *self.ylim))


@functools.lru_cache(maxsize=256)
def formula(text: str) -> Formula:
    """core.expr.compile_formula, cached (raises InputError for text outside the whitelist)."""
    return compile_formula(text)


HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))

LANDSCAPES: dict[str, Landscape] = {
    "Himmelblau": Landscape(
        "Himmelblau", "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", (-5.0, 5.0), (-5.0, 5.0), HIMMELBLAU_MINIMA,
        note="Four minima of equal depth (f = 0): the start decides which one you find.",
        lrs=(("SGD", 1e-3), ("SGD+momentum", 1e-3), ("Nesterov", 1e-3), ("Adagrad", 0.5), ("RMSprop", 0.02),
             ("Adam", 0.1), ("AdamW", 0.1))),
    "Rosenbrock": Landscape(
        "Rosenbrock", "(1 - x)**2 + 100*(y - x**2)**2", (-2.0, 2.0), (-1.0, 3.0), ((1.0, 1.0),), (-1.5, 2.0),
        note="A curved valley with a flat floor: reaching the valley is easy, following it to (1, 1) is slow.",
        lrs=(("SGD", 1e-3), ("SGD+momentum", 1e-3), ("Nesterov", 1e-3), ("Adagrad", 0.5), ("RMSprop", 0.01),
             ("Adam", 0.05), ("AdamW", 0.05))),
    "Beale": Landscape(
        "Beale", "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2", (-4.5, 4.5),
        (-4.5, 4.5), ((3.0, 0.5),), (1.0, 1.5),
        note="Flat plateaus and steep walls: the gradient is tiny in one place and huge in another.",
        lrs=(("SGD", 1e-3), ("SGD+momentum", 1e-3), ("Nesterov", 1e-3), ("Adagrad", 0.5), ("RMSprop", 0.01),
             ("Adam", 0.05), ("AdamW", 0.05))),
    "Booth": Landscape(
        "Booth", "(x + 2*y - 7)**2 + (2*x + y - 5)**2", (-10.0, 10.0), (-10.0, 10.0), ((1.0, 3.0),), (-8.0, -8.0),
        note="A tilted bowl (a quadratic) with one minimum at (1, 3).",
        lrs=(("SGD", 0.01), ("SGD+momentum", 0.01), ("Nesterov", 0.01), ("Adagrad", 2.0), ("RMSprop", 0.1),
             ("Adam", 0.5), ("AdamW", 0.5))),
    "Saddle": Landscape(
        "Saddle", "x**2 - y**2", (-2.0, 2.0), (-2.0, 2.0), (), (1.5, 0.05),
        note="x² − y² has no minimum: paths are drawn to the saddle at (0, 0), then slide away along y.",
        lrs=(("SGD", 0.01), ("SGD+momentum", 0.01), ("Nesterov", 0.01), ("Adagrad", 0.2), ("RMSprop", 0.01),
             ("Adam", 0.02), ("AdamW", 0.02))),
    "Rastrigin": Landscape(
        "Rastrigin", "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)", (-5.12, 5.12), (-5.12, 5.12),
        ((0.0, 0.0),), (2.2, 2.6),
        note="A grid of local minima; only (0, 0) is global. Gradient descent stops in the nearest dip.",
        lrs=(("SGD", 1e-3), ("SGD+momentum", 1e-3), ("Nesterov", 1e-3), ("Adagrad", 0.5), ("RMSprop", 0.01),
             ("Adam", 0.05), ("AdamW", 0.05))),
    "Narrow valley": Landscape(
        "Narrow valley", "0.05*x**2 + 6*y**2", (-10.0, 10.0), (-4.0, 4.0), ((0.0, 0.0),), (-9.0, 3.0),
        note="Steep across, shallow along: plain SGD zig-zags and crawls, momentum builds up speed along it.",
        lrs=(("SGD", 0.15), ("SGD+momentum", 0.15), ("Nesterov", 0.1), ("Adagrad", 2.0), ("RMSprop", 0.1),
             ("Adam", 0.5), ("AdamW", 0.5))),
}
CUSTOM = "Your formula"
CUSTOM_LRS = (("SGD", 0.05), ("SGD+momentum", 0.05), ("Nesterov", 0.05), ("Adagrad", 0.5), ("RMSprop", 0.02),
              ("Adam", 0.1), ("AdamW", 0.1))  # a start for a formula nobody has looked at yet


def custom_landscape(text: str, half_width: float = 5.0) -> Landscape:
    """A learner's formula on the box [-half_width, half_width]²; raises InputError if the formula is refused."""
    formula(text)  # refuse bad text now, with the parser's message
    box = (-float(half_width), float(half_width))
    return Landscape(CUSTOM, text, box, box, (), (0.0, 0.0), known=False, lrs=CUSTOM_LRS)


def grid_values(f: Callable, xlim: Sequence[float], ylim: Sequence[float], n: int) -> tuple[np.ndarray, ...]:
    """f on an n x n grid for contour plots: xs (n,), ys (n,), z (n, n) with z[i, j] = f(xs[j], ys[i])."""
    xs = torch.linspace(float(xlim[0]), float(xlim[1]), n, dtype=torch.float64)
    ys = torch.linspace(float(ylim[0]), float(ylim[1]), n, dtype=torch.float64)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    with torch.no_grad():
        z = torch.as_tensor(f(grid_x, grid_y), dtype=torch.float64).expand(n, n)
    return xs.numpy(), ys.numpy(), z.numpy().copy()


def gradient_norm(f: Callable, points: np.ndarray) -> np.ndarray:
    """|∇f| at each point of an (N, 2) array, by autograd (float32)."""
    p = torch.tensor(np.asarray(points, dtype=np.float32).reshape(-1, 2), requires_grad=True)
    (g,) = torch.autograd.grad(f(p[:, 0], p[:, 1]).sum(), p)
    return g.norm(dim=1).double().numpy()


def nearest_minimum(points: np.ndarray, minima: Sequence[tuple[float, float]], tol: float = REACH_TOL) -> np.ndarray:
    """For each point of an (N, 2) array, the index of the minimum within `tol` of it, or -1."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not len(minima):
        return np.full(len(points), -1)
    dist = np.linalg.norm(points[:, None, :] - np.asarray(minima)[None], axis=2)  # (N, M)
    dist = np.where(np.isfinite(dist), dist, np.inf)
    index = dist.argmin(1)
    return np.where(dist[np.arange(len(points)), index] <= tol, index, -1)


def point_label(p: Sequence[float]) -> str:
    """Example: point_label((3.0, -1.848126)) -> '(3, -1.848)'."""
    return f"({_short(p[0])}, {_short(p[1])})"


def f_code(landscape: Landscape) -> str:
    """The landscape as the Python function the code panels define. Example: 'def f(x, y):  # Booth ...'."""
    return f"def f(x, y):  # {landscape.name}\n    return {landscape.f.code}"


def script_head(landscape: Landscape) -> list[str]:
    """The first lines of every panel on a landscape: the imports and f itself."""
    return ["import math", "", "import torch", "", "", f_code(landscape), "", ""]


def _short(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
