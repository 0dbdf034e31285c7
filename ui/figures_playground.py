"""The playground's pictures: the decision boundary with its points, the network drawn with every neuron's map,
and the loss curves.

Maps travel as small PNG images (a 100 x 100 map is ~3 KB, where its numbers in JSON are ~100 KB), laid under the
plot as layout images; `uirevision` keeps zoom and hover steady while training redraws them several times a second.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
from PIL import Image

from core.playground_data import EXTENT
from ui.plots import figure

NEGATIVE, POSITIVE = np.array([245, 147, 34]), np.array([8, 119, 189])  # orange / blue, as in TF Playground
CLASS_RGB = np.array([[245, 147, 34], [8, 119, 189], [44, 160, 44], [148, 103, 189], [214, 39, 40]])
CLASS_HEX = ["#f59322", "#0877bd", "#2ca02c", "#9467bd", "#d62728"]
WHITE = np.array([255, 255, 255])


def png(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 array as a data URI."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def diverging(values: torch.Tensor, scale: float | None = None) -> np.ndarray:
    """Values as colours: orange below 0, white at 0, blue above (scaled by `scale`, default max |value|)."""
    v = values.detach().float().numpy()
    scale = scale or max(float(np.abs(v).max()), 1e-6)
    t = np.clip(v / scale, -1, 1)[..., None]  # (H, W, 1)
    rgb = np.where(t < 0, WHITE + (NEGATIVE - WHITE) * -t, WHITE + (POSITIVE - WHITE) * t)
    return rgb.astype(np.uint8)


def output_colours(output: torch.Tensor, regression: bool, discretize: bool = False) -> np.ndarray:
    """The model's output over the plane: class probabilities mixed into colours (paler where it is unsure), or
    the regression value on the diverging scale."""
    if regression:
        out = output.sign() if discretize else output
        return diverging(out, scale=1.0)
    probs = output.detach().float().numpy()  # (G, G, k)
    k = probs.shape[-1]
    if discretize:
        probs = np.eye(k)[probs.argmax(-1)]
    mixed = probs @ CLASS_RGB[:k]  # (G, G, 3)
    confidence = (probs.max(-1, keepdims=True) - 1 / k) / (1 - 1 / k)  # 0: a coin toss, 1: certain
    return (WHITE + (mixed - WHITE) * (0.25 + 0.5 * confidence)).astype(np.uint8)


def _map_image(source: str, x0: float, y0: float, size: float, xref: str = "x", yref: str = "y") -> dict:
    return dict(source=source, xref=xref, yref=yref, x=x0, y=y0, sizex=size, sizey=size, sizing="stretch",
                layer="below", xanchor="left", yanchor="top")


CLICK_STEP = 0.4  # spacing of the clickable grid laid over the map


def boundary(output_rgb: np.ndarray, pts, n_classes: int, *, show_test: bool = True, clickable: bool = True,
             height: int = 460):
    """The decision boundary with the training points (filled) and test points (white-edged) on top.

    A click has to land on a point to be reported (a picture reports nothing), so an almost transparent grid of
    points covers the plane: a click anywhere selects the grid point under it."""
    regression = n_classes == 1

    def colours(y: torch.Tensor) -> list[str] | dict:
        if regression:
            return dict(color=y.tolist(), colorscale=[[0, "#f59322"], [0.5, "#ffffff"], [1, "#0877bd"]],
                        cmin=-1, cmax=1)
        return dict(color=[CLASS_HEX[int(c)] for c in y])

    def points(x, y, name, test: bool, ids) -> dict:
        marker = dict(size=7, line=dict(width=1.5 if test else 0.8, color="#ffffff" if test else "#333333"),
                      **colours(y))
        if test:
            marker["opacity"] = 0.75
        label = "target" if regression else "class"
        return dict(type="scatter", mode="markers", x=x[:, 0].numpy(), y=x[:, 1].numpy(), name=name,
                    marker=marker, customdata=ids.numpy(),
                    hovertemplate=f"({{x:.2f}}, {{y:.2f}}) {label} %{{text}}<extra>{name}</extra>",
                    text=[f"{float(v):.2f}" if regression else str(int(v)) for v in y])

    data = []
    if clickable:
        axis = np.arange(-EXTENT + CLICK_STEP / 2, EXTENT, CLICK_STEP)
        gx, gy = np.meshgrid(axis, axis)
        data.append(dict(type="scatter", mode="markers", x=gx.ravel().round(3), y=gy.ravel().round(3),
                         marker=dict(size=9, symbol="square", color="rgba(0,0,0,0.01)"), hoverinfo="none",
                         name="click to add", showlegend=False))
    data.append(points(pts.x_train, pts.y_train, "training points", False, pts.train_ids))
    if show_test and len(pts.x_test):
        data.append(points(pts.x_test, pts.y_test, "test points", True, pts.test_ids))
    axis = dict(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, fixedrange=True, constrain="domain")
    layout = dict(xaxis={**axis, "title": "x1"}, yaxis={**axis, "title": "x2", "scaleanchor": "x"},
                  images=[_map_image(png(output_rgb), -EXTENT, EXTENT, 2 * EXTENT)], uirevision="pg",
                  clickmode="event+select", dragmode=False, showlegend=True, margin=dict(l=40, r=10, t=30, b=40))
    return figure(data, layout, height=height)


def network(feature_maps: list[torch.Tensor], neuron_maps: list[torch.Tensor], dead: list[torch.Tensor],
            weights: list[torch.Tensor], feature_names: tuple[str, ...], output_rgb: np.ndarray, height: int = 470):
    """Features, hidden neurons and the output as small maps; every weight an edge coloured by its sign (orange
    negative, blue positive) and as thick as its size, with its value on hover."""
    layers = [torch.stack(feature_maps)] + list(neuron_maps)  # each (n, G, G)
    sizes = [len(t) for t in layers] + [1]
    tallest = max(sizes)
    box = 0.62  # a map's side, in node units

    def y_of(count: int, i: int) -> float:
        return (count - 1) / 2 - i

    # Every map is pasted into one transparent picture laid under the edges: one image to decode per update, where
    # one image per neuron made the browser's redraw the slowest part of a live update.
    x_lo, x_hi = -0.6, len(layers) + 0.6
    y_lo, y_hi = -(tallest - 1) / 2 - 0.55, (tallest - 1) / 2 + 0.95
    px = 64  # pixels per node unit
    canvas = np.zeros((round((y_hi - y_lo) * px), round((x_hi - x_lo) * px), 4), dtype=np.uint8)
    side = round(box * px)

    def paste(rgb: np.ndarray, x: float, y: float) -> None:
        tile = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((side, side), Image.NEAREST))
        top, left = round((y_hi - y - box / 2) * px), round((x - box / 2 - x_lo) * px)
        canvas[top:top + side, left:left + side, :3] = 170  # a grey frame: a map that is white (0) keeps its edge
        canvas[top + 1:top + side - 1, left + 1:left + side - 1, :3] = tile[1:-1, 1:-1]
        canvas[top:top + side, left:left + side, 3] = 255

    node_x, node_y, node_text = [], [], []
    for col, maps in enumerate(layers):
        for i, values in enumerate(maps):
            x, y = float(col), y_of(len(maps), i)
            paste(diverging(values[::2, ::2] if values.shape[0] > 60 else values), x, y)
            node_x.append(x)
            node_y.append(y)
            if col == 0:
                node_text.append(f"input {feature_names[i]}")
            else:
                lo, hi = float(values.min()), float(values.max())
                state = " · dead: 0 on every training point" if bool(dead[col - 1][i]) else ""
                node_text.append(f"hidden layer {col}, neuron {i + 1}: output {lo:.2f} .. {hi:.2f}{state}")
    out_col = len(layers)
    paste(output_rgb[::2, ::2] if output_rgb.shape[0] > 60 else output_rgb, out_col, 0.0)
    node_x.append(float(out_col))
    node_y.append(0.0)
    node_text.append("output")
    buf = io.BytesIO()
    Image.fromarray(canvas, "RGBA").save(buf, format="PNG", compress_level=1)
    images = [dict(source="data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(), xref="x",
                   yref="y", x=x_lo, y=y_hi, sizex=x_hi - x_lo, sizey=y_hi - y_lo, sizing="stretch",
                   layer="below", xanchor="left", yanchor="top")]

    edges: dict[tuple[str, int], list] = {}
    mid_x, mid_y, mid_text = [], [], []
    top = max((float(w.abs().max()) for w in weights), default=1.0) or 1.0
    for col, w in enumerate(weights):  # w: (out, in) from column col to col + 1
        n_out, n_in = w.shape
        n_out_drawn = sizes[col + 1] if col + 1 < len(sizes) - 1 else 1
        for j in range(n_out):
            for i in range(n_in):
                value = float(w[j, i])
                x0, y0 = col + box / 2, y_of(n_in, i)
                x1, y1 = col + 1 - box / 2, y_of(n_out_drawn, min(j, n_out_drawn - 1))
                width = 1 + int(4 * min(abs(value) / top, 1))
                line = edges.setdefault(("#0877bd" if value >= 0 else "#f59322", width), [[], []])
                line[0] += [x0, x1, None]
                line[1] += [y0, y1, None]
                mid_x.append((x0 + x1) / 2)
                mid_y.append((y0 + y1) / 2)
                target = f"neuron {j + 1} of layer {col + 1}" if col + 1 < len(layers) else f"output {j}"
                source = f"input {feature_names[i]}" if col == 0 else f"neuron {i + 1} of layer {col}"
                mid_text.append(f"w = {value:.3f}: {source} -> {target}")
    data = [dict(type="scatter", mode="lines", x=np.array(xs, dtype=float), y=np.array(ys, dtype=float),
                 hoverinfo="skip", showlegend=False,
                 line=dict(color=colour, width=width), opacity=0.75)
            for (colour, width), (xs, ys) in edges.items()]
    data.append(dict(type="scatter", mode="markers", x=np.array(mid_x), y=np.array(mid_y), text=mid_text,
                     hoverinfo="text",
                     marker=dict(size=6, color="rgba(0,0,0,0.02)"), showlegend=False, name="weights"))
    data.append(dict(type="scatter", mode="markers", x=node_x, y=node_y, text=node_text, hoverinfo="text",
                     marker=dict(size=34, symbol="square", color="rgba(0,0,0,0.01)"), showlegend=False,
                     name="neurons"))
    dead_x = [node_x[k] for k, t in enumerate(node_text) if "dead" in t]
    dead_y = [node_y[k] for k, t in enumerate(node_text) if "dead" in t]
    if dead_x:
        data.append(dict(type="scatter", mode="markers", x=dead_x, y=dead_y, hoverinfo="skip", showlegend=False,
                         marker=dict(size=30, symbol="x-thin", line=dict(width=2, color="#d62728"))))
    names = ["features"] + [f"layer {k} ({len(t)})" for k, t in enumerate(layers[1:], start=1)] + ["output"]
    annotations = [dict(x=k, y=(tallest - 1) / 2 + 0.75, text=name, showarrow=False, font=dict(size=12))
                   for k, name in enumerate(names)]
    axis = dict(visible=False, fixedrange=True, constrain="domain")
    layout = dict(xaxis={**axis, "range": [x_lo, x_hi]}, yaxis={**axis, "range": [y_lo, y_hi], "scaleanchor": "x"},
                  images=images, annotations=annotations, uirevision="pg_net", dragmode=False,
                  clickmode="event+select", hovermode="closest", margin=dict(l=5, r=5, t=5, b=5))
    return figure(data, layout, height=max(height, 62 * tallest + 60))


def large_map(values: torch.Tensor | np.ndarray, title: str, height: int = 320):
    """One neuron's (or the output's) map, large."""
    rgb = values if isinstance(values, np.ndarray) else diverging(values)
    axis = dict(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, fixedrange=True, constrain="domain")
    hint = dict(type="scatter", x=[0], y=[0], mode="markers", marker=dict(opacity=0), hoverinfo="skip",
                showlegend=False)
    return figure([hint], dict(xaxis={**axis, "title": "x1"}, yaxis={**axis, "title": "x2", "scaleanchor": "x"},
                               images=[_map_image(png(rgb), -EXTENT, EXTENT, 2 * EXTENT)], uirevision="pg_big",
                               margin=dict(l=40, r=10, t=40, b=40)), height=height, title=title)


def losses(history, regression: bool, height: int = 260):
    """Train and test loss per epoch (log scale); a long run is drawn with at most ~300 of its epochs."""
    step = max(1, len(history) // 300)
    history = list(history[::step]) + ([history[-1]] if (len(history) - 1) % step else [])
    epochs = [h.epoch for h in history]
    data = [dict(type="scatter", mode="lines", x=epochs, y=[h.train_loss for h in history], name="train loss",
                 line=dict(color="#333333")),
            dict(type="scatter", mode="lines", x=epochs, y=[h.test_loss for h in history], name="test loss",
                 line=dict(color="#aaaaaa", dash="dot"))]
    return figure(data, dict(xaxis=dict(title="epoch"), yaxis=dict(title="MSE" if regression else "cross-entropy",
                                                                 type="log"), uirevision="pg_loss",
                             margin=dict(l=50, r=10, t=30, b=40)), height=height)
