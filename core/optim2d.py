"""The real torch.optim optimizers on 2D landscapes: trajectories, what they reach, and basin maps.

Every path comes from a `torch.optim` optimizer stepping a 2-element tensor (x, y), exactly as in the
code `lab_code` prints. Two tricks keep it fast without changing a single bit of the result:
- runs of several optimizers share one forward/backward pass: each optimizer owns one row of a (k, 2)
  tensor, and the rows never mix (the loss is a sum of per-row terms), so each row gets its own gradient;
- a basin map puts all N starts into the rows of one optimizer's parameters ((N, 2) in blocks of 1024 rows):
  SGD, Adagrad, RMSprop, Adam and AdamW update every element on its own, so row i follows the same path as a
  run started alone at row i.
tests/test_optim2d.py checks both claims against plain one-optimizer loops.
"""

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from core.expr import Formula, compile_formula
from core.parsing import InputError

REACH_TOL = 1e-2  # a path "reached" a minimum when it ends this close to it
SETTLE_TOL = 1e-3  # "steps to within 1e-3": the step after which the path stays this close to its minimum
STATIONARY_GRAD = 1e-2  # a gradient norm below this counts as a stationary point
MAX_STEPS = 20_000
MAX_GRID = 80
BLOCK_ROWS = 1024  # basin maps split their starts into parameters of at most this many rows (see basin_map)


# ---------------------------------------------------------------- landscapes


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


# ---------------------------------------------------------------- optimizers


@dataclass(frozen=True)
class OptimizerKind:
    name: str  # as the page lists it
    cls: str  # the torch.optim class
    settings: tuple[str, ...]  # which RunConfig fields it takes
    lr: float  # default learning rate
    momentum: float = 0.0
    nesterov: bool = False


OPTIMIZERS: dict[str, OptimizerKind] = {k.name: k for k in (
    OptimizerKind("SGD", "SGD", ("lr", "momentum", "nesterov"), 1e-3),
    OptimizerKind("SGD+momentum", "SGD", ("lr", "momentum", "nesterov"), 1e-3, momentum=0.78),
    OptimizerKind("Nesterov", "SGD", ("lr", "momentum", "nesterov"), 1e-3, momentum=0.78, nesterov=True),
    OptimizerKind("Adagrad", "Adagrad", ("lr",), 0.5),
    OptimizerKind("RMSprop", "RMSprop", ("lr", "momentum"), 0.02),
    OptimizerKind("Adam", "Adam", ("lr", "beta1"), 0.1),
    OptimizerKind("AdamW", "AdamW", ("lr", "beta1", "weight_decay"), 0.1),
)}


@dataclass(frozen=True)
class RunConfig:
    """One optimizer with its settings. Example: RunConfig("SGD+momentum", lr=1e-3, momentum=0.78)."""

    optimizer: str = "SGD"  # a key of OPTIMIZERS
    lr: float = 1e-3
    momentum: float = 0.0  # SGD kinds and RMSprop
    nesterov: bool = False  # SGD kinds: look ahead along the momentum before taking the gradient
    beta1: float = 0.9  # Adam, AdamW: the momentum of the gradient average (beta2 stays at 0.999)
    weight_decay: float = 0.01  # AdamW: decoupled weight decay (torch's default)

    @property
    def kind(self) -> OptimizerKind:
        return OPTIMIZERS[self.optimizer]

    def kwargs(self) -> dict:
        """The keyword arguments of the torch.optim class; torch's defaults are left out."""
        kw: dict = {"lr": self.lr}
        takes = self.kind.settings
        if "momentum" in takes and self.momentum:
            kw["momentum"] = self.momentum
        if "nesterov" in takes and self.nesterov:
            kw["nesterov"] = True
        if "beta1" in takes and self.beta1 != 0.9:
            kw["betas"] = (self.beta1, 0.999)
        if "weight_decay" in takes and self.weight_decay != 0.01:
            kw["weight_decay"] = self.weight_decay
        return kw

    def describe(self) -> str:
        """Example: 'lr=0.001, momentum=0.78'."""
        return ", ".join(f"{k}={_fmt(v)}" for k, v in self.kwargs().items())

    def constructor(self, params: str = "params") -> str:
        """The torch code that builds this optimizer. Example: 'torch.optim.SGD(params, lr=0.001)'."""
        args = "".join(f", {k}={_fmt(v)}" for k, v in self.kwargs().items())
        return f"torch.optim.{self.kind.cls}({params}{args})"


def default_config(name: str, landscape: Landscape | None = None) -> RunConfig:
    """An optimizer's default settings, with the learning rate suited to `landscape` when it has one."""
    kind = OPTIMIZERS[name]
    lr = dict(landscape.lrs).get(name, kind.lr) if landscape else kind.lr
    return RunConfig(name, lr=lr, momentum=kind.momentum, nesterov=kind.nesterov)


@dataclass(frozen=True)
class Schedule:
    """An optional learning-rate schedule, the same for every optimizer of a run."""

    kind: str = "none"  # "none", "step" (StepLR) or "cosine" (CosineAnnealingLR over all steps)
    step_size: int = 100  # StepLR: multiply the lr by gamma every step_size steps
    gamma: float = 0.5

    def constructor(self, steps: int, optimizer: str = "optimizer") -> str | None:
        if self.kind == "step":
            return f"torch.optim.lr_scheduler.StepLR({optimizer}, step_size={self.step_size}, gamma={_fmt(self.gamma)})"
        if self.kind == "cosine":
            return f"torch.optim.lr_scheduler.CosineAnnealingLR({optimizer}, T_max={steps})"
        return None


def make_optimizer(config: RunConfig, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """Build the torch.optim optimizer; torch's own ValueError (e.g. Nesterov without momentum) becomes an
    InputError naming the optimizer."""
    try:
        return getattr(torch.optim, config.kind.cls)(params, **config.kwargs())
    except ValueError as exc:
        raise InputError(f"{config.optimizer} ({config.describe()}): torch.optim refuses these settings: {exc}") from None


def make_scheduler(schedule: Schedule, optimizer: torch.optim.Optimizer, steps: int):
    if schedule.kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=schedule.step_size, gamma=schedule.gamma)
    if schedule.kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return None


def _bare_step(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
    """optimizer.step without the profiler/hook wrapper torch puts around it (call it under torch.no_grad()).

    It runs the class's own step code, so the arithmetic is the same bit for bit (tested), and it saves
    ~35% of the time a step takes on a 2-element tensor, where that wrapper costs more than the maths.
    `foreach` is fixed to False, the implementation torch picks for CPU tensors, so that torch does not
    pick it again at every step.
    """
    for group in optimizer.param_groups:
        if group.get("foreach") is None:
            group["foreach"] = False
    return functools.partial(inspect.unwrap(type(optimizer).step), optimizer)


# ---------------------------------------------------------------- trajectories


_ENGINE = getattr(getattr(torch.autograd, "Variable", None), "_execution_engine", None)


def _gradients(out: torch.Tensor, inputs: tuple[torch.Tensor, ...], grad_out: torch.Tensor) -> tuple:
    """torch.autograd.grad(out, inputs, grad_out), straight from the autograd engine (what torch.autograd.grad
    calls after checking its arguments, which costs more than the backward pass of a tiny graph). An input
    that `out` does not depend on gets a zero gradient."""
    if _ENGINE is not None:
        grads = _ENGINE.run_backward((out,), (grad_out,), False, False, inputs, True, False)
    else:
        grads = torch.autograd.grad(out, inputs, grad_out, allow_unused=True)
    return tuple(torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True))


@dataclass
class Trajectory:
    """One optimizer's path: the start, then the point after each step, cut where it diverged."""

    config: RunConfig
    points: np.ndarray  # (n + 1, 2) float64, all finite
    losses: np.ndarray  # (n + 1,) f at each point, all finite
    diverged_at: int | None = None  # the step whose result was not finite or left the landscape
    reason: str = ""  # why it diverged, for the learner
    lrs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the lr used at each step

    @property
    def final(self) -> np.ndarray:
        return self.points[-1]

    @property
    def steps(self) -> int:
        return len(self.points) - 1


def run(f: Callable, start: Sequence[float], configs: Sequence[RunConfig], steps: int, *,
        schedule: Schedule = Schedule(), bound: float = 1e6) -> list[Trajectory]:
    """Run each optimizer from `start` for `steps` steps of torch.optim on f(x, y); float32, like torch's default.

    Example: run(LANDSCAPES["Himmelblau"].f, (0, 0), [RunConfig("SGD", lr=1e-3)], 500)[0].final -> ~[3, 2]
    """
    if not 1 <= steps <= MAX_STEPS:
        raise InputError(f"Steps must be between 1 and {MAX_STEPS:,}.")
    if not configs:
        return []
    start = [float(start[0]), float(start[1])]
    if not all(math.isfinite(v) and abs(v) <= bound for v in start):
        raise InputError(f"The start point must lie within the landscape (|x|, |y| <= {bound:g}).")
    with torch.no_grad():
        f0 = f(torch.tensor(start[0]), torch.tensor(start[1]))
    if not torch.isfinite(torch.as_tensor(f0)):
        raise InputError(f"f is not defined at the start point ({_fmt(start[0])}, {_fmt(start[1])}) "
                         f"(f = {float(f0)}): pick another start.")
    k = len(configs)
    rows = torch.tensor([start] * k)  # (k, 2): row i holds optimizer i's (x, y)
    grads = torch.zeros(k, 2)  # row i: the gradient optimizer i steps with
    params = []
    for i in range(k):
        p = rows[i].requires_grad_()  # (2,) a leaf viewing row i: what optimizer i updates in place
        p.grad = grads[i]
        params.append(p)
    xs, ys = rows[:, 0].requires_grad_(), rows[:, 1].requires_grad_()  # (k,) leaves viewing the columns
    optimizers = [make_optimizer(c, [p]) for c, p in zip(configs, params, strict=True)]
    schedulers = [make_scheduler(schedule, o, steps) for o in optimizers]
    scheduled = schedule.kind != "none"
    stepper = [o.step if scheduled else _bare_step(o) for o in optimizers]  # a scheduler counts o.step calls
    ones = torch.ones(k)
    path = torch.empty(steps + 1, k, 2)  # (steps + 1, k, 2)
    snapshots = path.unbind(0)
    snapshots[0].copy_(rows)
    lrs = torch.empty(steps, k, dtype=torch.float64)
    done = 0
    grad_x, grad_y = grads.unbind(1)  # (k,) views of the columns
    for s in range(steps):
        gx, gy = _gradients(f(xs, ys), (xs, ys), ones)  # entry i: the gradient of f at optimizer i's point
        grad_x.copy_(gx)
        grad_y.copy_(gy)
        if scheduled:
            lrs[s] = torch.tensor([o.param_groups[0]["lr"] for o in optimizers], dtype=torch.float64)
        with torch.no_grad():
            for step in stepper:
                step()
        for scheduler in schedulers:
            if scheduler is not None:
                scheduler.step()
        snapshots[s + 1].copy_(rows)
        done = s + 1
        if s % 32 == 31 and not (rows.abs() <= bound).all(1).any():  # every run diverged: stop early
            break
    path = path[: done + 1]
    if not scheduled:
        lrs[:] = torch.tensor([c.lr for c in configs], dtype=torch.float64)
    with torch.no_grad():
        losses = f(path[..., 0], path[..., 1])  # (done + 1, k)
    return [_cut(c, path[:, i].double().numpy(), losses[:, i].double().numpy(), lrs[:done, i].numpy(), bound)
            for i, c in enumerate(configs)]


def _cut(config: RunConfig, points: np.ndarray, losses: np.ndarray, lrs: np.ndarray, bound: float) -> Trajectory:
    """Stop a path at its first point that is not finite, beyond `bound`, or where f is not finite."""
    finite = np.isfinite(points).all(1)
    inside = finite & (np.abs(np.where(finite[:, None], points, 0)) <= bound).all(1)
    good = inside & np.isfinite(losses)
    if good.all():
        return Trajectory(config, points, losses, lrs=lrs)
    bad = int(np.argmin(good))  # >= 1: the start was checked
    if not finite[bad]:
        reason = "the update overflowed: the point became inf or NaN (a smaller learning rate helps)"
    elif not inside[bad]:
        reason = (f"the point left the landscape (|x| or |y| passed {bound:g}): either the steps grow instead of "
                  "shrink (the learning rate is too large) or f keeps falling in that direction")
    elif np.isnan(losses[bad]):
        reason = "f is not defined at the new point (NaN, e.g. log or sqrt of a negative number)"
    else:
        reason = "the loss overflowed to infinity (a smaller learning rate helps)"
    return Trajectory(config, points[:bad], losses[:bad], bad, reason, lrs[:bad])


# ---------------------------------------------------------------- what a path reached


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


def steps_to_settle(points: np.ndarray, target: Sequence[float], tol: float = SETTLE_TOL) -> int | None:
    """The first step after which the path stays within `tol` of `target`, or None if it ends farther away."""
    dist = np.linalg.norm(np.asarray(points) - np.asarray(target), axis=1)
    if dist[-1] > tol:
        return None
    outside = np.nonzero(dist > tol)[0]
    return 0 if len(outside) == 0 else int(outside[-1]) + 1


def point_label(p: Sequence[float]) -> str:
    """Example: point_label((3.0, -1.848126)) -> '(3, -1.848)'."""
    return f"({_short(p[0])}, {_short(p[1])})"


def summary(trajectories: Sequence[Trajectory], landscape: Landscape) -> list[dict]:
    """One row per optimizer: where it ended, what it reached, how fast, and whether it diverged."""
    if not trajectories:
        return []
    finals = np.stack([t.final for t in trajectories])
    grads = gradient_norm(landscape.f, finals)
    reached = nearest_minimum(finals, landscape.minima)
    rows = []
    for t, g, r in zip(trajectories, grads, reached, strict=True):
        if t.diverged_at is not None:
            label, settle = "none (diverged)", None
        elif r >= 0:
            label, settle = point_label(landscape.minima[r]), steps_to_settle(t.points, landscape.minima[r])
        elif not landscape.known:
            label, settle = "unknown", None
        else:
            label, settle = ("none (a stationary point)" if g < STATIONARY_GRAD else "none yet (still moving)"), None
        rows.append({
            "optimizer": t.config.optimizer,
            "settings": t.config.describe(),
            "final x": float(t.final[0]),
            "final y": float(t.final[1]),
            "final loss": float(t.losses[-1]),
            "|grad| at end": float(g),
            "minimum reached": label,
            "steps to within 1e-3": settle,
            "status": f"diverged at step {t.diverged_at}" if t.diverged_at is not None else f"ran {t.steps} steps",
        })
    return rows


# ---------------------------------------------------------------- basin maps


@dataclass
class BasinMap:
    """Where each start of an n x n grid ends. Row i of every grid is ys[i], column j is xs[j]."""

    xs: np.ndarray  # (n,)
    ys: np.ndarray  # (n,)
    finals: np.ndarray  # (n, n, 2)
    diverged: np.ndarray  # (n, n) bool
    grad_norm: np.ndarray  # (n, n) |∇f| at the final point (inf where diverged)


def basin_map(f: Callable, config: RunConfig, xlim: Sequence[float], ylim: Sequence[float], n: int, steps: int, *,
              schedule: Schedule = Schedule(), bound: float = 1e6, block: int = BLOCK_ROWS) -> BasinMap:
    """Run one optimizer from every point of an n x n grid at once: all starts are rows of its parameters.

    The (n*n, 2) starts are split into parameters of at most `block` rows: the optimizer steps them all
    together, and tensors that small stay on one CPU thread (bigger ones can wait for a busy second core).
    Example: basin_map(LANDSCAPES["Himmelblau"].f, RunConfig("SGD", lr=0.01), (-5, 5), (-5, 5), 40, 300)
    """
    if not 2 <= n <= MAX_GRID:
        raise InputError(f"The grid size must be between 2 and {MAX_GRID}.")
    if not 1 <= steps <= MAX_STEPS:
        raise InputError(f"Steps must be between 1 and {MAX_STEPS:,}.")
    xs = torch.linspace(float(xlim[0]), float(xlim[1]), n)
    ys = torch.linspace(float(ylim[0]), float(ylim[1]), n)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (n, n) each
    starts = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)  # (n*n, 2): one start per row
    params = [rows.clone().requires_grad_() for rows in starts.split(block)]  # (<= block, 2) each
    optimizer = make_optimizer(config, params)
    scheduler = make_scheduler(schedule, optimizer, steps)
    step = optimizer.step if scheduler is not None else _bare_step(optimizer)
    bad = [torch.zeros(len(p), dtype=torch.bool) for p in params]
    for _ in range(steps):
        optimizer.zero_grad()
        losses = [f(p[:, 0], p[:, 1]) for p in params]  # (rows,) each
        sum(loss.sum() for loss in losses).backward()  # rows never mix: each start gets its own term's gradient
        with torch.no_grad():
            for b, loss in zip(bad, losses, strict=True):
                b |= ~torch.isfinite(loss)
            step()
            for b, p in zip(bad, params, strict=True):
                b |= ~(p.abs() <= bound).all(1)  # NaN compares False, so it counts as diverged too
        if scheduler is not None:
            scheduler.step()
        if all(b.all() for b in bad):
            break
    p = torch.cat([p.detach() for p in params])  # (n*n, 2)
    with torch.no_grad():
        diverged = torch.cat(bad) | ~torch.isfinite(f(p[:, 0], p[:, 1]))
    finals = p.double().numpy().copy()
    grad_norm = np.full(n * n, np.inf)
    ok = ~diverged.numpy()
    if ok.any():
        grad_norm[ok] = gradient_norm(f, finals[ok])
    finals[~ok] = np.nan
    return BasinMap(xs.double().numpy(), ys.double().numpy(), finals.reshape(n, n, 2), (~ok).reshape(n, n),
                    grad_norm.reshape(n, n))


DIVERGED, WANDERING, STATIONARY = -3, -2, -1  # basin categories besides the index of a minimum


def basin_categories(result: BasinMap, minima: Sequence[tuple[float, float]], tol: float = REACH_TOL) -> np.ndarray:
    """(n, n) ints: the index of the minimum each start reached, STATIONARY (stopped elsewhere, |∇f| < 1e-2),
    WANDERING (still moving when the steps ran out) or DIVERGED."""
    n = result.finals.shape[0]
    index = nearest_minimum(result.finals.reshape(-1, 2), minima, tol).reshape(n, n)
    other = np.where(result.grad_norm < STATIONARY_GRAD, STATIONARY, WANDERING)
    return np.where(result.diverged, DIVERGED, np.where(index >= 0, index, other))


def endpoint_clusters(result: BasinMap, known: Sequence[tuple[float, float]], *, tol: float = 0.05,
                      limit: int = 200) -> list[tuple[float, float]]:
    """Where paths stopped (|∇f| < 1e-2) away from the known minima, grouped within `tol`, in (x, y) order.

    These are the minima (or saddles) a map finds by itself, e.g. the local minima of Rastrigin. At most
    `limit` groups, the most visited ones.
    """
    finals = result.finals.reshape(-1, 2)
    stopped = (result.grad_norm.ravel() < STATIONARY_GRAD) & (nearest_minimum(finals, known) < 0)
    if not stopped.any():
        return []
    points = finals[stopped]
    _, inverse, counts = np.unique(np.round(points / tol).astype(np.int64), axis=0, return_inverse=True,
                                   return_counts=True)
    keep = np.sort(np.argsort(-counts, kind="stable")[:limit])
    return [tuple(float(v) for v in points[inverse.ravel() == k].mean(0)) for k in keep]


# ---------------------------------------------------------------- the code the pages show


def lab_code(landscape: Landscape, start: Sequence[float], configs: Sequence[RunConfig], steps: int,
             schedule: Schedule = Schedule()) -> str:
    """The plain torch loop that produces the same paths as `run` (bit for bit; tests exec it)."""
    sched = schedule.constructor(steps)
    lines = [
        "import math",
        "",
        "import torch",
        "",
        "",
        _f_code(landscape),
        "",
        "",
        f"def run(make_optimizer, steps={steps}, start=({float(start[0])!r}, {float(start[1])!r})):",
        "    p = torch.tensor(start, requires_grad=True)  # the two parameters (x, y)",
        "    optimizer = make_optimizer([p])",
        *([f"    scheduler = {sched}"] if sched else []),
        "    path = [p.detach().clone()]",
        "    for step in range(steps):",
        "        optimizer.zero_grad()",
        "        loss = f(p[0], p[1])",
        "        loss.backward()",
        "        optimizer.step()",
        *(["        scheduler.step()"] if sched else []),
        "        path.append(p.detach().clone())",
        f"        if not torch.isfinite(p).all() or p.abs().max() > {landscape.bound:g}:",
        "            break  # diverged: the lab stops the path at the last finite point",
        "    return torch.stack(path)  # (steps + 1, 2)",
        "",
        "",
        "paths = {",
        *[f"    {c.optimizer!r}: run(lambda params: {c.constructor()})," for c in configs],
        "}",
    ]
    return "\n".join(lines) + "\n"


def basins_code(landscape: Landscape, config: RunConfig, n: int, steps: int, schedule: Schedule = Schedule()) -> str:
    """The vectorised torch loop behind a basin map: all n*n starts are rows of one optimizer's parameters."""
    sched = schedule.constructor(steps)
    minima = ", ".join(f"[{a!r}, {b!r}]" for a, b in landscape.minima)
    lines = [
        "import math",
        "",
        "import torch",
        "",
        "",
        _f_code(landscape),
        "",
        "",
        f"xs = torch.linspace({landscape.xlim[0]!r}, {landscape.xlim[1]!r}, {n})",
        f"ys = torch.linspace({landscape.ylim[0]!r}, {landscape.ylim[1]!r}, {n})",
        'grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")',
        f"starts = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)  # ({n * n}, 2): one start per row",
        f"params = [rows.clone().requires_grad_() for rows in starts.split({BLOCK_ROWS})]"
        "  # small blocks stay on one CPU thread",
        f"optimizer = {config.constructor('params')}",
        *([f"scheduler = {sched}"] if sched else []),
        f"for step in range({steps}):",
        "    optimizer.zero_grad()",
        "    loss = sum(f(p[:, 0], p[:, 1]).sum() for p in params)  # rows never mix: each start gets its own gradient",
        "    loss.backward()",
        "    optimizer.step()",
        *(["    scheduler.step()"] if sched else []),
        "p = torch.cat([p.detach() for p in params])  # where each start ended",
    ]
    if landscape.minima:
        lines += [
            "",
            f"minima = torch.tensor([{minima}])",
            "dist = torch.cdist(p, minima)  # (starts, minima)",
            f"reached = torch.where(dist.min(1).values <= {REACH_TOL}, dist.argmin(1), -1).reshape({n}, {n})",
        ]
    return "\n".join(lines) + "\n"


def _f_code(landscape: Landscape) -> str:
    return f"def f(x, y):  # {landscape.name}\n    return {landscape.f.code}"


def _fmt(value) -> str:
    if isinstance(value, bool | int | tuple):
        return repr(value)
    return f"{value:g}" if isinstance(value, float) and value == float(f"{value:g}") else repr(value)


def _short(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
