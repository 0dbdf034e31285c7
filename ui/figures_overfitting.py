"""Figure builders of the Overfitting lesson: polynomial fits, error curves, coefficients, K-fold rounds."""

import numpy as np
import plotly.graph_objects as go

from ui.figures_networks import as_numpy, scatter
from ui.plots import COLORS, figure


def poly_fit(points, grid_x, curves: dict, truth, *, y_range=(-2.2, 2.2), height: int = 360) -> go.Figure:
    """Training and validation points, the true function and fitted polynomials."""
    data = [scatter(grid_x, truth, name="true sin(πx)", color="#999999", mode="lines", dash="dot")]
    for i, (name, values) in enumerate(curves.items()):
        data.append(scatter(grid_x, values, name=name, color=[COLORS[0], COLORS[3], COLORS[4]][i % 3], mode="lines",
                            dash=None if i == 0 else "dash"))
    data += [scatter(points.x_train, points.y_train, name="training points", color=COLORS[1], mode="markers", size=10),
             dict(scatter(points.x_val, points.y_val, name="validation points", color=COLORS[2], mode="markers"),
                  marker=dict(color=COLORS[2], size=7, symbol="diamond-open"))]
    layout = dict(xaxis=dict(title="x"), yaxis=dict(title="y", range=list(y_range)))
    return figure(data, layout, height=height)


def error_curves(x, series: dict, *, x_title: str, marks: dict | None = None, log: bool = True,
                 height: int = 330, floor: float = 1e-4) -> go.Figure:
    """Train / validation error curves; `marks` = {label: x} draws labelled vertical lines.

    On the log axis, errors below `floor` (a polynomial through every point has error ~1e-25) are drawn at it.
    """
    colors = [COLORS[1], COLORS[2], COLORS[0], COLORS[3]]
    data = [scatter(x, np.maximum(as_numpy(values), floor) if log else values, name=name, color=colors[i % len(colors)],
                    mode="lines+markers" if len(x) < 40 else "lines")
            for i, (name, values) in enumerate(series.items())]
    shapes, notes = [], []
    for i, (label, pos) in enumerate((marks or {}).items()):
        shapes.append(dict(type="line", xref="x", yref="paper", x0=pos, x1=pos, y0=0, y1=1,
                           line=dict(color=COLORS[0] if i == 0 else "#555555", dash="dash")))
        notes.append(dict(text=label, x=pos, y=1 - 0.08 * i, xref="x", yref="paper", showarrow=False,
                          xanchor="left" if i % 2 == 0 else "right", yanchor="top", font=dict(size=11),
                          bgcolor="rgba(255,255,255,0.8)"))
    layout = dict(xaxis=dict(title=x_title), shapes=shapes, annotations=notes,
                  yaxis=dict(title="mean squared error" + (" (log)" if log else ""), type="log" if log else "linear",
                             **({"dtick": 1} if log else {})))
    return figure(data, layout, height=height)


def coefficients(coefs: dict) -> go.Figure:
    """Size of each polynomial coefficient |w_k| on a log axis (fits differ by orders of magnitude); the sign is
    in the hover."""
    colors = [COLORS[1], COLORS[0], COLORS[2]]
    data = []
    for i, (name, v) in enumerate(coefs.items()):
        arr = as_numpy(v).astype(float)
        data.append(dict(type="bar", x=[f"x^{k}" for k in range(len(arr))], y=np.maximum(np.abs(arr), 1e-6).tolist(),
                         customdata=arr.tolist(), name=name, marker=dict(color=colors[i % 3]),
                         hovertemplate="%{x}: %{customdata:.4g}<extra>" + name + "</extra>"))
    layout = dict(barmode="group", yaxis=dict(title="|coefficient| (log)", type="log", dtick=1))
    return figure(data, layout, height=320)


def coefficient_paths(decays, paths, chosen: float) -> go.Figure:
    """Each coefficient against the weight decay (log x): they all shrink towards 0."""
    arr = as_numpy(paths)
    data = [scatter(decays, arr[:, k], name=f"x^{k}", color=COLORS[k % len(COLORS)], mode="lines")
            for k in range(arr.shape[1])]
    layout = dict(xaxis=dict(title="weight_decay (log)", type="log"), yaxis=dict(title="coefficient"),
                  legend=dict(font=dict(size=10)),
                  shapes=[dict(type="line", xref="x", yref="paper", x0=chosen, x1=chosen, y0=0, y1=1,
                               line=dict(color="#555555", dash="dash"))])
    return figure(data, layout, height=340)


def kfold_grid(folds_sorted, k: int) -> go.Figure:
    """Rows = rounds, columns = training points sorted by x: which points each round holds out for validation."""
    f = as_numpy(folds_sorted)
    z = np.stack([(f == r).astype(float) for r in range(k)])
    text = np.where(z == 1, "val", "train").tolist()
    trace = dict(type="heatmap", z=z, colorscale=[[0, "#D6E6F5"], [1, COLORS[0]]], showscale=False, xgap=2, ygap=2,
                 text=text, texttemplate="%{text}" if len(f) <= 24 else "", y=[f"round {r + 1}" for r in range(k)],
                 hovertemplate="%{y}, point %{x}: %{text}<extra></extra>")
    layout = dict(yaxis=dict(autorange="reversed"), xaxis=dict(title="training point (sorted by x)"))
    return figure([trace], layout, height=90 + 32 * k)


def fold_errors(errors: list[float]) -> go.Figure:
    """Validation error of each fold, and their mean."""
    mean = float(np.mean(errors))
    data = [dict(type="bar", x=[f"round {i + 1}" for i in range(len(errors))], y=list(errors), name="fold error",
                 marker=dict(color=COLORS[0]), hovertemplate="%{x}: MSE %{y:.4f}<extra></extra>")]
    layout = dict(yaxis=dict(title="validation MSE"), showlegend=False,
                  shapes=[dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=mean, y1=mean,
                               line=dict(color="#444444", dash="dash"))],
                  annotations=[dict(text=f"mean {mean:.4f}", xref="paper", x=1, y=mean, yref="y", xanchor="right",
                                    yanchor="bottom", showarrow=False, font=dict(size=11))])
    return figure(data, layout, height=300)
