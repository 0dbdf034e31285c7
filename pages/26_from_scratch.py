import math

import pandas as pd
import streamlit as st

from core import scratch, scratch_code, scratch_mistakes
from core.parsing import InputError
from ui import figures_functions as figures
from ui import links
from ui.common import code_panel, escape_markdown, fail, header

LABELS = {"five": "five ways", "mistakes": "common mistakes", "dynamic": "dynamic graphs"}  # part -> label
D_IN = (10, 100, 500, 1000, 2000)
LRS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
PARAMS = {
    "fs_part": links.Choice("five", tuple(LABELS)),
    "fs_batch": links.Int(64, 8, 256),
    "fs_din": links.Choice(1000, D_IN),
    "fs_hidden": links.Int(100, 10, 500),
    "fs_dout": links.Int(10, 1, 50),
    "fs_lr": links.Choice(0.1, LRS),
    "fs_steps": links.Int(50, 10, 300),
    "fs_seed": links.Int(0, 0, 10_000),
    "fs_named": links.Bool(False),
    "fs_way": links.Choice("raw", tuple(scratch.WAYS)),
    "fs_mistake": links.Choice("non_leaf", tuple(scratch_mistakes.MISTAKES)),
    "fs_dseed": links.Int(3, 0, 10_000),
}

links.bind(PARAMS)
header("From scratch to nn.Module", "One small network, Linear → ReLU → Linear with an MSE loss, trained **five "
       "ways**: first with raw tensors and a backward pass derived by hand, then letting autograd, a custom "
       "`autograd.Function`, `nn.Sequential` and finally `torch.optim` take over one piece at a time. Same seed, "
       "same data, same starting weights: the five loss curves coincide.")
st.segmented_control("Part", tuple(LABELS), key="fs_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


def _setup() -> scratch.Setup:
    c = st.columns(6)
    c[0].slider("batch", 8, 256, key="fs_batch", step=8)
    c[1].select_slider("inputs", D_IN, key="fs_din")
    c[2].slider("hidden units", 10, 500, key="fs_hidden", step=10)
    c[3].slider("outputs", 1, 50, key="fs_dout")
    c[4].select_slider("learning rate", LRS, key="fs_lr")
    c[5].slider("steps", 10, 300, key="fs_steps", step=10)
    return scratch.Setup(ss["fs_batch"], ss["fs_din"], ss["fs_hidden"], ss["fs_dout"], ss["fs_lr"], ss["fs_steps"],
                         ss["fs_seed"])


@st.cache_data(max_entries=64, show_spinner=False)
def _five(s: scratch.Setup, named: bool) -> dict[str, list[float]]:
    return scratch.five_ways(s, named)


@st.cache_data(max_entries=64, show_spinner=False)
def _mistake(kind: str, s: scratch.Setup) -> scratch_mistakes.Mistake:
    return scratch_mistakes.mistake(kind, s)


def _diverged(losses: list[float]) -> int | None:
    return next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)


def five_part():
    s = _setup()
    c1, c2 = st.columns([1, 3])
    c1.number_input("seed", 0, 10_000, key="fs_seed")
    c2.toggle("nn.Sequential with named layers (an OrderedDict)", key="fs_named")
    try:
        curves = _five(s, ss["fs_named"])
    except InputError as exc:
        fail(str(exc))
    m = st.columns(4)
    m[0].metric("first loss", f"{curves['raw'][0]:.4f}")
    m[1].metric("last loss", f"{curves['raw'][-1]:.4g}")
    gap = scratch.max_difference(curves)
    m[2].metric("max |difference| of the five", f"{gap:.1e}" if math.isfinite(gap) else "nan",
                help="The largest gap between any way's loss and way 1's, over every step")
    m[3].metric("parameters", f"{s.d_in * s.hidden + s.hidden + s.hidden * s.d_out + s.d_out:,}")
    st.plotly_chart(figures.loss_curves({scratch.WAYS[k]: v for k, v in curves.items()},
                                        title="The same training, five ways"), key="fs_curves_fig")
    bad = _diverged(curves["raw"])
    if bad is not None:
        st.warning(f"The loss diverged at step {bad + 1} (it became inf or nan) in every way alike: lower the "
                   "learning rate.", icon=":material/local_fire_department:")
    st.markdown(
        "| way | you write | PyTorch does |\n|---|---|---|\n"
        f"| {scratch.WAYS['raw']} | forward, backward (`grad_w2 = h_relu.T @ grad_y_pred` ...), update | matrix "
        "products only |\n"
        f"| {scratch.WAYS['autograd']} | forward; the update inside `torch.no_grad()`; reset `.grad` | the backward "
        "pass: `loss.backward()` |\n"
        f"| {scratch.WAYS['function']} | ReLU's forward and backward, checked by `gradcheck` | calls your backward "
        "inside its own |\n"
        f"| {scratch.WAYS['sequential']} | the update loop over `model.parameters()` | layers hold their weights; "
        "`nn.MSELoss` |\n"
        f"| {scratch.WAYS['optim']} | `zero_grad()`, `backward()`, `step()` | the update rule (SGD here; Adam is "
        "one word away) |")
    shape, diff = scratch.linear_check(s)
    st.caption(f"`nn.Linear({s.d_in}, {s.hidden})` stores its weight as (out, in) = {shape} and computes "
               f"`x @ W.T + b` (max |layer(x) − (x @ W.T + b)| = {diff:.1e}); ways 1-3 keep w1 as (in, out), so "
               "the starting weights are copied in transposed. `.T`/`.t()` transposes a 2-D tensor.")
    st.selectbox("Show the code of", tuple(scratch.WAYS), key="fs_way", format_func=lambda w: scratch.WAYS.get(w, w))
    way = ss["fs_way"] or "raw"
    code_panel(scratch_code.way_code(way, s, curves[way], ss["fs_named"]), expanded=True,
               title=f"PyTorch code: {scratch.WAYS[way]}")


def mistakes_part():
    st.radio("The mistake", tuple(scratch_mistakes.MISTAKES), key="fs_mistake", horizontal=True,
             format_func=lambda k: scratch_mistakes.MISTAKES.get(k, k))
    s = scratch.Setup(steps=50)
    kind = ss["fs_mistake"] or "non_leaf"
    m = _mistake(kind, s)
    if m.error:
        st.error(f"{'Python' if 'NoneType' in m.error else 'torch'} says: {escape_markdown(m.error)}",
                 icon=":material/error:")
    if m.warning:
        st.warning(f"torch warns: {escape_markdown(m.warning)}", icon=":material/warning:")
    st.markdown("| check | value |\n|---|---|\n" + "\n".join(f"| `{label}` | `{value}` |" for label, value in m.facts.items()))
    if m.curves:
        st.plotly_chart(figures.loss_curves(m.curves, title="Loss per step"), key="fs_mistake_fig")
    st.info({
        "no_grad": "Tensors do not record operations unless a leaf asks for it: create the weights with "
                   "`requires_grad=True` (or call `w.requires_grad_()`).",
        "non_leaf": "`w = w - lr * w.grad` outside `torch.no_grad()` records the update in the graph: `w` is now a "
                    "computed tensor, its `.grad` stays None and the next update fails. Update in place inside "
                    "`torch.no_grad()`: `w -= lr * w.grad`.",
        "clamp": "ReLU's derivative depends on its *input*: 1 where the input was positive, 0 elsewhere. Clamping "
                 "the incoming gradient instead keeps wrong signs flowing; gradcheck catches it, and training "
                 "stalls.",
        "zero_grad": "`backward()` adds to `.grad`. Without `w.grad = None` (or `optimizer.zero_grad()`) each step "
                     "uses the sum of all earlier gradients, like a momentum that never forgets.",
    }[kind], icon=":material/lightbulb:")
    code_panel(scratch_code.mistake_code(kind, s, m.facts, m.error))


def dynamic_part():
    st.markdown("PyTorch builds the graph **while `forward` runs**, so ordinary Python (a loop, an `if`) decides "
                "its shape, call by call. This `forward` repeats its middle layer 0 to 3 times, chosen at random "
                "for each call; every repetition reuses the same weights, and `backward()` sums their gradients.")
    st.columns([1, 3])[0].number_input("seed", 0, 10_000, key="fs_dseed")
    rows = scratch_mistakes.dynamic(ss["fs_dseed"])
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="fs_dynamic")
    st.caption("Graph nodes: the backward functions reachable from the output's `grad_fn`. Each repetition adds a "
               "matrix product with its bias (AddmmBackward), the weight's transpose and a ReLU; the middle layer's "
               "weight and bias join the graph (AccumulateGrad) once, however often they are used.")
    code_panel(scratch_code.dynamic_code(ss["fs_dseed"], rows))


PARTS = {"five": five_part, "mistakes": mistakes_part, "dynamic": dynamic_part}
PARTS[ss["fs_part"] or "five"]()
