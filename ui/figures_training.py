"""Figures of the Training section: live curves, run comparison, confusion matrix, prediction galleries,
first-layer filters and dataset previews. Pure functions of plain data (lists, tensors): no Streamlit here.

Figures are plain dicts built by `ui.plots.figure` (no plotly validation at run time: the live curves are
redrawn every second while a model trains).
"""

from __future__ import annotations

import math

import numpy as np

from ui.plots import COLORS, figure, plain

GREEN, RED = "#2CA02C", "#D62728"
BLUES = [[0.0, "rgb(247,251,255)"], [0.125, "rgb(222,235,247)"], [0.25, "rgb(198,219,239)"],
         [0.375, "rgb(158,202,225)"], [0.5, "rgb(107,174,214)"], [0.625, "rgb(66,146,198)"],
         [0.75, "rgb(33,113,181)"], [0.875, "rgb(8,81,156)"], [1.0, "rgb(8,48,107)"]]
RDBU_R = [[0.0, "rgb(5,48,97)"], [0.1, "rgb(33,102,172)"], [0.2, "rgb(67,147,195)"], [0.3, "rgb(146,197,222)"],
          [0.4, "rgb(209,229,240)"], [0.5, "rgb(247,247,247)"], [0.6, "rgb(253,219,199)"],
          [0.7, "rgb(244,165,130)"], [0.8, "rgb(214,96,77)"], [0.9, "rgb(178,24,43)"], [1.0, "rgb(103,0,31)"]]


def smooth(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0.

    Example: smooth([1, 1, 1], 0.9) -> [1.0, 1.0, 1.0]
    """
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** i) if weight > 0 else v)
    return out


def _line(x, y, name, color, **extra) -> dict:
    return dict(type="scatter", x=list(x), y=list(y), mode="lines", name=name, line=dict(color=color), **extra)


def curves(history, metric: str, *, smoothing: float = 0.6, height: int = 320):
    """Training (per logged step, smoothed) against validation and test (per epoch) for "loss" or "accuracy"."""
    data = []
    key = "loss" if metric == "loss" else "accuracy"
    if history.steps:
        x = [s.epoch for s in history.steps]
        raw = [getattr(s, key) for s in history.steps]
        if smoothing > 0:
            data.append(_line(x, raw, "train (raw)", COLORS[0], opacity=0.25, showlegend=False, hoverinfo="skip"))
        data.append(_line(x, smooth(raw, smoothing), "train", COLORS[0]))
    for split, color, dash in (("val", COLORS[1], "solid"), ("test", COLORS[2], "dot")):
        pts = [(e.epoch, getattr(e, f"{split}_{'loss' if metric == 'loss' else 'acc'}")) for e in history.epochs]
        pts = [(a, b) for a, b in pts if b is not None]
        if pts:
            data.append(dict(type="scatter", x=[a for a, _ in pts], y=[b for _, b in pts], mode="lines+markers",
                             name=split, line=dict(color=color, dash=dash), marker=dict(size=8)))
    yaxis = dict(title=dict(text="cross-entropy loss"), rangemode="tozero") if metric == "loss" else \
        dict(title=dict(text="accuracy"), tickformat=".0%")
    return figure(data, dict(xaxis=dict(title=dict(text="epoch"), rangemode="tozero"), yaxis=yaxis),
                  height=height, title="Loss" if metric == "loss" else "Accuracy")


def grad_norms(history, *, height: int = 280):
    """Gradient norm of every layer's weights over training (log scale): vanishing or exploding shows here."""
    x = [s.epoch for s in history.steps]
    data = [_line(x, [max(s.grad_norms[i], 1e-12) for s in history.steps], name, COLORS[i % len(COLORS)])
            for i, name in enumerate(history.layers)]
    return figure(data, dict(yaxis=dict(type="log", title=dict(text="‖grad‖ of the weights")),
                             xaxis=dict(title=dict(text="epoch"))), height=height, title="Gradient norm per layer")


def lr_schedule(lrs: list[float], steps_per_epoch: int, *, done_steps: int = 0, height: int = 220):
    """The planned learning rate per step, with the part already done highlighted."""
    x = [i / steps_per_epoch for i in range(len(lrs))]
    data = [_line(x, lrs, "planned", COLORS[8])]
    if done_steps:
        data.append(_line(x[:done_steps], lrs[:done_steps], "done", COLORS[0]))
        data[-1]["line"]["width"] = 3
    return figure(data, dict(xaxis=dict(title=dict(text="epoch")),
                             yaxis=dict(title=dict(text="learning rate"), exponentformat="e")),
                  height=height, title="Learning-rate schedule")


def compare_runs(runs: list[tuple[str, object]], metric: str, *, smoothing: float = 0.6, height: int = 340):
    """Several runs on one chart: smoothed training loss per step, or validation/test accuracy per epoch."""
    data = []
    for i, (label, history) in enumerate(runs):
        color = COLORS[i % len(COLORS)]
        if metric == "train loss":
            data.append(_line([s.epoch for s in history.steps], smooth([s.loss for s in history.steps], smoothing),
                              label, color))
        else:
            field = "test_acc" if metric == "test accuracy" else "val_acc"
            pts = [(e.epoch, getattr(e, field)) for e in history.epochs if getattr(e, field) is not None]
            data.append(dict(type="scatter", x=[a for a, _ in pts], y=[b for _, b in pts], mode="lines+markers",
                             name=label, line=dict(color=color)))
    yaxis = dict(title=dict(text=metric))
    if "accuracy" in metric:
        yaxis["tickformat"] = ".0%"
    return figure(data, dict(xaxis=dict(title=dict(text="epoch")), yaxis=yaxis,
                             legend=dict(x=0, xanchor="left", y=-0.25, yanchor="top")),
                  height=height, title=f"Runs compared: {metric}")


def confusion(cm, classes: tuple[str, ...], *, height: int = 460):
    """Confusion matrix: counts written in, colour = share of the true class (row), so errors stand out."""
    cm = np.asarray(cm, dtype=float)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    labels = [plain(c[:12]) for c in classes]
    trace = dict(type="heatmap", z=share.tolist(), x=labels, y=labels, text=cm.astype(int).tolist(),
                 texttemplate="%{text}", colorscale=BLUES, zmin=0, zmax=1, showscale=False, xgap=1, ygap=1,
                 hovertemplate="true %{y}, predicted %{x}: %{text} (%{z:.1%} of the true class)<extra></extra>")
    return figure([trace], dict(yaxis=dict(autorange="reversed", title=dict(text="true class"), type="category"),
                                xaxis=dict(title=dict(text="predicted class"), type="category", side="bottom")),
                  height=height, title="Confusion matrix (test set)")


def per_class(acc, classes: tuple[str, ...], *, height: int = 300):
    """Accuracy of each true class, worst in red."""
    acc = [float(a) for a in acc]
    worst = int(np.nanargmin(acc)) if acc else -1
    trace = dict(type="bar", x=[plain(c[:12]) for c in classes], y=acc,
                 marker=dict(color=[RED if i == worst else COLORS[1] for i in range(len(acc))]),
                 text=[f"{a:.1%}" for a in acc], textposition="outside", cliponaxis=False)
    lo = max(0.0, min((a for a in acc if not math.isnan(a)), default=0) - 0.1)
    return figure([trace], dict(yaxis=dict(range=[lo, 1.04], tickformat=".0%", title=dict(text="accuracy")),
                                xaxis=dict(type="category")), height=height, title="Per-class accuracy (test set)")


def _png(img: np.ndarray) -> str:
    """An (H, W, 3) or (C, H, W) uint8 image as a PNG data URI: the compact way to send pixels to the browser."""
    import base64
    import io

    from PIL import Image

    a = np.asarray(img, dtype=np.uint8)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3):
        a = a.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def gallery(images, labels, probs, classes: tuple[str, ...], *, cols: int = 8, title: str = "",
            tile: int = 120):
    """Test images with a green (right) or red (wrong) frame and the top-3 predicted classes with probabilities."""
    n = len(images)
    rows = max(1, math.ceil(n / cols))
    label_px = 75  # room above each image for its four lines of text
    height = rows * (tile + label_px) + 10
    gap = 0.012
    data, shapes, notes, layout = [], [], [], {}
    for i in range(n):
        r, c = divmod(i, cols)
        p = np.asarray(probs[i], dtype=float)
        top = np.argsort(-p)[:3]
        ok = int(top[0]) == int(labels[i])
        color = GREEN if ok else RED
        mark = "✓" if ok else f"✗ true {plain(classes[int(labels[i])][:10])}"
        text = "<br>".join([f"<span style='color:{color}'><b>{mark}</b></span>"] +
                           [f"{plain(classes[k][:10])} {p[k]:.0%}" for k in top])
        top_px = r * (tile + label_px) + label_px  # distance of the image's top edge from the figure's top
        y1 = 1 - top_px / height
        y0 = 1 - (top_px + tile) / height
        x0, x1 = c / cols + gap / 2, (c + 1) / cols - gap / 2
        suffix = "" if i == 0 else str(i + 1)
        layout[f"xaxis{suffix}"] = dict(domain=[x0, x1], visible=False, anchor=f"y{suffix}")
        layout[f"yaxis{suffix}"] = dict(domain=[y0, y1], visible=False, anchor=f"x{suffix}")
        h, w = np.asarray(images[i]).shape[1:]
        data.append(dict(type="image", source=_png(np.asarray(images[i])), xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                         hoverinfo="skip"))
        shapes.append(dict(type="rect", x0=-0.5, y0=-0.5, x1=w - 0.5, y1=h - 0.5, xref=f"x{suffix}",
                           yref=f"y{suffix}", line=dict(color=color, width=4)))
        notes.append(dict(text=text, x=(x0 + x1) / 2, y=y1, xref="paper", yref="paper", xanchor="center",
                          yanchor="bottom", showarrow=False, font=dict(size=11)))
    layout.update(shapes=shapes, annotations=notes, margin=dict(l=5, r=5, t=10 + (30 if title else 0), b=5))
    return figure(data, layout, height=height + (30 if title else 0), title=title or None)


def filters(weights, *, max_filters: int = 32, cols: int = 8, title: str = "First-layer filters"):
    """The first layer's weights as small images: colour for RGB filters, blue-white-red for one channel."""
    w = np.asarray(weights, dtype=float)[:max_filters]  # (K, C, h, w)
    k, c, h, wd = w.shape
    cols = min(cols, k)
    rows = math.ceil(k / cols)
    pad = 1
    shape = (rows * (h + pad) + pad, cols * (wd + pad) + pad)
    if c == 3:
        lo, hi = w.min(axis=(1, 2, 3), keepdims=True), w.max(axis=(1, 2, 3), keepdims=True)
        norm = (w - lo) / np.maximum(hi - lo, 1e-12)  # each filter stretched to [0, 1]
        canvas = np.full((*shape, 3), 255, dtype=np.uint8)
        for i in range(k):
            r, col = divmod(i, cols)
            top, left = pad + r * (h + pad), pad + col * (wd + pad)
            canvas[top:top + h, left:left + wd] = (norm[i].transpose(1, 2, 0) * 255).astype(np.uint8)
        trace = dict(type="image", source=_png(canvas), hoverinfo="skip")
        yaxis = dict(visible=False)
    else:
        canvas = np.full(shape, np.nan)
        for i in range(k):
            r, col = divmod(i, cols)
            top, left = pad + r * (h + pad), pad + col * (wd + pad)
            canvas[top:top + h, left:left + wd] = w[i, 0] / max(np.abs(w[i, 0]).max(), 1e-12)  # scaled to [-1, 1]
        z = [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in canvas]
        trace = dict(type="heatmap", z=z, colorscale=RDBU_R, zmid=0, zmin=-1, zmax=1, showscale=False,
                     hoverinfo="skip")
        yaxis = dict(visible=False, autorange="reversed")
    side = 560 * shape[0] / shape[1]
    return figure([trace], dict(xaxis=dict(visible=False, scaleanchor="y", constrain="domain"),
                                yaxis={**yaxis, "constrain": "domain"}),
                  height=int(min(700, max(160, side + 50))), title=title)


def class_grid(grid: np.ndarray, classes: tuple[str, ...], tile: int, pad: int, *, title: str = ""):
    """A preview grid (rows = classes) from core.batches.tile, with the class names on the left."""
    img = grid if grid.shape[2] == 3 else np.repeat(grid, 3, axis=2)
    centres = [pad + i * (tile + pad) + tile / 2 for i in range(len(classes))]
    height = int(min(900, max(260, 620 * img.shape[0] / img.shape[1]))) + 40
    return figure([dict(type="image", source=_png(img), hoverinfo="skip")],
                  dict(yaxis=dict(tickmode="array", tickvals=centres, ticktext=[plain(c[:14]) for c in classes],
                                  showgrid=False), xaxis=dict(visible=False)),
                  height=height, title=title or None)
