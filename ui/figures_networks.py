"""Figure builders of the Networks section that draw tensors as cells and images: convolution grids, images and
feature maps (filters, pooling), dropout masks, a trained network's filters and probabilities; plus the helpers
the section's other figure modules share (figures_batchnorm, figures_architectures, figures_overfitting).

Figures are written as plain dicts and built by `ui.plots.figure` without plotly's slow validation.
"""

from functools import cache

import numpy as np
import plotly.graph_objects as go

from ui.plots import COLORS, DIVERGING, SEQUENTIAL, figure, plain

GRAY = "Greys"
OUTLINE = dict(color=COLORS[0], width=3)


def as_numpy(t) -> np.ndarray:
    """A tensor (any device) or array-like as a numpy array."""
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _fmt(v: float) -> str:
    v = float(v) + 0.0  # + 0.0 turns -0.0 into 0.0
    if not np.isfinite(v):
        return str(v)
    return f"{v:g}" if v.is_integer() and abs(v) < 1e6 else f"{v:.2f}"


def _labels(arr: np.ndarray) -> list:
    return [[_fmt(v) for v in row] for row in arr]


@cache
def named_scale(name) -> list:
    """A named colour scale as the explicit list plotly.py would send (plotly.js knows no '_r' names)."""
    import plotly.colors

    return plotly.colors.get_colorscale(name)


def _colors(scale):
    return named_scale(scale) if isinstance(scale, str) else scale


def axis_name(kind: str, k: int) -> str:
    """Plotly's name of the k-th axis: xaxis, xaxis2, ... (or x, x2, ... as a reference)."""
    return kind if k == 0 else f"{kind}{k + 1}"


def _span(lo: float, hi: float) -> list[float]:
    return [min(1.0, max(0.0, round(lo, 6))), min(1.0, max(0.0, round(hi, 6)))]


def panel_grid(count: int, cols: int, *, titles=None, hgap: float = 0.04, vgap: float = 0.1, square: bool = True,
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
        xa, ya = axis_name("xaxis", k), axis_name("yaxis", k)
        xr, yr = axis_name("x", k), axis_name("y", k)
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


def scatter(x, y, *, name: str, color: str, mode: str = "lines+markers", dash: str | None = None, axes=("x", "y"),
            legend: bool = True, size: int = 7, **extra) -> dict:
    """A scatter trace from tensors or lists."""
    return dict(type="scatter", x=as_numpy(x).tolist(), y=as_numpy(y).tolist(), name=name, mode=mode, xaxis=axes[0],
                yaxis=axes[1], showlegend=legend, line=dict(color=color, dash=dash), marker=dict(color=color, size=size),
                **extra)


# ----------------------------------------------------------------------------------------------------------------
# Convolution


def grid(values, *, title: str | None = None, colorscale: str = SEQUENTIAL, highlight=None, diverging: bool = False,
         height: int | None = None, row_label: str = "row", col_label: str = "col", width: int = 480,
         numbers: bool = True) -> go.Figure:
    """One small 2D tensor as labelled cells (values written in if `numbers`); `highlight` = cells to outline."""
    arr = as_numpy(values).astype(float)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    layout, refs = panel_grid(1, 1, grid_axes=True)
    layout["xaxis"]["title"] = dict(text=col_label, font=dict(size=11))
    layout["yaxis"]["title"] = dict(text=row_label, font=dict(size=11))
    layout["shapes"] = _outline(highlight or [])
    trace = _cells(arr, colorscale=DIVERGING if diverging else colorscale, zmid=0 if diverging else None,
                   hover=f"[{row_label} %{{y}}, {col_label} %{{x}}] = %{{z:.3f}}", text=numbers)
    if not numbers:
        trace.update(xgap=0, ygap=0)
        _coarse(layout)
    default = _grid_height(*arr.shape, width=width) if numbers else _map_height(arr.shape[0], width)
    return figure([trace], layout, height=height or default, title=title)


def _coarse(layout: dict) -> None:
    """Axes of a large map: a tick every 8 cells instead of every cell."""
    for axis in ("xaxis", "yaxis"):
        layout[axis].update(tickmode="linear", dtick=8)


def _map_height(cells: int, width: int) -> int:
    """A large map drawn square in about `width` pixels (its cells are too small to label)."""
    return min(420, max(220, width - 60)) if cells > 0 else 220


def conv_input(padded, size: int, padding: int, cells, *, title: str, width: int = 480,
               numbers: bool = True) -> go.Figure:
    """One padded input channel: values written in (if `numbers`), the zero padding greyed, the cells the kernel
    reads outlined."""
    arr = as_numpy(padded).astype(float)
    n = arr.shape[0]
    layout, _ = panel_grid(1, 1, grid_axes=True)
    shapes = []
    if padding:
        veil = dict(type="rect", xref="x", yref="y", fillcolor="rgba(130,130,130,0.45)", line=dict(width=0),
                    layer="above")
        lo, hi = padding - 0.5, n - padding - 0.5
        shapes += [dict(veil, x0=-0.5, x1=n - 0.5, y0=-0.5, y1=lo), dict(veil, x0=-0.5, x1=n - 0.5, y0=hi, y1=n - 0.5),
                   dict(veil, x0=-0.5, x1=lo, y0=lo, y1=hi), dict(veil, x0=hi, x1=n - 0.5, y0=lo, y1=hi)]
    if padding and numbers:  # every cell labelled with its index in the unpadded input
        ticks = dict(tickmode="array", tickvals=list(range(n)), ticktext=[str(t - padding) for t in range(n)])
        layout["xaxis"].update(ticks)
        layout["yaxis"].update(ticks)
    layout["shapes"] = shapes + _outline(cells)
    layout["xaxis"]["title"] = dict(text="col", font=dict(size=11))
    layout["yaxis"]["title"] = dict(text="row", font=dict(size=11))
    trace = _cells(arr, hover="[row %{y}, col %{x}] = %{z:g}", text=numbers)
    if not numbers:
        trace.update(xgap=0, ygap=0)
        _coarse(layout)
    height = _grid_height(n, n, width=width) if numbers else _map_height(n, width)
    return figure([trace], layout, height=height, title=title)


def dot_product(patch, weight, products, *, titles: tuple[str, str, str], height: int) -> go.Figure:
    """Three k x k grids side by side: the input cells read, the kernel, and their products."""
    layout, refs = panel_grid(3, 3, titles=list(titles), grid_axes=True, hgap=0.06)
    data = [_cells(as_numpy(patch), axes=refs[0], hover="x = %{z:g}"),
            _cells(as_numpy(weight), axes=refs[1], colorscale=DIVERGING, zmid=0, hover="w = %{z:g}"),
            _cells(as_numpy(products), axes=refs[2], colorscale=DIVERGING, zmid=0, hover="x·w = %{z:g}")]
    return figure(data, layout, height=height)


# ----------------------------------------------------------------------------------------------------------------
# Images and feature maps (filters, pooling)


def image(img, *, title: str | None = None, height: int = 260) -> go.Figure:
    """A (C, H, W) image in [0, 1]: grey for one channel, RGB for three."""
    arr = as_numpy(img)
    layout, refs = panel_grid(1, 1)
    if arr.shape[0] == 3:
        trace = dict(type="image", z=(np.clip(arr.transpose(1, 2, 0), 0, 1) * 255).round().tolist(),
                     hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>")
        layout["yaxis"].pop("autorange")
    else:
        trace = dict(type="heatmap", z=arr[0], colorscale=named_scale(GRAY), reversescale=True, showscale=False, zmin=0, zmax=1,
                     hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
    return figure([trace], layout, height=height, title=title)


def maps(arr, titles: list[str], *, cols: int = 4, diverging: bool = True, panel_height: int = 190,
         bounds: tuple[float, float] | None = None, text: bool = False) -> go.Figure:
    """A grid of 2D maps; each has its own zero-centred colour range (red > 0, blue < 0) when `diverging`."""
    arr = as_numpy(arr).astype(float)
    count = arr.shape[0]
    cols = max(1, min(cols, count))
    rows = -(-count // cols)
    layout, refs = panel_grid(count, cols, titles=titles, vgap=0.12 / rows + 0.04, hgap=0.03)
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
# Dropout


def dropout_grids(x, mask, out, *, p: float) -> go.Figure:
    """Input, mask and output side by side."""
    arr_x, arr_m, arr_o = as_numpy(x).astype(float), as_numpy(mask).astype(float), as_numpy(out).astype(float)
    layout, refs = panel_grid(3, 3, titles=["input x", "mask (1 = kept)", f"output = x · mask / (1 - {p:g})"],
                              grid_axes=True, hgap=0.05)
    bound = float(max(np.abs(arr_x).max(), np.abs(arr_o).max())) or 1.0
    text = arr_x.size <= 80
    data = [_cells(arr_x, colorscale=DIVERGING, bounds=(-bound, bound), axes=refs[0], text=text),
            _cells(arr_m, colorscale=[[0, "#FFFFFF"], [1, "#555555"]], bounds=(0, 1.6), axes=refs[1], text=text),
            _cells(arr_o, colorscale=DIVERGING, bounds=(-bound, bound), axes=refs[2], text=text)]
    return figure(data, layout, height=_grid_height(*arr_x.shape))


# ----------------------------------------------------------------------------------------------------------------
# Inside a trained network


def rgb_tiles(arr, titles: list[str], *, cols: int = 8, panel_height: int = 110) -> go.Figure:
    """(K, 3, h, w) colour filters, each stretched to [0, 1] on its own, as small images."""
    arr = as_numpy(arr).astype(float)
    count = arr.shape[0]
    cols = max(1, min(cols, count))
    rows = -(-count // cols)
    layout, refs = panel_grid(count, cols, titles=titles, vgap=0.1 / rows + 0.04, hgap=0.02)
    data = []
    for k in range(count):
        w = arr[k]
        w = (w - w.min()) / ((w.max() - w.min()) or 1.0)
        data.append(dict(type="image", z=(w.transpose(1, 2, 0) * 255).round().tolist(), xaxis=refs[k][0],
                         yaxis=refs[k][1], hoverinfo="skip"))
        layout[axis_name("yaxis", k)].pop("autorange", None)
    return figure(data, layout, height=40 + rows * panel_height)


def probabilities(probs, classes, *, true_index: int | None, height: int = 300) -> go.Figure:
    """Predicted probability of every class; the predicted one in orange, the true one outlined."""
    p = as_numpy(probs).astype(float)
    pred = int(p.argmax())
    colors = [COLORS[0] if i == pred else "#9DB9D3" for i in range(len(p))]
    widths = [3 if i == true_index else 0 for i in range(len(p))]
    data = [dict(type="bar", x=p.tolist(), y=[plain(c) for c in classes], orientation="h",
                 marker=dict(color=colors, line=dict(color="#222222", width=widths)),
                 text=[f"{v:.1%}" for v in p], textposition="outside", cliponaxis=False,
                 hovertemplate="%{y}: %{x:.4f}<extra></extra>")]
    layout = dict(xaxis=dict(title="probability (softmax of the logits)", range=[0, 1.15]),
                  yaxis=dict(autorange="reversed", type="category"), showlegend=False)
    return figure(data, layout, height=height)


# ----------------------------------------------------------------------------------------------------------------
# Curves (BatchNorm, dropout)


def lines(x, series: dict, *, x_title: str, y_title: str, log_y: bool = False, height: int = 300,
          title: str | None = None, dashes: dict | None = None) -> go.Figure:
    data = [scatter(x, values, name=name, color=COLORS[i % len(COLORS)], mode="lines+markers" if len(x) <= 30 else "lines",
                    dash=(dashes or {}).get(name)) for i, (name, values) in enumerate(series.items())]
    layout = dict(xaxis=dict(title=x_title), yaxis=dict(title=y_title, type="log" if log_y else "linear"))
    return figure(data, layout, height=height, title=title)
