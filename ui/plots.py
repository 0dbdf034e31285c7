"""Plotly building blocks shared by every section: one look for all figures, and a tensor heatmap."""

import numpy as np
import plotly.graph_objects as go

COLORS = ["#EE4C2C", "#1F77B4", "#2CA02C", "#9467BD", "#FF7F0E", "#17BECF", "#8C564B", "#E377C2", "#7F7F7F",
          "#BCBD22"]
SEQUENTIAL = "Blues"
DIVERGING = "RdBu_r"


def style(fig: go.Figure, *, height: int = 360, title: str | None = None) -> go.Figure:
    """The app's figure look: white template, tight margins, legend on top."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        title=dict(text=title, x=0, xanchor="left", font=dict(size=15)) if title else None,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    return fig


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
    fig = go.Figure(go.Heatmap(
        z=arr, x=list(range(cols)), y=list(range(rows)), text=labels, texttemplate="%{text}",
        colorscale=colorscale, showscale=False, xgap=2, ygap=2,
        hovertemplate=f"[{row_label}=%{{y}}, {col_label}=%{{x}}] = %{{z:{fmt}}}<extra></extra>",
    ))
    if highlight is not None:
        mask = np.asarray(highlight, dtype=bool).reshape(rows, cols)
        for r, c in zip(*np.nonzero(mask), strict=True):
            fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                          line=dict(color=COLORS[0], width=3))
    fig.update_yaxes(autorange="reversed", title=row_label or None, tickmode="linear", dtick=1, showgrid=False,
                     zeroline=False, scaleanchor="x", constrain="domain")
    fig.update_xaxes(title=col_label, tickmode="linear", dtick=1, showgrid=False, zeroline=False, side="top",
                     constrain="domain")
    cell = 44 if cols <= 12 else max(14, 520 // cols)
    return style(fig, height=height or min(560, 70 + rows * cell), title=title)
