"""Figures of the Functions & gradients section: curves with their autograd derivatives, losses, softmax,
gradient descent, linear regression and the tiny backprop network."""

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.plots import COLORS, DIVERGING, style, tensor_heatmap

GREY = "#7F7F7F"


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def color_of(name: str, names) -> str:
    """A stable colour per curve name: its position in the lesson's registry."""
    return COLORS[list(names).index(name) % len(COLORS)]


def _pair(titles: tuple[str, str]) -> go.Figure:
    return make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)


def _styled_pair(fig: go.Figure, height: int) -> go.Figure:
    """The app's style, with the legend lifted above the two subplot titles."""
    style(fig, height=height)
    fig.update_layout(margin=dict(t=70), legend=dict(y=1.09))
    return fig


# ----------------------------------------------------------------------------------------------- activations


def activations(curves: dict, focus: str, registry, *, zones=(), peak=None) -> go.Figure:
    """f(x) left, f'(x) right; the focused activation drawn bold, its saturation zones shaded, its peak marked."""
    fig = _pair(("f(x)", "f'(x), computed by autograd"))
    for name, c in curves.items():
        line = dict(color=color_of(name, registry), width=3.5 if name == focus else 1.6,
                    dash="solid" if name == focus else "dot")
        x = _np(c.x)
        fig.add_trace(go.Scatter(x=x, y=_np(c.y), name=name, legendgroup=name, line=line,
                                 hovertemplate=f"{name}(%{{x:.2f}}) = %{{y:.4f}}<extra></extra>"), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=_np(c.grad), name=name, legendgroup=name, showlegend=False, line=line,
                                 hovertemplate=f"{name}'(%{{x:.2f}}) = %{{y:.4f}}<extra></extra>"), 1, 2)
    for i, (a, b) in enumerate(zones):
        for col in (1, 2):
            label = dict(annotation_text="saturated", annotation_position="top left",
                         annotation_font_size=11) if i == 0 and col == 2 else {}
            fig.add_vrect(x0=a, x1=b, fillcolor=GREY, opacity=0.15, line_width=0, row=1, col=col, **label)
    if peak is not None:
        px, py = peak
        fig.add_trace(go.Scatter(x=[px], y=[py], mode="markers+text", name=f"max f'(x) of {focus}",
                                 marker=dict(size=11, color="black", symbol="diamond"),
                                 text=[f"max f' = {py:.4g}"], textposition="top right", showlegend=False,
                                 hovertemplate="max f'(%{x:.2f}) = %{y:.4f}<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text="x")
    return _styled_pair(fig, 420)


# ---------------------------------------------------------------------------------------------------- losses


def regression_losses(curves: dict, registry, *, delta: float) -> go.Figure:
    """Loss and dL/dy_hat against the prediction, for a fixed target."""
    fig = _pair(("loss L(ŷ, y)", "dL/dŷ, computed by autograd"))
    for name, c in curves.items():
        line = dict(color=color_of(name, registry), width=2.5)
        x = _np(c.x)
        fig.add_trace(go.Scatter(x=x, y=_np(c.y), name=name, legendgroup=name, line=line), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=_np(c.grad), name=name, legendgroup=name, showlegend=False, line=line), 1, 2)
    if "Huber" in curves:
        for sign in (-1, 1):
            fig.add_hline(y=sign * delta, line=dict(color=GREY, dash="dot", width=1), row=1, col=2)
    fig.update_xaxes(title_text="prediction ŷ")
    return _styled_pair(fig, 380)


_DASHES = ["solid", "solid", "dash", "dot", "dashdot"]
_WIDTHS = [3, 6, 3.5, 3, 2]


def classification_losses(curves: dict, registry, *, z0: float, at: dict | None = None) -> go.Figure:
    """Each classification loss and dL/dz against the true class's logit z, with the chosen z marked."""
    fig = _pair(("loss (true class y = 1)", "dL/dz, computed by autograd"))
    for i, (name, c) in enumerate(curves.items()):
        # the four cross-entropy variants lie on top of each other: different dashes keep each one visible
        line = dict(color=color_of(name, registry), width=_WIDTHS[i % 5], dash=_DASHES[i % 5])
        z = _np(c.z)
        fig.add_trace(go.Scatter(x=z, y=_np(c.loss), name=name, legendgroup=name, line=line), 1, 1)
        fig.add_trace(go.Scatter(x=z, y=_np(c.grad_z), name=name, legendgroup=name, showlegend=False, line=line),
                      1, 2)
    for col in (1, 2):
        fig.add_vline(x=z0, line=dict(color="black", width=1, dash="dash"), row=1, col=col)
    for name in ("sigmoid + MSE", "cross-entropy"):
        if at and name in at:
            g = float(at[name].grad_z[0])
            fig.add_trace(go.Scatter(x=[z0], y=[g], mode="markers+text", text=[f"{g:.3g}"], showlegend=False,
                                     textposition="middle right", name=f"{name} at z",
                                     marker=dict(size=10, color=color_of(name, registry),
                                                 line=dict(color="black", width=1))), 1, 2)
    fig.update_xaxes(title_text="logit z of the true class  (p = σ(z))")
    return _styled_pair(fig, 400)


def ce_gradient_bars(probs, grad, p_minus_onehot) -> go.Figure:
    """dCE/dlogits from autograd beside softmax - onehot, per class."""
    classes = [str(i) for i in range(len(probs))]
    fig = go.Figure([
        go.Bar(x=classes, y=_np(grad), name="logits.grad (autograd)", marker_color=COLORS[0]),
        go.Bar(x=classes, y=_np(p_minus_onehot), name="softmax(z) - onehot(y)", marker_color=COLORS[1]),
    ])
    fig.update_xaxes(title_text="class")
    fig.update_yaxes(title_text="dL/dz")
    return style(fig, height=300)


# --------------------------------------------------------------------------------------------------- softmax


def probabilities(probs, probs_t1, temperature: float) -> go.Figure:
    """Softmax probabilities at the chosen temperature, with T = 1 for comparison."""
    classes = [str(i) for i in range(len(probs))]
    p = _np(probs)
    bars = [go.Bar(x=classes, y=p, name=f"T = {temperature:g}", marker_color=COLORS[0],
                   text=[f"{v:.3f}" for v in p], textposition="outside")]
    if not math.isclose(temperature, 1.0):
        bars.append(go.Bar(x=classes, y=_np(probs_t1), name="T = 1", marker_color="#BBBBBB"))
    fig = go.Figure(bars)
    fig.update_xaxes(title_text="class i")
    fig.update_yaxes(title_text="p_i", range=[0, 1.12])
    return style(fig, height=340)


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
    fig = go.Figure(go.Scatter(x=_np(curve.x), y=_np(curve.y), name="f(x)", line=dict(color=GREY, width=2),
                               hovertemplate="f(%{x:.3f}) = %{y:.4f}<extra></extra>"))
    k = min(step, len(xs) - 1)
    fig.add_trace(go.Scatter(
        x=xs[:k + 1], y=fs[:k + 1], name="iterates x_k", mode="lines+markers",
        line=dict(color=COLORS[1], width=1.2),
        marker=dict(size=8, color=np.arange(k + 1), colorscale="Viridis", cmin=0, cmax=max(len(xs) - 1, 1),
                    line=dict(width=0.5, color="white"), showscale=True,
                    colorbar=dict(title="step", thickness=10, len=0.8)),
        customdata=np.arange(k + 1), hovertemplate="step %{customdata}: x = %{x:.4f}, f = %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[xs[k]], y=[fs[k]], name=f"step {k}", mode="markers",
                             marker=dict(size=16, color=COLORS[0], line=dict(width=2, color="white"))))
    # the view stays on the curve: iterates that flew off show as lines leaving the plot
    cy = _np(curve.y)
    pad = 0.08 * (cy.max() - cy.min() + 1e-9)
    fig.update_xaxes(title_text="x", range=[float(curve.x[0]), float(curve.x[-1])])
    fig.update_yaxes(title_text="f(x)", range=[cy.min() - pad, cy.max() + pad])
    return style(fig, height=420)


def descent_progress(result, step: int) -> go.Figure:
    """f(x_k) and x_k against the step number."""
    ks = np.arange(len(result.xs))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("f(x_k)", "x_k"), horizontal_spacing=0.1)
    fig.add_trace(go.Scatter(x=ks, y=_np(result.fs), mode="lines+markers", marker=dict(size=4),
                             line=dict(color=COLORS[1]), name="f(x_k)", showlegend=False), 1, 1)
    fig.add_trace(go.Scatter(x=ks, y=_np(result.xs), mode="lines+markers", marker=dict(size=4),
                             line=dict(color=COLORS[2]), name="x_k", showlegend=False), 1, 2)
    for col in (1, 2):
        fig.add_vline(x=min(step, len(ks) - 1), line=dict(color=COLORS[0], width=1.5), row=1, col=col)
    fig.update_xaxes(title_text="step k")
    style(fig, height=280)
    fig.update_layout(margin=dict(t=30))
    return fig


# ----------------------------------------------------------------------------------------- linear regression


def regression_fit(x, y, lines: dict, x_range=(-2.0, 2.0)) -> go.Figure:
    """The data and the fitted lines; `lines` maps a label to (w, b, colour, dash)."""
    fig = go.Figure(go.Scatter(x=_np(x), y=_np(y), mode="markers", name="data",
                               marker=dict(size=7, color=GREY, opacity=0.7)))
    grid = np.array(x_range)
    for label, (w, b, color, dash) in lines.items():
        fig.add_trace(go.Scatter(x=grid, y=w * grid + b, mode="lines", name=label,
                                 line=dict(color=color, dash=dash, width=2.5 if dash == "solid" else 2)))
    fig.update_xaxes(title_text="x")
    fig.update_yaxes(title_text="y")
    return style(fig, height=380)


def regression_losses_over_time(hand, auto) -> go.Figure:
    fig = go.Figure([
        go.Scatter(y=_np(hand.losses), name="hand-derived gradient", line=dict(color=COLORS[0], width=3)),
        go.Scatter(y=_np(auto.losses), name="autograd + torch.optim", line=dict(color=COLORS[1], width=2, dash="dash")),
    ])
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="MSE", type="log", exponentformat="e")
    return style(fig, height=300)


def loss_surface(ws, bs, surface, hand, auto, best) -> go.Figure:
    """log10 of the MSE over (w, b), the two paths on it, and the least-squares minimum."""
    fig = go.Figure(go.Contour(x=_np(ws), y=_np(bs), z=np.log10(_np(surface) + 1e-12), colorscale="Viridis",
                               ncontours=28, colorbar=dict(title="log10 MSE", thickness=12),
                               hovertemplate="w = %{x:.3f}, b = %{y:.3f}<br>log10 MSE = %{z:.3f}<extra></extra>"))
    for fit, label, color, width, dash in ((hand, "hand-derived path", COLORS[0], 4, "solid"),
                                          (auto, "autograd path", "white", 2, "dot")):
        path = _np(fit.path)
        fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name=label,
                                 line=dict(color=color, width=width, dash=dash), marker=dict(size=3)))
    fig.add_trace(go.Scatter(x=[best[0]], y=[best[1]], mode="markers", name="least-squares minimum",
                             marker=dict(symbol="star", size=16, color="gold", line=dict(color="black", width=1))))
    fig.update_xaxes(title_text="w")
    fig.update_yaxes(title_text="b")
    return style(fig, height=440)


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
    fig = go.Figure()
    edges = [(f"x{j + 1}", f"h{i + 1}", d_w1[i, j], f"W1[{i},{j}]") for i in range(3) for j in range(2)]
    edges += [(f"h{i + 1}", "ŷ", d_w2[0, i], f"W2[0,{i}]") for i in range(3)]
    top = max(float(np.abs(d_w1).max()), float(np.abs(d_w2).max()), 1e-12)
    for a, b, g, label in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", showlegend=False, hoverinfo="skip",
                                 line=dict(color=COLORS[0] if g > 0 else COLORS[1], width=1 + 7 * abs(g) / top)))
        t = 0.25 if a.startswith("x") else 0.55  # near the inputs the six crossing edges are still apart
        fig.add_annotation(x=x0 + t * (x1 - x0), y=y0 + t * (y1 - y0), text=f"{g:+.3f}", showarrow=False,
                           font=dict(size=10, color="#333"), bgcolor="rgba(255,255,255,0.8)",
                           hovertext=f"∂L/∂{label} = {g:.5f}")
    fig.add_trace(go.Scatter(x=[2, 3], y=[0, 0], mode="lines", showlegend=False, hoverinfo="skip",
                             line=dict(color=GREY, width=2)))
    values = {"x1": (x[0], None), "x2": (x[1], None), "ŷ": (y_hat[0], d_y[0]), "L": (float(loss), 1.0)}
    values |= {f"h{i + 1}": (h[i], d_h[i]) for i in range(3)}
    names = list(pos)
    text = [f"<b>{n}</b> = {values[n][0]:.3f}" + (f"<br>∂L/∂{n} = {values[n][1]:.3f}" if values[n][1] is not None
                                                  else "") for n in names]
    fig.add_trace(go.Scatter(x=[pos[n][0] for n in names], y=[pos[n][1] for n in names], mode="markers+text",
                             text=text, textposition="top center", showlegend=False, hoverinfo="skip",
                             marker=dict(size=26, color="white", line=dict(color="black", width=2))))
    fig.update_xaxes(visible=False, range=[-0.4, 3.4])
    fig.update_yaxes(visible=False, range=[-2.8, 3.3])
    fig = style(fig, height=420)
    fig.add_annotation(x=0.5, y=-2.6, text="edge labels: ∂L/∂w (red +, blue −, width ∝ |∂L/∂w|)",
                       showarrow=False, font=dict(size=11, color="#555"))
    return fig


def training_with_and_without_zero_grad(with_zero, without_zero) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "norm of the gradient used by step()"),
                        horizontal_spacing=0.1)
    for (losses, norms), label, color in ((with_zero, "with zero_grad()", COLORS[2]),
                                          (without_zero, "zero_grad() forgotten", COLORS[0])):
        fig.add_trace(go.Scatter(y=_np(losses), name=label, legendgroup=label, line=dict(color=color, width=2.5)),
                      1, 1)
        fig.add_trace(go.Scatter(y=_np(norms), name=label, legendgroup=label, showlegend=False,
                                 line=dict(color=color, width=2.5)), 1, 2)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(type="log", exponentformat="e", row=1, col=1)
    return _styled_pair(fig, 340)
