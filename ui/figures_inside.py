"""Figures of "See inside training": distributions per layer over time, the learning-rate range test, signals
through a deep net, one optimizer step by hand, the maps behind a prediction and the model's map of the data.

Pure functions of plain data (tensors, lists); figures are plain dicts built by `ui.plots.figure`. Values that are
not finite (a diverged run, a signal that died on a log axis) become gaps, never NaN in the figure.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ui.figures_networks import GRAY, as_numpy, axis_name, named_scale, panel_grid
from ui.plots import COLORS, SEQUENTIAL, figure, plain, tensor_heatmap

HEAT = "rgba(238, 76, 44, {a})"  # the app's red, as a see-through overlay


def finite(values, *, positive: bool = False) -> list:
    """Plain floats, None where a value is NaN or infinite (or not positive, for a log axis)."""
    out = []
    for v in as_numpy(values).astype(float).reshape(-1).tolist():
        out.append(v if math.isfinite(v) and (v > 0 or not positive) else None)
    return out


BELOW = dict(legend=dict(orientation="h", x=0, xanchor="left", y=-0.25, yanchor="top"), margin=dict(b=40))


def _grid(count: int, cols: int, titles: list[str], *, hgap: float = 0.06, vgap: float = 0.12,
          x_title: str = "", y_title: str = "", log_y: bool = False) -> tuple[dict, list[tuple[str, str]]]:
    """Axes for `count` ordinary panels in `cols` columns, each titled; returns (layout, [(xref, yref)])."""
    rows = -(-count // cols)
    w, h = (1 - hgap * (cols - 1)) / cols, (1 - vgap * (rows - 1)) / rows
    layout: dict = {"annotations": [], "showlegend": False}
    refs = []
    for k in range(count):
        r, c = divmod(k, cols)
        x0, y1 = c * (w + hgap), 1 - r * (h + vgap)
        n = "" if k == 0 else str(k + 1)
        layout[f"xaxis{n}"] = dict(domain=[x0, min(1.0, x0 + w)], anchor=f"y{n}",
                                   title=dict(text=x_title if r == rows - 1 else ""))
        layout[f"yaxis{n}"] = dict(domain=[max(0.0, y1 - h), y1], anchor=f"x{n}", type="log" if log_y else "linear",
                                   title=dict(text=y_title if c == 0 else ""),
                                   **(dict(dtick=1, exponentformat="power") if log_y else {}))
        layout["annotations"].append(dict(text=titles[k], x=x0 + w / 2, y=y1, xref="paper", yref="paper",
                                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=12)))
        refs.append((f"x{n}", f"y{n}"))
    layout["margin"] = dict(l=10, r=10, t=30, b=10)
    return layout, refs


# --- 1. distributions over time ------------------------------------------------------------------------------

def distribution_heatmaps(panels: list[tuple], *, kind: str, cols: int = 3) -> go.Figure:
    """One heatmap per layer: steps across, values up, the colour the share of the values in each bin at that
    step; the 5th, 50th and 95th percentiles drawn over it, all five on hover.

    panels: (title, edges (bins + 1,), steps (T,), counts (T, bins), percentiles (T, 5)) per layer.
    """
    cols = max(1, min(cols, len(panels)))
    layout, refs = _grid(len(panels), cols, [plain(p[0]) for p in panels], x_title="step", y_title=kind)
    data = []
    for (_, edges, steps, counts, bands), (xr, yr) in zip(panels, refs, strict=True):
        edges, counts, bands = as_numpy(edges).astype(float), as_numpy(counts).astype(float), as_numpy(bands)
        steps = as_numpy(steps).astype(int).tolist()
        totals = counts.sum(1, keepdims=True)
        share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0).T  # (bins, T)
        centres = ((edges[:-1] + edges[1:]) / 2).tolist()
        rows = [[None if v is None else float(f"{v:.4g}") for v in finite(row)] for row in bands]  # (T, 5)
        pct = [rows] * len(centres)  # (bins, T, 5): every cell knows its step's percentiles
        shade = np.log10(np.maximum(share, 1e-4))  # a log colour: a spike at 0 (ReLU) leaves the rest visible
        text = [[f"{v:.1%}" for v in row] for row in share]
        data.append(dict(type="heatmap", x=steps, y=centres, z=shade.tolist(), customdata=pct, text=text, xaxis=xr,
                         yaxis=yr, colorscale=named_scale(SEQUENTIAL), showscale=False, zmin=-4, zmax=0,
                         hovertemplate="step %{x}, value %{y:.3g}: %{text} of the values<br>percentiles 5 / 25 / 50 "
                                       "/ 75 / 95: %{customdata[0]:.3g} / %{customdata[1]:.3g} / %{customdata[2]:.3g}"
                                       " / %{customdata[3]:.3g} / %{customdata[4]:.3g}<extra></extra>"))
        for col, dash in ((0, "dot"), (2, "solid"), (4, "dot")):
            data.append(dict(type="scatter", x=steps, y=finite(bands[:, col]), mode="lines", xaxis=xr, yaxis=yr,
                             line=dict(color=COLORS[0], width=1.5, dash=dash), hoverinfo="skip", showlegend=False))
    rows = -(-len(panels) // cols)
    return figure(data, layout, height=60 + 230 * rows)


def layer_lines(steps, series: dict, *, y_title: str, title: str, log_y: bool = False,
                band: tuple[float, float] | None = None, y_range: list | None = None) -> go.Figure:
    """One line per layer over the recorded steps (gaps where a value is not finite, or not positive on a log
    axis); `band`: a shaded range of healthy values."""
    x = as_numpy(steps).astype(int).tolist()
    data = [dict(type="scatter", x=x, y=finite(v, positive=log_y), mode="lines+markers", name=plain(name),
                 line=dict(color=COLORS[i % len(COLORS)]), marker=dict(size=4),
                 hovertemplate=f"{plain(name)}<br>step %{{x}}: %{{y:.3g}}<extra></extra>")
            for i, (name, v) in enumerate(series.items())]
    layout = dict(xaxis=dict(title=dict(text="step")),
                  yaxis=dict(title=dict(text=y_title), type="log" if log_y else "linear",
                             **({"range": y_range} if y_range else {}),
                             **(dict(dtick=1, exponentformat="power") if log_y else {})))
    layout.update(BELOW)
    if band is not None:
        layout["shapes"] = [dict(type="rect", xref="paper", x0=0, x1=1, yref="y", y0=band[0], y1=band[1],
                                 fillcolor="rgba(44, 160, 44, 0.12)", line=dict(width=0), layer="below")]
    return figure(data, layout, height=360, title=title)


# --- 2. the learning-rate range test ---------------------------------------------------------------------------

def finder(result) -> go.Figure:
    """The smoothed loss against the lr (log axis): the band over the seeds, their median, and the marks."""
    lrs = as_numpy(result.lrs).astype(float).tolist()
    lo, mid, hi = (finite(row) for row in as_numpy(result.band))
    data = [dict(type="scatter", x=lrs, y=hi, mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False),
            dict(type="scatter", x=lrs, y=lo, mode="lines", line=dict(width=0), fill="tonexty",
                 fillcolor="rgba(31, 119, 180, 0.2)", name=f"min-max over {len(result.tests)} seeds",
                 hoverinfo="skip"),
            dict(type="scatter", x=lrs, y=mid, mode="lines", name="median (smoothed loss)",
                 line=dict(color=COLORS[1]), hovertemplate="lr %{x:.3g}: loss %{y:.4f}<extra></extra>")]
    marks = (("minimum", result.minimum, COLORS[8]), ("steepest descent", result.steepest, COLORS[4]),
             ("suggested (valley)", result.suggested, COLORS[0]))
    shapes = [dict(type="line", xref="x", yref="paper", x0=lr, x1=lr, y0=0, y1=1, line=dict(color=c, dash="dash"))
              for _, lr, c in marks]
    for name, lr, color in marks:
        y = float(np.interp(math.log10(lr), np.log10(lrs), [v if v is not None else np.nan for v in mid]))
        data.append(dict(type="scatter", x=[lr], y=[y if math.isfinite(y) else None], mode="markers",
                         name=f"{name}: {lr:.3g}", marker=dict(color=color, size=11, symbol="diamond"),
                         hovertemplate=f"{name}: lr {lr:.3g}<extra></extra>"))
    good = [v for v in (*lo, *mid) if v is not None]
    start = next((v for v in mid if v is not None), None)
    y_range = [min(good) * 0.95, max(min(max(v for v in hi if v is not None), 1.6 * start), start * 1.05)] \
        if good and start else None
    layout = dict(xaxis=dict(type="log", title=dict(text="learning rate (log scale)"), dtick=1, exponentformat="power"),
                  yaxis=dict(title=dict(text="smoothed training loss"), **({"range": y_range} if y_range else {})),
                  shapes=shapes, **BELOW)
    return figure(data, layout, height=440, title="Loss while the learning rate grows")


# --- 3. initialisation and depth -------------------------------------------------------------------------------

def depth_curves(probe) -> go.Figure:
    """Activation std per hidden layer and gradient norm per layer (the output layer last), log y."""
    depth = len(probe.act_std)
    layout, refs = _grid(2, 2, ["std of the activations, layer by layer (forward)",
                                "|dL/dW| of each layer's weight (backward)"],
                         x_title="layer", log_y=True, hgap=0.08)
    layers = list(range(1, depth + 1))
    grads = list(range(1, depth + 2))
    data = [dict(type="scatter", x=layers, y=finite(probe.act_std, positive=True), mode="lines+markers",
                 xaxis=refs[0][0], yaxis=refs[0][1], line=dict(color=COLORS[0]), marker=dict(size=5),
                 hovertemplate="layer %{x}: std %{y:.3g}<extra></extra>"),
            dict(type="scatter", x=grads, y=finite(probe.grad_norm, positive=True), mode="lines+markers",
                 xaxis=refs[1][0], yaxis=refs[1][1], line=dict(color=COLORS[1]), marker=dict(size=5),
                 text=[f"layer {i}" for i in layers] + ["the output layer"],
                 hovertemplate="%{text}: |grad| %{y:.3g}<extra></extra>")]
    for values, axis, (xr, yr) in ((probe.act_std, "yaxis", refs[0]), (probe.grad_norm, "yaxis2", refs[1])):
        shown = [math.log10(v) for v in finite(values, positive=True) if v is not None]
        if not shown:
            layout["annotations"].append(dict(text="every value is 0 (or not a number):<br>nothing to draw on a log "
                                                   "axis", x=0.5, y=0.5, xref=f"{xr} domain", yref=f"{yr} domain",
                                              showarrow=False, font=dict(size=13)))
        if shown:  # at least four decades: a flat signal looks flat
            lo, hi = min(shown), max(shown)
            mid = (lo + hi) / 2
            layout[axis]["range"] = [min(lo - 0.3, mid - 2), max(hi + 0.3, mid + 2)]
    return figure(data, layout, height=340)


def unit_grid(acts, title: str) -> go.Figure:
    """A few inputs' activations in the first hidden layer (inputs x units): identical columns = symmetric units."""
    arr = as_numpy(acts).astype(float)
    top = float(np.nanmax(np.abs(arr[np.isfinite(arr)]))) if np.isfinite(arr).any() else 0.0
    fig = tensor_heatmap(arr, title=title, fmt=".2g", row_label="input", col_label="unit",
                         colorscale=named_scale("RdBu_r"), height=320)
    fig.data[0].update(zmin=-(top or 1.0), zmax=top or 1.0)
    return fig


def init_curves(curves) -> go.Figure:
    """Training loss over one epoch for each initialisation."""
    data = [dict(type="scatter", x=list(c.steps), y=finite(c.losses), mode="lines", name=plain(c.init),
                 line=dict(color=COLORS[i % len(COLORS)]), hovertemplate=f"{c.init}<br>step %{{x}}: loss %{{y:.3f}}"
                                                                         "<extra></extra>")
            for i, c in enumerate(curves)]
    layout = dict(xaxis=dict(title=dict(text="step")), yaxis=dict(title=dict(text="training loss"), rangemode="tozero"),
                  **BELOW)
    return figure(data, layout, height=360, title="784-200-200-10, one epoch of SGD (lr 0.01), same batches")


# --- 4. one step in slow motion -------------------------------------------------------------------------------

def batch_probs(probs, labels, rows: int = 8) -> go.Figure:
    """softmax of the logits for the first examples of the batch; the true class outlined."""
    p = as_numpy(probs)[:rows].astype(float)
    labels = as_numpy(labels)[:rows].astype(int)
    mask = np.zeros_like(p, dtype=bool)
    mask[np.arange(len(labels)), labels] = True
    return tensor_heatmap(p, title="probabilities = softmax(logits), first examples (true class outlined)",
                          fmt=".2f", highlight=mask, row_label="example", col_label="class", height=90 + 34 * len(p),
                          colorscale=named_scale(SEQUENTIAL))


def delta_scatter(delta, by_hand, name: str, limit: int = 3000) -> go.Figure:
    """Each element's change by optimizer.step() against the same change by hand: all on the diagonal."""
    d, h = as_numpy(delta).reshape(-1)[:limit].astype(float), as_numpy(by_hand).reshape(-1)[:limit].astype(float)
    ends = finite([min(d.min(), h.min()), max(d.max(), h.max())]) if d.size else [0, 0]
    data = [dict(type="scatter", x=ends, y=ends, mode="lines", name="by hand = optimizer.step()",
                 line=dict(color=COLORS[8], dash="dash"), hoverinfo="skip"),
            dict(type="scatter", x=finite(d), y=finite(h), mode="markers", name=f"{plain(name)} (an element)",
                 marker=dict(color=COLORS[0], size=5, opacity=0.6),
                 hovertemplate="step(): %{x:.4g}<br>by hand: %{y:.4g}<extra></extra>")]
    layout = dict(xaxis=dict(title=dict(text="Δw by optimizer.step()"), exponentformat="e"),
                  yaxis=dict(title=dict(text="Δw by hand (float64)"), exponentformat="e"), **BELOW)
    return figure(data, layout, height=400, title=f"Δw of {plain(name)}, element by element")


# --- 5. why did it say 7? ---------------------------------------------------------------------------------------

def explain_maps(image, maps: list[tuple[str, object]]) -> go.Figure:
    """The image, then each map drawn over it (transparent where the map is 0, red where it is largest).

    image: (C, H, W) in [0, 1]; maps: (title, (H, W) tensor or None when there is no such map)."""
    img = as_numpy(image).astype(float)
    grey = img.mean(0) if img.shape[0] > 1 else img[0]
    titles = ["the image", *[t for t, _ in maps]]
    layout, refs = panel_grid(len(titles), len(titles), titles=titles, hgap=0.02)
    scale = [[0.0, HEAT.format(a=0)], [1.0, HEAT.format(a=0.85)]]
    data = []
    for k, (xr, yr) in enumerate(refs):
        missing = k > 0 and maps[k - 1][1] is None
        if missing:  # the image faded, and why there is no map
            xd, yd = layout[axis_name("xaxis", k)]["domain"], layout[axis_name("yaxis", k)]["domain"]
            layout["annotations"].append(dict(text="no map:<br>no conv layer", x=sum(xd) / 2, y=sum(yd) / 2,
                                              xref="paper", yref="paper", showarrow=False, font=dict(size=14)))
        base = dict(type="heatmap", z=grey.tolist(), colorscale=named_scale(GRAY), reversescale=True, showscale=False,
                    zmin=0, zmax=1, xaxis=xr, yaxis=yr, hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")
        if k > 0:
            base.update(opacity=0.15 if missing else 0.55, hoverinfo="skip")
            base.pop("hovertemplate")
        data.append(base)
        if k == 0 or missing:
            continue
        v = as_numpy(maps[k - 1][1]).astype(float)
        top = float(np.abs(v).max()) if v.size and np.isfinite(v).all() else 0.0
        data.append(dict(type="heatmap", z=(np.clip(v, 0, None) / top if top > 0 else np.zeros_like(v)).tolist(),
                         customdata=v.tolist(), colorscale=scale, showscale=False, zmin=0, zmax=1, xaxis=xr, yaxis=yr,
                         hovertemplate="row %{y}, col %{x}: %{customdata:.3g}<extra></extra>"))
    return figure(data, layout, height=300)


# --- 6. the model's map of the data ----------------------------------------------------------------------------

def feature_scatter(coords, labels, predictions, indices, classes, explained) -> go.Figure:
    """The test images at their PCA coordinates, one colour per true class; a cross marks a wrong prediction."""
    xyz = as_numpy(coords).astype(float)
    labels, preds, idx = (as_numpy(t).astype(int) for t in (labels, predictions, indices))
    three = xyz.shape[1] == 3
    data = []
    words = [f"test image {i}: a {plain(classes[y])}, predicted {plain(classes[p]) if p < len(classes) else p}"
             for i, y, p in zip(idx, labels, preds, strict=True)]
    wrong = preds != labels
    groups = [(plain(name), (labels == c) & ~wrong, COLORS[c % len(COLORS)], "circle") for c, name in enumerate(classes)]
    groups.append(("wrong prediction (colour: the true class)", wrong,
                   [COLORS[y % len(COLORS)] for y in labels[wrong]], "x"))
    for name, sel, color, symbol in groups:
        if not sel.any():
            continue
        size = (4 if symbol == "x" else 3) if three else (8 if symbol == "x" else 6)
        trace = dict(type="scatter3d" if three else "scattergl", mode="markers", name=name,
                     x=xyz[sel, 0].tolist(), y=xyz[sel, 1].tolist(), text=[words[i] for i in np.flatnonzero(sel)],
                     marker=dict(color=color, size=size, symbol=symbol, opacity=0.8),
                     hovertemplate="%{text}<extra></extra>")
        if three:
            trace["z"] = xyz[sel, 2].tolist()
        data.append(trace)
    axis = [f"PC{k + 1} ({e:.0%}{'' if three else ' of the variance'})" for k, e in enumerate(explained)]
    if three:
        layout = dict(scene=dict(xaxis=dict(title=dict(text=axis[0])), yaxis=dict(title=dict(text=axis[1])),
                                 zaxis=dict(title=dict(text=axis[2]))))
    else:
        layout = dict(xaxis=dict(title=dict(text=axis[0])), yaxis=dict(title=dict(text=axis[1])))
    layout["legend"] = dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", itemsizing="constant")
    return figure(data, layout, height=560, title="Penultimate-layer features of the test images, projected by PCA")
