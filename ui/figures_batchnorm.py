"""Figure builders of the BatchNorm lesson: running statistics, train vs eval, activations layer by layer."""

import numpy as np
import plotly.graph_objects as go

from ui.figures_networks import as_numpy, axis_name, named_scale, panel_grid, scatter
from ui.plots import COLORS, SEQUENTIAL, figure


def _two_panels(titles: tuple[str, str], x_title: str) -> tuple[dict, list]:
    layout, refs = panel_grid(2, 2, titles=list(titles), square=False, grid_axes=False, hgap=0.08)
    for k in (0, 1):
        xa, ya = axis_name("xaxis", k), axis_name("yaxis", k)
        layout[xa].update(visible=True, showgrid=True, title=dict(text=x_title, font=dict(size=11)))
        layout[ya].update(visible=True, showgrid=True, autorange=True)
    return layout, refs


def running_stats(run, feature: int) -> go.Figure:
    """Batch means and variances against running_mean / running_var, step by step, for one feature."""
    steps = np.arange(1, run.batch_mean.shape[0] + 1)
    buffer_steps = np.arange(0, len(steps) + 1)
    layout, refs = _two_panels(("mean", "variance"), "training step (batches seen)")
    data = [
        scatter(steps, run.batch_mean[:, feature], name="this batch's statistic", color=COLORS[1], mode="markers",
                axes=refs[0], size=9),
        scatter(buffer_steps, run.running_mean[:, feature], name="running statistic (the buffer)", color=COLORS[0],
                axes=refs[0]),
        scatter(steps, run.batch_var[:, feature], name="", color=COLORS[1], mode="markers", axes=refs[1], legend=False,
                size=9),
        scatter(buffer_steps, run.running_var[:, feature], name="", color=COLORS[0], axes=refs[1], legend=False),
        scatter([0, len(steps)], [run.config.mean + feature] * 2, name="true value", color="#888", mode="lines",
                dash="dot", axes=refs[0]),
        scatter([0, len(steps)], [run.config.std ** 2] * 2, name="", color="#888", mode="lines", dash="dot",
                axes=refs[1], legend=False),
    ]
    return figure(data, layout, height=340)


def train_vs_eval(run, feature: int) -> go.Figure:
    """The same batch normalised in train mode (its own statistics) and in eval mode (running statistics)."""
    rows = [("input x", run.last_batch[:, feature], "#999999"),
            ("train mode: batch statistics", run.train_out[:, feature], COLORS[1]),
            ("eval mode: running statistics", run.eval_out[:, feature], COLORS[0])]
    data = [dict(type="scatter", x=as_numpy(v).tolist(), y=[name] * len(v), mode="markers", name=name,
                 marker=dict(color=c, size=10, opacity=0.75), hovertemplate="%{x:.3f}<extra></extra>")
            for name, v, c in rows]
    layout = dict(showlegend=False, xaxis=dict(title="value", zeroline=True, zerolinecolor="#888"),
                  yaxis=dict(autorange="reversed"))
    return figure(data, layout, height=230)


def activation_density(edges, counts, *, title: str) -> go.Figure:
    """Each layer's histogram as one heatmap row: layer down the y axis, activation value along x."""
    counts = as_numpy(counts).astype(float)
    edges = as_numpy(edges)
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    centers = (edges[:-1] + edges[1:]) / 2
    trace = dict(type="heatmap", z=np.sqrt(share), x=centers, y=[f"layer {i + 1}" for i in range(len(counts))],
                 customdata=share * 100, colorscale=named_scale(SEQUENTIAL), showscale=False,
                 hovertemplate="%{y}, value %{x:.2f}: %{customdata:.1f}% of units<extra></extra>")
    layout = dict(yaxis=dict(autorange="reversed"), xaxis=dict(title="activation value"))
    return figure([trace], layout, height=100 + 22 * len(counts), title=title)


def histogram_pair(edges, a, b, names: tuple[str, str], *, title: str | None = None) -> go.Figure:
    """Two histograms (counts per bin, same bins) overlaid, as percentages."""
    edges = as_numpy(edges)
    centers = (edges[:-1] + edges[1:]) / 2
    data = []
    for counts, name, color in [(a, names[0], COLORS[0]), (b, names[1], COLORS[1])]:
        counts = as_numpy(counts).astype(float)
        data.append(dict(type="bar", x=centers, y=100 * counts / max(counts.sum(), 1), name=name, opacity=0.6,
                         marker=dict(color=color), width=float(edges[1] - edges[0])))
    layout = dict(barmode="overlay", xaxis=dict(title="activation value"), yaxis=dict(title="% of units"))
    return figure(data, layout, height=300, title=title)
