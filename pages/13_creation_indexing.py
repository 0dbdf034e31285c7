import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import creation, indexing, strides
from core.parsing import InputError, parse_index, parse_ints, parse_shape
from core.tensor_common import COMPARISONS, fmt_shape, source_ids
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, fail, header

LABELS = {"create": "Create", "index": "Index", "view": "View & strides", "round_trip": "Round trip",
          "squeeze": "squeeze / unsqueeze"}  # part -> label
INDEX_OPS = ("slice", "index_select", "masked_select", "take")
PARAMS = {
    # links made before the options were short names carry the labels
    "cr_part": links.Choice("create", tuple(LABELS),
                            aliases=tuple((label, part) for part, label in LABELS.items())),
    "cr_kind": links.Choice("randint", creation.CREATORS),  # Create
    "cr_shape": links.Text("3,4", max_len=40, refused=("x", "-2,3"), accepted="3,5"),
    "cr_start": links.Float(0.0, -1e6, 1e6),
    "cr_end": links.Float(10.0, -1e6, 1e6),
    "cr_step": links.Float(1.0, -1e6, 1e6),
    "cr_steps": links.Int(5, 0, 1_000_000),
    "cr_base": links.Float(10.0, 0.0, 1e6),
    "cr_low": links.Int(0, -1_000_000, 1_000_000),
    "cr_high": links.Int(10, -1_000_000, 1_000_000),
    "cr_fill": links.Float(7.0, -1e9, 1e9),
    "cr_n": links.Int(4, 0, 1000),
    "cr_seed": links.Int(0, 0, 10_000),
    "cr_ishape": links.Text("4,5", max_len=40, refused=("*", "4,a"), accepted="4,6", shown_with=(("cr_part", "index"),)),  # Index
    "cr_iop": links.Choice("slice", INDEX_OPS),
    "cr_items": links.Text("1:3, ::2", max_len=80, refused=("9, 9", "a:b"), accepted="0:2, ::2",
                          shown_with=(("cr_part", "index"),)),
    "cr_isdim": links.Int(0, -3, 2),
    "cr_isidx": links.Text("0, 2, 2", max_len=200, refused=("0, 99", "x"), accepted="1, 2",
                          shown_with=(("cr_part", "index"), ("cr_iop", "index_select"))),
    "cr_mop": links.Choice(">", COMPARISONS),
    "cr_mval": links.Float(10.0, -1e6, 1e6),
    "cr_take": links.Text("0, 7, -1", max_len=200, refused=("99", "a"), accepted="0, 3",
                         shown_with=(("cr_part", "index"), ("cr_iop", "take"))),
    "cr_vshape": links.Text("3,4", max_len=40, refused=("x", "3,,a"), accepted="3,6", shown_with=(("cr_part", "view"),)),  # View & strides
    "cr_first": links.Choice("transpose", strides.FIRST_OPS),
    "cr_d0": links.Int(0, -4, 3),
    "cr_d1": links.Int(1, -4, 3),
    "cr_perm": links.Text("1,0", max_len=40, refused=("0,0", "a"), accepted="0,1",
                         shown_with=(("cr_part", "view"), ("cr_first", "permute"))),
    "cr_second": links.Choice("reshape", strides.SECOND_OPS),
    "cr_new": links.Text("-1", max_len=40, refused=("-1,-1", "a"), accepted="2,-1", shown_with=(("cr_part", "view"),)),
    "cr_rshape": links.Text("2,3,2,3", max_len=40, refused=("x", "2,3"), accepted="2,3,2,4",
                           shown_with=(("cr_part", "round_trip"),)),  # Round trip
    "cr_sshape": links.Text("1,3,1,4", max_len=40, refused=("x", "1,a"), accepted="1,3,1,5",
                           shown_with=(("cr_part", "squeeze"),)),  # squeeze / unsqueeze
    "cr_udim": links.Int(0, -9, 8),
}

links.bind(PARAMS)
header("Creation, indexing & shape", "Make tensors with torch's creation functions, pick parts of them by "
       "slicing and masks, and see what `view`, `reshape`, `transpose` and `permute` do to the **memory**: "
       "shape and stride, contiguous or not, shared storage or a copy.")
# A label also maps to itself: AppTest lists a control's options by their labels, and tests pick parts by them.
st.segmented_control("Part", tuple(LABELS), key="cr_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


def _shape(key: str, **kw) -> tuple[int, ...]:
    try:
        return parse_shape(ss[key], **kw)
    except InputError as exc:
        fail(f"Shape: {exc}")


def _draw(t: torch.Tensor, key: str, **kw):
    st.plotly_chart(figures.first_slice(t, **kw), key=key)


def create_part():
    c1, c2 = st.columns([1, 3])
    c1.selectbox("Function", creation.CREATORS, key="cr_kind")
    kind = ss["cr_kind"]
    with c2:
        cols = st.columns(4)
        if kind in ("rand", "randn", "randint", "full"):
            cols[0].text_input("size", key="cr_shape")
        if kind in ("arange", "linspace", "logspace"):
            cols[0].number_input("start", key="cr_start", step=1.0)
            cols[1].number_input("end", key="cr_end", step=1.0)
        if kind == "arange":
            cols[2].number_input("step", key="cr_step", step=0.5)
        if kind in ("linspace", "logspace"):
            cols[2].number_input("steps", min_value=0, max_value=1_000_000, key="cr_steps")
        if kind == "logspace":
            cols[3].number_input("base", min_value=0.0, key="cr_base")
        if kind == "randint":
            cols[1].number_input("low", key="cr_low", step=1)
            cols[2].number_input("high (excluded)", key="cr_high", step=1)
        if kind == "full":
            cols[1].number_input("fill value", key="cr_fill")
        if kind in ("eye", "randperm"):
            cols[0].number_input("n", min_value=0, max_value=1000, key="cr_n")
        if kind in ("rand", "randn", "randint", "randperm"):
            cols[3].number_input("seed", 0, 10_000, key="cr_seed")
    shape = _shape("cr_shape") if kind in ("rand", "randn", "randint", "full") else (1,)
    try:
        made = creation.create(kind, shape=shape, start=ss["cr_start"], end=ss["cr_end"], step=ss["cr_step"],
                               steps=ss["cr_steps"], base=ss["cr_base"], low=ss["cr_low"], high=ss["cr_high"],
                               fill=ss["cr_fill"], n=ss["cr_n"], seed=ss["cr_seed"])
    except InputError as exc:
        fail(str(exc))
    t = made.tensor
    m = st.columns(4)
    m[0].metric("shape", fmt_shape(t.shape))
    m[1].metric("dtype", str(t.dtype).replace("torch.", ""))
    if t.numel():
        m[2].metric("min / max", f"{figures.fmt_value(t.min().item())} / {figures.fmt_value(t.max().item())}")
        m[3].metric("mean", f"{t.double().mean().item():.4g}")
    st.code(f"x = {made.call}", language="python")
    if t.numel():
        _draw(t, "cr_made_fig", title=made.call.replace(", generator=g", ""))
    if made.random and t.numel() > 1:
        counts, edges = creation.value_histogram(t)
        st.plotly_chart(figures.histogram(counts.numpy(), edges.numpy(),
                                          title=f"histogram of all {t.numel():,} values"), key="cr_hist_fig")
    code_panel(creation.create_code(made, ss["cr_seed"]))


def index_part():
    c1, c2 = st.columns([1, 3])
    c1.text_input("Shape of x", key="cr_ishape", help="x holds 0, 1, 2, ...: each value is its flat position.")
    c1.radio("Operation", INDEX_OPS, key="cr_iop")
    iop = ss["cr_iop"]
    with c2:
        if iop == "slice":
            st.text_input("x[ ... ]", key="cr_items",
                          help="Comma-separated: whole numbers, start:end:step, '...', None. E.g. 1:3, ::2")
        elif iop == "index_select":
            st.segmented_control("dim", list(range(-3, 3)), key="cr_isdim", required=True)
            st.text_input("indices", key="cr_isidx", help="e.g. 0, 2, 2 (repeats allowed)")
        elif iop == "masked_select":
            a, b = st.columns(2)
            a.selectbox("mask: x", COMPARISONS, key="cr_mop")
            b.number_input("value", key="cr_mval")
        else:
            st.text_input("flat indices", key="cr_take", help="Positions in x.flatten(); negative count from the end")
    x = source_ids(_shape("cr_ishape", max_elements=10_000, max_dims=4))
    try:
        if iop == "slice":
            picked = indexing.index(x, parse_index(ss["cr_items"]))
        elif iop == "index_select":
            picked = indexing.index_select(x, ss["cr_isdim"], parse_ints(ss["cr_isidx"], max_len=1000))
        elif iop == "masked_select":
            picked = indexing.masked_select(x, ss["cr_mop"], ss["cr_mval"])
        else:
            picked = indexing.take(x, parse_ints(ss["cr_take"], max_len=1000))
    except InputError as exc:
        fail(str(exc))
    r = picked.result
    m = st.columns(3)
    m[0].metric("x", fmt_shape(x.shape))
    m[1].metric("result shape", fmt_shape(r.shape))
    m[2].metric("memory", "view of x" if picked.shares else "copy",
                help="Basic slicing returns a view (same storage); index_select, masked_select, take copy.")
    st.code(f"{picked.expr}  # -> {fmt_shape(r.shape)}\n{r.tolist() if r.numel() <= 200 else '...'}",
            language="python")
    c1, c2 = st.columns(2)
    with c1:
        _draw(x, "cr_src_fig", title="x: outlined cells are picked", highlight=picked.mask)
    with c2:
        if r.numel():
            _draw(r, "cr_res_fig", title=picked.expr, colorscale="Greens")
        else:
            st.info("The result is empty: the slice selects no cells.")
    if iop == "masked_select":
        st.caption("masked_select always returns a 1-D tensor: the picked values in row-major order.")
    code_panel(indexing.index_code(x, picked))


def view_part():
    c = st.columns([2, 2, 2, 2])
    c[0].text_input("Shape of x", key="cr_vshape")
    c[1].selectbox("then y =", strides.FIRST_OPS, key="cr_first", format_func=strides.FIRST_LABELS.get)
    first = ss["cr_first"]
    with c[2]:
        if first == "transpose":
            a, b = st.columns(2)
            a.number_input("d0", -4, 3, key="cr_d0")
            b.number_input("d1", -4, 3, key="cr_d1")
        elif first == "permute":
            st.text_input("order", key="cr_perm", help="Every dim once, e.g. 2,0,1")
    c[3].selectbox("then z =", strides.SECOND_OPS, key="cr_second", format_func=strides.SECOND_LABELS.get)
    second = ss["cr_second"]
    if second in ("view", "reshape"):
        c[3].text_input("new shape", key="cr_new", help="-1 means: torch works this size out")
    shape = _shape("cr_vshape", max_elements=16_384, max_dims=4)  # a permute of (4, 3, 28, 32) fits
    try:
        dims = (ss["cr_d0"], ss["cr_d1"]) if first == "transpose" else (
            tuple(parse_ints(ss["cr_perm"], max_len=8)) if first == "permute" else (0, 1))
        new_shape = parse_shape(ss["cr_new"], allow_infer=True) if second in ("view", "reshape") else (-1,)
        res = strides.reshape_chain(shape, first, dims=dims, second=second, new_shape=new_shape)
    except InputError as exc:
        fail(str(exc))
    st.dataframe(pd.DataFrame(strides.layout_table(res)).astype(str), hide_index=True, key="cr_layout_table")
    if res.error:
        st.error(f"`{res.exprs['z']}` fails. torch: *{res.error}*  \n{res.explanation}", icon=":material/block:")
    st.caption("Each cell shows the value and, after @, where it sits in memory (its storage offset = "
               "Σ index·stride). Reading a contiguous tensor row by row visits offsets 0, 1, 2, ... in order.")
    wide = [s.name for s in res.steps if s.tensor.dim() >= 2]  # grids side by side; 1-D rows get the full width
    cols = dict(zip(wide, st.columns(len(wide)), strict=True)) if wide else {}
    for s in res.steps:
        text = np.vectorize(lambda v, o: f"{v}<br>@{o}", otypes=[object])(s.tensor.numpy(), s.offsets.numpy())
        with cols.get(s.name) or st.container():
            _draw(s.tensor, f"cr_layout_{s.name}_fig", title=f"{s.name} {fmt_shape(s.shape)} stride {s.stride}",
                  text=text, colorscale="Blues" if s.contiguous else "Oranges")
    st.plotly_chart(figures.storage_strip(res.steps[0].tensor.flatten().numpy(), title="x's storage (memory order)"),
                    key="cr_storage_fig")
    code_panel(strides.reshape_code(res))


def round_trip_part():
    st.text_input("Shape of a batch (B, C, H, W)", key="cr_rshape")
    shape = _shape("cr_rshape", max_elements=100_000, max_dims=4)
    try:
        rt = strides.transpose_round_trip(shape)
    except InputError as exc:
        fail(str(exc))
    b, c, h, w = shape
    st.markdown(f"Images `a` of shape `{fmt_shape(shape)}` are transposed to channels-last `(B, W, H, C)`, "
                f"flattened to `({b}, {c * h * w})`, and then viewed back. `view` only reinterprets memory: it "
                "must undo the steps **in reverse order**, or the numbers land in the wrong places.")
    m1, m2 = st.columns(2)
    m1.metric("torch.all(torch.eq(a, a1)), wrong order", str(rt.wrong_equal))
    m2.metric("torch.all(torch.eq(a, a2)), right order", str(rt.right_equal))
    shown = min(c, 4)
    st.plotly_chart(figures.small_multiples({"a": [rt.a[0, i] for i in range(shown)],
                                             "a1 (wrong)": [rt.wrong[0, i] for i in range(shown)],
                                             "a2 (right)": [rt.right[0, i] for i in range(shown)]},
                                            titles=[f"[0, {i}]" for i in range(shown)], reference="a",
                                            height_per_row=60 + 34 * min(h, 8)), key="cr_roundtrip_fig")
    st.caption("Image 0, one panel per channel. Red outlines: cells where the round trip changed the value. "
               "Channel 0 of a1 is a mix of all of a's channels: 'data contamination'.")
    code_panel(strides.round_trip_code(rt))


def squeeze_part():
    st.text_input("Shape of x", key="cr_sshape")
    shape = _shape("cr_sshape", max_dims=7)
    nd = len(shape)
    ss["cr_udim"] = min(max(ss["cr_udim"], -(nd + 1)), nd)
    st.slider("unsqueeze(dim)", -(nd + 1), nd, key="cr_udim",
              help=f"For {nd} dims, unsqueeze takes dim in {-(nd + 1)}..{nd}: the new dim's position in the result.")
    d = ss["cr_udim"]
    sq = strides.squeeze_demo(shape, d)
    m = st.columns(3)
    m[0].metric("x", fmt_shape(shape))
    m[1].metric(f"x.unsqueeze({d})", fmt_shape(sq.unsqueezed))
    m[2].metric("x.squeeze()", fmt_shape(sq.squeezed), help="Without dim: every size-1 dim goes.")
    st.markdown(sq.note())
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**unsqueeze(dim)** for every valid dim")
        st.dataframe(pd.DataFrame(strides.unsqueeze_table(shape)), hide_index=True, key="cr_unsq_table")
    with c2:
        st.markdown("**squeeze(dim)** for every valid dim")
        st.dataframe(pd.DataFrame(strides.squeeze_table(shape)), hide_index=True, key="cr_sq_table")
    code_panel(strides.squeeze_code(sq))


PARTS = {"create": create_part, "index": index_part, "view": view_part, "round_trip": round_trip_part,
         "squeeze": squeeze_part}
PARTS[ss["cr_part"] or "create"]()
