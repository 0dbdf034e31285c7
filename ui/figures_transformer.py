"""Figures of the tiny transformer: the loss while it trains, attention per head over the typed characters, and the
next character's probabilities before and after temperature, top-k and top-p."""

from __future__ import annotations

import numpy as np
import torch

from ui.plots import COLORS, figure


def _show(c: str) -> str:
    return {" ": "␣", "\n": "↵", "\t": "⇥"}.get(c, c)


def losses(values: list[float], accuracy: list[tuple[int, float]], height: int = 300):
    """The training loss per step (light) with its running average (dark), and the exact accuracy when measured."""
    steps = np.arange(1, len(values) + 1)
    data = [dict(type="scatter", mode="lines", x=steps, y=np.asarray(values), name="loss per step",
                 line=dict(color="#cccccc", width=1))]
    if values:
        v = np.asarray(values)
        window = np.minimum(np.arange(1, len(v) + 1), 25)  # the mean of the last 25 steps (fewer at the start)
        total = np.cumsum(v)
        smooth = (total - np.concatenate([np.zeros(25), total])[: len(v)]) / window
        data.append(dict(type="scatter", mode="lines", x=steps, y=smooth, name="mean of the last 25 steps",
                         line=dict(color=COLORS[0], width=2)))
    layout = dict(xaxis=dict(title="step"), yaxis=dict(title="cross-entropy"), uirevision="tt_loss")
    if accuracy:
        data.append(dict(type="scatter", mode="lines+markers", x=[s for s, _ in accuracy],
                         y=[a for _, a in accuracy], name="exact accuracy", yaxis="y2",
                         line=dict(color=COLORS[2], width=2)))
        layout["yaxis2"] = dict(title="exact accuracy", overlaying="y", side="right", range=[0, 1],
                                tickformat=".0%", showgrid=False)
    return figure(data, layout, height=height)


def attention(maps: torch.Tensor, chars: str, layer: int, height: int = 330):
    """One layer's heads side by side: row = the character that looks, column = the character it looks at."""
    heads, t, _ = maps.shape
    labels = [f"{i}:{_show(c)}" for i, c in enumerate(chars[-t:])]
    data, layout = [], {}
    for h in range(heads):
        suffix = "" if h == 0 else str(h + 1)
        data.append(dict(type="heatmap", z=maps[h].numpy(), x=labels, y=labels, zmin=0, zmax=1,
                         colorscale=[[0, "#ffffff"], [1, "#08519c"]], showscale=h == heads - 1, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                         hovertemplate="%{y} looks at %{x}: %{z:.2f}<extra>head " + str(h + 1) + "</extra>"))
        gap = 0.04
        width = (1 - gap * (heads - 1)) / heads
        layout[f"xaxis{suffix}"] = dict(domain=[h * (width + gap), h * (width + gap) + width], tickangle=0,
                                        title=f"head {h + 1}", side="bottom", tickfont=dict(size=9))
        layout[f"yaxis{suffix}"] = dict(autorange="reversed", tickfont=dict(size=9), showticklabels=h == 0,
                                        scaleanchor=f"x{suffix}", constrain="domain")
    return figure(data, {**layout, "uirevision": "tt_att"}, height=height, title=f"layer {layer + 1}: attention weights")


def next_char(raw: torch.Tensor, probs: torch.Tensor, kept: torch.Tensor, vocab: str, top: int = 20, height=300):
    """The most likely next characters: the model's own probabilities and what the sampler draws from."""
    order = raw.argsort(descending=True)[:top].tolist()
    labels = [_show(vocab[i]) for i in order]
    data = [dict(type="bar", x=labels, y=raw[order].numpy(), name="model (temperature 1)", marker_color="#bbbbbb"),
            dict(type="bar", x=labels, y=probs[order].numpy(), name="sampled from",
                 marker_color=[COLORS[1] if bool(kept[i]) else "#eeeeee" for i in order])]
    return figure(data, dict(barmode="group", xaxis=dict(type="category", title="next character"),
                             yaxis=dict(title="probability", range=[0, 1]), uirevision="tt_next"),
                  height=height)
