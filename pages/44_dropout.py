import streamlit as st

from core import dropout
from ui import budget, links
from ui import figures_networks as figures
from ui.common import code_panel, header

INPUTS = dropout.INPUTS
PARAMS = {
    "dr_p": links.Float(0.5, 0.0, 0.95),
    "dr_train": links.Bool(True),
    "dr_seed": links.Int(0, 0, 9999),
    "dr_rows": links.Int(6, 1, 16),
    "dr_cols": links.Int(8, 1, 16),
    "dr_input": links.Choice("0, 1, 2, ...", INPUTS),
    "dr_trials": links.Int(200, 10, 2000),
}

links.bind(PARAMS)
header("Dropout",
       "`nn.Dropout(p)` zeroes each value with probability **p** while training, and multiplies the survivors by "
       "**1/(1-p)** so that the expected output equals the input. In `eval()` mode it does nothing at all. "
       "Everything below is torch's own `nn.Dropout`, with its random mask made reproducible by a seed.")
ss = st.session_state

c = st.columns(6)
c[0].slider("p (drop probability)", 0.0, 0.95, step=0.05, key="dr_p")
c[1].toggle("train mode", key="dr_train", help="Off: model.eval(), dropout becomes the identity")
c[2].number_input("Seed", 0, 9999, key="dr_seed")
c[3].slider("Rows", 1, 16, key="dr_rows")
c[4].slider("Columns", 1, 16, key="dr_cols")
c[5].selectbox("Input", INPUTS, key="dr_input")
p, train, seed = ss.dr_p, ss.dr_train, ss.dr_seed
rows, cols = ss.dr_rows, ss.dr_cols


x = dropout.make_input(ss.dr_input, rows, cols, seed)
out, mask = dropout.dropout(x, p, seed=seed, train=train)

st.subheader("1 · The mask, and the scaling")
st.plotly_chart(figures.dropout_grids(x, mask, out, p=p), key="dr_grids")
kept = float(mask.float().mean())
m = st.columns(5)
m[0].metric("Kept", f"{int(mask.sum())} of {mask.numel()}", help="cells where the mask is 1")
m[1].metric("Kept share", f"{kept:.1%}", delta=f"expected {1 - p:.0%}" if train else None, delta_color="off")
m[2].metric("Scale of the kept", f"{1 / (1 - p):.4g}" if train else "1 (eval)", help="1 / (1 - p)")
m[3].metric("mean(x)", f"{float(x.mean()):.4f}")
m[4].metric("mean(output)", f"{float(out.mean()):.4f}")
if train:
    exact = bool((out == x * mask * (1 / (1 - p))).all())
    (st.success if exact else st.error)(
        f"Every output value is x · mask · 1/(1 - {p:g}): "
        + ("checked cell by cell, exactly." if exact else "NOT true here!"), icon=":material/check_circle:")
    st.caption("A different seed draws a different mask; the share kept is random around 1 - p. One draw's mean "
               "is not the input's mean, but the average over many draws is (next section).")
else:
    identity = bool((out == x).all())
    (st.success if identity else st.error)(
        "eval mode: the output is the input, unchanged (torch.equal(out, x) is "
        f"{identity}). No mask, no scaling: the 1/(1-p) during training already made the scales match.",
        icon=":material/check_circle:")

code_panel(dropout.dropout_code(ss.dr_input, x, out, mask, p, seed=seed, train=train))

st.subheader("2 · Why 1/(1-p): the average over many masks")
st.slider("Number of dropout draws", 10, 2000, step=10, key="dr_trials")


def _means(kind: str, rows: int, cols: int, p: float, seed: int, trials: int):
    """The running averages; kept for every session; with progress and Cancel when many draws take long."""
    def work(progress):
        return dropout.dropout_means(dropout.make_input(kind, rows, cols, seed), p, seed=seed, trials=trials,
                                     progress=progress)

    return budget.compute(("dr_means", kind, rows, cols, p, seed, trials), work,
                          seconds=dropout.means_seconds(trials), label="Drawing masks", key="dr_cancel")


scaled, unscaled = _means(ss.dr_input, rows, cols, p, seed, ss.dr_trials)
target = float(x.mean())
st.plotly_chart(figures.lines(list(range(1, len(scaled) + 1)),
                              {"with 1/(1-p) (nn.Dropout)": scaled.tolist(),
                               "mask only, no scaling": unscaled.tolist(),
                               "mean(x): what eval() returns": [target] * len(scaled)},
                              x_title="number of draws averaged", y_title="average of mean(output)",
                              dashes={"mask only, no scaling": "dash", "mean(x): what eval() returns": "dot"}),
                key="dr_means")
m = st.columns(3)
m[0].metric("mean(x)", f"{target:.4f}")
m[1].metric(f"Average over {ss.dr_trials} draws, scaled", f"{float(scaled[-1]):.4f}")
m[2].metric("... without the scaling", f"{float(unscaled[-1]):.4f}", help=f"tends to (1 - p) · mean(x) = "
            f"{(1 - p) * target:.4f}")
st.markdown(f"Each value survives with probability 1 - p = {1 - p:g}, so E[mask] = {1 - p:g} and "
            f"E[x · mask / (1 - p)] = x. Without the scaling the next layer would see inputs "
            f"{1 - p:.0%} as large in training as at test time.")
code_panel(dropout.means_code(ss.dr_input, x, p, seed=seed, scaled=scaled),
           title="PyTorch code: averaging many masks")
