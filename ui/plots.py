"""Plotly building blocks shared by every section: one look for all figures, and a tensor heatmap.

Speed: plotly validates every property it is given, and expanding the `plotly_white` template by name costs
10-80 ms of CPU per figure here, a large part of a lesson's rerun budget. So the app builds figures from plain
dicts without validation (`figure`) and attaches the template as a ready-made dict. Under pytest (or with
PYLAB_VALIDATE_FIGURES=1) figures are validated, which yields the same JSON and catches any invalid property.
"""

import html
import os
import sys
import threading
from functools import cache

import numpy as np
import plotly.graph_objects as go

COLORS = ["#EE4C2C", "#1F77B4", "#2CA02C", "#9467BD", "#FF7F0E", "#17BECF", "#8C564B", "#E377C2", "#7F7F7F",
          "#BCBD22"]
SEQUENTIAL = "Blues"
DIVERGING = "RdBu_r"


VALIDATE = "pytest" in sys.modules or os.environ.get("PYLAB_VALIDATE_FIGURES") == "1"


@cache
def template() -> dict:
    """plotly_white as a plain dict, expanded once."""
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def _look(height: int | None, title: str | None) -> dict:
    look = dict(margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    if height is not None:
        look["height"] = height
    if title:
        look["title"] = dict(text=title, x=0, xanchor="left", font=dict(size=15))
        look["legend"].update(x=1, xanchor="right")  # the title has the left side
    return look


_built = threading.local()  # the first figure a lesson's run builds (for its notebook), while run_page captures


def capture(on: bool) -> go.Figure | None:
    """Start capturing the first figure built in this script run (on=True), or stop and return it."""
    first = getattr(_built, "first", None)
    _built.on, _built.first = on, None
    return first


def _keep(fig: go.Figure) -> go.Figure:
    if getattr(_built, "on", False) and getattr(_built, "first", None) is None:
        _built.first = fig
    return fig


def figure(data=(), layout: dict | None = None, *, height: int | None = None, title: str | None = None,
           frames: list[dict] | None = None) -> go.Figure:
    """A figure from plain dicts with the app's look (template, margins, legend on top, title on the left).

    `layout` is merged into the look one level deep, so `margin=dict(t=70)` keeps the other margins.
    """
    merged = _look(height, title)
    for key, value in (layout or {}).items():
        merged[key] = {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    merged["template"] = template()
    spec = {"data": list(data), "layout": merged}
    if frames:
        spec["frames"] = frames
    return _keep(go.Figure(spec, _validate=VALIDATE))


def style(fig: go.Figure, *, height: int = 360, title: str | None = None) -> go.Figure:
    """Give a figure built elsewhere the app's look (as `figure` does)."""
    look = _look(height, title)
    look.setdefault("title", {})
    fig.update_layout(**look)
    fig.layout.template = template()
    return _keep(fig)


def tensor_heatmap(values, *, title: str | None = None, highlight=None, fmt: str = ".2f",
                   row_label: str = "dim 0", col_label: str = "dim 1", colorscale: str = SEQUENTIAL,
                   text=None, height: int | None = None) -> go.Figure:
    """A 0-D, 1-D or 2-D tensor as a grid of cells with its values written in and its indices on the axes.

    `highlight` is a boolean mask of the same shape: those cells get a thick outline.
    `text` (same shape, strings) replaces the written values, e.g. with "from [1,0]" annotations.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(1, -1)
        row_label = ""
    if arr.ndim != 2:
        raise ValueError("tensor_heatmap draws at most 2 dimensions; slice the tensor first")
    rows, cols = arr.shape
    if text is None:
        labels = np.vectorize(lambda v: f"{v:{fmt}}" if np.isfinite(v) else str(v))(arr) if arr.size else arr
    else:
        labels = np.asarray(text, dtype=object).reshape(rows, cols)
    heatmap = dict(
        type="heatmap", z=arr.tolist(), x=list(range(cols)), y=list(range(rows)), text=labels.tolist(),
        texttemplate="%{text}", colorscale=colorscale, showscale=False, xgap=2, ygap=2,
        hovertemplate=f"[{row_label}=%{{y}}, {col_label}=%{{x}}] = %{{z:{fmt}}}<extra></extra>",
    )
    shapes = []
    if highlight is not None:
        mask = np.asarray(highlight, dtype=bool).reshape(rows, cols)
        shapes = [dict(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                       line=dict(color=COLORS[0], width=3)) for r, c in zip(*np.nonzero(mask), strict=True)]
    axis = dict(tickmode="linear", dtick=1, showgrid=False, zeroline=False, constrain="domain")
    layout = dict(
        shapes=shapes,
        yaxis=dict(axis, autorange="reversed", title=dict(text=row_label or None), scaleanchor="x"),
        xaxis=dict(axis, title=dict(text=col_label), side="top"),
    )
    cell = 44 if cols <= 12 else max(14, 520 // cols)
    return figure([heatmap], layout, height=height or min(560, 70 + rows * cell), title=title)


def plain(text) -> str:
    """Text from outside the app (a class folder's name) as plotly draws it literally: plotly reads a few HTML
    tags (<a href>, <b>, <span style>) in any label, so `<`, `>` and `&` are written as entities.
    Example: plain("<b>cat</b>") -> "&lt;b&gt;cat&lt;/b&gt;" """
    return html.escape(str(text), quote=False)
