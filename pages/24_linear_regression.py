import pandas as pd
import streamlit as st

from core import linear_regression
from ui import figures_functions as figures
from ui import links
from ui.common import code_panel, header
from ui.plots import COLORS

PARAMS = {
    "lr_w": links.Float(2.0, -3.0, 3.0),
    "lr_b": links.Float(-1.0, -3.0, 3.0),
    "lr_noise": links.Float(0.5, 0.0, 2.0),
    "lr_n": links.Int(50, 5, 500),
    "lr_seed": links.Int(0, 0, 10_000),
    "lr_lr": links.Float(0.1, 0.001, 1.0),
    "lr_epochs": links.Int(100, 1, 300),
    "lr_momentum": links.Float(0.0, 0.0, 0.99),
}
AGREE = 1e-3  # the two fits and the exact solution count as "the same line" within this

header("Linear regression from scratch", "Noisy points y = w·x + b + noise, fitted two ways from the same "
       "start (w = 0, b = 0) with the same learning rate: **by hand**, with the gradient of the mean squared "
       "error derived on paper, and with **autograd + `torch.optim.SGD`**, where PyTorch finds the gradient. "
       "Both should land on the exact least-squares line.")
links.bind(PARAMS)

st.markdown("**Data**")
c = st.columns(5)
w_true = c[0].slider("true w", -3.0, 3.0, step=0.1, key="lr_w")
b_true = c[1].slider("true b", -3.0, 3.0, step=0.1, key="lr_b")
noise = c[2].slider("noise σ", 0.0, 2.0, step=0.05, key="lr_noise")
n = c[3].slider("points", 5, 500, step=5, key="lr_n")
seed = c[4].number_input("seed", 0, 10_000, step=1, key="lr_seed")
st.markdown("**Training**")
c = st.columns(3)
lr = c[0].slider("learning rate", 0.001, 1.0, step=0.001, format="%.3f", key="lr_lr")
epochs = c[1].slider("epochs", 1, 300, key="lr_epochs")
momentum = c[2].slider("momentum (torch.optim side only)", 0.0, 0.99, step=0.01, key="lr_momentum",
                       help="0 makes torch.optim.SGD take exactly the same steps as the hand-written loop.")


@st.cache_data(max_entries=64, show_spinner=False)
def _fit(n: int, w: float, b: float, noise: float, seed: int, lr: float, epochs: int, momentum: float):
    x, y = linear_regression.make_line(n, w, b, noise, seed)
    hand = linear_regression.fit_by_hand(x, y, lr, epochs)
    auto = linear_regression.fit_by_autograd(x, y, lr, epochs, momentum=momentum)
    best = linear_regression.least_squares(x, y)
    points = [p for fit in (hand, auto) for p in fit.path.tolist()] + [list(best), [w, b]]
    ws, bs = [p[0] for p in points], [p[1] for p in points]
    pad_w, pad_b = max(0.5, 0.15 * (max(ws) - min(ws))), max(0.5, 0.15 * (max(bs) - min(bs)))
    surface = linear_regression.loss_surface(x, y, (min(ws) - pad_w, max(ws) + pad_w),
                                             (min(bs) - pad_b, max(bs) + pad_b), 70)
    return x, y, hand, auto, best, surface


x, y, hand, auto, best, (ws, bs, surface) = _fit(n, w_true, b_true, noise, int(seed), lr, epochs, momentum)

diverged = [(label, fit) for label, fit in (("hand-derived", hand), ("autograd + torch.optim", auto))
            if fit.diverged_at is not None]
for label, fit in diverged:
    st.error(f"The {label} fit diverged at epoch {fit.diverged_at}: the loss grew past "
             f"{linear_regression.BLOWUP:g}× its starting value. lr = {lr:g} is too large for this data: each step "
             "overshoots the minimum by more than it corrects. Lower the learning rate; the charts show the epochs "
             "before the blow-up.",
             icon=":material/error:")

gap = max(abs(hand.w - auto.w), abs(hand.b - auto.b))
off = max(abs(hand.w - best[0]), abs(hand.b - best[1]), abs(auto.w - best[0]), abs(auto.b - best[1]))
cols = st.columns(3)
cols[0].metric("max |hand − autograd|", "diverged" if diverged else f"{gap:.1e}",
               help="largest difference in w or b between the two fits")
cols[1].metric("max |fit − least squares|", "diverged" if diverged else f"{off:.1e}",
               help="torch.linalg.lstsq gives the exact minimiser")
cols[2].metric("final MSE (hand-derived)", f"{float(hand.losses[-1]):.5g}")
st.dataframe(pd.DataFrame([
    {"fit": "hand-derived gradient", "w": hand.w, "b": hand.b, "epochs run": len(hand.losses) - 1},
    {"fit": "autograd + torch.optim.SGD", "w": auto.w, "b": auto.b, "epochs run": len(auto.losses) - 1},
    {"fit": "least squares (torch.linalg.lstsq)", "w": best[0], "b": best[1], "epochs run": None},
    {"fit": "true line (before noise)", "w": w_true, "b": b_true, "epochs run": None},
]), hide_index=True, key="lr_results",
    column_config={"w": st.column_config.NumberColumn(format="%.4f"),
                   "b": st.column_config.NumberColumn(format="%.4f")})
if not diverged:
    if gap < AGREE and off < AGREE:
        st.success(f"Both fits reach the least-squares line: w = {best[0]:.4f}, b = {best[1]:.4f} (within {AGREE:g}).",
                   icon=":material/check:")
    elif gap < AGREE:
        st.info(f"The two fits agree with each other (to {gap:.1e}) but have not reached the least-squares line "
                f"yet (off by {off:.3g}): train more epochs or raise the learning rate.", icon=":material/hourglass_top:")
    else:
        st.info(f"With momentum {momentum:g} the torch.optim path differs from the hand-written one (gap {gap:.3g}); "
                "with enough epochs both still reach the same minimum.", icon=":material/alt_route:")

left, right = st.columns(2)
with left:
    lines = {"hand-derived": (hand.w, hand.b, COLORS[0], "solid"),
             "autograd + torch.optim": (auto.w, auto.b, COLORS[1], "dash"),
             "least-squares line": (best[0], best[1], "black", "dot"),
             "true line": (w_true, b_true, COLORS[2], "dashdot")}
    for label, _ in diverged:  # a line that flew off would squash the data into a flat band
        del lines[label]
    st.plotly_chart(figures.regression_fit(x, y, lines), key="lr_fit_fig")
with right:
    st.plotly_chart(figures.loss_surface(ws, bs, surface, hand, auto, best), key="lr_surface_fig")
st.plotly_chart(figures.regression_losses_over_time(hand, auto), key="lr_loss_fig")

with st.expander("The gradient by hand", icon=":material/function:", expanded=False):
    st.latex(r"L(w, b) = \frac{1}{n}\sum_i (w x_i + b - y_i)^2")
    st.latex(r"\frac{\partial L}{\partial w} = \frac{2}{n}\sum_i (w x_i + b - y_i)\,x_i \qquad "
             r"\frac{\partial L}{\partial b} = \frac{2}{n}\sum_i (w x_i + b - y_i)")
    k = min(6, len(hand.path), len(auto.path))
    st.dataframe(pd.DataFrame({"epoch": range(k),
                               "w (hand)": hand.path[:k, 0].tolist(), "w (autograd)": auto.path[:k, 0].tolist(),
                               "b (hand)": hand.path[:k, 1].tolist(), "b (autograd)": auto.path[:k, 1].tolist(),
                               "loss (hand)": hand.losses[:k].tolist()}),
                 hide_index=True, key="lr_first_epochs")

code_hand, code_auto = linear_regression.regression_code(n, w_true, b_true, noise, int(seed), lr, epochs,
                                                          momentum, hand=hand, auto=auto, best=best)
left, right = st.columns(2)
with left:
    code_panel(code_hand, title="By hand: the gradient derived on paper")
with right:
    code_panel(code_auto, title="Autograd + torch.optim")
