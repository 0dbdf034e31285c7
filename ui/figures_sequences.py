"""Figures of the Sequences & attention section: embedding tables and lookups, positional encodings, a recurrent
net's training (loss, hidden state over time, answers), gradients through time, the LSTM's gate blocks, and
attention's matrices with the learner's tokens on the axes.

Built by `ui.plots.figure` from plain dicts; typed tokens go through `ui.plots.plain` (plotly reads some HTML).
"""

import numpy as np

from ui.plots import COLORS, DIVERGING, figure, plain

GREY = "#7F7F7F"
BLUES = [[0, "#ffffff"], [1, "#08519c"]]  # 0 white: one-hot cells, attention weights
ANSWERS = [[0, "#d62728"], [0.5, "#eeeeee"], [1, "#2ca02c"]]  # -1 wrong, 0 not scored, 1 right
TEXT_CELLS, TEXT_COLS = 120, 10  # a heatmap writes its values only when they fit


def _np(t) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=float)


def _ticks(labels, n: int) -> dict:
    if labels is None:  # indices: every one while they fit, else plotly's own spacing
        return dict(tickmode="linear", dtick=1) if n <= 10 else dict(tickmode="auto", nticks=6)
    return dict(tickmode="array", tickvals=list(range(n)), ticktext=[str(v) for v in labels])


def heat(values, *, title: str, rows=None, cols=None, row_title: str = "", col_title: str = "",
         diverging: bool = True, zrange: tuple[float, float] | None = None, text: bool | None = None,
         fmt: str = ".2f", blank=None, blank_text: str = "", colorscale=None, height: int | None = None,
         groups: tuple[int, list[str]] | None = None, marked_rows=()):
    """A 2-D array as a heatmap, row 0 at the top. `rows`/`cols` label the ticks (strings, already plain);
    `blank` (bool, same shape) draws cells as empty with `blank_text` (a masked score); `groups` = (size, names)
    outlines row blocks of `size` rows and names them (the LSTM's gates); `marked_rows` are outlined in red."""
    arr = _np(values)
    n_rows, n_cols = arr.shape
    hidden = np.zeros(arr.shape, bool) if blank is None else np.asarray(blank, bool)
    if text is None:
        text = arr.size <= TEXT_CELLS and n_cols <= TEXT_COLS
    z = np.where(hidden, np.nan, arr)
    cell_text = [[blank_text if hidden[r, c] else f"{arr[r, c]:{fmt}}" for c in range(n_cols)]
                 for r in range(n_rows)]
    if zrange is None:
        finite = arr[~hidden & np.isfinite(arr)]
        top = float(np.abs(finite).max()) if finite.size else 1.0
        zrange = (-top, top) if diverging else (float(finite.min()) if finite.size else 0.0, top)
    trace = dict(type="heatmap", z=[[None if np.isnan(v) else float(v) for v in row] for row in z],
                 x=list(range(n_cols)), y=list(range(n_rows)), zmin=zrange[0], zmax=max(zrange[1], zrange[0] + 1e-9),
                 colorscale=colorscale or (DIVERGING if diverging else BLUES), xgap=1 if text else 0,
                 ygap=1 if text else 0, showscale=not text, colorbar=dict(thickness=10, len=0.9),
                 hovertemplate=f"{row_title or 'row'} %{{y}}, {col_title or 'column'} %{{x}}: %{{z:.4f}}"
                               "<extra></extra>")
    if text:
        trace.update(text=cell_text, texttemplate="%{text}", textfont=dict(size=10 if n_cols > 6 else 11))
    shapes = [dict(type="rect", x0=-0.5, x1=n_cols - 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color=COLORS[0], width=3))
              for r in sorted(set(int(r) for r in marked_rows))]
    notes = []
    if groups:
        size, names = groups
        for k, name in enumerate(names):
            shapes.append(dict(type="rect", x0=-0.5, x1=n_cols - 0.5, y0=k * size - 0.5, y1=(k + 1) * size - 0.5,
                               line=dict(color="black", width=2)))
            notes.append(dict(x=1.0, xref="paper", xanchor="left", y=k * size + (size - 1) / 2, yref="y",
                              text=f" {name}", showarrow=False, font=dict(size=12)))
    layout = dict(xaxis=dict(_ticks(cols, n_cols), title=dict(text=col_title), showgrid=False, zeroline=False),
                  yaxis=dict(_ticks(rows, n_rows), title=dict(text=row_title), autorange="reversed",
                             showgrid=False, zeroline=False, automargin=True),
                  shapes=shapes, annotations=notes)
    if groups:
        layout["margin"] = dict(r=110)
    cell = 26 if text else max(3, min(22, 420 // max(n_rows, 1)))
    return figure([trace], layout, height=height or max(190, 95 + n_rows * cell), title=title)


def token_labels(tokens) -> list[str]:
    """The learner's tokens as tick labels, shown literally."""
    return [plain(t) for t in tokens]


# ------------------------------------------------------------------------------------------------ embeddings


def wavelengths(lengths, positions: int):
    """The wavelength of every sin/cos column pair (log scale), against the positions the table covers."""
    wl = _np(lengths)
    pairs = np.arange(len(wl))
    data = [dict(type="bar", x=pairs, y=wl, name="wavelength 2π·base^(2i/d)", marker=dict(color=COLORS[1]),
                 hovertemplate="pair %{x} (columns 2i, 2i+1): %{y:.1f} positions per cycle<extra></extra>"),
            dict(type="scatter", mode="lines", x=[-0.5, len(wl) - 0.5], y=[positions, positions],
                 name=f"T = {positions} positions shown", line=dict(color=COLORS[0], dash="dash", width=2))]
    layout = dict(xaxis=dict(title=dict(text="column pair i (columns 2i and 2i+1)")),
                  yaxis=dict(title=dict(text="positions per cycle"), type="log", dtick=1, exponentformat="power"))
    return figure(data, layout, height=340, title="Wavelengths: each pair turns at its own speed")


# ------------------------------------------------------------------------------------------------- recurrent


def loss_curve(losses: list[float], guessing: float):
    """Training loss per step, and the loss of a uniform guess (ln C)."""
    y = _np(losses)
    steps = np.arange(1, len(y) + 1)
    data = [dict(type="scatter", mode="lines", x=steps, y=y, name="training loss", line=dict(color=COLORS[0])),
            dict(type="scatter", mode="lines", x=[1, len(y)], y=[guessing, guessing], name="guessing (ln C)",
                 line=dict(color=GREY, dash="dash"))]
    layout = dict(xaxis=dict(title=dict(text="Adam step")), yaxis=dict(title=dict(text="cross-entropy"),
                                                                     rangemode="tozero"))
    return figure(data, layout, height=330, title="Loss while training")


def hidden_state(h, x) -> object:
    """The hidden state after every step of one sequence: units down, steps across (input x_t under each step)."""
    arr = _np(h).T  # (H, T)
    cols = [f"{t}<br>x={int(v)}" for t, v in enumerate(_np(x))] if arr.shape[1] <= 12 else None  # while they fit
    return heat(arr, title="Hidden state h_t of one sequence", cols=cols, row_title="hidden unit",
                col_title="step t", zrange=(-1, 1), text=False, height=max(260, 110 + 9 * arr.shape[0]))


def answers(x, y, pred, ignore: int):
    """Inputs, targets and the model's answers per step: green right, red wrong, grey not scored."""
    x, y, pred = _np(x).astype(int), _np(y).astype(int), _np(pred).astype(int)
    scored = y != ignore
    z = np.zeros((3, len(x)))
    z[2] = np.where(scored, np.where(pred == y, 1, -1), 0)
    text = [[str(v) for v in x], [str(v) if s else "–" for v, s in zip(y, scored, strict=True)],
            [str(v) for v in pred]]
    trace = dict(type="heatmap", z=z, x=list(range(len(x))), y=[0, 1, 2], zmin=-1, zmax=1, colorscale=ANSWERS,
                 showscale=False, xgap=2, ygap=2, text=text, texttemplate="%{text}", textfont=dict(size=13),
                 hovertemplate="step %{x}: %{text}<extra></extra>")
    layout = dict(xaxis=dict(tickmode="linear", dtick=1, title=dict(text="step t"), showgrid=False),
                  yaxis=dict(tickmode="array", tickvals=[0, 1, 2], ticktext=["input x_t", "target y_t", "answer"],
                             autorange="reversed", showgrid=False))
    return figure([trace], layout, height=200, title="Answers of the trained net (green right, red wrong)")


def gradient_flow(flows: dict):
    """|d loss_T / d x_t| against the distance T-1-t, one line per cell, log scale."""
    data = []
    for i, (name, (distance, norms)) in enumerate(flows.items()):
        y = _np(norms)
        y[y <= 0] = np.nan  # log scale: an exact 0 (underflow) is left out
        data.append(dict(type="scatter", mode="lines+markers", x=_np(distance), y=y, name=name,
                         marker=dict(size=4), line=dict(color=COLORS[i % len(COLORS)], width=2.5),
                         hovertemplate=f"{name}: %{{x}} steps back, %{{y:.2e}}<extra></extra>"))
    layout = dict(xaxis=dict(title=dict(text="distance through time: steps before the last one")),
                  yaxis=dict(title=dict(text="|d loss / d x_t| (mean over sequences)"), type="log", dtick=2,
                             exponentformat="power"))
    return figure(data, layout, height=380, title="Gradient reaching each earlier input")


def lstm_weights(weight, gates: list[str], input_title: str, title: str):
    """One of nn.LSTM's stacked weight matrices (4H, n): the four gate blocks outlined and named."""
    arr = _np(weight)
    size = arr.shape[0] // len(gates)
    rows = [f"{g[0]}{r}" for g in gates for r in range(size)]
    return heat(arr, title=title, rows=rows, row_title="row (gate, unit)", col_title=input_title,
                groups=(size, gates), text=arr.shape[1] <= 8 and arr.size <= 256, height=95 + arr.shape[0] * 24)


def gate_values(step, names: list[str]):
    """One LSTM step: the gates i, f, g, o, the new cell c_t and the new h_t, one row each (H columns)."""
    arr = np.stack([_np(step.gates[k]) for k in "ifgo"] + [_np(step.c), _np(step.h)])
    return heat(arr, title="One step, gate by gate", rows=names, col_title="hidden unit", zrange=(-1, 1),
                text=arr.shape[1] <= 10)
