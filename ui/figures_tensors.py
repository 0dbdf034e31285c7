"""Figures of the Tensor lab: shape alignment, cells coloured by where they came from, memory layout, and a
picker for 2-D slices of bigger tensors. Every builder takes plain values/tensors and returns a plotly figure.

Figures are written as plain dicts and built by `ui.plots.figure` without plotly's slow validation.
"""

from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from ui.plots import COLORS, figure

# Light colours, so black text stays readable; a cell's colour says which source it came from.
PALETTE = ["#AEC7E8", "#FFBB78", "#98DF8A", "#FF9896", "#C5B0D5", "#C49C94", "#F7B6D2", "#DBDB8D", "#9EDAE5",
           "#FDD0A2", "#C7E9C0", "#DADAEB", "#FCBBA1", "#D9D9D9", "#A1D99B", "#BCBDDC", "#FDAE6B", "#9ECAE1"]
MAX_DRAWN = 24  # rows/cols drawn in a grid; bigger tensors are cut (and the title says so)
MAX_WRITTEN = 14  # up to this many columns the values are written in the cells; beyond, they are in the hover
HIGHLIGHT = COLORS[0]

ROLE_COLORS = {"kept": "#E8E8E8", "stretched": "#FDD0A2", "inserted": "#9ECAE1", "clash": "#FF9896",
               "result": "#C7E9C0", "missing": "#FFFFFF"}


@lru_cache(maxsize=32)
def _named_scale(name: str) -> tuple:
    import plotly.colors

    return tuple(tuple(step) for step in plotly.colors.get_colorscale(name))


def _scale(colorscale) -> list:
    """plotly.js knows fewer (and differently oriented) scale names than plotly.py: always send the colours."""
    if isinstance(colorscale, str):
        return [list(step) for step in _named_scale(colorscale)]
    return colorscale


def as_2d(values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1:
        return arr.reshape(1, -1)
    return arr


def cut(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """At most MAX_DRAWN rows and columns, and a note when cells were left out."""
    rows, cols = arr.shape
    if rows <= MAX_DRAWN and cols <= MAX_DRAWN:
        return arr, ""
    return arr[:MAX_DRAWN, :MAX_DRAWN], f" (first {min(rows, MAX_DRAWN)}x{min(cols, MAX_DRAWN)} of {rows}x{cols})"


def fmt_value(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "T" if v else "F"
    if isinstance(v, int | np.integer):
        return str(int(v))
    v = float(v)
    if not np.isfinite(v):
        return str(v)
    return f"{v:.0f}" if v == round(v) and abs(v) < 1e6 else f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"


def _labels(values) -> np.ndarray:
    arr = as_2d(np.asarray(values))
    return np.vectorize(fmt_value, otypes=[object])(arr) if arr.size else arr.astype(object)


def _height(rows: int, cols: int, titled: bool) -> int:
    cell = 58 if cols <= 8 else 44 if cols <= 12 else max(20, 560 // cols)
    return min(640, 60 + (40 if titled else 0) + rows * cell)


def _outlines(mask, *, xref: str = "x", yref: str = "y", width: int = 3) -> list[dict]:
    return [dict(type="rect", xref=xref, yref=yref, x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                 line=dict(color=HIGHLIGHT, width=width)) for r, c in zip(*np.nonzero(mask), strict=True)]


def _grid_layout(row_label: str, col_label: str, titled: bool) -> dict:
    """Cells as squares, row 0 on top, column indices above the grid (the title sits above them)."""
    axis = dict(tickmode="linear", dtick=1, showgrid=False, zeroline=False, constrain="domain")
    layout = dict(
        yaxis=dict(axis, autorange="reversed", scaleanchor="x"),
        xaxis=dict(axis, side="top"),
        margin=dict(t=78 if titled else 40),
    )
    if row_label:
        layout["yaxis"]["title"] = dict(text=row_label)
    if col_label:
        layout["xaxis"]["title"] = dict(text=col_label)
    if titled:
        layout["title"] = dict(y=0.985, yanchor="top", yref="container")
    return layout


def grid(values, *, title: str | None = None, highlight=None, text=None, row_label: str = "dim 0",
         col_label: str = "dim 1", colorscale="Blues", height: int | None = None) -> go.Figure:
    """A tensor (0-D to 2-D) as cells with values and indices; cut to MAX_DRAWN; optional outlines and text."""
    one_d = np.asarray(values).ndim <= 1
    shown, note = cut(as_2d(np.asarray(values)))  # cut first: labelling a million cells would take seconds
    z = shown.astype(float)
    labels = cut(as_2d(np.asarray(text, dtype=object)))[0] if text is not None else _labels(shown)
    rows, cols = z.shape
    trace = dict(type="heatmap", z=z, x=list(range(cols)), y=list(range(rows)), text=labels,
                 texttemplate="%{text}" if cols <= MAX_WRITTEN else "", textfont=dict(size=13),
                 colorscale=_scale(colorscale), showscale=False, xgap=2 if cols <= MAX_WRITTEN else 1,
                 ygap=2 if cols <= MAX_WRITTEN else 1, hovertemplate="[%{y}, %{x}] = %{text}<extra></extra>")
    if colorscale in ("RdBu_r", "RdBu") and np.isfinite(z).any():
        trace["zmid"] = 0  # zero stays white: signs read at a glance
    full_title = ((title or "") + note) or None
    layout = _grid_layout("" if one_d else row_label, "index" if one_d else col_label, bool(full_title))
    if highlight is not None:
        layout["shapes"] = _outlines(cut(as_2d(np.asarray(highlight, dtype=bool)))[0])
    return figure([trace], layout, height=height or _height(rows, cols, bool(full_title)), title=full_title)


def first_slice(t, *, title: str, highlight=None, text=None, colorscale="Blues") -> go.Figure:
    """A torch tensor as a grid; for more than 2 dims its first 2-D slice t[0, ..., 0, :, :], named in the title."""
    lead = (0,) * max(t.dim() - 2, 0)
    note = f" — slice [{', '.join(['0'] * len(lead))}, :, :]" if lead else ""
    return grid(t[lead].numpy(), title=title + note, highlight=None if highlight is None else highlight[lead],
                text=None if text is None else text[lead], colorscale=colorscale, row_label=f"dim {t.dim() - 2}",
                col_label=f"dim {t.dim() - 1}")


def _discrete(colors: list[str]) -> list:
    n = len(colors)
    scale = []
    for i, color in enumerate(colors):
        scale += [[i / n, color], [(i + 1) / n, color]]
    return scale


def source_grid(owner, text, *, title: str | None = None, highlight=None, row_label: str = "dim 0",
                col_label: str = "dim 1", hover=None, height: int | None = None) -> go.Figure:
    """Cells coloured by an integer `owner` (which source each cell came from) with `text` written in."""
    one_d = np.asarray(owner).ndim <= 1
    codes, note = cut(as_2d(np.asarray(owner, dtype=int)))
    labels = cut(as_2d(np.asarray(text, dtype=object)))[0]
    hovers = labels if hover is None else cut(as_2d(np.asarray(hover, dtype=object)))[0]
    n = len(PALETTE)
    rows, cols = codes.shape
    trace = dict(type="heatmap", z=codes % n + 0.5, x=list(range(cols)), y=list(range(rows)), text=labels,
                 texttemplate="%{text}", textfont=dict(size=13), customdata=hovers,
                 hovertemplate="[%{y}, %{x}]: %{customdata}<extra></extra>", colorscale=_discrete(PALETTE),
                 zmin=0, zmax=n, showscale=False, xgap=2, ygap=2)
    full_title = ((title or "") + note) or None
    layout = _grid_layout("" if one_d else row_label, "index" if one_d else col_label, bool(full_title))
    if highlight is not None:
        layout["shapes"] = _outlines(cut(as_2d(np.asarray(highlight, dtype=bool)))[0])
    return figure([trace], layout, height=height or _height(rows, cols, bool(full_title)), title=full_title)


def alignment(dims, *, a_name: str = "A", b_name: str = "B") -> go.Figure:
    """Two shapes lined up from the right, one column per result dim: kept, stretched, inserted or clashing."""
    rows = [a_name, b_name, "result"]
    cols = [f"dim {d.axis} / {d.neg}" for d in dims]
    order = list(ROLE_COLORS)
    z, text, hover = [], [], []
    for row in rows:
        zr, tr, hr = [], [], []
        for d in dims:
            if row == "result":
                role = "result" if d.ok else "clash"
                label = str(d.size) if d.ok else "✗"
            else:
                size = d.a if row == a_name else d.b
                role = d.a_role if row == a_name else d.b_role
                if size is None:
                    label = f"new 1→{d.size}" if d.size is not None else "-"
                else:
                    label = f"1→{d.size}" if role == "stretched" else str(size)
            zr.append(order.index(role) + 0.5)
            tr.append(label)
            hr.append(f"{row}, dim {d.axis}: {role}")
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    data = [dict(type="heatmap", z=z, x=cols, y=rows, text=text, texttemplate="%{text}", textfont=dict(size=16),
                 customdata=hover, hovertemplate="%{customdata}<extra></extra>",
                 colorscale=_discrete([ROLE_COLORS[r] for r in order]), zmin=0, zmax=len(order), showscale=False,
                 xgap=3, ygap=3)]
    for role in ("kept", "stretched", "inserted", "clash", "result"):
        data.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=role,
                         marker=dict(size=12, symbol="square", color=ROLE_COLORS[role],
                                     line=dict(color="#999", width=1))))
    layout = dict(yaxis=dict(autorange="reversed", showgrid=False, zeroline=False),
                  xaxis=dict(side="top", showgrid=False, zeroline=False), plot_bgcolor="white",
                  legend=dict(orientation="h", y=-0.08, yanchor="top", x=0), margin=dict(t=30, b=40))
    return figure(data, layout, height=230)


def storage_strip(values, *, title: str = "Storage (memory, in order)") -> go.Figure:
    """The 1-D storage behind a tensor: one cell per element, in memory order, with its offset on the axis."""
    arr = np.asarray(values).reshape(1, -1)[:, : MAX_DRAWN * 2]
    data = [dict(type="heatmap", z=arr.astype(float), x=list(range(arr.shape[1])), y=[0], text=_labels(arr),
                 texttemplate="%{text}", colorscale=_scale("Blues"), showscale=False, xgap=2, ygap=2,
                 hovertemplate="offset %{x}: %{text}<extra></extra>")]
    layout = dict(yaxis=dict(visible=False),
                  xaxis=dict(title=dict(text="offset in storage"), tickmode="linear", dtick=1, showgrid=False,
                             zeroline=False))
    return figure(data, layout, height=130, title=title)


def bars(series: dict[str, np.ndarray], *, title: str | None = None, height: int = 300, lines=None) -> go.Figure:
    """Grouped bars, one group per entry index (e.g. a gradient before and after clipping)."""
    data = [dict(type="bar", x=list(range(len(values))), y=np.asarray(values, dtype=float), name=name,
                 marker=dict(color=COLORS[i % len(COLORS)])) for i, (name, values) in enumerate(series.items())]
    shapes, notes = [], []
    for y, label in lines or []:
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, y0=y, y1=y, line=dict(color="#555", dash="dot")))
        notes.append(dict(xref="paper", x=1, y=y, text=label, showarrow=False, xanchor="right", yanchor="bottom"))
    layout = dict(barmode="group", shapes=shapes, annotations=notes,
                  xaxis=dict(title=dict(text="entry"), tickmode="linear", dtick=1),
                  legend=dict(y=-0.22, yanchor="top"), margin=dict(b=10))
    return figure(data, layout, height=height, title=title)


def curve(x, ys: dict[str, np.ndarray], *, title: str | None = None, height: int = 320) -> go.Figure:
    """y = f(x) lines; NaN (outside the domain) leaves a gap."""
    data = [dict(type="scatter", x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float), mode="lines+markers",
                 name=name, line=dict(color=COLORS[i % len(COLORS)]), marker=dict(size=5))
            for i, (name, y) in enumerate(ys.items())]
    return figure(data, dict(xaxis=dict(title=dict(text="x"), zeroline=True)), height=height, title=title)


def histogram(counts, edges, *, title: str | None = None, height: int = 260) -> go.Figure:
    """Bars from precomputed histogram counts (cheap even for a million values)."""
    edges = np.asarray(edges, dtype=float)
    data = [dict(type="bar", x=(edges[:-1] + edges[1:]) / 2, y=np.asarray(counts, dtype=float),
                 width=np.diff(edges) * 0.95, marker=dict(color=COLORS[1]))]
    layout = dict(xaxis=dict(title=dict(text="value")), yaxis=dict(title=dict(text="count")))
    return figure(data, layout, height=height, title=title)


def small_multiples(rows: dict[str, list], *, titles: list[str], reference: str | None = None,
                    height_per_row: int = 200) -> go.Figure:
    """A table of small 2-D grids: one row per named tensor, one column per slice.

    With `reference`, cells that differ from the reference row's cell are outlined in red.
    """
    names = list(rows)
    ncols = max(len(v) for v in rows.values())
    nrows = len(names)
    hgap, vgap = 0.04, 0.12 / max(nrows - 1, 1)
    width = (1 - hgap * (ncols - 1)) / ncols
    height = (1 - vgap * (nrows - 1)) / nrows
    data, shapes, notes, layout = [], [], [], {}
    axis = dict(showgrid=False, zeroline=False, tickmode="linear", dtick=1)
    for r, name in enumerate(names):
        for c, arr in enumerate(rows[name]):
            k = r * ncols + c + 1
            sx, sy = ("" if k == 1 else str(k)), ("" if k == 1 else str(k))
            x0 = round(c * (width + hgap), 6)  # rounded: float error must not leave [0, 1]
            y1 = round(1 - r * (height + vgap), 6)
            layout[f"xaxis{sx}"] = dict(axis, domain=[x0, min(1.0, round(x0 + width, 6))], anchor=f"y{sy}")
            layout[f"yaxis{sy}"] = dict(axis, domain=[max(0.0, round(y1 - height, 6)), y1], anchor=f"x{sx}",
                                        autorange="reversed")
            arr = as_2d(np.asarray(arr))
            data.append(dict(type="heatmap", z=arr.astype(float), text=_labels(arr), texttemplate="%{text}",
                             colorscale=_scale("Blues"), showscale=False, xgap=2, ygap=2, xaxis=f"x{sx}", yaxis=f"y{sy}",
                             hovertemplate="[%{y}, %{x}] = %{text}<extra></extra>"))
            notes.append(dict(text=f"{name}{titles[c]}", xref="paper", yref="paper", x=x0 + width / 2, y=y1,
                              xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=13)))
            if reference is not None and name != reference:
                ref = as_2d(np.asarray(rows[reference][c]))
                shapes += _outlines(ref != arr, xref=f"x{sx}", yref=f"y{sy}", width=2)
    layout.update(shapes=shapes, annotations=notes, margin=dict(t=36))
    return figure(data, layout, height=60 + height_per_row * nrows)


def slice_picker(shape, key: str, *, label: str = "Show the slice", leading: int | None = None) -> tuple:
    """Sliders for the leading indices of a tensor with more than 2 dims; returns the index tuple.

    Sizes of 1 need no slider (index 0). The slider values are clamped when the shape shrinks.
    """
    import streamlit as st

    shape = tuple(shape)
    lead = max(len(shape) - 2, 0) if leading is None else leading
    picked = []
    movable = [d for d in range(lead) if shape[d] > 1]
    if movable:
        st.caption(f"{label}: the tensor has {len(shape)} dims, so the picture shows one 2-D slice "
                   f"x[{', '.join(['i' + str(d) for d in range(lead)] + [':'] * (len(shape) - lead))}].")
    cols = st.columns(max(len(movable), 1)) if movable else []
    col_of = {d: cols[i] for i, d in enumerate(movable)}
    for d in range(lead):
        if shape[d] <= 1:
            picked.append(0)
            continue
        k = f"{key}_{d}"
        if st.session_state.get(k, 0) > shape[d] - 1:
            st.session_state[k] = shape[d] - 1
        picked.append(col_of[d].slider(f"index in dim {d}", 0, shape[d] - 1, key=k))
    return tuple(picked)


def memory_bars(sizes: dict[str, int], *, title: str | None = None, height: int = 300) -> go.Figure:
    """Bytes a tensor takes in each dtype: one horizontal bar per dtype, labelled in readable units."""
    names = list(sizes)
    values = [sizes[n] for n in names]
    data = [dict(type="bar", orientation="h", y=names, x=values, text=[_bytes(v) for v in values],
                 textposition="auto", marker=dict(color=COLORS[0]), hovertemplate="%{y}: %{text}<extra></extra>")]
    layout = dict(xaxis=dict(title=dict(text="bytes")), yaxis=dict(autorange="reversed"), showlegend=False)
    return figure(data, layout, height=height, title=title)


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"
