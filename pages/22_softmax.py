import pandas as pd
import streamlit as st

from core import softmax
from core.parsing import InputError, parse_numbers
from ui import figures_functions as figures
from ui import links
from ui.common import code_panel, fail, header

PARAMS = {
    "sm_logits": links.Text("2.0, 1.0, 0.1, -1.0", max_len=200, refused=("a", "1, x"), accepted="2.0, 1.0, 0.1, -2.0"),
    "sm_temperature": links.Float(1.0, 0.1, 5.0),
    "sm_shift": links.Float(0.0, 0.0, 200.0),
}

header("Softmax", "Softmax turns a vector of logits z into probabilities: p_i = exp(z_i / T) / Σ_j exp(z_j / T). "
       "Change the logits and the **temperature** T, look at its **Jacobian** (how each probability moves when "
       "one logit moves, computed by autograd), and see why nobody computes it with a bare `exp`.")
links.bind(PARAMS)
c1, c2 = st.columns([2, 1])
text = c1.text_input("logits z (comma-separated, 2 to 10 classes)", key="sm_logits")
temperature = c2.slider("temperature T", 0.1, 5.0, step=0.05, key="sm_temperature",
                        help="T < 1 sharpens towards the largest logit (argmax as T → 0); T > 1 flattens towards "
                             "uniform.")

try:
    logits = parse_numbers(text, max_len=10, min_len=2)
except InputError as exc:
    fail(f"{exc} For example: 2.0, 1.0, 0.1, -1.0")
if any(v != v or abs(v) > 1e4 for v in logits):
    fail("Keep every logit a finite number between -10000 and 10000 (the stability demo below adds more).")


@st.cache_data(max_entries=128, show_spinner=False)
def _softmax(logits: tuple[float, ...], temperature: float):
    at_one = softmax.softmax_jacobian(list(logits), 1.0).probs  # the T = 1 bars drawn beside
    return softmax.softmax_jacobian(list(logits), temperature), at_one


result, probs_t1 = _softmax(tuple(logits), temperature)
p = result.probs
cols = st.columns(3)
cols[0].metric("largest probability", f"{float(p.max()):.4f}", help=f"class {int(p.argmax())}")
cols[1].metric("sum of p", f"{float(p.sum()):.6f}")
cols[2].metric("max |J − (diag(p) − p pᵀ) / T|", f"{float((result.jacobian - result.formula).abs().max()):.1e}",
               help="autograd's Jacobian against the formula: they agree to float32 precision")

left, right = st.columns(2)
with left:
    st.markdown("**Probabilities**")
    st.plotly_chart(figures.probabilities(p, probs_t1, temperature), key="sm_probs_fig")
with right:
    st.markdown("**Jacobian dp_i / dz_j** (from `torch.autograd.functional.jacobian`)")
    st.plotly_chart(figures.jacobian(result.jacobian), key="sm_jac_fig")
st.latex(r"\frac{\partial p_i}{\partial z_j} = \frac{1}{T}\begin{cases} p_i (1 - p_i) & i = j \\ -p_i\, p_j & "
         r"i \ne j \end{cases}")
st.caption("Red diagonal: raising z_i raises p_i. Blue elsewhere: it takes that probability from every other "
           "class. Every row sums to 0 because the probabilities always sum to 1.")
diag = result.jacobian.diagonal()
st.dataframe(pd.DataFrame({"class i": range(len(logits)), "p_i": p.tolist(),
                           "p_i (1 − p_i) / T": (p * (1 - p) / temperature).tolist(),
                           "J[i, i] (autograd)": diag.tolist(),
                           "row sum of J": result.jacobian.sum(dim=1).tolist()}),
             hide_index=True, key="sm_table",
             column_config={**{c: st.column_config.NumberColumn(format="%.6f")
                               for c in ("p_i", "p_i (1 − p_i) / T", "J[i, i] (autograd)")},
                            "row sum of J": st.column_config.NumberColumn(format="%.1e")})
code_panel(softmax.softmax_code(result))

st.subheader("Numerical stability: the log-sum-exp trick")
st.markdown("Adding the same number c to every logit does not change softmax: the exp(c) cancels. But in "
            "float32, `exp(z)` overflows to `inf` once z > 88.7, and `inf / inf` is `nan`. The stable form "
            "subtracts max(z) first, so the largest term is exp(0) = 1. That is what `torch.softmax`, "
            "`F.log_softmax` and `torch.logsumexp` do.")
shift = st.slider("add c to every logit", 0.0, 200.0, step=1.0, key="sm_shift")
stab = softmax.softmax_stability(logits, shift)
cols = st.columns(3)
cols[0].metric("largest logit z + c", f"{float(stab.logits.max()):.4g}")
cols[1].metric("log(Σ exp(z)) naive", f"{stab.naive_logsumexp:.6g}")
cols[2].metric("torch.logsumexp(z)", f"{stab.logsumexp:.6g}")
if stab.overflowed:
    st.error(f"Naive softmax failed: exp({float(stab.logits.max()):.4g}) = {float(stab.exp.max()):g} in float32, "
             "so the division gives nan. The stable version still gives the same probabilities as with c = 0.",
             icon=":material/warning:")
else:
    st.success("No overflow yet: naive and stable agree. Push c past about 88 − max(z) to break the naive one.",
               icon=":material/check:")
st.dataframe(pd.DataFrame({"class i": range(len(logits)), "z + c": stab.logits.tolist(),
                           "exp(z + c)": [f"{v:.4g}" for v in stab.exp.tolist()],
                           "naive exp / Σ exp": [f"{v:.6f}" for v in stab.naive.tolist()],
                           "stable (z − max z)": [f"{v:.6f}" for v in stab.stable.tolist()],
                           "torch.softmax": [f"{v:.6f}" for v in stab.builtin.tolist()]}),
             hide_index=True, key="sm_stab_table")
code_panel(softmax.stability_code(logits, shift, stab))
