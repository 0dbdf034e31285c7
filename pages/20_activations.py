import pandas as pd
import streamlit as st

from core import activations
from ui import figures_functions as figures
from ui import links
from ui.common import code_panel, halt, header

NAMES = tuple(activations.ACTIVATIONS)
PARAMS = {
    "act_focus": links.Choice("sigmoid", options=NAMES),
    "act_compare": links.Multi(["tanh", "ReLU"], options=NAMES),
    "act_range": links.Range((-6.0, 6.0), -10.0, 10.0),
    "act_slope": links.Float(0.1, 0.0, 1.0),
    "act_beta": links.Float(1.0, 0.1, 10.0),
}

header("Activations", "An activation f is applied to every number a layer produces. During training the "
       "gradient flowing back through it is multiplied by **f'(x)**, so wherever f' is tiny the layers before "
       "it stop learning: the unit is *saturated*. Both curves here are computed by PyTorch: f(x) by the "
       "function itself, f'(x) by **autograd**, never by a hand-written derivative.")

links.bind(PARAMS)
c1, c2 = st.columns([1, 2])
focus = c1.selectbox("Activation", NAMES, key="act_focus")
compare = c2.multiselect("Compare with", NAMES, key="act_compare", wrap=True)
lo, hi = st.slider("x range", -10.0, 10.0, step=0.5, key="act_range")
c1, c2 = st.columns(2)
shown = (focus, *[name for name in compare if name != focus])
slope = c1.slider("LeakyReLU negative slope a", 0.0, 1.0, step=0.01, key="act_slope",
                  disabled="LeakyReLU" not in shown, help="F.leaky_relu(x, negative_slope=a)")
beta = c2.slider("softplus β", 0.1, 10.0, step=0.1, key="act_beta", disabled="softplus" not in shown,
                 help="F.softplus(x, beta=β): larger β bends it closer to ReLU")

if hi - lo < 0.5:
    st.warning("The x range is a single point: widen it to see the curves.")
    halt()


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(names: tuple[str, ...], lo: float, hi: float, slope: float, beta: float):
    return activations.activation_curves(names, lo, hi, 401, slope=slope, beta=beta)


curves = _curves(shown, lo, hi, slope, beta)
main = curves[focus]
peak = activations.peak_gradient(main)
zones = activations.saturation_zones(main)

st.latex(activations.ACTIVATIONS[focus].latex)
cols = st.columns(4)
cols[0].metric(f"max f'(x) of {focus}", f"{peak[1]:.4f}", help="The largest factor this unit can pass back.")
cols[1].metric("at x", f"{peak[0]:.2f}")
cols[2].metric("saturated share", f"{activations.saturated_share(main):.0%}",
               help=f"Where |f'(x)| < {activations.SATURATION}")
at_zero = activations.activation_curve(focus, 0.0, 0.0, 1, slope=slope, beta=beta)
cols[3].metric("f'(0)", f"{float(at_zero.grad[0]):.4f}")

st.plotly_chart(figures.activations(curves, focus, NAMES, zones=zones, peak=peak), key="act_fig")
if zones:
    spans = ", ".join(f"[{a:.2f}, {b:.2f}]" for a, b in zones)
    st.caption(f"Shaded: where |f'(x)| < {activations.SATURATION} for {focus}: x in {spans}. A gradient reaching "
               "these units is multiplied by almost zero.")
else:
    st.caption(f"{focus} never saturates in this range: |f'(x)| ≥ {activations.SATURATION} everywhere.")

if focus == "sigmoid":
    st.info("Sigmoid's derivative σ'(x) = σ(x)(1 − σ(x)) is at most **0.25** (at x = 0). Through ten sigmoid "
            "layers a gradient is multiplied by at most 0.25¹⁰ ≈ 1e-6: the vanishing gradient problem.",
            icon=":material/south:")

rows = []
for name, c in curves.items():
    px, py = activations.peak_gradient(c)
    rows.append({"activation": name, "max f'(x)": py, "at x": px,
                 "saturated share": activations.saturated_share(c), "f(x) range": f"[{float(c.y.min()):.2f}, {float(c.y.max()):.2f}]"})
st.dataframe(pd.DataFrame(rows), hide_index=True, key="act_table",
             column_config={"max f'(x)": st.column_config.NumberColumn(format="%.4f"),
                            "at x": st.column_config.NumberColumn(format="%.2f"),
                            "saturated share": st.column_config.NumberColumn(format="percent")})

with st.expander("Formulas of the compared activations", icon=":material/function:"):
    for name in shown:
        st.latex(activations.ACTIVATIONS[name].latex)

code_panel(activations.activation_code(curves, lo, hi, slope=slope, beta=beta))
