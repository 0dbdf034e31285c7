import math

import numpy as np
import streamlit as st
import torch

from core import tensors as T
from core.parsing import InputError, parse_shape
from ui import figures_tensors as F
from ui import links
from ui.common import code_panel, fail, header

PARTS = ("matmul", "pow · sqrt · exp · log", "clamp & clipping", "norm", "reductions", "where & comparisons")
DIMS = ("all", "0", "1", "2", "-1")
PARAMS = {
    "ma_part": links.Choice("matmul", PARTS),
    "ma_a": links.Text("10,1,3,4", max_len=40),
    "ma_b": links.Text("5,4,2", max_len=40),
    "ma_i": links.Int(0, 0, 3),
    "ma_j": links.Int(0, 0, 3),
    "ma_fn": links.Choice("sqrt", T.ELEMENTWISE),
    "ma_range": links.Range((-2.0, 4.0), -10.0, 10.0),
    "ma_exp": links.Float(2.0, -3.0, 3.0),
    "ma_clip": links.Float(0.5, 0.05, 3.0),
    "ma_maxnorm": links.Float(1.0, 0.1, 5.0),
    "ma_gseed": links.Int(0, 0, 10_000),
    "ma_xshape": links.Text("3,4", max_len=40),
    "ma_seed": links.Int(0, 0, 10_000),
    "ma_p": links.Choice("2", ("1", "2", "inf")),
    "ma_dim": links.Choice("1", DIMS),
    "ma_keep": links.Bool(False),
    "ma_rop": links.Choice("sum", T.REDUCTIONS),
    "ma_wop": links.Choice(">", T.COMPARISONS),
    "ma_wt": links.Float(0.0, -5.0, 5.0),
    "ma_wother": links.Float(0.0, -10.0, 10.0),
}

links.bind(PARAMS)
header("Math & statistics", "Matrix products with batch broadcasting, elementwise functions, clamping (as in "
       "gradient clipping), norms, reductions along a dim, and `torch.where`. Each part runs the real torch call "
       "on a small tensor and shows the numbers.")
st.segmented_control("Part", PARTS, key="ma_part", required=True)
part = st.session_state["ma_part"] or "matmul"
ss = st.session_state


def _x_widgets():
    """Shape and seed of the small integer tensor x (values -5..5) used by norm, reductions and where."""
    c1, c2 = st.columns(2)
    c1.text_input("Shape of x", key="ma_xshape")
    c2.number_input("seed", 0, 10_000, key="ma_seed")
    try:
        shape = parse_shape(ss["ma_xshape"], max_elements=10_000, max_dims=3)
    except InputError as exc:
        fail(f"Shape of x: {exc}")
    return shape, T.small_ints(shape, ss["ma_seed"], -5, 6)


def _dim(nd: int):
    options = [d for d in DIMS if d == "all" or -nd <= int(d) < nd]
    if ss["ma_dim"] not in options:
        ss["ma_dim"] = "all"
    st.segmented_control("dim", options, key="ma_dim", required=True)
    return None if (ss["ma_dim"] or "all") == "all" else int(ss["ma_dim"])


def _draw_x(x, key, *, title="x", highlight=None, text=None, colorscale="RdBu_r"):
    lead = (0,) * max(x.dim() - 2, 0)
    note = " — slice [0, :, :]" if lead else ""
    st.plotly_chart(F.grid(x[lead].numpy(), title=title + note, highlight=None if highlight is None else
                           highlight[lead], text=None if text is None else text[lead], colorscale=colorscale,
                           row_label=f"dim {x.dim() - 2}", col_label=f"dim {x.dim() - 1}"), key=key)


def _x_code(shape) -> str:
    return (f"g = torch.Generator().manual_seed({ss['ma_seed']})\n"
            f"x = torch.randint(-5, 6, {T.fmt_shape(shape)}, generator=g).float()\n")


# ---------------------------------------------------------------------------------------------------------
if part == "matmul":
    c1, c2 = st.columns(2)
    c1.text_input("Shape of A", key="ma_a", help="(..., n, m); 1-D is a vector")
    c2.text_input("Shape of B", key="ma_b", help="(..., m, p); 1-D is a vector")
    try:
        a_shape = parse_shape(ss["ma_a"], max_dims=6)
        b_shape = parse_shape(ss["ma_b"], max_dims=6)
    except InputError as exc:
        fail(f"Shape: {exc}")
    mm = T.matmul_shapes(a_shape, b_shape)
    m = st.columns(3)
    m[0].metric("A", T.fmt_shape(a_shape))
    m[1].metric("B", T.fmt_shape(b_shape))
    m[2].metric("A @ B", T.fmt_shape(mm.shape) if mm.shape is not None else "error")
    st.markdown("\n".join(f"- {s}" for s in mm.steps))
    if mm.reason:
        st.error(f"{mm.reason}  \ntorch: *{mm.torch_error}*", icon=":material/block:")
        fail_code = f"import torch\n\nA = torch.zeros{T.fmt_shape(a_shape)}\nB = torch.zeros{T.fmt_shape(b_shape)}\n"
        code_panel(fail_code + f"A @ B  # RuntimeError: {mm.torch_error}\n")
        fail("These shapes cannot be multiplied; change one of them.")
    st.caption(f"torch agrees: on shape-only (meta) tensors, A @ B has shape {T.fmt_shape(mm.torch_shape)}.")

    # a small example: batch sizes capped at 2, matrix sizes at 4, whole numbers
    a2 = (1,) + a_shape if len(a_shape) == 1 else a_shape
    b2 = b_shape + (1,) if len(b_shape) == 1 else b_shape
    cap = [min(s, 2) for s in a2[:-2]], [min(s, 2) for s in b2[:-2]]
    n, mdim, p = min(a2[-2], 4), min(a2[-1], 4), min(b2[-1], 4)
    A = T.small_ints(tuple(cap[0]) + (n, mdim), 1)
    B = T.small_ints(tuple(cap[1]) + (mdim, p), 2)
    C = A @ B
    A0, B0, C0 = A[(0,) * (A.dim() - 2)], B[(0,) * (B.dim() - 2)], C[(0,) * (C.dim() - 2)]
    st.subheader("One product, cell by cell")
    st.caption(f"A small example with the same rule: A {T.fmt_shape(A.shape)} @ B {T.fmt_shape(B.shape)} = "
               f"C {T.fmt_shape(C.shape)} (batch sizes capped at 2, matrix sizes at 4). Shown: the first matrix "
               "of each batch.")
    ss["ma_i"], ss["ma_j"] = min(ss["ma_i"], n - 1), min(ss["ma_j"], p - 1)
    s1, s2 = st.columns(2)
    if n > 1:
        s1.slider("row i of C", 0, n - 1, key="ma_i")
    if p > 1:
        s2.slider("column j of C", 0, p - 1, key="ma_j")
    i, j = ss["ma_i"], ss["ma_j"]
    row_mask = np.zeros(A0.shape, bool)
    row_mask[i, :] = True
    col_mask = np.zeros(B0.shape, bool)
    col_mask[:, j] = True
    cell_mask = np.zeros(C0.shape, bool)
    cell_mask[i, j] = True
    cols = st.columns(3)
    for col, (name, t, mask) in zip(cols, (("A", A0, row_mask), ("B", B0, col_mask), ("C = A @ B", C0, cell_mask)),
                                    strict=True):
        with col:
            st.plotly_chart(F.grid(t.numpy(), highlight=mask, title=name, colorscale="RdBu_r"),
                            key=f"ma_{name[0]}_fig")
    terms = " + ".join(f"({F.fmt_value(A0[i, k].item())})·({F.fmt_value(B0[k, j].item())})" for k in range(mdim))
    st.code(f"C[{i}, {j}] = Σ_k A[{i}, k]·B[k, {j}] = {terms} = {F.fmt_value(C0[i, j].item())}", language=None)
    code_panel(f"""import torch

A = torch.zeros{T.fmt_shape(a_shape)}
B = torch.zeros{T.fmt_shape(b_shape)}
print((A @ B).shape)  # torch.Size({list(mm.shape)}); same as torch.matmul(A, B)

# the small example
gA, gB = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
A = torch.randint(-3, 4, {T.fmt_shape(A.shape)}, generator=gA).float()
B = torch.randint(-3, 4, {T.fmt_shape(B.shape)}, generator=gB).float()
C = A @ B  # {T.fmt_shape(C.shape)}
print(C[{', '.join(['0'] * (C.dim() - 2) + [str(i), str(j)])}])  # {F.fmt_value(C0[i, j].item())}
""")

# ---------------------------------------------------------------------------------------------------------
elif part == "pow · sqrt · exp · log":
    st.segmented_control("Function", T.ELEMENTWISE, key="ma_fn", required=True)
    c2, c3 = st.columns(2)
    c2.slider("x range", -10.0, 10.0, key="ma_range", step=0.5)
    fn = ss["ma_fn"] or "sqrt"
    if fn == "pow":
        c3.slider("exponent p", -3.0, 3.0, key="ma_exp", step=0.5)
    lo, hi = ss["ma_range"]
    x = torch.linspace(lo, hi, 41)
    y = T.elementwise(fn, x, ss["ma_exp"])
    call = f"x.pow({ss['ma_exp']:g})" if fn == "pow" else f"torch.{fn}(x)"
    bad = int(torch.isnan(y).sum())
    inf = int(torch.isinf(y).sum())
    m = st.columns(3)
    m[0].metric("points", x.numel())
    m[1].metric("nan", bad, help="Outside the domain: sqrt and log of negative numbers, fractional powers of them.")
    m[2].metric("inf", inf, help="log(0) = -inf, 0 to a negative power = inf")
    st.plotly_chart(F.curve(x.numpy(), {call: y.numpy()}, title=f"y = {call}"), key="ma_curve_fig")
    sample = torch.linspace(lo, hi, 7)
    st.code(f"x = {[round(v, 3) for v in sample.tolist()]}\n{call} = "
            f"{[round(v, 4) if math.isfinite(v) else v for v in T.elementwise(fn, sample, ss['ma_exp']).tolist()]}",
            language="python")
    if bad:
        st.caption("nan: gaps in the curve. sqrt/log are only defined for x ≥ 0 (x > 0 for log); torch returns nan "
                   "instead of raising, so a nan can silently spread through a computation.")
    code_panel(f"""import torch

x = torch.linspace({lo:g}, {hi:g}, 41)
y = {call}
print(torch.isnan(y).sum(), torch.isinf(y).sum())  # tensor({bad}) tensor({inf})
""")

# ---------------------------------------------------------------------------------------------------------
elif part == "clamp & clipping":
    st.markdown("Exploding gradients are tamed by **clipping**. `clamp` cuts each entry to [-c, c] "
                "(`clip_grad_value_` does exactly that); `clip_grad_norm_` instead rescales the whole vector so "
                "its norm is at most `max_norm`, keeping its direction.")
    c1, c2, c3 = st.columns(3)
    c1.slider("clip value c", 0.05, 3.0, key="ma_clip", step=0.05)
    c2.slider("max_norm", 0.1, 5.0, key="ma_maxnorm", step=0.1)
    c3.number_input("seed", 0, 10_000, key="ma_gseed")
    g = torch.randn(12, generator=torch.Generator().manual_seed(ss["ma_gseed"])) * 1.5
    try:
        cl = T.clip_gradients(g, ss["ma_clip"], ss["ma_maxnorm"])
    except InputError as exc:
        fail(str(exc))
    m = st.columns(4)
    m[0].metric("‖grad‖", f"{cl.norm_before:.3f}")
    m[1].metric("entries clamped", cl.n_clamped)
    m[2].metric("‖clamped‖", f"{cl.norm_after_value:.3f}")
    m[3].metric("‖norm-clipped‖", f"{cl.norm_after_norm:.3f}")
    c = ss["ma_clip"]
    st.plotly_chart(F.bars({"grad": cl.grad.numpy(), f"grad.clamp(-{c:g}, {c:g})": cl.by_value.numpy(),
                            f"clip_grad_norm_(max_norm={ss['ma_maxnorm']:g})": cl.by_norm.numpy()},
                           lines=[(c, f"+{c:g}"), (-c, f"-{c:g}")], title="a gradient before and after clipping"),
                    key="ma_clip_fig")
    same = bool(torch.equal(cl.by_value, cl.by_value_nn))
    st.caption(f"grad.clamp(-c, c) equals torch.nn.utils.clip_grad_value_: **{same}**.")
    code_panel(f"""import torch

grad = torch.randn(12, generator=torch.Generator().manual_seed({ss['ma_gseed']})) * 1.5
clamped = grad.clamp(min=-{c:g}, max={c:g})  # or torch.clamp(grad, -{c:g}, {c:g})

# in a training loop, after loss.backward():
#   torch.nn.utils.clip_grad_value_(model.parameters(), clip_value={c:g})   # same as clamp
#   torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={ss['ma_maxnorm']:g})
p = torch.nn.Parameter(torch.zeros(12))
p.grad = grad.clone()
torch.nn.utils.clip_grad_norm_([p], max_norm={ss['ma_maxnorm']:g})
print(grad.norm(), clamped.norm(), p.grad.norm())  # {cl.norm_before:.4f} {cl.norm_after_value:.4f} {cl.norm_after_norm:.4f}
""")

# ---------------------------------------------------------------------------------------------------------
elif part == "norm":
    shape, x = _x_widgets()
    c1, c2, c3 = st.columns(3)
    with c1:
        st.segmented_control("p", ("1", "2", "inf"), key="ma_p", required=True)
    with c2:
        dim = _dim(x.dim())
    c3.toggle("keepdim", key="ma_keep")
    p = float(ss["ma_p"] or "2")
    try:
        r = T.norm(x, p, dim, ss["ma_keep"])
    except InputError as exc:
        fail(str(exc))
    formula = {1.0: "Σ|x|", 2.0: "√(Σ x²)", math.inf: "max |x|"}[p]
    p_txt = "float('inf')" if p == math.inf else ss["ma_p"]
    call = f"x.norm(p={p_txt}" + (f", dim={dim}" if dim is not None else "") + (
        ", keepdim=True" if ss["ma_keep"] and dim is not None else "") + ")"
    m = st.columns(2)
    m[0].metric("result shape", T.fmt_shape(r.shape))
    m[1].metric("formula", formula)
    c1, c2 = st.columns([3, 2])
    with c1:
        _draw_x(x, "ma_norm_x_fig")
    with c2:
        st.plotly_chart(F.grid(r.numpy(), title=call, colorscale="Greens"), key="ma_norm_r_fig")
    shown = round(r.item(), 4) if r.dim() == 0 else [round(v, 4) for v in r.flatten().tolist()]
    code_panel(f"import torch\n\n{_x_code(shape)}print({call})  # {shown}\n"
               "# the same with torch.linalg: torch.linalg.vector_norm(x, ord=p, dim=dim)\n")

# ---------------------------------------------------------------------------------------------------------
elif part == "reductions":
    shape, x = _x_widgets()
    c1, c2, c3 = st.columns([3, 2, 1])
    c1.segmented_control("Reduction", T.REDUCTIONS, key="ma_rop", required=True)
    with c2:
        dim = _dim(x.dim())
    c3.toggle("keepdim", key="ma_keep")
    op = ss["ma_rop"] or "sum"
    try:
        red = T.reduce(x, op, dim, ss["ma_keep"])
    except InputError as exc:
        fail(str(exc))
    call = f"x.{op}(" + (f"dim={dim}" if dim is not None else "") + (
        ", keepdim=True" if ss["ma_keep"] and dim is not None else "") + ")"
    st.metric("result shape", T.fmt_shape(red.shape))
    highlight = None
    if red.indices is not None:
        idx = red.indices if ss["ma_keep"] else red.indices.unsqueeze(dim)
        highlight = torch.zeros(x.shape, dtype=torch.bool).scatter_(dim, idx, True)
    c1, c2 = st.columns([3, 2])
    with c1:
        _draw_x(x, "ma_red_x_fig", highlight=highlight)
    with c2:
        st.plotly_chart(F.grid(red.values.numpy(), title=call, colorscale="Greens"), key="ma_red_r_fig")
    vals = red.values.tolist()
    st.code(f"{call} = {vals if not isinstance(vals, float) else round(vals, 4)}", language="python")
    if op in ("min", "max") and dim is not None:
        st.caption("With a dim, min/max return (values, indices); outlined cells are the indices.")
    code_panel(f"import torch\n\n{_x_code(shape)}print({call})\n")

# ---------------------------------------------------------------------------------------------------------
else:
    shape, x = _x_widgets()
    c1, c2, c3 = st.columns(3)
    c1.segmented_control("mask = x", T.COMPARISONS, key="ma_wop", required=True)
    c2.slider("threshold", -5.0, 5.0, key="ma_wt", step=0.5)
    c3.number_input("else value", -10.0, 10.0, key="ma_wother", step=1.0)
    op = ss["ma_wop"] or ">"
    mask, out = T.where(x, op, ss["ma_wt"], ss["ma_wother"])
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
    fn_name = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}[op]
    code_panel(f"""import torch

{_x_code(shape)}mask = x {op} {ss['ma_wt']:g}  # a bool tensor; the same as torch.{fn_name}(x, {ss['ma_wt']:g})
out = torch.where(mask, x, torch.tensor({ss['ma_wother']:g}))
print(mask.sum())  # tensor({int(mask.sum())})
""")
