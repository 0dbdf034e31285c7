"""Figures of the Tensor lab: shape alignment, cells coloured by where they came from, memory layout, and a
picker for 2-D slices of bigger tensors. Every builder takes plain values/tensors and returns a plotly figure."""

import numpy as np
import plotly.graph_objects as go

from ui.plots import COLORS, style, tensor_heatmap

# Light colours, so black text stays readable; a cell's colour says which source it came from.
PALETTE = ["#AEC7E8", "#FFBB78", "#98DF8A", "#FF9896", "#C5B0D5", "#C49C94", "#F7B6D2", "#DBDB8D", "#9EDAE5",
           "#FDD0A2", "#C7E9C0", "#DADAEB", "#FCBBA1", "#D9D9D9", "#A1D99B", "#BCBDDC", "#FDAE6B", "#9ECAE1"]
MAX_DRAWN = 24  # rows/cols drawn in a grid; bigger tensors are cut (and the title says so)

ROLE_COLORS = {"kept": "#E8E8E8", "stretched": "#FDD0A2", "inserted": "#9ECAE1", "clash": "#FF9896",
               "result": "#C7E9C0", "missing": "#FFFFFF"}


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


def grid(values, *, title: str | None = None, highlight=None, text=None, row_label: str = "dim 0",
         col_label: str = "dim 1", colorscale: str = "Blues", height: int | None = None) -> go.Figure:
    """A tensor (0-D to 2-D) as cells with values; cut to MAX_DRAWN; optional outline mask and text."""
    arr = as_2d(np.asarray(values, dtype=float))
    one_d = np.asarray(values).ndim <= 1
    drawn, note = cut(arr)
    labels = None
    if text is not None:
        labels = cut(as_2d(np.asarray(text, dtype=object)))[0]
    else:
        labels = np.vectorize(fmt_value, otypes=[object])(cut(as_2d(np.asarray(values)))[0])
    mask = None if highlight is None else cut(as_2d(np.asarray(highlight, dtype=bool)))[0]
    rows, cols = drawn.shape
    fig = tensor_heatmap(drawn, title=(title or "") + note or None, highlight=mask, text=labels,
                         row_label="" if one_d else row_label, col_label=col_label if not one_d else "index",
                         colorscale=colorscale, height=height or _height(rows, cols, bool(title or note)))
    if colorscale in ("RdBu_r", "RdBu") and np.isfinite(drawn).any():
        fig.update_traces(zmid=0, selector=dict(type="heatmap"))  # zero stays white: signs read at a glance
    return _room_for_title(fig, bool(title or note))


def _height(rows: int, cols: int, titled: bool) -> int:
    cell = 58 if cols <= 8 else 44 if cols <= 12 else max(20, 560 // cols)
    return min(640, 60 + (40 if titled else 0) + rows * cell)


def _room_for_title(fig: go.Figure, titled: bool) -> go.Figure:
    """The column indices sit on top of a grid: keep the title above them."""
    if titled:
        fig.update_layout(margin=dict(t=78), title=dict(y=0.985, yanchor="top", yref="container"))
    else:
        fig.update_layout(margin=dict(t=40))
    fig.update_traces(textfont=dict(size=13), selector=dict(type="heatmap"))
    return fig


def source_grid(owner, text, *, title: str | None = None, highlight=None, row_label: str = "dim 0",
                col_label: str = "dim 1", hover=None, height: int | None = None) -> go.Figure:
    """Cells coloured by an integer `owner` (which source each cell came from) with `text` written in."""
    codes = as_2d(np.asarray(owner, dtype=int))
    one_d = np.asarray(owner).ndim <= 1
    codes, note = cut(codes)
    labels = cut(as_2d(np.asarray(text, dtype=object)))[0]
    hovers = labels if hover is None else cut(as_2d(np.asarray(hover, dtype=object)))[0]
    n = len(PALETTE)
    scale = []
    for i, color in enumerate(PALETTE):
        scale += [[i / n, color], [(i + 1) / n, color]]
    rows, cols = codes.shape
    fig = go.Figure(go.Heatmap(
        z=codes % n + 0.5, x=list(range(cols)), y=list(range(rows)), text=labels, texttemplate="%{text}",
        customdata=hovers, hovertemplate="[%{y}, %{x}]: %{customdata}<extra></extra>",
        colorscale=scale, zmin=0, zmax=n, showscale=False, xgap=2, ygap=2,
    ))
    if highlight is not None:
        mask = cut(as_2d(np.asarray(highlight, dtype=bool)))[0]
        for r, c in zip(*np.nonzero(mask), strict=True):
            fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                          line=dict(color=COLORS[0], width=3))
    _grid_axes(fig, "" if one_d else row_label, "index" if one_d else col_label)
    titled = bool(title or note)
    style(fig, height=height or _height(rows, cols, titled), title=(title or "") + note or None)
    return _room_for_title(fig, titled)


def _grid_axes(fig: go.Figure, row_label: str, col_label: str) -> None:
    fig.update_yaxes(autorange="reversed", title=row_label or None, tickmode="linear", dtick=1, showgrid=False,
                     zeroline=False, scaleanchor="x", constrain="domain")
    fig.update_xaxes(title=col_label, tickmode="linear", dtick=1, showgrid=False, zeroline=False, side="top",
                     constrain="domain")


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
                role, size = ("result", d.size) if d.ok else ("clash", None)
                label = str(size) if d.ok else "✗"
            else:
                size = d.a if row == a_name else d.b
                role = d.a_role if row == a_name else d.b_role
                label = ("new 1→" + str(d.size) if d.size is not None else "-") if size is None else (
                    f"1→{d.size}" if role == "stretched" else str(size))
            zr.append(order.index(role))
            tr.append(label)
            hr.append(f"{row}, dim {d.axis}: {role}")
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    n = len(order)
    scale = []
    for i, role in enumerate(order):
        scale += [[i / n, ROLE_COLORS[role]], [(i + 1) / n, ROLE_COLORS[role]]]
    fig = go.Figure(go.Heatmap(
        z=[[v + 0.5 for v in r] for r in z], x=cols, y=rows, text=text, texttemplate="%{text}",
        textfont=dict(size=16), customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        colorscale=scale, zmin=0, zmax=n, showscale=False, xgap=3, ygap=3,
    ))
    for role in ("kept", "stretched", "inserted", "clash", "result"):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=role,
                                 marker=dict(size=12, symbol="square", color=ROLE_COLORS[role],
                                             line=dict(color="#999", width=1))))
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False)
    fig.update_xaxes(side="top", showgrid=False, zeroline=False)
    fig.update_layout(plot_bgcolor="white")
    style(fig, height=230)
    fig.update_layout(legend=dict(orientation="h", y=-0.08, yanchor="top", x=0), margin=dict(t=30, b=40))
    return fig


def storage_strip(values, *, title: str = "Storage (memory, in order)") -> go.Figure:
    """The 1-D storage behind a tensor: one cell per element, in memory order, with its offset on the axis."""
    arr = np.asarray(values).reshape(1, -1)[:, : MAX_DRAWN * 2]
    fig = go.Figure(go.Heatmap(
        z=arr.astype(float), x=list(range(arr.shape[1])), y=[0],
        text=np.vectorize(fmt_value, otypes=[object])(arr), texttemplate="%{text}", colorscale="Blues",
        showscale=False, xgap=2, ygap=2, hovertemplate="offset %{x}: %{z}<extra></extra>",
    ))
    fig.update_yaxes(visible=False)
    fig.update_xaxes(title="offset in storage", tickmode="linear", dtick=1, showgrid=False, zeroline=False)
    return style(fig, height=130, title=title)


def bars(series: dict[str, np.ndarray], *, title: str | None = None, height: int = 300, lines=None) -> go.Figure:
    """Grouped bars, one group per entry index (e.g. a gradient before and after clipping)."""
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_bar(x=list(range(len(values))), y=np.asarray(values, dtype=float), name=name,
                    marker_color=COLORS[i % len(COLORS)])
    for y, label in lines or []:
        fig.add_hline(y=y, line=dict(color="#555", dash="dot"), annotation_text=label)
    fig.update_xaxes(title="entry", tickmode="linear", dtick=1)
    fig.update_layout(barmode="group")
    style(fig, height=height, title=title)
    fig.update_layout(legend=dict(y=-0.22, yanchor="top"), margin=dict(b=10))
    return fig


def curve(x, ys: dict[str, np.ndarray], *, title: str | None = None, height: int = 320) -> go.Figure:
    """y = f(x) lines; NaN (outside the domain) leaves a gap."""
    fig = go.Figure()
    for i, (name, y) in enumerate(ys.items()):
        fig.add_scatter(x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float), mode="lines+markers", name=name,
                        line=dict(color=COLORS[i % len(COLORS)]), marker=dict(size=5))
    fig.update_xaxes(title="x", zeroline=True)
    return style(fig, height=height, title=title)


def histogram(counts, edges, *, title: str | None = None, height: int = 260) -> go.Figure:
    """Bars from precomputed histogram counts (cheap even for a million values)."""
    edges = np.asarray(edges, dtype=float)
    centers = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(x=centers, y=np.asarray(counts, dtype=float), width=np.diff(edges) * 0.95,
                           marker_color=COLORS[1]))
    fig.update_xaxes(title="value")
    fig.update_yaxes(title="count")
    return style(fig, height=height, title=title)


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


def small_multiples(rows: dict[str, list], *, titles: list[str], reference: str | None = None,
                    height_per_row: int = 200) -> go.Figure:
    """A table of small 2-D grids: one row per named tensor, one column per slice.

    With `reference`, cells that differ from the reference row's cell are outlined in red.
    """
    from plotly.subplots import make_subplots

    names = list(rows)
    ncols = max(len(v) for v in rows.values())
    fig = make_subplots(rows=len(names), cols=ncols, horizontal_spacing=0.04, vertical_spacing=0.12,
                        subplot_titles=[f"{name}{t}" for name in names for t in titles[:ncols]])
    for r, name in enumerate(names, 1):
        for c, arr in enumerate(rows[name], 1):
            arr = as_2d(np.asarray(arr))
            fig.add_trace(go.Heatmap(z=arr.astype(float), text=np.vectorize(fmt_value, otypes=[object])(arr),
                                     texttemplate="%{text}", colorscale="Blues", showscale=False, xgap=2, ygap=2,
                                     hovertemplate="[%{y}, %{x}] = %{z}<extra></extra>"), row=r, col=c)
            if reference is not None and name != reference:
                ref = as_2d(np.asarray(rows[reference][c - 1]))
                for y, x in zip(*np.nonzero(ref != arr), strict=True):
                    fig.add_shape(type="rect", x0=x - 0.5, x1=x + 0.5, y0=y - 0.5, y1=y + 0.5,
                                  line=dict(color=COLORS[0], width=2), row=r, col=c)
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, tickmode="linear", dtick=1)
    fig.update_xaxes(showgrid=False, zeroline=False, tickmode="linear", dtick=1)
    fig.update_annotations(font_size=13)
    style(fig, height=60 + height_per_row * len(names))
    fig.update_layout(margin=dict(t=36))
    return fig
