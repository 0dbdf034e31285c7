import math

import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import arithmetic, tensor_math
from core.parsing import InputError, parse_shape
from core.tensor_common import COMPARISONS, fmt_shape
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, fail, header

LABELS = {"matmul": "matmul", "elementwise": "pow · sqrt · exp · log", "clamp": "clamp & clipping", "norm": "norm",
          "reductions": "reductions", "where": "where & comparisons"}  # part -> label
DIMS = ("all", "0", "1", "2", "-1")
PARAMS = {
    # links made before the options were short names carry the labels
    "ma_part": links.Choice("matmul", tuple(LABELS),
                            aliases=tuple((label, part) for part, label in LABELS.items())),
    "ma_a": links.Text("10,1,3,4", max_len=40, refused=("x", "10,a"), accepted="8,1,3,4"),
    "ma_b": links.Text("5,4,2", max_len=40, refused=("*", "5,4,a"), accepted="5,4,3"),
    "ma_i": links.Int(0, 0, 3),
    "ma_j": links.Int(0, 0, 3),
    "ma_fn": links.Choice("sqrt", tensor_math.ELEMENTWISE),
    "ma_range": links.Range((-2.0, 4.0), -10.0, 10.0),
    "ma_exp": links.Float(2.0, -3.0, 3.0),
    "ma_clip": links.Float(0.5, 0.05, 3.0),
    "ma_maxnorm": links.Float(1.0, 0.1, 5.0),
    "ma_gseed": links.Int(0, 0, 10_000),
    "ma_xshape": links.Text("3,4", max_len=40, refused=("x", "0,4"), accepted="3,5", shown_with=(("ma_part", "norm"),)),
    "ma_seed": links.Int(0, 0, 10_000),
    "ma_p": links.Choice("2", ("1", "2", "inf")),
    "ma_dim": links.Choice("1", DIMS),
    "ma_keep": links.Bool(False),
    "ma_rop": links.Choice("sum", tensor_math.REDUCTIONS),
    "ma_wop": links.Choice(">", COMPARISONS),
    "ma_wt": links.Float(0.0, -5.0, 5.0),
    "ma_wother": links.Float(0.0, -10.0, 10.0),
}

links.bind(PARAMS)
header("Math & statistics", "Matrix products with batch broadcasting, elementwise functions, clamping (as in "
       "gradient clipping), norms, reductions along a dim, and `torch.where`. Each part runs the real torch call "
       "on a small tensor and shows the numbers.")
# A label also maps to itself: AppTest lists a control's options by their labels, and tests pick parts by them.
st.segmented_control("Part", tuple(LABELS), key="ma_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


def _x_widgets() -> torch.Tensor:
    """Shape and seed of the small integer tensor x (values -5..5) used by norm, reductions and where."""
    c1, c2 = st.columns(2)
    c1.text_input("Shape of x", key="ma_xshape")
    c2.number_input("seed", 0, 10_000, key="ma_seed")
    try:
        shape = parse_shape(ss["ma_xshape"], max_elements=10_000, max_dims=3)
    except InputError as exc:
        fail(f"Shape of x: {exc}")
    return tensor_math.small_ints(shape, ss["ma_seed"], -5, 6)


def _dim(nd: int):
    options = [d for d in DIMS if d == "all" or -nd <= int(d) < nd]
    if ss["ma_dim"] not in options:
        ss["ma_dim"] = "all"
    st.segmented_control("dim", options, key="ma_dim", required=True)
    return None if (ss["ma_dim"] or "all") == "all" else int(ss["ma_dim"])


def _draw_x(x, key, *, title="x", highlight=None, text=None, colorscale="RdBu_r"):
    st.plotly_chart(figures.first_slice(x, title=title, highlight=highlight, text=text, colorscale=colorscale),
                    key=key)


def matmul_part():
    c1, c2 = st.columns(2)
    c1.text_input("Shape of A", key="ma_a", help="(..., n, m); 1-D is a vector")
    c2.text_input("Shape of B", key="ma_b", help="(..., m, p); 1-D is a vector")
    try:
        a_shape = parse_shape(ss["ma_a"], max_dims=6)
        b_shape = parse_shape(ss["ma_b"], max_dims=6)
    except InputError as exc:
        fail(f"Shape: {exc}")
    mm = tensor_math.matmul_shapes(a_shape, b_shape)
    m = st.columns(3)
    m[0].metric("A", fmt_shape(a_shape))
    m[1].metric("B", fmt_shape(b_shape))
    m[2].metric("A @ B", fmt_shape(mm.shape) if mm.shape is not None else "error")
    st.markdown("\n".join(f"- {s}" for s in mm.steps))
    if mm.reason:
        st.error(f"{mm.reason}  \ntorch: *{mm.torch_error}*", icon=":material/block:")
        code_panel(tensor_math.matmul_error_code(mm))
        fail("These shapes cannot be multiplied; change one of them.")
    st.caption(f"torch agrees: on shape-only (meta) tensors, A @ B has shape {fmt_shape(mm.torch_shape)}.")

    ex = tensor_math.matmul_example(a_shape, b_shape)
    A0, B0, C0 = ex.first(ex.A), ex.first(ex.B), ex.first(ex.C)
    st.subheader("One product, cell by cell")
    st.caption(f"A small example with the same rule: A {fmt_shape(ex.A.shape)} @ B {fmt_shape(ex.B.shape)} = "
               f"C {fmt_shape(ex.C.shape)} (batch sizes capped at 2, matrix sizes at 4). Shown: the first matrix "
               "of each batch.")
    n, p = C0.shape
    ss["ma_i"], ss["ma_j"] = min(ss["ma_i"], n - 1), min(ss["ma_j"], p - 1)
    s1, s2 = st.columns(2)
    if n > 1:
        s1.slider("row i of C", 0, n - 1, key="ma_i")
    if p > 1:
        s2.slider("column j of C", 0, p - 1, key="ma_j")
    i, j = ss["ma_i"], ss["ma_j"]
    shown = zip(("A", "B", "C = A @ B"), (A0, B0, C0), ex.cell_masks(i, j), strict=True)
    for col, (name, t, mask) in zip(st.columns(3), shown, strict=True):
        with col:
            st.plotly_chart(figures.grid(t.numpy(), highlight=mask.numpy(), title=name, colorscale="RdBu_r"),
                            key=f"ma_{name[0]}_fig")
    terms = " + ".join(f"({figures.fmt_value(A0[i, k].item())})·({figures.fmt_value(B0[k, j].item())})"
                       for k in range(A0.shape[1]))
    st.code(f"C[{i}, {j}] = Σ_k A[{i}, k]·B[k, {j}] = {terms} = {figures.fmt_value(C0[i, j].item())}", language=None)
    code_panel(tensor_math.matmul_code(mm, ex, i, j))
    st.subheader("`*` vs `@`, mm, mv, bmm")
    st.dataframe(pd.DataFrame(arithmetic.products()), hide_index=True, width="stretch", key="ma_products")
    st.caption("`*` multiplies element by element (the shapes must broadcast); `@` (torch.matmul) contracts the last "
               "dim of the left with the second-to-last of the right and broadcasts batch dims. `mm` is 2-D only, "
               "`mv` is matrix @ vector, `bmm` is a batch of matrices with equal batch sizes (no broadcasting).")


def elementwise_part():
    st.pills("Function", tensor_math.ELEMENTWISE, key="ma_fn", required=True)
    c2, c3 = st.columns(2)
    c2.slider("x range", -10.0, 10.0, key="ma_range", step=0.5)
    fn = ss["ma_fn"] or "sqrt"
    if fn == "pow":
        c3.slider("exponent p", -3.0, 3.0, key="ma_exp", step=0.5)
    lo, hi = ss["ma_range"]
    x = torch.linspace(lo, hi, 41)
    y = tensor_math.elementwise(fn, x, ss["ma_exp"])
    call = tensor_math.elementwise_call(fn, ss["ma_exp"])
    bad = int(torch.isnan(y).sum())
    m = st.columns(3)
    m[0].metric("points", x.numel())
    m[1].metric("nan", bad, help="Outside the domain: sqrt and log of negative numbers, fractional powers of them.")
    m[2].metric("inf", int(torch.isinf(y).sum()), help="log(0) = -inf, 0 to a negative power = inf")
    st.plotly_chart(figures.curve(x.numpy(), {call: y.numpy()}, title=f"y = {call}"), key="ma_curve_fig")
    sample = torch.linspace(lo, hi, 7)
    values = tensor_math.elementwise(fn, sample, ss["ma_exp"]).tolist()
    values = [round(v, 4) if math.isfinite(v) else v for v in values]
    st.code(f"x = {[round(v, 3) for v in sample.tolist()]}\n{call} = {values}", language="python")
    if bad:
        st.caption("nan: gaps in the curve. sqrt/log are only defined for x ≥ 0 (x > 0 for log); torch returns nan "
                   "instead of raising, so a nan can silently spread through a computation.")
    code_panel(tensor_math.elementwise_code(fn, lo, hi, ss["ma_exp"], y))
    st.subheader("Operators and their functions")
    st.caption("`a op b` is `torch.op(a, b)`. For negative numbers `//` rounds down (floor) while `trunc` rounds "
               "toward zero, and `%` takes the divisor's sign (`remainder`) while `fmod` takes the dividend's.")
    rows = arithmetic.operators()
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ma_ops_table")
    code_panel(arithmetic.operators_code(rows), title="PyTorch code: operators")


def clamp_part():
    st.markdown("Exploding gradients are tamed by **clipping**. `clamp` cuts each entry to [-c, c] "
                "(`clip_grad_value_` does exactly that); `clip_grad_norm_` instead rescales the whole vector so "
                "its norm is at most `max_norm`, keeping its direction.")
    c1, c2, c3 = st.columns(3)
    c1.slider("clip value c", 0.05, 3.0, key="ma_clip", step=0.05)
    c2.slider("max_norm", 0.1, 5.0, key="ma_maxnorm", step=0.1)
    c3.number_input("seed", 0, 10_000, key="ma_gseed")
    try:
        cl = tensor_math.clip_gradients(tensor_math.random_gradient(ss["ma_gseed"]), ss["ma_clip"], ss["ma_maxnorm"])
    except InputError as exc:
        fail(str(exc))
    m = st.columns(4)
    m[0].metric("‖grad‖", f"{cl.norm_before:.3f}")
    m[1].metric("entries clamped", cl.n_clamped)
    m[2].metric("‖clamped‖", f"{cl.norm_after_value:.3f}")
    m[3].metric("‖norm-clipped‖", f"{cl.norm_after_norm:.3f}")
    c = ss["ma_clip"]
    st.plotly_chart(figures.bars({"grad": cl.grad.numpy(), f"grad.clamp(-{c:g}, {c:g})": cl.by_value.numpy(),
                                  f"clip_grad_norm_(max_norm={ss['ma_maxnorm']:g})": cl.by_norm.numpy()},
                                 lines=[(c, f"+{c:g}"), (-c, f"-{c:g}")], title="a gradient before and after clipping"),
                    key="ma_clip_fig")
    same = bool(torch.equal(cl.by_value, cl.by_value_nn))
    st.caption(f"grad.clamp(-c, c) equals torch.nn.utils.clip_grad_value_: **{same}**.")
    code_panel(tensor_math.clip_code(cl, c, ss["ma_maxnorm"], ss["ma_gseed"]))


def norm_part():
    x = _x_widgets()
    c1, c2, c3 = st.columns(3)
    with c1:
        st.segmented_control("p", ("1", "2", "inf"), key="ma_p", required=True)
    with c2:
        dim = _dim(x.dim())
    c3.toggle("keepdim", key="ma_keep")
    p = float(ss["ma_p"] or "2")
    try:
        r = tensor_math.norm(x, p, dim, ss["ma_keep"])
    except InputError as exc:
        fail(str(exc))
    m = st.columns(2)
    m[0].metric("result shape", fmt_shape(r.shape))
    m[1].metric("formula", {1.0: "Σ|x|", 2.0: "√(Σ x²)", math.inf: "max |x|"}[p])
    c1, c2 = st.columns([3, 2])
    with c1:
        _draw_x(x, "ma_norm_x_fig")
    with c2:
        st.plotly_chart(figures.grid(r.numpy(), title=tensor_math.norm_call(p, dim, ss["ma_keep"]),
                                     colorscale="Greens"), key="ma_norm_r_fig")
    code_panel(tensor_math.norm_code(x, ss["ma_seed"], p, dim, ss["ma_keep"], r))


def reductions_part():
    x = _x_widgets()
    c1, c2, c3 = st.columns([3, 2, 1])
    c1.segmented_control("Reduction", tensor_math.REDUCTIONS, key="ma_rop", required=True)
    with c2:
        dim = _dim(x.dim())
    c3.toggle("keepdim", key="ma_keep")
    op = ss["ma_rop"] or "sum"
    try:
        red = tensor_math.reduce(x, op, dim, ss["ma_keep"])
    except InputError as exc:
        fail(str(exc))
    call = tensor_math.reduce_call(op, dim, ss["ma_keep"])
    st.metric("result shape", fmt_shape(red.shape))
    c1, c2 = st.columns([3, 2])
    with c1:
        _draw_x(x, "ma_red_x_fig", highlight=red.mask)
    with c2:
        st.plotly_chart(figures.grid(red.values.numpy(), title=call, colorscale="Greens"), key="ma_red_r_fig")
    vals = red.values.tolist()
    st.code(f"{call} = {vals if not isinstance(vals, float) else round(vals, 4)}", language="python")
    if op in ("min", "max") and dim is not None:
        st.caption("With a dim, min/max return (values, indices); outlined cells are the indices.")
    code_panel(tensor_math.reduce_code(x, ss["ma_seed"], op, dim, ss["ma_keep"], red))


def where_part():
    x = _x_widgets()
    c1, c2, c3 = st.columns(3)
    c1.segmented_control("mask = x", COMPARISONS, key="ma_wop", required=True)
    c2.slider("threshold", -5.0, 5.0, key="ma_wt", step=0.5)
    c3.number_input("else value", -10.0, 10.0, key="ma_wother", step=1.0)
    op = ss["ma_wop"] or ">"
    mask, out = tensor_math.where(x, op, ss["ma_wt"], ss["ma_wother"])
    m = st.columns(2)
    m[0].metric("cells where the mask is True", int(mask.sum()))
    m[1].metric("mask dtype", str(mask.dtype).replace("torch.", ""))
    c1, c2, c3 = st.columns(3)
    with c1:
        _draw_x(x, "ma_w_x_fig", highlight=mask)
    with c2:
        _draw_x(mask.long(), "ma_w_m_fig", title=f"x {op} {ss['ma_wt']:g}",
                text=np.vectorize(lambda b: "True" if b else "False", otypes=[object])(mask.numpy()),
                colorscale=[[0, "#F0F0F0"], [1, "#98DF8A"]])
    with c3:
        _draw_x(out, "ma_w_o_fig", title=f"torch.where(mask, x, {ss['ma_wother']:g})", colorscale="RdBu_r")
    code_panel(tensor_math.where_code(x, ss["ma_seed"], op, ss["ma_wt"], ss["ma_wother"], mask))


PARTS = {"matmul": matmul_part, "elementwise": elementwise_part, "clamp": clamp_part, "norm": norm_part,
         "reductions": reductions_part, "where": where_part}
PARTS[ss["ma_part"] or "matmul"]()
