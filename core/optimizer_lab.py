"""The optimizer lab's race: several torch.optim optimizers from one start on a 2D landscape, what each path
reached, and the plain loop (`lab_code`) that gives the same paths.

Every path comes from a `torch.optim` optimizer stepping a 2-element tensor (x, y), exactly as in the code
`lab_code` prints. Runs of several optimizers share one forward/backward pass, which keeps the race fast
without changing a single bit of the result: each optimizer owns one row of a (k, 2) tensor, and the rows never
mix (the loss is a sum of per-row terms), so each row gets its own gradient. tests/test_optimizer_lab.py checks
this against plain one-optimizer loops.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from core.landscapes import (
    STATIONARY_GRAD,
    Landscape,
    gradient_norm,
    nearest_minimum,
    point_label,
    script_head,
)
from core.optim_config import (
    MAX_STEPS,
    RunConfig,
    Schedule,
    bare_step,
    fmt,
    make_optimizer,
    make_scheduler,
)
from core.parsing import InputError

SETTLE_TOL = 1e-3  # "steps to within 1e-3": the step after which the path stays this close to its minimum


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
        schedule: Schedule = Schedule(), bound: float = 1e6,
        progress: Callable[[float], None] | None = None) -> list[Trajectory]:
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
        raise InputError(f"f is not defined at the start point ({fmt(start[0])}, {fmt(start[1])}) "
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
    stepper = [o.step if scheduled else bare_step(o) for o in optimizers]  # a scheduler counts o.step calls
    ones = torch.ones(k)
    path = torch.empty(steps + 1, k, 2)  # (steps + 1, k, 2)
    snapshots = path.unbind(0)
    snapshots[0].copy_(rows)
    lrs = torch.empty(steps, k, dtype=torch.float64)
    done = 0
    grad_x, grad_y = grads.unbind(1)  # (k,) views of the columns
    every = max(1, steps // 50)
    for s in range(steps):
        if progress is not None and s % every == 0:
            progress(s / steps)  # about 50 reports, when asked for
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


def run_seconds(optimizers: int, steps: int) -> float:
    """About how long `run` takes on 2 cores (measured: 1 optimizer x 1,000 steps ~0.3 s, 7 x 1,000 ~0.75 s)."""
    return steps * (0.25e-3 + optimizers * 0.07e-3)


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



def steps_to_settle(points: np.ndarray, target: Sequence[float], tol: float = SETTLE_TOL) -> int | None:
    """The first step after which the path stays within `tol` of `target`, or None if it ends farther away."""
    dist = np.linalg.norm(np.asarray(points) - np.asarray(target), axis=1)
    if dist[-1] > tol:
        return None
    outside = np.nonzero(dist > tol)[0]
    return 0 if len(outside) == 0 else int(outside[-1]) + 1



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



def lab_code(landscape: Landscape, start: Sequence[float], trajectories: Sequence[Trajectory], steps: int,
             schedule: Schedule = Schedule()) -> str:
    """The plain torch loop that produces the same paths as `run` (bit for bit; tests exec it), printing where
    each of `trajectories` ended."""
    sched = schedule.constructor(steps)
    lines = [
        *script_head(landscape),
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
        f"        if not torch.isfinite(p).all() or p.abs().max() > {landscape.bound:g}:",
        "            break  # diverged: the lab stops the path at the last finite point",
        "        path.append(p.detach().clone())",
        "    return torch.stack(path)  # (steps + 1, 2)",
        "",
        "",
        "paths = {",
        *[f"    {t.config.optimizer!r}: run(lambda params: {t.config.constructor()})," for t in trajectories],
        "}",
        "# where each path ended: the table's final x and final y",
        *[f"print(paths[{t.config.optimizer!r}][-1])" + _ending(t) for t in trajectories],
    ]
    return "\n".join(lines) + "\n"


def _ending(t: Trajectory) -> str:
    """The expected output of printing the path's last point. A path the lab cut where f stopped being finite
    (at a finite point) goes on in the plain loop, so it promises nothing."""
    if t.diverged_at is not None and not t.reason.startswith(("the update overflowed", "the point left")):
        return ""
    last = torch.from_numpy(t.final).float()  # (2,) float32, as the loop holds it
    return f"  # {' '.join(str(last).split())}"
