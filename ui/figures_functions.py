"""Figures of the Functions & gradients section: curves with their autograd derivatives, losses, softmax,
gradient descent, linear regression and the tiny backprop network.

Figures are built by `ui.plots.figure` from plain dicts, without plotly's slow validation in the app.
"""

import math

import numpy as np
import plotly.graph_objects as go

from ui.plots import COLORS, DIVERGING, figure, style, tensor_heatmap

GREY = "#7F7F7F"
_GAP = 0.08  # horizontal gap between the two panels of a pair, as a fraction of the width


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def color_of(name: str, names) -> str:
    """A stable colour per curve name: its position in the lesson's registry."""
    return COLORS[list(names).index(name) % len(COLORS)]




def _figure(data=(), **layout) -> go.Figure:
    return figure(data, layout)


def _finish(fig: go.Figure, height: int, *, pair: bool = False) -> go.Figure:
    """The app's style (ui.plots.style); a pair of panels gets its legend lifted above the panel titles."""
    style(fig, height=height)
    if pair:
        fig.update_layout(margin=dict(t=70), legend=dict(y=1.09))
    return fig


def _pair(titles: tuple[str, str], x_title: str = "", y_titles: tuple[str, str] = ("", "")) -> go.Figure:
    """Two side-by-side panels (what make_subplots(1, 2) lays out), axes x/y on the left and x2/y2 on the right."""
    w = (1 - _GAP) / 2
    return _figure(
        xaxis=dict(domain=[0, w], anchor="y", title=dict(text=x_title)),
        yaxis=dict(domain=[0, 1], anchor="x", title=dict(text=y_titles[0])),
        xaxis2=dict(domain=[1 - w, 1], anchor="y2", title=dict(text=x_title)),
        yaxis2=dict(domain=[0, 1], anchor="x2", title=dict(text=y_titles[1])),
        annotations=[dict(text=t, x=x, xref="paper", y=1, yref="paper", xanchor="center", yanchor="bottom",
                          showarrow=False, font=dict(size=16)) for t, x in zip(titles, (w / 2, 1 - w / 2),
                                                                              strict=True)],
    )


def _axes(panel: int) -> dict:
    return {} if panel == 1 else dict(xaxis=f"x{panel}", yaxis=f"y{panel}")


def _suffix(panel: int) -> str:
    return "" if panel == 1 else str(panel)


def _vline(fig: go.Figure, x: float, panel: int = 1, **line) -> None:
    s = _suffix(panel)
    fig.add_shape(type="line", x0=x, x1=x, xref=f"x{s}", y0=0, y1=1, yref=f"y{s} domain", line=line)


def _hline(fig: go.Figure, y: float, panel: int = 1, **line) -> None:
    s = _suffix(panel)
    fig.add_shape(type="line", x0=0, x1=1, xref=f"x{s} domain", y0=y, y1=y, yref=f"y{s}", line=line)


# ----------------------------------------------------------------------------------------------- activations


def activations(curves: dict, focus: str, registry, *, zones=(), peak=None) -> go.Figure:
    """f(x) left, f'(x) right; the focused activation drawn bold, its saturation zones shaded, its peak marked."""
    fig = _pair(("f(x)", "f'(x), computed by autograd"), x_title="x")
    for name, c in curves.items():
        line = dict(color=color_of(name, registry), width=3.5 if name == focus else 1.6,
                    dash="solid" if name == focus else "dot")
        x = _np(c.x)
        fig.add_trace(go.Scatter(x=x, y=_np(c.y), name=name, legendgroup=name, line=line,
                                 hovertemplate=f"{name}(%{{x:.2f}}) = %{{y:.4f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=x, y=_np(c.grad), name=name, legendgroup=name, showlegend=False, line=line,
                                 hovertemplate=f"{name}'(%{{x:.2f}}) = %{{y:.4f}}<extra></extra>", **_axes(2)))
    for a, b in zones:
        for panel in (1, 2):
            s = _suffix(panel)
            fig.add_shape(type="rect", x0=a, x1=b, xref=f"x{s}", y0=0, y1=1, yref=f"y{s} domain",
                          fillcolor=GREY, opacity=0.15, line=dict(width=0), layer="below")
    if zones:
        fig.add_annotation(x=zones[0][0], xref="x2", xanchor="left", y=1, yref="y2 domain", yanchor="top",
                           text="saturated", showarrow=False, font=dict(size=11, color="#555"))
    if peak is not None:
        px, py = peak
        fig.add_trace(go.Scatter(x=[px], y=[py], mode="markers+text", name=f"max f'(x) of {focus}",
                                 marker=dict(size=11, color="black", symbol="diamond"),
                                 text=[f"max f' = {py:.4g}"], textposition="top right", showlegend=False,
                                 hovertemplate="max f'(%{x:.2f}) = %{y:.4f}<extra></extra>", **_axes(2)))
    return _finish(fig, 420, pair=True)


# ---------------------------------------------------------------------------------------------------- losses


def regression_losses(curves: dict, registry, *, delta: float) -> go.Figure:
    """Loss and dL/dy_hat against the prediction, for a fixed target."""
    fig = _pair(("loss L(ŷ, y)", "dL/dŷ, computed by autograd"), x_title="prediction ŷ")
    for name, c in curves.items():
        line = dict(color=color_of(name, registry), width=2.5)
        x = _np(c.x)
        fig.add_trace(go.Scatter(x=x, y=_np(c.y), name=name, legendgroup=name, line=line))
        fig.add_trace(go.Scatter(x=x, y=_np(c.grad), name=name, legendgroup=name, showlegend=False, line=line,
                                 **_axes(2)))
    if "Huber" in curves:
        for sign in (-1, 1):
            _hline(fig, sign * delta, 2, color=GREY, dash="dot", width=1)
    return _finish(fig, 380, pair=True)


_DASHES = ["solid", "solid", "dash", "dot", "dashdot"]
_WIDTHS = [3, 6, 3.5, 3, 2]


def classification_losses(curves: dict, registry, *, z0: float, at: dict | None = None) -> go.Figure:
    """Each classification loss and dL/dz against the true class's logit z, with the chosen z marked."""
    fig = _pair(("loss (true class y = 1)", "dL/dz, computed by autograd"),
                x_title="logit z of the true class  (p = σ(z))")
    for i, (name, c) in enumerate(curves.items()):
        # the four cross-entropy variants lie on top of each other: different dashes keep each one visible
        line = dict(color=color_of(name, registry), width=_WIDTHS[i % 5], dash=_DASHES[i % 5])
        z = _np(c.z)
        fig.add_trace(go.Scatter(x=z, y=_np(c.loss), name=name, legendgroup=name, line=line))
        fig.add_trace(go.Scatter(x=z, y=_np(c.grad_z), name=name, legendgroup=name, showlegend=False, line=line,
                                 **_axes(2)))
    for panel in (1, 2):
        _vline(fig, z0, panel, color="black", width=1, dash="dash")
    for name in ("sigmoid + MSE", "cross-entropy"):
        if at and name in at:
            g = float(at[name].grad_z[0])
            fig.add_trace(go.Scatter(x=[z0], y=[g], mode="markers+text", text=[f"{g:.3g}"], showlegend=False,
                                     textposition="middle right", name=f"{name} at z",
                                     marker=dict(size=10, color=color_of(name, registry),
                                                 line=dict(color="black", width=1)), **_axes(2)))
    return _finish(fig, 400, pair=True)


def ce_gradient_bars(probs, grad, p_minus_onehot) -> go.Figure:
    """dCE/dlogits from autograd beside softmax - onehot, per class."""
    classes = [str(i) for i in range(len(probs))]
    fig = _figure([
        go.Bar(x=classes, y=_np(grad), name="logits.grad (autograd)", marker_color=COLORS[0]),
        go.Bar(x=classes, y=_np(p_minus_onehot), name="softmax(z) - onehot(y)", marker_color=COLORS[1]),
    ], xaxis=dict(title=dict(text="class")), yaxis=dict(title=dict(text="dL/dz")))
    return _finish(fig, 300)


# --------------------------------------------------------------------------------------------------- softmax


def probabilities(probs, probs_t1, temperature: float) -> go.Figure:
    """Softmax probabilities at the chosen temperature, with T = 1 for comparison."""
    classes = [str(i) for i in range(len(probs))]
    p = _np(probs)
    bars = [go.Bar(x=classes, y=p, name=f"T = {temperature:g}", marker_color=COLORS[0],
                   text=[f"{v:.3f}" for v in p], textposition="outside")]
    if not math.isclose(temperature, 1.0):
        bars.append(go.Bar(x=classes, y=_np(probs_t1), name="T = 1", marker_color="#BBBBBB"))
    fig = _figure(bars, xaxis=dict(title=dict(text="class i")), yaxis=dict(title=dict(text="p_i"), range=[0, 1.12]))
    return _finish(fig, 340)


def jacobian(jac) -> go.Figure:
    """The softmax Jacobian dp_i/dz_j as a heatmap, red positive, blue negative, zero white."""
    arr = _np(jac)
    fig = tensor_heatmap(arr, fmt=".3f", row_label="output p_i", col_label="input z_j", colorscale=DIVERGING)
    bound = max(float(np.abs(arr).max()), 1e-12)
    fig.update_traces(zmid=0, zmin=-bound, zmax=bound)
    return fig


# ------------------------------------------------------------------------------------------ gradient descent


def descent(curve, result, step: int) -> go.Figure:
    """The curve and the iterates x_0 .. x_step on it, the current one large."""
    xs, fs = _np(result.xs), _np(result.fs)
    k = min(step, len(xs) - 1)
    cy = _np(curve.y)
    pad = 0.08 * (cy.max() - cy.min() + 1e-9)
    fig = _figure([
        go.Scatter(x=_np(curve.x), y=cy, name="f(x)", line=dict(color=GREY, width=2),
                   hovertemplate="f(%{x:.3f}) = %{y:.4f}<extra></extra>"),
        go.Scatter(x=xs[:k + 1], y=fs[:k + 1], name="iterates x_k", mode="lines+markers",
                   line=dict(color=COLORS[1], width=1.2),
                   marker=dict(size=8, color=np.arange(k + 1), colorscale="Viridis", cmin=0,
                               cmax=max(len(xs) - 1, 1), line=dict(width=0.5, color="white"), showscale=True,
                               colorbar=dict(title=dict(text="step"), thickness=10, len=0.8)),
                   customdata=np.arange(k + 1),
                   hovertemplate="step %{customdata}: x = %{x:.4f}, f = %{y:.4f}<extra></extra>"),
        go.Scatter(x=[xs[k]], y=[fs[k]], name=f"step {k}", mode="markers",
                   marker=dict(size=16, color=COLORS[0], line=dict(width=2, color="white"))),
    ],
        # the view stays on the curve: iterates that flew off show as lines leaving the plot
        xaxis=dict(title=dict(text="x"), range=[float(curve.x[0]), float(curve.x[-1])]),
        yaxis=dict(title=dict(text="f(x)"), range=[cy.min() - pad, cy.max() + pad]))
    return _finish(fig, 420)


def descent_progress(result, step: int) -> go.Figure:
    """f(x_k) and x_k against the step number."""
    ks = np.arange(len(result.xs))
    fig = _pair(("f(x_k)", "x_k"), x_title="step k")
    fig.add_trace(go.Scatter(x=ks, y=_np(result.fs), mode="lines+markers", marker=dict(size=4),
                             line=dict(color=COLORS[1]), name="f(x_k)", showlegend=False))
    fig.add_trace(go.Scatter(x=ks, y=_np(result.xs), mode="lines+markers", marker=dict(size=4),
                             line=dict(color=COLORS[2]), name="x_k", showlegend=False, **_axes(2)))
    for panel in (1, 2):
        _vline(fig, min(step, len(ks) - 1), panel, color=COLORS[0], width=1.5)
    _finish(fig, 280)
    fig.update_layout(margin=dict(t=30))
    return fig


# ----------------------------------------------------------------------------------------- linear regression


def regression_fit(x, y, lines: dict, x_range=(-2.0, 2.0)) -> go.Figure:
    """The data and the fitted lines; `lines` maps a label to (w, b, colour, dash)."""
    grid = np.array(x_range)
    traces = [go.Scatter(x=_np(x), y=_np(y), mode="markers", name="data",
                         marker=dict(size=7, color=GREY, opacity=0.7))]
    for label, (w, b, color, dash) in lines.items():
        traces.append(go.Scatter(x=grid, y=w * grid + b, mode="lines", name=label,
                                 line=dict(color=color, dash=dash, width=2.5 if dash == "solid" else 2)))
    fig = _figure(traces, xaxis=dict(title=dict(text="x")), yaxis=dict(title=dict(text="y")))
    return _finish(fig, 380)


def regression_losses_over_time(hand, auto) -> go.Figure:
    fig = _figure([
        go.Scatter(y=_np(hand.losses), name="hand-derived gradient", line=dict(color=COLORS[0], width=3)),
        go.Scatter(y=_np(auto.losses), name="autograd + torch.optim", line=dict(color=COLORS[1], width=2, dash="dash")),
    ], xaxis=dict(title=dict(text="epoch")), yaxis=dict(title=dict(text="MSE"), type="log", exponentformat="e"))
    return _finish(fig, 300)


def loss_surface(ws, bs, surface, hand, auto, best) -> go.Figure:
    """log10 of the MSE over (w, b), the two paths on it, and the least-squares minimum."""
    traces = [go.Contour(x=_np(ws), y=_np(bs), z=np.log10(_np(surface) + 1e-12), colorscale="Viridis",
                         ncontours=28, colorbar=dict(title=dict(text="log10 MSE"), thickness=12),
                         hovertemplate="w = %{x:.3f}, b = %{y:.3f}<br>log10 MSE = %{z:.3f}<extra></extra>")]
    for fit, label, color, width, dash in ((hand, "hand-derived path", COLORS[0], 4, "solid"),
                                          (auto, "autograd path", "white", 2, "dot")):
        path = _np(fit.path)
        traces.append(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name=label,
                                 line=dict(color=color, width=width, dash=dash), marker=dict(size=3)))
    traces.append(go.Scatter(x=[best[0]], y=[best[1]], mode="markers", name="least-squares minimum",
                             marker=dict(symbol="star", size=16, color="gold", line=dict(color="black", width=1))))
    fig = _figure(traces, xaxis=dict(title=dict(text="w")), yaxis=dict(title=dict(text="b")))
    return _finish(fig, 440)


# ------------------------------------------------------------------------------------------------- backprop


def network(result) -> go.Figure:
    """The 2 -> 3 -> 1 network: every node with its value and its gradient; edges coloured by dL/dw."""
    fwd, grads = result.forward, result.autograd
    x, h, y_hat, loss = _np(fwd["x"]), _np(fwd["h"]), _np(fwd["y_hat"]), _np(fwd["loss"])
    d_h, d_y = _np(grads["h"]), _np(grads["y_hat"])
    d_w1, d_w2 = _np(grads["W1"]), _np(grads["W2"])
    pos = {f"x{i + 1}": (0, 1.0 - 2.0 * i) for i in range(2)}
    pos |= {f"h{i + 1}": (1, 2.0 - 2.0 * i) for i in range(3)}
    pos |= {"ŷ": (2, 0.0), "L": (3, 0.0)}
    edges = [(f"x{j + 1}", f"h{i + 1}", d_w1[i, j], f"W1[{i},{j}]") for i in range(3) for j in range(2)]
    edges += [(f"h{i + 1}", "ŷ", d_w2[0, i], f"W2[0,{i}]") for i in range(3)]
    top = max(float(np.abs(d_w1).max()), float(np.abs(d_w2).max()), 1e-12)
    traces, notes = [], []
    for a, b, g, label in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        traces.append(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", showlegend=False, hoverinfo="skip",
                                 line=dict(color=COLORS[0] if g > 0 else COLORS[1], width=1 + 7 * abs(g) / top)))
        t = 0.25 if a.startswith("x") else 0.55  # near the inputs the six crossing edges are still apart
        notes.append(dict(x=x0 + t * (x1 - x0), y=y0 + t * (y1 - y0), text=f"{g:+.3f}", showarrow=False,
                          font=dict(size=10, color="#333"), bgcolor="rgba(255,255,255,0.8)",
                          hovertext=f"∂L/∂{label} = {g:.5f}"))
    traces.append(go.Scatter(x=[2, 3], y=[0, 0], mode="lines", showlegend=False, hoverinfo="skip",
                             line=dict(color=GREY, width=2)))
    values = {"x1": (x[0], None), "x2": (x[1], None), "ŷ": (y_hat[0], d_y[0]), "L": (float(loss), 1.0)}
    values |= {f"h{i + 1}": (h[i], d_h[i]) for i in range(3)}
    names = list(pos)
    text = [f"<b>{n}</b> = {values[n][0]:.3f}" + (f"<br>∂L/∂{n} = {values[n][1]:.3f}" if values[n][1] is not None
                                                  else "") for n in names]
    traces.append(go.Scatter(x=[pos[n][0] for n in names], y=[pos[n][1] for n in names], mode="markers+text",
                             text=text, textposition="top center", showlegend=False, hoverinfo="skip",
                             marker=dict(size=26, color="white", line=dict(color="black", width=2))))
    notes.append(dict(x=0.5, y=-2.6, text="edge labels: ∂L/∂w (red +, blue −, width ∝ |∂L/∂w|)",
                      showarrow=False, font=dict(size=11, color="#555")))
    fig = _figure(traces, annotations=notes, xaxis=dict(visible=False, range=[-0.4, 3.4]),
                  yaxis=dict(visible=False, range=[-2.8, 3.3]))
    return _finish(fig, 420)


def training_with_and_without_zero_grad(with_zero, without_zero) -> go.Figure:
    fig = _pair(("loss", "norm of the gradient used by step()"), x_title="step")
    fig.update_layout(yaxis=dict(type="log", exponentformat="e"))
    for (losses, norms), label, color in ((with_zero, "with zero_grad()", COLORS[2]),
                                          (without_zero, "zero_grad() forgotten", COLORS[0])):
        fig.add_trace(go.Scatter(y=_np(losses), name=label, legendgroup=label, line=dict(color=color, width=2.5)))
        fig.add_trace(go.Scatter(y=_np(norms), name=label, legendgroup=label, showlegend=False,
                                 line=dict(color=color, width=2.5), **_axes(2)))
    return _finish(fig, 340, pair=True)


DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def loss_curves(curves: dict[str, list[float]], *, title: str, log: bool = True) -> go.Figure:
    """Loss per step for several ways of training the same network; dashes keep coinciding curves visible."""
    data = []
    for i, (name, losses) in enumerate(curves.items()):
        y = np.array(losses, dtype=float)
        y[~np.isfinite(y)] = np.nan  # a diverged run stops where its loss became inf or nan
        data.append(dict(type="scatter", mode="lines", y=y, x=np.arange(1, len(y) + 1), name=name,
                         line=dict(color=COLORS[i % len(COLORS)], width=2.5 if i == 0 else 2,
                                   dash=DASHES[i % len(DASHES)])))
    layout = dict(xaxis=dict(title=dict(text="step")),
                  yaxis=dict(title=dict(text="MSE loss"), type="log" if log else "linear", exponentformat="e",
                             dtick=1 if log else None),
                  legend=dict(orientation="h", x=0, xanchor="left", y=-0.2, yanchor="top"), margin=dict(b=10))
    return figure(data, layout, height=420, title=title)
