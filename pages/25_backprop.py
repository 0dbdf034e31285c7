import numpy as np
import pandas as pd
import streamlit as st

from core.backprop import (
    HIDDEN_ACTIVATIONS,
    accumulated_grads,
    backprop,
    backprop_code,
    backward_twice,
    train_tiny,
    zero_grad_code,
)
from ui import figures_functions as figures
from ui import links
from ui.common import code_panel, header

ACTS = tuple(HIDDEN_ACTIVATIONS)
PARAMS = {
    "bp_x1": links.Float(1.0, -3.0, 3.0),
    "bp_x2": links.Float(-0.5, -3.0, 3.0),
    "bp_y": links.Float(0.5, -3.0, 3.0),
    "bp_act": links.Choice("tanh", options=ACTS),
    "bp_seed": links.Int(0, 0, 10_000),
    "bp_calls": links.Int(4, 1, 10),
    "bp_lr": links.Float(0.05, 0.005, 0.5),
    "bp_steps": links.Int(40, 5, 100),
}

header("Chain rule & backprop", "A tiny network: 2 inputs → 3 hidden units → 1 output, loss (ŷ − y)². "
       "`loss.backward()` applies the chain rule from the loss back to every weight. Here the same chain rule "
       "is also written out by hand, and the two sets of numbers are printed side by side.")
links.bind(PARAMS)
c = st.columns(5)
x1 = c[0].slider("input x₁", -3.0, 3.0, step=0.1, key="bp_x1")
x2 = c[1].slider("input x₂", -3.0, 3.0, step=0.1, key="bp_x2")
y = c[2].slider("target y", -3.0, 3.0, step=0.1, key="bp_y")
act = c[3].selectbox("hidden activation", ACTS, key="bp_act")
seed = c[4].number_input("weights seed", 0, 10_000, step=1, key="bp_seed")
x = (x1, x2)
seed = int(seed)


def _ratio(a, b) -> list:
    """a / b elementwise, None where b is 0 (a dead ReLU unit has no gradient to compare)."""
    return [av / bv if bv != 0 else None for av, bv in zip(a.tolist(), b.tolist(), strict=True)]


@st.cache_data(max_entries=128, show_spinner=False)
def _backprop(x: tuple[float, float], y: float, seed: int, act: str):
    return backprop(x, y, seed, act), backward_twice(x, y, seed, act)


result, twice = _backprop(x, y, seed, act)
fwd = result.forward
cols = st.columns(3)
cols[0].metric("prediction ŷ", f"{float(fwd['y_hat'][0]):.4f}")
cols[1].metric("loss (ŷ − y)²", f"{float(fwd['loss']):.4f}")
worst = max(float((result.manual[k] - result.autograd[k]).abs().max()) for k in result.manual)
cols[2].metric("max |manual − autograd|", f"{worst:.1e}")
st.plotly_chart(figures.network(result), key="bp_net_fig")

st.markdown("**Forward pass**")
st.dataframe(pd.DataFrame([{"tensor": name, "shape": str(tuple(t.shape)),
                            "value": ", ".join(f"{v:.4f}" for v in t.reshape(-1).tolist())}
                           for name, t in fwd.items()]),
             hide_index=True, key="bp_forward")

st.markdown("**Backward pass: the chain rule by hand next to autograd's `.grad`**")
derivative = {"tanh": r"1 - h^2", "sigmoid": r"h\,(1 - h)", "ReLU": r"\mathbb{1}[z_1 > 0]"}[act]
st.latex(r"\frac{\partial L}{\partial \hat y} = 2(\hat y - y),\quad "
         r"\frac{\partial L}{\partial W_2} = \frac{\partial L}{\partial \hat y}\, h^\top,\quad "
         r"\frac{\partial L}{\partial h} = W_2^\top \frac{\partial L}{\partial \hat y},\quad "
         r"\frac{\partial L}{\partial z_1} = \frac{\partial L}{\partial h} \odot (" + derivative + r"),\quad "
         r"\frac{\partial L}{\partial W_1} = \frac{\partial L}{\partial z_1}\, x^\top")
rows = []
for name in ("y_hat", "h", "z1", "W2", "b2", "W1", "b1"):
    manual, auto = result.manual[name].reshape(-1), result.autograd[name].reshape(-1)
    shape = tuple(result.manual[name].shape)
    for i in range(manual.numel()):
        index = [int(v) for v in np.unravel_index(i, shape)] if len(shape) > 1 else [i]
        rows.append({"dL/d": f"{name}[{', '.join(map(str, index))}]", "chain rule by hand": float(manual[i]),
                     "autograd .grad": float(auto[i]), "|difference|": abs(float(manual[i]) - float(auto[i]))})
st.dataframe(pd.DataFrame(rows), hide_index=True, key="bp_grads", height=35 * (len(rows) + 1) + 3,
             column_config={"chain rule by hand": st.column_config.NumberColumn(format="%.6f"),
                            "autograd .grad": st.column_config.NumberColumn(format="%.6f"),
                            "|difference|": st.column_config.NumberColumn(format="%.1e")})
st.caption("h, z1 and y_hat are intermediate tensors: autograd keeps their .grad only after `t.retain_grad()`.")
code_panel(backprop_code(x, y, seed, act, result))

st.subheader("requires_grad, leaves and grad_fn")
st.markdown("Autograd records every operation on a tensor with `requires_grad=True`. Tensors you create are "
            "**leaves**; results of operations carry a `grad_fn` (the backward step of the op that made them). "
            "After `backward()`, only leaves that require grad keep a `.grad`.")
st.dataframe(pd.DataFrame(result.flags), hide_index=True, key="bp_flags")

st.subheader("retain_graph: calling backward twice")
c1, c2 = st.columns(2)
with c1:
    st.markdown("`loss.backward(); loss.backward()`")
    st.error(f"RuntimeError: {twice.error}", icon=":material/error:")
    st.caption("The first backward frees the intermediate values saved for it, so a second one cannot run.")
with c2:
    st.markdown("`loss.backward(retain_graph=True); loss.backward()`")
    w2_first, w2_second = twice.first["W2"].reshape(-1), twice.second["W2"].reshape(-1)
    st.dataframe(pd.DataFrame({"W2.grad after 1 backward": w2_first.tolist(),
                               "after 2 backwards": w2_second.tolist(),
                               "ratio": _ratio(w2_second, w2_first)}), hide_index=True, key="bp_retain")
    st.caption("It works, and the second call *adds* to .grad: it is now twice the true gradient.")

st.subheader("zero_grad: what happens when you forget it")
st.markdown("`.grad` is a running sum: every `backward()` **adds** to it. That is why a training loop calls "
            "`optimizer.zero_grad()` each step. Forget it and each step uses the sum of all gradients so far.")
calls = st.slider("backward() calls on the same sample", 1, 10, key="bp_calls")


@st.cache_data(max_entries=128, show_spinner=False)
def _accumulate(x, y, seed, act, calls):
    return (accumulated_grads(x, y, seed, act, calls, zero_grad=False),
            accumulated_grads(x, y, seed, act, calls, zero_grad=True))


summed, zeroed = _accumulate(x, y, seed, act, calls)
st.dataframe(pd.DataFrame({"call": range(1, calls + 1),
                           "W2.grad[0, 0] without zero_grad": summed[:, 0].tolist(),
                           "W2.grad[0, 0] with zero_grad": zeroed[:, 0].tolist(),
                           "ratio": _ratio(summed[:, 0], zeroed[:, 0])}),
             hide_index=True, key="bp_accumulate",
             column_config={"ratio": st.column_config.NumberColumn(format="%.2f")})
st.caption(f"Without zero_grad, after {calls} call(s) .grad holds {calls} × the true gradient.")

c1, c2 = st.columns(2)
lr = c1.slider("learning rate", 0.005, 0.5, step=0.005, format="%.3f", key="bp_lr")
steps = c2.slider("training steps", 5, 100, key="bp_steps")


@st.cache_data(max_entries=128, show_spinner=False)
def _train(x, y, seed, act, lr, steps):
    return (train_tiny(x, y, seed, act, lr, steps, zero_grad=True),
            train_tiny(x, y, seed, act, lr, steps, zero_grad=False))


with_zero, without_zero = _train(x, y, seed, act, lr, steps)
runs = (("with zero_grad()", with_zero), ("zero_grad() forgotten", without_zero))
cols = st.columns(2)
for col, (label, (losses, _)) in zip(cols, runs, strict=True):
    blew_up = len(losses) < steps
    col.metric(f"final loss, {label}", "diverged" if blew_up else f"{float(losses[-1]):.3g}")
    if blew_up:
        col.warning(f"Training {label} blew up after {len(losses)} steps (the loss passed 1e12): lr = {lr:g} is "
                    "too large for these inputs. Lower the learning rate.", icon=":material/warning:")
st.plotly_chart(figures.training_with_and_without_zero_grad(with_zero, without_zero), key="bp_train_fig")
st.caption("Forgetting zero_grad makes every step use the sum of all past gradients, like momentum that never "
           "forgets: the sum keeps pushing the way the loss used to slope, so the weights overshoot and the loss "
           "oscillates instead of settling.")
code_panel(zero_grad_code(x, y, seed, act, lr, steps, zero_grad=False, losses=without_zero[0]),
           title="PyTorch code that ran (the forgotten zero_grad)")
