"""Figure builders of the Networks section: convolution, filters, pooling, BatchNorm, dropout, architectures,
overfitting. Each takes plain results from core/ and returns a plotly figure styled by ui.plots.

Figures are written as plain dicts and built by `ui.plots.figure` without plotly's slow validation.
"""

from functools import cache

import numpy as np
import plotly.graph_objects as go

from ui.plots import COLORS, DIVERGING, SEQUENTIAL, figure

GRAY = "Greys"
OUTLINE = dict(color=COLORS[0], width=3)


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _fmt(v: float) -> str:
    v = float(v) + 0.0  # + 0.0 turns -0.0 into 0.0
    if not np.isfinite(v):
        return str(v)
    return f"{v:g}" if v.is_integer() and abs(v) < 1e6 else f"{v:.2f}"


def _labels(arr: np.ndarray) -> list:
    return [[_fmt(v) for v in row] for row in arr]


@cache
def _scale(name) -> list:
    """A named colour scale as the explicit list plotly.py would send (plotly.js knows no '_r' names)."""
    import plotly.colors

    return plotly.colors.get_colorscale(name)


def _colors(scale):
    return _scale(scale) if isinstance(scale, str) else scale






def _axis_name(kind: str, k: int) -> str:
    return kind if k == 0 else f"{kind}{k + 1}"


def _span(lo: float, hi: float) -> list[float]:
    return [min(1.0, max(0.0, round(lo, 6))), min(1.0, max(0.0, round(hi, 6)))]


def _panels(count: int, cols: int, *, titles=None, hgap: float = 0.04, vgap: float = 0.1, square: bool = True,
            grid_axes: bool = False, title_size: int = 12) -> tuple[dict, list[tuple[str, str]]]:
    """Layout for `count` panels in a grid of `cols` columns: axis domains, titles; returns (layout, axis refs)."""
    rows = -(-count // cols)
    w = (1 - hgap * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    layout: dict = {"annotations": []}
    refs = []
    for k in range(count):
        r, c = divmod(k, cols)
        x0, y1 = c * (w + hgap), 1 - r * (h + vgap)
        xa, ya = _axis_name("xaxis", k), _axis_name("yaxis", k)
        xr, yr = _axis_name("x", k), _axis_name("y", k)
        axis = dict(showgrid=False, zeroline=False, visible=grid_axes)
        if grid_axes:
            axis.update(tickmode="linear", dtick=1, tickfont=dict(size=10), automargin=True)
        layout[xa] = dict(axis, domain=_span(x0, x0 + w), anchor=yr, constrain="domain",
                          **({"side": "top"} if grid_axes else {}))
        layout[ya] = dict(axis, domain=_span(y1 - h, y1), anchor=xr, autorange="reversed", constrain="domain",
                          **({"scaleanchor": xr} if square else {}))
        if titles:
            layout["annotations"].append(dict(text=titles[k], x=x0 + w / 2, y=y1, xref="paper", yref="paper",
                                              xanchor="center", yanchor="bottom", showarrow=False,
                                              yshift=22 if grid_axes else 2, font=dict(size=title_size)))
        refs.append((xr, yr))
    if titles:
        layout["margin"] = dict(l=10, r=10, t=56 if grid_axes else 30, b=10)
    return layout, refs


def _cells(arr, *, colorscale: str = SEQUENTIAL, text: bool = True, axes=("x", "y"), zmid: float | None = None,
           bounds: tuple[float, float] | None = None, hover: str = "[%{y}, %{x}] = %{z:.3f}") -> dict:
    """A heatmap trace that draws a small tensor as cells, optionally with its values written in."""
    arr = np.asarray(arr, dtype=float)
    trace = dict(type="heatmap", z=arr, colorscale=_colors(colorscale), showscale=False, xgap=2, ygap=2, xaxis=axes[0],
                 yaxis=axes[1], hovertemplate=hover + "<extra></extra>")
    if text:
        trace.update(text=_labels(arr), texttemplate="%{text}", textfont=dict(size=12 if arr.shape[-1] <= 9 else 10))
    if zmid is not None:
        bound = float(np.nanmax(np.abs(arr))) if np.isfinite(arr).any() else 1.0
        bound = bound or 1.0
        trace.update(zmin=zmid - bound, zmax=zmid + bound)
    if bounds is not None:
        trace.update(zmin=bounds[0], zmax=bounds[1])
    return trace


def _outline(cells, axes=("x", "y"), line=OUTLINE) -> list[dict]:
    """Rectangles around the (row, col) cells given."""
    return [dict(type="rect", xref=axes[0], yref=axes[1], x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                 line=line) for r, c in cells]


def _grid_height(rows: int, cols: int, *, titled: bool = True, width: int = 480) -> int:
    """Height that fits a square-celled grid drawn in about `width` pixels."""
    cell = min(40, max(14, (width - 40) // max(cols, 1)))
    return min(600, 70 + (30 if titled else 0) + rows * cell)


# ----------------------------------------------------------------------------------------------------------------
# Convolution


def grid(values, *, title: str | None = None, colorscale: str = SEQUENTIAL, highlight=None, diverging: bool = False,
         height: int | None = None, row_label: str = "row", col_label: str = "col", width: int = 480) -> go.Figure:
    """One small 2D tensor as labelled cells; `highlight` = cells (row, col) to outline."""
    arr = _np(values).astype(float)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    layout, refs = _panels(1, 1, grid_axes=True)
    layout["xaxis"]["title"] = dict(text=col_label, font=dict(size=11))
    layout["yaxis"]["title"] = dict(text=row_label, font=dict(size=11))
    layout["shapes"] = _outline(highlight or [])
    trace = _cells(arr, colorscale=DIVERGING if diverging else colorscale, zmid=0 if diverging else None,
                   hover=f"[{row_label} %{{y}}, {col_label} %{{x}}] = %{{z:.3f}}")
    return figure([trace], layout, height=height or _grid_height(*arr.shape, width=width), title=title)


def conv_input(padded, size: int, padding: int, cells, *, title: str, width: int = 480) -> go.Figure:
    """One padded input channel: values written in, the zero padding greyed, the cells the kernel reads outlined."""
    arr = _np(padded).astype(float)
    n = arr.shape[0]
    layout, _ = _panels(1, 1, grid_axes=True)
    shapes = []
    if padding:
        veil = dict(type="rect", xref="x", yref="y", fillcolor="rgba(130,130,130,0.45)", line=dict(width=0),
                    layer="above")
        lo, hi = padding - 0.5, n - padding - 0.5
        shapes += [dict(veil, x0=-0.5, x1=n - 0.5, y0=-0.5, y1=lo), dict(veil, x0=-0.5, x1=n - 0.5, y0=hi, y1=n - 0.5),
                   dict(veil, x0=-0.5, x1=lo, y0=lo, y1=hi), dict(veil, x0=hi, x1=n - 0.5, y0=lo, y1=hi)]
        ticks = dict(tickmode="array", tickvals=list(range(n)), ticktext=[str(t - padding) for t in range(n)])
        layout["xaxis"].update(ticks)
        layout["yaxis"].update(ticks)
    layout["shapes"] = shapes + _outline(cells)
    layout["xaxis"]["title"] = dict(text="col", font=dict(size=11))
    layout["yaxis"]["title"] = dict(text="row", font=dict(size=11))
    trace = _cells(arr, hover="[row %{y}, col %{x}] = %{z:g}")
    return figure([trace], layout, height=_grid_height(n, n, width=width), title=title)


def dot_product(patch, weight, products, *, titles: tuple[str, str, str], height: int) -> go.Figure:
    """Three k x k grids side by side: the input cells read, the kernel, and their products."""
    layout, refs = _panels(3, 3, titles=list(titles), grid_axes=True, hgap=0.06)
    data = [_cells(_np(patch), axes=refs[0], hover="x = %{z:g}"),
            _cells(_np(weight), axes=refs[1], colorscale=DIVERGING, zmid=0, hover="w = %{z:g}"),
            _cells(_np(products), axes=refs[2], colorscale=DIVERGING, zmid=0, hover="x·w = %{z:g}")]
    return figure(data, layout, height=height)


# ----------------------------------------------------------------------------------------------------------------
# Images and feature maps (filters, pooling)


def image(img, *, title: str | None = None, height: int = 260) -> go.Figure:
    """A (C, H, W) image in [0, 1]: grey for one channel, RGB for three."""
    arr = _np(img)
    layout, refs = _panels(1, 1)
    if arr.shape[0] == 3:
        trace = dict(type="image", z=(np.clip(arr.transpose(1, 2, 0), 0, 1) * 255).round().tolist(),
                     hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>")
        layout["yaxis"].pop("autorange")
    else:
        trace = dict(type="heatmap", z=arr[0], colorscale=_scale(GRAY), reversescale=True, showscale=False, zmin=0, zmax=1,
                     hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    return figure([trace], layout, height=height, title=title)


def maps(arr, titles: list[str], *, cols: int = 4, diverging: bool = True, panel_height: int = 190,
         bounds: tuple[float, float] | None = None, text: bool = False) -> go.Figure:
    """A grid of 2D maps; each has its own zero-centred colour range (red > 0, blue < 0) when `diverging`."""
    arr = _np(arr).astype(float)
    count = arr.shape[0]
    cols = max(1, min(cols, count))
    rows = -(-count // cols)
    layout, refs = _panels(count, cols, titles=titles, vgap=0.12 / rows + 0.04, hgap=0.03)
    data = []
    for k in range(count):
        if diverging:
            trace = _cells(arr[k], colorscale=DIVERGING, zmid=0, text=text, axes=refs[k])
        else:
            trace = _cells(arr[k], colorscale=GRAY, text=text, axes=refs[k], bounds=bounds)
            trace["reversescale"] = True
        if not text:
            trace.update(xgap=0, ygap=0)
        data.append(trace)
    return figure(data, layout, height=40 + rows * panel_height)


# ----------------------------------------------------------------------------------------------------------------
# BatchNorm


def _xy(x, y, *, name: str, color: str, mode: str = "lines+markers", dash: str | None = None, axes=("x", "y"),
        legend: bool = True, size: int = 7, **extra) -> dict:
    return dict(type="scatter", x=_np(x).tolist(), y=_np(y).tolist(), name=name, mode=mode, xaxis=axes[0],
                yaxis=axes[1], showlegend=legend, line=dict(color=color, dash=dash), marker=dict(color=color, size=size),
                **extra)


def _two_panels(titles: tuple[str, str], x_title: str) -> tuple[dict, list]:
    layout, refs = _panels(2, 2, titles=list(titles), square=False, grid_axes=False, hgap=0.08)
    for k in (0, 1):
        xa, ya = _axis_name("xaxis", k), _axis_name("yaxis", k)
        layout[xa].update(visible=True, showgrid=True, title=dict(text=x_title, font=dict(size=11)))
        layout[ya].update(visible=True, showgrid=True, autorange=True)
    return layout, refs


def running_stats(run, feature: int) -> go.Figure:
    """Batch means and variances against running_mean / running_var, step by step, for one feature."""
    steps = np.arange(1, run.batch_mean.shape[0] + 1)
    buffer_steps = np.arange(0, len(steps) + 1)
    layout, refs = _two_panels(("mean", "variance"), "training step (batches seen)")
    data = [
        _xy(steps, run.batch_mean[:, feature], name="this batch's statistic", color=COLORS[1], mode="markers",
            axes=refs[0], size=9),
        _xy(buffer_steps, run.running_mean[:, feature], name="running statistic (the buffer)", color=COLORS[0],
            axes=refs[0]),
        _xy(steps, run.batch_var[:, feature], name="", color=COLORS[1], mode="markers", axes=refs[1], legend=False,
            size=9),
        _xy(buffer_steps, run.running_var[:, feature], name="", color=COLORS[0], axes=refs[1], legend=False),
        _xy([0, len(steps)], [run.config.mean + feature] * 2, name="true value", color="#888", mode="lines",
            dash="dot", axes=refs[0]),
        _xy([0, len(steps)], [run.config.std ** 2] * 2, name="", color="#888", mode="lines", dash="dot",
            axes=refs[1], legend=False),
    ]
    return figure(data, layout, height=340)


def train_vs_eval(run, feature: int) -> go.Figure:
    """The same batch normalised in train mode (its own statistics) and in eval mode (running statistics)."""
    rows = [("input x", run.last_batch[:, feature], "#999999"),
            ("train mode: batch statistics", run.train_out[:, feature], COLORS[1]),
            ("eval mode: running statistics", run.eval_out[:, feature], COLORS[0])]
    data = [dict(type="scatter", x=_np(v).tolist(), y=[name] * len(v), mode="markers", name=name,
                 marker=dict(color=c, size=10, opacity=0.75), hovertemplate="%{x:.3f}<extra></extra>")
            for name, v, c in rows]
    layout = dict(showlegend=False, xaxis=dict(title="value", zeroline=True, zerolinecolor="#888"),
                  yaxis=dict(autorange="reversed"))
    return figure(data, layout, height=230)


def activation_density(edges, counts, *, title: str) -> go.Figure:
    """Each layer's histogram as one heatmap row: layer down the y axis, activation value along x."""
    counts = _np(counts).astype(float)
    edges = _np(edges)
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    centers = (edges[:-1] + edges[1:]) / 2
    trace = dict(type="heatmap", z=np.sqrt(share), x=centers, y=[f"layer {i + 1}" for i in range(len(counts))],
                 customdata=share * 100, colorscale=_scale(SEQUENTIAL), showscale=False,
                 hovertemplate="%{y}, value %{x:.2f}: %{customdata:.1f}% of units<extra></extra>")
    layout = dict(yaxis=dict(autorange="reversed"), xaxis=dict(title="activation value"))
    return figure([trace], layout, height=100 + 22 * len(counts), title=title)


def lines(x, series: dict, *, x_title: str, y_title: str, log_y: bool = False, height: int = 300,
          title: str | None = None, dashes: dict | None = None) -> go.Figure:
    data = [_xy(x, values, name=name, color=COLORS[i % len(COLORS)], mode="lines+markers" if len(x) <= 30 else "lines",
                dash=(dashes or {}).get(name)) for i, (name, values) in enumerate(series.items())]
    layout = dict(xaxis=dict(title=x_title), yaxis=dict(title=y_title, type="log" if log_y else "linear"))
    return figure(data, layout, height=height, title=title)


def histogram_pair(edges, a, b, names: tuple[str, str], *, title: str | None = None) -> go.Figure:
    """Two histograms (counts per bin, same bins) overlaid, as percentages."""
    edges = _np(edges)
    centers = (edges[:-1] + edges[1:]) / 2
    data = []
    for counts, name, color in [(a, names[0], COLORS[0]), (b, names[1], COLORS[1])]:
        counts = _np(counts).astype(float)
        data.append(dict(type="bar", x=centers, y=100 * counts / max(counts.sum(), 1), name=name, opacity=0.6,
                         marker=dict(color=color), width=float(edges[1] - edges[0])))
    layout = dict(barmode="overlay", xaxis=dict(title="activation value"), yaxis=dict(title="% of units"))
    return figure(data, layout, height=300, title=title)


# ----------------------------------------------------------------------------------------------------------------
# Dropout


def dropout_grids(x, mask, out, *, p: float) -> go.Figure:
    """Input, mask and output side by side."""
    arr_x, arr_m, arr_o = _np(x).astype(float), _np(mask).astype(float), _np(out).astype(float)
    layout, refs = _panels(3, 3, titles=["input x", "mask (1 = kept)", f"output = x · mask / (1 - {p:g})"],
                           grid_axes=True, hgap=0.05)
    bound = float(max(np.abs(arr_x).max(), np.abs(arr_o).max())) or 1.0
    text = arr_x.size <= 80
    data = [_cells(arr_x, colorscale=DIVERGING, bounds=(-bound, bound), axes=refs[0], text=text),
            _cells(arr_m, colorscale=[[0, "#FFFFFF"], [1, "#555555"]], bounds=(0, 1.6), axes=refs[1], text=text),
            _cells(arr_o, colorscale=DIVERGING, bounds=(-bound, bound), axes=refs[2], text=text)]
    return figure(data, layout, height=_grid_height(*arr_x.shape))


# ----------------------------------------------------------------------------------------------------------------
# Architectures


def architecture_bubbles(summaries: list, highlight: str) -> go.Figure:
    """Parameters against multiply-accumulates for every architecture, both on log axes."""
    data = []
    for i, s in enumerate(summaries):
        on = s.name == highlight
        data.append(dict(type="scatter", x=[s.macs / 1e9], y=[s.params / 1e6], mode="markers+text", text=[s.name],
                         textposition=_LABEL_AT.get(s.name, "top center"), name=s.name, showlegend=False,
                         marker=dict(size=24 if on else 14, color=COLORS[i % len(COLORS)],
                                     line=dict(color="#222", width=2 if on else 0)),
                         hovertemplate=f"{s.name}<br>%{{y:.2f}} M parameters<br>%{{x:.3f}} G MACs<extra></extra>"))
    layout = dict(xaxis=dict(title="G multiply-accumulates per image (log)", type="log", dtick=1),
                  yaxis=dict(title="M parameters (log)", type="log", dtick=1))
    return figure(data, layout, height=360)


_LABEL_AT = {"VGG-11": "top left", "VGG-16": "top right", "ResNet-18": "top left", "GoogLeNet": "bottom left",
             "DenseNet-121": "bottom right", "LeNet-5": "top right"}


def params_by_kind(rows) -> go.Figure:
    """Where the parameters sit: the total per layer type."""
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.kind] = totals.get(r.kind, 0) + r.params
    kinds = [k for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v > 0]
    data = [dict(type="bar", x=[totals[k] / 1e6 for k in kinds], y=kinds, orientation="h",
                 marker=dict(color=COLORS[0]), text=[f"{totals[k]:,}" for k in kinds], textposition="auto",
                 hovertemplate="%{y}: %{text} parameters<extra></extra>")]
    layout = dict(yaxis=dict(autorange="reversed"), xaxis=dict(title="M parameters"))
    return figure(data, layout, height=90 + 34 * len(kinds))


# ----------------------------------------------------------------------------------------------------------------
# Overfitting


def poly_fit(points, grid_x, curves: dict, truth, *, y_range=(-2.2, 2.2), height: int = 360) -> go.Figure:
    """Training and validation points, the true function and fitted polynomials."""
    data = [_xy(grid_x, truth, name="true sin(πx)", color="#999999", mode="lines", dash="dot")]
    for i, (name, values) in enumerate(curves.items()):
        data.append(_xy(grid_x, values, name=name, color=[COLORS[0], COLORS[3], COLORS[4]][i % 3], mode="lines",
                        dash=None if i == 0 else "dash"))
    data += [_xy(points.x_train, points.y_train, name="training points", color=COLORS[1], mode="markers", size=10),
             dict(_xy(points.x_val, points.y_val, name="validation points", color=COLORS[2], mode="markers"),
                  marker=dict(color=COLORS[2], size=7, symbol="diamond-open"))]
    layout = dict(xaxis=dict(title="x"), yaxis=dict(title="y", range=list(y_range)))
    return figure(data, layout, height=height)


def error_curves(x, series: dict, *, x_title: str, marks: dict | None = None, log: bool = True,
                 height: int = 330, floor: float = 1e-4) -> go.Figure:
    """Train / validation error curves; `marks` = {label: x} draws labelled vertical lines.

    On the log axis, errors below `floor` (a polynomial through every point has error ~1e-25) are drawn at it.
    """
    colors = [COLORS[1], COLORS[2], COLORS[0], COLORS[3]]
    data = [_xy(x, np.maximum(_np(values), floor) if log else values, name=name, color=colors[i % len(colors)],
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
        arr = _np(v).astype(float)
        data.append(dict(type="bar", x=[f"x^{k}" for k in range(len(arr))], y=np.maximum(np.abs(arr), 1e-6).tolist(),
                         customdata=arr.tolist(), name=name, marker=dict(color=colors[i % 3]),
                         hovertemplate="%{x}: %{customdata:.4g}<extra>" + name + "</extra>"))
    layout = dict(barmode="group", yaxis=dict(title="|coefficient| (log)", type="log", dtick=1))
    return figure(data, layout, height=320)


def coefficient_paths(decays, paths, chosen: float) -> go.Figure:
    """Each coefficient against the weight decay (log x): they all shrink towards 0."""
    arr = _np(paths)
    data = [_xy(decays, arr[:, k], name=f"x^{k}", color=COLORS[k % len(COLORS)], mode="lines")
            for k in range(arr.shape[1])]
    layout = dict(xaxis=dict(title="weight_decay (log)", type="log"), yaxis=dict(title="coefficient"),
                  legend=dict(font=dict(size=10)),
                  shapes=[dict(type="line", xref="x", yref="paper", x0=chosen, x1=chosen, y0=0, y1=1,
                               line=dict(color="#555555", dash="dash"))])
    return figure(data, layout, height=340)


def kfold_grid(folds_sorted, k: int) -> go.Figure:
    """Rows = rounds, columns = training points sorted by x: which points each round holds out for validation."""
    f = _np(folds_sorted)
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


# ----------------------------------------------------------------------------------------------------------------
# Inside a trained network


def rgb_tiles(arr, titles: list[str], *, cols: int = 8, panel_height: int = 110) -> go.Figure:
    """(K, 3, h, w) colour filters, each stretched to [0, 1] on its own, as small images."""
    arr = _np(arr).astype(float)
    count = arr.shape[0]
    cols = max(1, min(cols, count))
    rows = -(-count // cols)
    layout, refs = _panels(count, cols, titles=titles, vgap=0.1 / rows + 0.04, hgap=0.02)
    data = []
    for k in range(count):
        w = arr[k]
        w = (w - w.min()) / ((w.max() - w.min()) or 1.0)
        data.append(dict(type="image", z=(w.transpose(1, 2, 0) * 255).round().tolist(), xaxis=refs[k][0],
                         yaxis=refs[k][1], hoverinfo="skip"))
        layout[_axis_name("yaxis", k)].pop("autorange", None)
    return figure(data, layout, height=40 + rows * panel_height)


def probabilities(probs, classes, *, true_index: int | None, height: int = 300) -> go.Figure:
    """Predicted probability of every class; the predicted one in orange, the true one outlined."""
    p = _np(probs).astype(float)
    pred = int(p.argmax())
    colors = [COLORS[0] if i == pred else "#9DB9D3" for i in range(len(p))]
    widths = [3 if i == true_index else 0 for i in range(len(p))]
    data = [dict(type="bar", x=p.tolist(), y=[str(c) for c in classes], orientation="h",
                 marker=dict(color=colors, line=dict(color="#222222", width=widths)),
                 text=[f"{v:.1%}" for v in p], textposition="outside", cliponaxis=False,
                 hovertemplate="%{y}: %{x:.4f}<extra></extra>")]
    layout = dict(xaxis=dict(title="probability (softmax of the logits)", range=[0, 1.15]),
                  yaxis=dict(autorange="reversed", type="category"), showlegend=False)
    return figure(data, layout, height=height)
