"""Figures (and shared widget settings) of the Optimization section: contour with paths, 3D surface, loss
curves, basin maps.

Every array that reaches plotly is finite (undefined regions of a formula become gaps, None), so no NaN is drawn.

Figures are built by `ui.plots.figure` from plain dicts, without plotly's slow validation in the app.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from core.basins import DIVERGED, STATIONARY, WANDERING, BasinMap
from core.landscapes import Landscape, point_label
from core.optim_config import OPTIMIZERS
from core.optimizer_lab import Trajectory
from ui import links
from ui.plots import COLORS, figure, style

LR_CHOICES = tuple(float(f"{m}e{k}") for k in range(-5, 1) for m in (1, 1.5, 2, 3, 5, 7)) + (10.0,)  # a log slider
DEFAULT_FORMULA = "0.1*(x**2 + y**2) + sin(x)*cos(y)"


class LearningRate(links.Choice):
    """A learning rate in a link: any spelling of one of LR_CHOICES ("0.001", "1e-3", "10")."""

    def parse(self, raw: str) -> float:
        value = links.number(raw, float)
        for option in self.options:
            if math.isclose(value, option, rel_tol=1e-9):
                return option
        raise ValueError("is not one of the learning rates on the slider")

    def dump(self, value: float) -> str:
        return f"{value:g}"


VIRIDIS = [list(stop) for stop in go.Contour(colorscale="Viridis").colorscale]  # the name, as plotly expands it
MAX_DRAWN = 800  # points per path on the maps; longer paths are thinned evenly (the ends are kept)
GRID_COLORS = {STATIONARY: "#9E9E9E", WANDERING: "#D9D9D9", DIVERGED: "#202020"}
FOUND_COLORS = ["#8DD3C7", "#FFFFB3", "#BEBADA", "#FB8072", "#80B1D3", "#FDB462", "#B3DE69", "#FCCDE5", "#BC80BD",
                "#CCEBC5", "#FFED6F"]  # ColorBrewer Set3 without its grey
MAX_NAMED_FOUND = 6  # more found points than this share one legend line
GRID_NAMES = {STATIONARY: "stopped elsewhere (|∇f| ≈ 0)", WANDERING: "still moving after the last step",
              DIVERGED: "diverged"}


@dataclass(frozen=True)
class LogScale:
    """Colours and heights on a log scale: v -> log10(v - low + delta), so deep minima stay visible."""

    low: float
    delta: float

    @classmethod
    def fit(cls, z: np.ndarray, *lower: np.ndarray) -> "LogScale":
        """Fit to the values z of a grid; `lower` (the losses along paths) may only lower the bottom.

        A singularity of a formula (log(x) at x = 0, 1/x) would stretch the scale over one grid point, so
        extreme outliers give way to the 1st and 99th percentiles.
        """
        values = np.ravel(z)[np.isfinite(np.ravel(z))]
        if values.size == 0:
            return cls(0.0, 1.0)
        low, high = float(values.min()), float(values.max())
        p1, p99 = np.percentile(values, [1, 99])
        spread = max(p99 - p1, 1e-12)
        if low < p1 - 10 * spread:
            low = float(p1)
        if high > p99 + 10 * spread:
            high = float(p99)
        for extra in lower:
            extra = np.ravel(extra)[np.isfinite(np.ravel(extra))]
            if extra.size and p1 - 10 * spread <= extra.min() < low:
                low = float(extra.min())
        return cls(low, max((high - low) * 1e-3, 1e-9))

    def __call__(self, v: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log10(np.maximum(np.asarray(v, dtype=np.float64) - self.low, 0.0) + self.delta)

    def ticks(self, z: np.ndarray) -> tuple[list[float], list[str]]:
        """Colour-bar ticks at f = min, min + 1, min + 10, ... labelled with the value of f."""
        finite = z[np.isfinite(z)]
        if finite.size == 0:
            return [], []
        top = float(finite.max())
        values = [self.low] + [self.low + 10.0**k for k in range(math.ceil(math.log10(self.delta)), 40)]
        values = [v for v in values if self(v) <= top + 1e-9]
        return [float(self(v)) for v in values], [f"{v:.3g}" for v in values]




def _figure(data=(), **layout) -> go.Figure:
    return figure(data, layout)


def _finish(fig: go.Figure, height: int) -> go.Figure:
    """The app's style (ui.plots.style)."""
    style(fig, height=height)
    return fig


def _finite_or_none(a: np.ndarray):
    """Plotly gets a plain array when everything is finite, else a list with None (a gap) for the rest."""
    a = np.asarray(a, dtype=np.float64)
    if np.isfinite(a).all():
        return a
    return np.where(np.isfinite(a), a, None).tolist()


def optimizer_color(name: str) -> str:
    """Each optimizer keeps its colour on every chart and page."""
    names = list(OPTIMIZERS)
    return COLORS[names.index(name) % len(COLORS)] if name in names else COLORS[-1]


def _thin(points: np.ndarray) -> np.ndarray:
    """Indices of at most MAX_DRAWN points of a path, evenly spread, first and last kept."""
    n = len(points)
    if n <= MAX_DRAWN:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_DRAWN).round().astype(int))


def click_grid(landscape: Landscape, target: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Candidate start points on a round-numbered grid (spacing 1, 2, 2.5 or 5 x 10^k) covering the box."""
    span = max(landscape.xlim[1] - landscape.xlim[0], landscape.ylim[1] - landscape.ylim[0])
    raw = span / target
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)

    def axis(lo, hi):
        return np.round(np.arange(math.ceil(lo / step) * step, hi + 1e-9, step), 6)

    gx, gy = np.meshgrid(axis(*landscape.xlim), axis(*landscape.ylim))
    return gx.ravel(), gy.ravel()


def start_from_selection(event, xlim: Sequence[float], ylim: Sequence[float]) -> tuple[float, float] | None:
    """The start point a click on the contour chose: the first selected point, clamped into the box.

    `event` is what st.plotly_chart(on_select=...) stores: {"selection": {"points": [{"x": .., "y": ..}, ..]}}.
    """
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        x, y = point.get("x"), point.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float) and math.isfinite(x) and math.isfinite(y):
            x = min(max(float(x), xlim[0]), xlim[1])
            y = min(max(float(y), ylim[0]), ylim[1])
            return round(x, 2), round(y, 2)
    return None


def _minima_trace(landscape: Landscape, name: str = "minima") -> dict:
    mx, my = zip(*landscape.minima, strict=True) if landscape.minima else ((), ())
    return dict(type="scatter", x=list(mx), y=list(my), mode="markers", name=name,
                marker=dict(symbol="star", size=15, color="white", line=dict(color="black", width=1.5)),
                text=[point_label(m) for m in landscape.minima], hovertemplate="minimum %{text}<extra></extra>")


def contour(landscape: Landscape, grid: tuple, trajectories: Sequence[Trajectory], start: Sequence[float], *,
            clickable: bool = True, height: int = 560) -> go.Figure:
    """f as filled contours on a log scale, the paths of the optimizers, the minima, and a click grid."""
    xs, ys, z = grid
    scale = LogScale.fit(z, *[t.losses for t in trajectories])
    zl = scale(z)
    tickvals, ticktext = scale.ticks(zl)
    traces = [dict(
        type="contour", x=xs, y=ys, z=_finite_or_none(zl), colorscale=VIRIDIS, reversescale=True, ncontours=24,
        contours=dict(coloring="heatmap", showlines=True), line=dict(width=0.5, color="rgba(255,255,255,0.5)"),
        colorbar=dict(title=dict(text="f (log)", side="right"), tickvals=tickvals, ticktext=ticktext, len=0.9,
                      thickness=12),
        hoverinfo="skip", name="f")]
    if clickable:
        gx, gy = click_grid(landscape)
        traces.append(dict(
            type="scatter", x=gx, y=gy, mode="markers", name="click to start here", showlegend=False,
            marker=dict(size=9, color="rgba(0,0,0,0)"), selected=dict(marker=dict(color="rgba(0,0,0,0)")),
            unselected=dict(marker=dict(opacity=0)),
            hovertemplate="click to start here: (%{x}, %{y})<extra></extra>"))
    if landscape.minima:
        traces.append(_minima_trace(landscape))
    for i, t in enumerate(trajectories):
        color = optimizer_color(t.config.optimizer)
        keep = _thin(t.points)
        pts = t.points[keep]
        traces.append(dict(
            type="scatter", x=pts[:, 0], y=pts[:, 1], mode="lines+markers", name=t.config.optimizer,
            legendgroup=str(i), line=dict(color=color, width=2), marker=dict(size=4, color=color),
            unselected=dict(marker=dict(opacity=1)), customdata=np.stack([keep, t.losses[keep]], axis=1),
            hovertemplate=f"{t.config.optimizer}<br>step %{{customdata[0]}}: (%{{x:.4f}}, %{{y:.4f}})"
                          "<br>f = %{customdata[1]:.4g}<extra></extra>"))
        end = t.points[-1]
        diverged = t.diverged_at is not None
        traces.append(dict(
            type="scatter", x=[float(end[0])], y=[float(end[1])], mode="markers", showlegend=False,
            legendgroup=str(i),
            marker=dict(symbol="x" if diverged else "circle", size=15 if diverged else 10, color=color,
                        line=dict(color="white", width=1.5)),
            hovertemplate=(f"{t.config.optimizer} diverged after this point (step {t.steps})" if diverged
                           else f"{t.config.optimizer} ends here (step {t.steps})") + "<extra></extra>"))
    traces.append(dict(type="scatter", x=[float(start[0])], y=[float(start[1])], mode="markers", name="start",
                       marker=dict(symbol="circle", size=13, color="white", line=dict(color="#262730", width=2.5)),
                       hovertemplate="start (%{x}, %{y})<extra></extra>"))
    return _finish(_figure(
        traces,
        xaxis=dict(range=list(landscape.xlim), title=dict(text="x"), showgrid=False, zeroline=False, constrain="domain"),
        yaxis=dict(range=list(landscape.ylim), title=dict(text="y"), showgrid=False, zeroline=False, scaleanchor="x",
                   constrain="domain"),
        clickmode="event+select", dragmode="pan", hovermode="closest"), height)


def surface(landscape: Landscape, grid: tuple, trajectories: Sequence[Trajectory], *, height: int = 520) -> go.Figure:
    """f as a 3D surface (height on the same log scale as the contour colours) with the paths drawn on it."""
    xs, ys, z = grid
    scale = LogScale.fit(z, *[t.losses for t in trajectories])
    zl = scale(z)
    lift = 0.01 * (np.nanmax(zl) - np.nanmin(zl)) if np.isfinite(zl).any() else 0.0
    traces = [dict(type="surface", x=xs, y=ys, z=_finite_or_none(zl), colorscale=VIRIDIS, reversescale=True,
                   showscale=False, opacity=0.92, hoverinfo="skip", name="f")]
    for t in trajectories:
        keep = _thin(t.points)
        pts = t.points[keep]
        inside = ((pts[:, 0] >= landscape.xlim[0]) & (pts[:, 0] <= landscape.xlim[1])
                  & (pts[:, 1] >= landscape.ylim[0]) & (pts[:, 1] <= landscape.ylim[1]))
        height_of = np.where(inside, scale(t.losses[keep]) + lift, np.nan)  # outside the box: a gap
        traces.append(dict(
            type="scatter3d", x=_finite_or_none(np.where(inside, pts[:, 0], np.nan)),
            y=_finite_or_none(np.where(inside, pts[:, 1], np.nan)), z=_finite_or_none(height_of),
            mode="lines", name=t.config.optimizer, line=dict(color=optimizer_color(t.config.optimizer), width=6),
            hovertemplate=f"{t.config.optimizer}: (%{{x:.3f}}, %{{y:.3f}})<extra></extra>"))
    if landscape.minima:
        mx, my = torch.tensor(landscape.minima, dtype=torch.float64).T
        with torch.no_grad():
            mz = scale(landscape.f(mx, my).numpy()) + lift
        traces.append(dict(type="scatter3d", x=mx.numpy(), y=my.numpy(), z=mz, mode="markers", name="minima",
                           marker=dict(symbol="diamond", size=5, color="white", line=dict(color="black", width=1)),
                           hovertemplate="minimum (%{x:.3f}, %{y:.3f})<extra></extra>"))
    return _finish(_figure(traces, scene=dict(
        xaxis=dict(title=dict(text="x"), range=list(landscape.xlim)),
        yaxis=dict(title=dict(text="y"), range=list(landscape.ylim)),
        zaxis=dict(title=dict(text="log10(f − min + δ)")), aspectmode="manual", aspectratio=dict(x=1, y=1, z=0.6),
        camera=dict(eye=dict(x=1.05, y=-1.05, z=0.75)))), height)


def loss_curves(trajectories: Sequence[Trajectory], *, height: int = 360) -> tuple[go.Figure, bool, list[str]]:
    """f after each step, one line per optimizer, on a log axis when no loss is negative.

    Returns (figure, log_y, names of the optimizers whose loss reached exactly 0, which a log axis cannot show).
    """
    log_y = all((t.losses >= 0).all() for t in trajectories) and any((t.losses > 0).any() for t in trajectories)
    zeros = [t.config.optimizer for t in trajectories if log_y and (t.losses == 0).any()]
    traces = []
    for t in trajectories:
        color = optimizer_color(t.config.optimizer)
        steps = np.arange(len(t.losses))
        y = np.where(t.losses > 0, t.losses, np.nan) if log_y else t.losses  # exact zeros: a gap on a log axis
        traces.append(dict(type="scatter", x=steps, y=_finite_or_none(y), mode="lines", name=t.config.optimizer,
                           line=dict(color=color, width=2),
                           hovertemplate=f"{t.config.optimizer}<br>step %{{x}}: f = %{{y:.4g}}<extra></extra>"))
        if t.diverged_at is not None:
            traces.append(dict(type="scatter", x=[int(steps[-1])], y=[float(t.losses[-1])], mode="markers",
                               showlegend=False, marker=dict(symbol="x", size=13, color=color),
                               hovertemplate=f"{t.config.optimizer} diverged at step {t.diverged_at}<extra></extra>"))
    fig = _figure(traces, xaxis=dict(title=dict(text="step")),
                  yaxis=dict(title=dict(text="f(x, y)" + (" (log scale)" if log_y else "")),
                             type="log" if log_y else "linear", exponentformat="power" if log_y else "none"))
    return _finish(fig, height), log_y, zeros


def basin_color(category: int, n_known: int) -> str:
    """Known minima take the app's palette, points the map found pastel colours (repeating), the rest greys."""
    if category < 0:
        return GRID_COLORS[category]
    if category < n_known:
        return COLORS[category % len(COLORS)]
    return FOUND_COLORS[(category - n_known) % len(FOUND_COLORS)]


def basin_legend(counts: Mapping[int, int], landscape: Landscape,
                 found: Sequence[tuple[float, float]]) -> list[tuple[str, int, str]]:
    """(label, starts, colour) per legend line: each known minimum, the found points (grouped when many), the rest."""
    known = len(landscape.minima)
    rows = [(point_label(m), counts[i], basin_color(i, known)) for i, m in enumerate(landscape.minima) if counts.get(i)]
    visited = [(j, counts[known + j]) for j in range(len(found)) if counts.get(known + j)]
    if len(visited) <= MAX_NAMED_FOUND:
        rows += [(f"{point_label(found[j])} found (|∇f| ≈ 0)", n, basin_color(known + j, known)) for j, n in visited]
    else:
        rows.append((f"{len(visited)} other points found (|∇f| ≈ 0), pastel colours",
                     sum(n for _, n in visited), basin_color(known, known)))
    rows += [(GRID_NAMES[c], counts[c], GRID_COLORS[c]) for c in (STATIONARY, WANDERING, DIVERGED) if counts.get(c)]
    return rows


def basins(result: BasinMap, categories: np.ndarray, landscape: Landscape, found: Sequence[tuple[float, float]],
           grid: tuple | None = None, *, height: int = 600) -> go.Figure:
    """Each start cell coloured by where its path ended: known minima starred, found points dotted, counts in
    the legend. Categories are those of basins.basin_categories(result, (*landscape.minima, *found))."""
    known = len(landscape.minima)
    present, slots = np.unique(categories, return_inverse=True)
    k = len(present)
    scale = []
    for slot, c in enumerate(present):  # a stepped colour scale: slot s covers [s/k, (s+1)/k]
        color = basin_color(int(c), known)
        scale += [[slot / k, color], [(slot + 1) / k, color]]
    names = {int(c): (point_label(landscape.minima[c]) if 0 <= c < known else
                      f"{point_label(found[c - known])} (found)" if c >= known else GRID_NAMES[int(c)])
             for c in present}
    text = np.vectorize(names.get)(categories)
    traces = [dict(type="heatmap", x=result.xs, y=result.ys, z=(slots.reshape(categories.shape) + 0.5) / k, zmin=0,
                   zmax=1, colorscale=scale, showscale=False, text=text,
                   hovertemplate="start (%{x:.2f}, %{y:.2f}) → %{text}<extra></extra>", name="basins")]
    if grid is not None:
        xs, ys, zz = grid
        traces.append(dict(type="contour", x=xs, y=ys, z=_finite_or_none(LogScale.fit(zz)(zz)), showscale=False,
                           contours=dict(coloring="none"), ncontours=18, hoverinfo="skip", showlegend=False,
                           line=dict(color="rgba(255,255,255,0.55)", width=1), name="level lines"))
    counts = dict(zip(present.tolist(), np.bincount(slots.ravel()).tolist(), strict=True))
    for label, n, color in basin_legend(counts, landscape, found):  # legend lines with their counts
        traces.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=f"{label}: {n}",
                           marker=dict(symbol="square", size=14, color=color)))
    if found:
        fx, fy = np.array(found).T
        traces.append(dict(type="scatter", x=fx, y=fy, mode="markers", name="found points (·)", showlegend=False,
                           marker=dict(size=5, color="white", line=dict(color="black", width=1)),
                           hovertemplate="found: (%{x:.3f}, %{y:.3f})<extra></extra>"))
    if landscape.minima:
        traces.append(_minima_trace(landscape, name="minima (★)"))
    dx, dy = (result.xs[1] - result.xs[0]) / 2, (result.ys[1] - result.ys[0]) / 2
    return _finish(_figure(
        traces,
        xaxis=dict(range=[float(result.xs[0] - dx), float(result.xs[-1] + dx)], title=dict(text="start x"),
                   showgrid=False, zeroline=False, constrain="domain"),
        yaxis=dict(range=[float(result.ys[0] - dy), float(result.ys[-1] + dy)], title=dict(text="start y"),
                   showgrid=False, zeroline=False, scaleanchor="x", constrain="domain")), height)
