"""Figures of the Training section: live curves, run comparison, confusion matrix, prediction galleries,
first-layer filters and dataset previews. Pure functions of plain data (lists, tensors): no Streamlit here."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.plots import COLORS, SEQUENTIAL, style

GREEN, RED = "#2CA02C", "#D62728"


def smooth(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0.

    Example: smooth([1, 1, 1], 0.9) -> [1.0, 1.0, 1.0]
    """
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** i) if weight > 0 else v)
    return out


def curves(history, metric: str, *, smoothing: float = 0.6, height: int = 320) -> go.Figure:
    """Training (per logged step, smoothed) against validation and test (per epoch) for "loss" or "accuracy"."""
    fig = go.Figure()
    steps = history.steps
    key = "loss" if metric == "loss" else "accuracy"
    if steps:
        x = [s.epoch for s in steps]
        raw = [getattr(s, key) for s in steps]
        if smoothing > 0:
            fig.add_scatter(x=x, y=raw, mode="lines", name="train (raw)", line=dict(color=COLORS[0], width=1),
                            opacity=0.25, showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=x, y=smooth(raw, smoothing), mode="lines", name="train", line=dict(color=COLORS[0]))
    epochs = history.epochs
    for split, color, dash in (("val", COLORS[1], "solid"), ("test", COLORS[2], "dot")):
        pts = [(e.epoch, getattr(e, f"{split}_{'loss' if metric == 'loss' else 'acc'}")) for e in epochs]
        pts = [(a, b) for a, b in pts if b is not None]
        if pts:
            fig.add_scatter(x=[a for a, _ in pts], y=[b for _, b in pts], mode="lines+markers", name=split,
                            line=dict(color=color, dash=dash), marker=dict(size=8))
    fig.update_xaxes(title="epoch", rangemode="tozero")
    if metric == "loss":
        fig.update_yaxes(title="cross-entropy loss", rangemode="tozero")
    else:
        fig.update_yaxes(title="accuracy", tickformat=".0%")
    return style(fig, height=height, title="Loss" if metric == "loss" else "Accuracy")


def grad_norms(history, *, height: int = 280) -> go.Figure:
    """Gradient norm of every layer's weights over training (log scale): vanishing or exploding shows here."""
    fig = go.Figure()
    x = [s.epoch for s in history.steps]
    for i, name in enumerate(history.layers):
        fig.add_scatter(x=x, y=[max(s.grad_norms[i], 1e-12) for s in history.steps], mode="lines", name=name,
                        line=dict(color=COLORS[i % len(COLORS)]))
    fig.update_yaxes(type="log", title="‖grad‖ of the weights")
    fig.update_xaxes(title="epoch")
    return style(fig, height=height, title="Gradient norm per layer")


def lr_schedule(lrs: list[float], steps_per_epoch: int, *, done_steps: int = 0, height: int = 220) -> go.Figure:
    """The planned learning rate per step, with the part already done highlighted."""
    x = [i / steps_per_epoch for i in range(len(lrs))]
    fig = go.Figure(go.Scatter(x=x, y=lrs, mode="lines", name="planned", line=dict(color=COLORS[8])))
    if done_steps:
        fig.add_scatter(x=x[:done_steps], y=lrs[:done_steps], mode="lines", name="done",
                        line=dict(color=COLORS[0], width=3))
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title="learning rate", exponentformat="e")
    return style(fig, height=height, title="Learning-rate schedule")


def compare_runs(runs: list[tuple[str, object]], metric: str, *, smoothing: float = 0.6,
                 height: int = 340) -> go.Figure:
    """Several runs on one chart: smoothed training loss per step, or validation/test accuracy per epoch."""
    fig = go.Figure()
    for i, (label, history) in enumerate(runs):
        color = COLORS[i % len(COLORS)]
        if metric == "train loss":
            x = [s.epoch for s in history.steps]
            y = smooth([s.loss for s in history.steps], smoothing)
            fig.add_scatter(x=x, y=y, mode="lines", name=label, line=dict(color=color))
        else:
            field = "test_acc" if metric == "test accuracy" else "val_acc"
            pts = [(e.epoch, getattr(e, field)) for e in history.epochs if getattr(e, field) is not None]
            fig.add_scatter(x=[a for a, _ in pts], y=[b for _, b in pts], mode="lines+markers", name=label,
                            line=dict(color=color))
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title=metric, tickformat=".0%" if "accuracy" in metric else None)
    return style(fig, height=height, title=f"Runs compared: {metric}")


def confusion(cm, classes: tuple[str, ...], *, height: int = 460) -> go.Figure:
    """Confusion matrix: counts written in, colour = share of the true class (row), so errors stand out."""
    cm = np.asarray(cm, dtype=float)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    labels = [c[:12] for c in classes]
    fig = go.Figure(go.Heatmap(
        z=share.tolist(), x=labels, y=labels, text=cm.astype(int).tolist(), texttemplate="%{text}", colorscale=SEQUENTIAL,
        zmin=0, zmax=1, showscale=False, xgap=1, ygap=1,
        hovertemplate="true %{y}, predicted %{x}: %{text} (%{z:.1%} of the true class)<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true class", type="category")
    fig.update_xaxes(title="predicted class", type="category", side="bottom")
    return style(fig, height=height, title="Confusion matrix (test set)")


def per_class(acc, classes: tuple[str, ...], *, height: int = 300) -> go.Figure:
    """Accuracy of each true class, worst in red."""
    acc = [float(a) for a in acc]
    worst = int(np.nanargmin(acc)) if acc else -1
    colors = [RED if i == worst else COLORS[1] for i in range(len(acc))]
    fig = go.Figure(go.Bar(x=[c[:12] for c in classes], y=acc, marker_color=colors,
                           text=[f"{a:.1%}" for a in acc], textposition="outside", cliponaxis=False))
    lo = max(0.0, min((a for a in acc if not math.isnan(a)), default=0) - 0.1)
    fig.update_yaxes(range=[lo, 1.04], tickformat=".0%", title="accuracy")
    fig.update_xaxes(type="category")
    return style(fig, height=height, title="Per-class accuracy (test set)")


def _rgb(img) -> np.ndarray:
    """(C, H, W) uint8 tensor/array -> (H, W, 3) uint8."""
    a = np.asarray(img)
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    return np.ascontiguousarray(a.transpose(1, 2, 0))


def gallery(images, labels, probs, classes: tuple[str, ...], *, cols: int = 8, title: str = "",
            tile: int = 120) -> go.Figure:
    """Test images with a green (right) or red (wrong) frame and the top-3 predicted classes with probabilities."""
    n = len(images)
    rows = max(1, math.ceil(n / cols))
    titles = []
    for i in range(n):
        p = np.asarray(probs[i], dtype=float)
        top = np.argsort(-p)[:3]
        ok = top[0] == int(labels[i])
        mark = "✓" if ok else f"✗ true {classes[int(labels[i])][:10]}"
        color = GREEN if ok else RED
        lines = [f"<span style='color:{color}'><b>{mark}</b></span>"] + \
                [f"{classes[k][:10]} {p[k]:.0%}" for k in top]
        titles.append("<br>".join(lines))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles + [""] * (rows * cols - n),
                        horizontal_spacing=0.012, vertical_spacing=0.5 / rows)
    for i in range(n):
        r, c = divmod(i, cols)
        fig.add_trace(go.Image(z=_rgb(images[i]), hoverinfo="skip"), row=r + 1, col=c + 1)
        ok = int(np.argmax(np.asarray(probs[i]))) == int(labels[i])
        h, w = images[i].shape[1:]
        axis = "" if i == 0 else str(i + 1)
        fig.add_shape(type="rect", x0=-0.5, y0=-0.5, x1=w - 0.5, y1=h - 0.5, xref=f"x{axis}", yref=f"y{axis}",
                      line=dict(color=GREEN if ok else RED, width=4))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font=dict(size=11), yanchor="bottom")
    fig = style(fig, height=rows * (tile + 75) + 75, title=title or None)
    fig.update_layout(margin=dict(l=5, r=5, t=75 + (25 if title else 0), b=5))  # room for the first row's labels
    return fig


def filters(weights, *, max_filters: int = 32, cols: int = 8, title: str = "First-layer filters") -> go.Figure:
    """The first layer's weights as small images: colour for RGB filters, blue-white-red for one channel."""
    w = np.asarray(weights, dtype=float)[:max_filters]  # (K, C, h, w)
    k, c, h, wd = w.shape
    rows = math.ceil(k / cols)
    pad = 1
    if c == 3:
        lo, hi = w.min(axis=(1, 2, 3), keepdims=True), w.max(axis=(1, 2, 3), keepdims=True)
        norm = (w - lo) / np.maximum(hi - lo, 1e-12)  # each filter stretched to [0, 1]
        canvas = np.full((rows * (h + pad) + pad, cols * (wd + pad) + pad, 3), 255, dtype=np.uint8)
        for i in range(k):
            r, col = divmod(i, cols)
            canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + col * (wd + pad):pad + col * (wd + pad) + wd] = \
                (norm[i].transpose(1, 2, 0) * 255).astype(np.uint8)
        fig = go.Figure(go.Image(z=canvas, hoverinfo="skip"))
    else:
        canvas = np.full((rows * (h + pad) + pad, cols * (wd + pad) + pad), np.nan)
        for i in range(k):
            r, col = divmod(i, cols)
            f = w[i, 0] / max(np.abs(w[i, 0]).max(), 1e-12)  # each filter scaled to [-1, 1]
            canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + col * (wd + pad):pad + col * (wd + pad) + wd] = f
        fig = go.Figure(go.Heatmap(z=canvas, colorscale="RdBu_r", zmid=0, zmin=-1, zmax=1, showscale=False,
                                   hoverinfo="skip"))
        fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(visible=False, scaleanchor="y", constrain="domain")
    fig.update_yaxes(visible=False, constrain="domain")
    side = 560 * canvas.shape[0] / canvas.shape[1]
    return style(fig, height=int(min(700, max(160, side + 50))), title=title)


def class_grid(grid: np.ndarray, classes: tuple[str, ...], tile: int, pad: int, *, title: str = "") -> go.Figure:
    """A preview grid (rows = classes) from core.data.tile, with the class names on the left."""
    img = grid if grid.shape[2] == 3 else np.repeat(grid, 3, axis=2)
    fig = go.Figure(go.Image(z=img, hoverinfo="skip"))
    centres = [pad + i * (tile + pad) + tile / 2 for i in range(len(classes))]
    fig.update_yaxes(tickmode="array", tickvals=centres, ticktext=[c[:14] for c in classes], showgrid=False)
    fig.update_xaxes(visible=False)
    height = int(min(900, max(260, 620 * img.shape[0] / img.shape[1]))) + 40
    return style(fig, height=height, title=title or None)
