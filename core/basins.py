"""Basins of attraction: one optimizer run from every start of an n x n grid at once, and which minimum (or
other end) each start reaches.

A basin map puts all N starts into the rows of one optimizer's parameters ((N, 2) in blocks of 1024 rows): SGD,
Adagrad, RMSprop, Adam and AdamW update every element on its own, so row i follows the same path as a run
started alone at row i, bit for bit. tests/test_basins.py checks this against plain one-optimizer loops.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.landscapes import REACH_TOL, STATIONARY_GRAD, Landscape, gradient_norm, nearest_minimum, script_head
from core.optim_config import MAX_STEPS, RunConfig, Schedule, bare_step, make_optimizer, make_scheduler
from core.parsing import InputError

MAX_GRID = 80
BLOCK_ROWS = 1024  # basin maps split their starts into parameters of at most this many rows (see basin_map)


@dataclass
class BasinMap:
    """Where each start of an n x n grid ends. Row i of every grid is ys[i], column j is xs[j]."""

    xs: np.ndarray  # (n,)
    ys: np.ndarray  # (n,)
    finals: np.ndarray  # (n, n, 2)
    diverged: np.ndarray  # (n, n) bool
    grad_norm: np.ndarray  # (n, n) |∇f| at the final point (inf where diverged)


def basin_map(f: Callable, config: RunConfig, xlim: Sequence[float], ylim: Sequence[float], n: int, steps: int, *,
              schedule: Schedule = Schedule(), bound: float = 1e6, block: int = BLOCK_ROWS,
              progress: Callable[[float], None] | None = None) -> BasinMap:
    """Run one optimizer from every point of an n x n grid at once: all starts are rows of its parameters.

    The (n*n, 2) starts are split into parameters of at most `block` rows: the optimizer steps them all
    together, and tensors that small stay on one CPU thread (bigger ones can wait for a busy second core).
    `progress(fraction done)` is called about 50 times along the way, when given.
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
    step = optimizer.step if scheduler is not None else bare_step(optimizer)
    bad = [torch.zeros(len(p), dtype=torch.bool) for p in params]
    every = max(1, steps // 50)
    for s in range(steps):
        if progress is not None and s % every == 0:
            progress(s / steps)
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



def basins_code(landscape: Landscape, result: BasinMap, config: RunConfig, steps: int,
                schedule: Schedule = Schedule()) -> str:
    """The vectorised torch loop behind a basin map: all n*n starts are rows of one optimizer's parameters.

    It prints how many starts of `result` (the map basin_map made with these settings) reached each minimum.
    """
    n = len(result.xs)
    sched = schedule.constructor(steps)
    categories = basin_categories(result, landscape.minima)
    counts = [int((categories == i).sum()) for i in range(len(landscape.minima))]
    minima = ", ".join(f"[{a!r}, {b!r}]" for a, b in landscape.minima)
    lines = [
        *script_head(landscape),
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
        f"print(p.shape)  # torch.Size([{n * n}, 2])",
    ]
    if landscape.minima:
        lines += [
            "",
            f"minima = torch.tensor([{minima}])",
            "dist = torch.cdist(p, minima)  # (starts, minima)",
            f"reached = torch.where(dist.min(1).values <= {REACH_TOL}, dist.argmin(1), -1).reshape({n}, {n})",
            "# how many starts end at each minimum",
            f"print([(reached == i).sum().item() for i in range(len(minima))])  # {counts}",
        ]
    return "\n".join(lines) + "\n"


def basin_seconds(n: int, steps: int) -> float:
    """About how long basin_map takes on 2 cores (measured: 40 x 40 starts x 300 steps ~0.3 s, 80 x 80 ~1 s)."""
    return steps * (0.2e-3 + n * n * 0.45e-6)
