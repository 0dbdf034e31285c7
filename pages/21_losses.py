import pandas as pd
import streamlit as st

from core import entropy, losses
from core.parsing import InputError, parse_numbers
from ui import figures_functions as figures
from ui import links
from ui.common import code_panel, fail, header

REG = tuple(losses.REGRESSION_LOSSES)
CLS = tuple(losses.CLASSIFICATION_LOSSES)
Z_RANGE = (-10.0, 10.0)
PARAMS = {
    "loss_reg": links.Multi(list(REG), options=REG),
    "loss_delta": links.Float(1.0, 0.1, 3.0),
    "loss_target": links.Float(0.0, -2.0, 2.0),
    "loss_z": links.Float(-6.0, -10.0, 10.0),
    "loss_logits": links.Text("2.0, 1.0, 0.1", max_len=200, refused=("a, b", "1, x, 2"), accepted="2.0, 1.0, 0.5"),
    "loss_class": links.Int(0, 0, 9),
    "loss_p": links.Text("0.7, 0.2, 0.1", max_len=200, refused=("a", "0.5, -1"), accepted="0.6, 0.3, 0.1"),
    "loss_q": links.Text("0.5, 0.3, 0.2", max_len=200, refused=("x, 1", "0, 0"), accepted="0.4, 0.4, 0.2"),
}

header("Losses", "A loss turns a prediction into one number to minimise; its **gradient** is what actually "
       "reaches the network. Every gradient on this page comes from `torch.autograd`. Move the sliders and "
       "watch how hard each loss pushes, especially when the model is confidently wrong.")
links.bind(PARAMS)
ss = st.session_state

# --------------------------------------------------------------------------------------- regression losses
st.subheader("Regression: MSE, L1, Huber")
c1, c2, c3 = st.columns([2, 1, 1])
names = c1.multiselect("Losses", REG, key="loss_reg", wrap=True)
delta = c2.slider("Huber δ", 0.1, 3.0, step=0.1, key="loss_delta")
target = c3.slider("target y", -2.0, 2.0, step=0.5, key="loss_target")


@st.cache_data(max_entries=64, show_spinner=False)
def _regression(names: tuple[str, ...], target: float, delta: float):
    return losses.regression_loss_curves(names, target - 3.0, target + 3.0, 301, target=target, delta=delta)


if names:
    curves = _regression(tuple(names), target, delta)
    st.plotly_chart(figures.regression_losses(curves, REG, delta=delta), key="loss_reg_fig")
    st.caption(f"MSE's gradient 2(ŷ − y) grows with the error, so outliers dominate; L1's is sign(ŷ − y): ±1, "
               f"and 0 where ŷ = y; Huber is "
               f"MSE/2 within δ = {delta:g} of the target and L1-like outside, so its gradient is clipped to ±δ.")
    with st.expander("Formulas", icon=":material/function:"):
        for name in names:
            st.latex(rf"\text{{{name}:}}\quad " + losses.REGRESSION_LOSSES[name].latex)
    code_panel(losses.regression_loss_code(curves, target - 3.0, target + 3.0, target=target, delta=delta))
else:
    st.info("Pick at least one regression loss.")

# ----------------------------------------------------------------------------------- classification losses
st.subheader("Classification: why cross-entropy and not MSE")
st.markdown(
    "A binary classifier outputs a logit z; p = σ(z) is the probability it gives the **true class** (y = 1). "
    "With sigmoid + MSE the chain rule gives dL/dz = (p − y) · **p(1 − p)**: when the model is confidently "
    "wrong (z very negative, p ≈ 0) the factor p(1 − p) is ≈ 0 and learning stalls. With cross-entropy the "
    "sigmoid's derivative cancels and dL/dz = **p − y**, which stays near −1 exactly when the model is most wrong.")
z0 = st.slider("logit z of the true class", *Z_RANGE, step=0.5, key="loss_z")


@st.cache_data(max_entries=4, show_spinner=False)
def _classification_curves():
    return losses.classification_loss_curves(*Z_RANGE, 401)


@st.cache_data(max_entries=64, show_spinner=False)
def _classification_at(z0: float):
    return losses.classification_losses([z0])


curves = _classification_curves()
at = _classification_at(z0)
p0 = float(at["sigmoid + MSE"].p[0])
mse_grad = float(at["sigmoid + MSE"].grad_z[0])
ce_grad = float(at["cross-entropy"].grad_z[0])
cols = st.columns(4)
cols[0].metric("p = σ(z)", f"{p0:.4g}")
cols[1].metric("dL/dz, sigmoid + MSE", f"{mse_grad:.4g}", help="autograd; equals (p − y) p (1 − p)")
cols[2].metric("dL/dz, cross-entropy", f"{ce_grad:.4g}", help="autograd; equals p − y")
cols[3].metric("|CE| / |MSE| gradient", f"{abs(ce_grad) / max(abs(mse_grad), 1e-30):,.0f}×",
               help="How many times harder cross-entropy pushes the logit than sigmoid + MSE does, here.")
st.plotly_chart(figures.classification_losses(curves, CLS, z0=z0, at=at), key="loss_cls_fig")

rows = []
for name, c in at.items():
    mse = name == "sigmoid + MSE"
    rows.append({"loss": name, "loss value": float(c.loss[0]), "dL/dz (autograd)": float(c.grad_z[0]),
                 "by the formula": "(p − y) p (1 − p)" if mse else "p − y",
                 "formula value": (p0 - 1) * p0 * (1 - p0) if mse else p0 - 1,
                 "dL/dp (autograd)": float(c.grad_p[0]) if c.grad_p is not None else None})
st.dataframe(pd.DataFrame(rows), hide_index=True, key="loss_cls_table",
             column_config={c: st.column_config.NumberColumn(format="%.6g")
                            for c in ("loss value", "dL/dz (autograd)", "formula value", "dL/dp (autograd)")})
st.caption("BCE on σ(z), BCE-with-logits, cross-entropy over the logits [0, z] and NLL on log_softmax are the "
           "same loss written four ways, so their curves lie on top of each other. BCE-with-logits and "
           "cross-entropy take the logit directly, which is numerically safer than σ(z) followed by a log.")
with st.expander("Formulas", icon=":material/function:"):
    for name, loss in losses.CLASSIFICATION_LOSSES.items():
        st.latex(rf"\text{{{name}:}}\quad " + loss.latex)
code_panel(losses.classification_code(at, z0, *Z_RANGE, 401))

# ------------------------------------------------------------------------------ entropy, cross-entropy and KL
st.subheader("Entropy, cross-entropy and KL divergence")
st.markdown("For a true distribution p and a model's q over the same classes: the **entropy** H(p) is the "
            "uncertainty in p itself, the **cross-entropy** H(p, q) what it costs to describe p with q, and their "
            "difference is the **KL divergence**: H(p, q) = H(p) + KL(p ‖ q). Training with cross-entropy "
            "therefore minimises KL(p ‖ q): H(p) does not depend on the model.")
c1, c2 = st.columns(2)
c1.text_input("p, the true distribution (scaled to sum 1)", key="loss_p")
c2.text_input("q, the model's distribution", key="loss_q")
try:
    div = entropy.divergence(parse_numbers(ss["loss_p"], max_len=10, min_len=2),
                             parse_numbers(ss["loss_q"], max_len=10, min_len=2))
except InputError as exc:
    fail(f"{exc} For example: 0.7, 0.2, 0.1")
cols = st.columns(4)
cols[0].metric("H(p)", f"{div.entropy:.4f}", help="−Σ p log p (nats)")
cols[1].metric("H(p, q)", f"{div.cross_entropy:.4f}", help="−Σ p log q")
cols[2].metric("KL(p ‖ q)", f"{div.kl:.4f}", help="Σ p log(p / q); 0 only when q = p")
cols[3].metric("H(p) + KL(p ‖ q)", f"{div.entropy + div.kl:.4f}")
st.markdown(f"- `F.kl_div(q.log(), p, reduction='sum')` = **{div.kl_div:.4f}**: its first argument is the model's "
            "**log**-probabilities, its second the target's probabilities (pass `log_target=True` if those are "
            f"logs too). Swapped, `F.kl_div(p.log(), q)` gives KL(q ‖ p) = **{div.kl_div_swapped:.4f}**: KL is "
            "not symmetric.\n"
            f"- `F.cross_entropy(q.log(), p)` with a distribution as target gives H(p, q) = **{div.soft_ce:.4f}**.")
with st.expander("Binary and multi-class cross-entropy, side by side", icon=":material/function:"):
    st.latex(r"\text{binary (BCE):}\quad L = -\big[y \log p + (1-y)\log(1-p)\big],\quad p = \sigma(z)")
    st.latex(r"\text{multi-class (CE):}\quad L = -\sum_{c} y_c \log p_c = -\log p_{y},\quad p = "
             r"\operatorname{softmax}(z)")
    st.caption("BCE is CE over two classes with probabilities (1 − p, p); `nn.BCEWithLogitsLoss` takes one logit "
               "per sample, `nn.CrossEntropyLoss` one logit per class.")
code_panel(entropy.divergence_code(div))

# ------------------------------------------------------------------------------ cross-entropy = log_softmax + NLL
st.subheader("Cross-entropy = log_softmax + NLL")
st.markdown("`F.cross_entropy` takes raw logits of C classes. It is exactly `F.nll_loss(F.log_softmax(z))`, and "
            "both equal −log p_y. Its gradient with respect to the logits is softmax(z) − onehot(y).")
c1, c2 = st.columns([3, 1])
text = c1.text_input("logits z (comma-separated, 2 to 10 classes)", key="loss_logits")
target_class = c2.number_input("true class y", 0, 9, step=1, key="loss_class")

try:
    logits = parse_numbers(text, max_len=10, min_len=2)
except InputError as exc:
    fail(f"{exc} For example: 2.0, 1.0, 0.1")
if any(abs(v) > 1e4 or v != v for v in logits):
    fail("Keep every logit a finite number between -10000 and 10000.")
if target_class >= len(logits):
    fail(f"The true class must be one of 0..{len(logits) - 1}: there are {len(logits)} logits.")

check = losses.cross_entropy_check(logits, int(target_class))
cols = st.columns(3)
cols[0].metric("F.cross_entropy(z, y)", f"{check.cross_entropy:.6f}")
cols[1].metric("F.nll_loss(F.log_softmax(z), y)", f"{check.nll_of_log_softmax:.6f}")
cols[2].metric("−log softmax(z)[y]", f"{check.minus_log_p:.6f}")
if abs(check.cross_entropy - check.nll_of_log_softmax) <= 1e-6 * max(1.0, abs(check.cross_entropy)):
    st.success("cross_entropy and log_softmax + nll_loss agree.", icon=":material/check:")
st.plotly_chart(figures.ce_gradient_bars(check.probs, check.grad, check.p_minus_onehot), key="loss_ce_fig")
st.dataframe(pd.DataFrame({"class": range(len(logits)), "logit z": check.logits.tolist(),
                           "softmax p": check.probs.tolist(), "logits.grad (autograd)": check.grad.tolist(),
                           "p − onehot(y)": check.p_minus_onehot.tolist()}),
             hide_index=True, key="loss_ce_table")
code_panel(losses.cross_entropy_code(check))
