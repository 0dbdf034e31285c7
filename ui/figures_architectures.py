"""Figure builders of the Architectures lesson: parameters against multiply-accumulates, parameters by layer type."""

import plotly.graph_objects as go

from ui.plots import COLORS, figure


def architecture_bubbles(summaries: list, highlight: str) -> go.Figure:
    """Parameters against multiply-accumulates for every architecture, both on log axes."""
    data = []
    for i, s in enumerate(summaries):
        on = s.name == highlight
        data.append(dict(type="scatter", x=[s.macs / 1e9], y=[s.params / 1e6], mode="markers+text", text=[s.name],
                         textposition=_LABEL_AT.get(s.name, "top center"), name=s.name, showlegend=False,
                         marker=dict(size=24 if on else 14, color=COLORS[i % len(COLORS)],
                                     line=dict(color="#222", width=2 if on else 0)),
                         hovertemplate=f"{s.name}<br>%{{y:.2f}} M parameters<br>%{{x:.3f}} G MACs<extra></extra>"))
    layout = dict(xaxis=dict(title="G multiply-accumulates per image (log)", type="log", dtick=1),
                  yaxis=dict(title="M parameters (log)", type="log", dtick=1))
    return figure(data, layout, height=360)


_LABEL_AT = {"VGG-11": "top left", "VGG-16": "top right", "ResNet-18": "top left", "GoogLeNet": "bottom left",
             "DenseNet-121": "bottom right", "LeNet-5": "top right"}


def params_by_kind(rows) -> go.Figure:
    """Where the parameters sit: the total per layer type."""
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.kind] = totals.get(r.kind, 0) + r.params
    kinds = [k for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v > 0]
    data = [dict(type="bar", x=[totals[k] / 1e6 for k in kinds], y=kinds, orientation="h",
                 marker=dict(color=COLORS[0]), text=[f"{totals[k]:,}" for k in kinds], textposition="auto",
                 hovertemplate="%{y}: %{text} parameters<extra></extra>")]
    layout = dict(yaxis=dict(autorange="reversed"), xaxis=dict(title="M parameters"))
    return figure(data, layout, height=90 + 34 * len(kinds))
