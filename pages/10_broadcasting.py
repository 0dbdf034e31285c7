import pandas as pd
import streamlit as st

from core import broadcasting
from core.parsing import InputError, parse_shape
from core.tensor_common import fmt_shape
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, fail, halt, header

PARAMS = {
    "bc_a": links.Text("4,32,14,14", max_len=60, refused=("x", "4,,a"), accepted="8,32,14,14"),
    "bc_b": links.Text("32,1,1", max_len=60, refused=("*", "3,-1"), accepted="32,1,14"),
    "bc_cap": links.Int(3, 2, 5),
    "bc_stretch": links.Choice("B", ("A", "B")),
}
EXAMPLES = {
    "image batch + per-channel bias": ("4,32,14,14", "32,1,1"),
    "column + row": ("3,1", "1,4"),
    "matrix + vector": ("5,4", "4"),
    "fails: 3 channels vs 32": ("4,32,14,14", "3,1,1"),
    "fails: (2,3) + (3,2)": ("2,3", "3,2"),
}

links.bind(PARAMS)
header("Broadcasting", "Type two shapes. PyTorch lines them up **from the right**; two sizes fit when they are "
       "equal or one of them is 1, and a missing dim counts as 1. Every 1 is stretched to the other size "
       "without copying memory. Below: the alignment, the result shape, a small example that torch computes, "
       "and `expand` (a view) against `repeat` (a copy).")


def _use_example():
    choice = st.session_state.get("bc_example")
    if choice in EXAMPLES:
        st.session_state["bc_a"], st.session_state["bc_b"] = EXAMPLES[choice]
    st.session_state["bc_example"] = None


st.pills("Examples", list(EXAMPLES), key="bc_example", on_change=_use_example)
c1, c2, c3 = st.columns([2, 2, 2])
c1.text_input("Shape of A", key="bc_a", help="Whole numbers separated by commas, e.g. 4,32,14,14")
c2.text_input("Shape of B", key="bc_b", help="e.g. 32,1,1 (a bias per channel)")
c3.slider("Example: cap every size at", 2, 5, key="bc_cap",
          help="The small example keeps 1s as 1s and caps the other sizes, so it broadcasts exactly like your shapes.")


@st.cache_data(max_entries=256, show_spinner=False)
def _broadcast(a, b):
    return broadcasting.broadcast(a, b)


@st.cache_data(max_entries=64, show_spinner=False)
def _example(a_small, b_small):
    return broadcasting.broadcast_example(a_small, b_small)


@st.cache_data(max_entries=32, show_spinner=False)
def _expand_vs_repeat(source, target):
    return broadcasting.expand_vs_repeat(source, target)


shapes = {}
for name, key in (("A", "bc_a"), ("B", "bc_b")):
    try:
        shapes[name] = parse_shape(st.session_state[key])
    except InputError as exc:
        fail(f"Shape of {name}: {exc}")
a, b = shapes["A"], shapes["B"]
bc = _broadcast(a, b)

m1, m2, m3 = st.columns(3)
m1.metric("A", fmt_shape(a))
m2.metric("B", fmt_shape(b))
m3.metric("Result shape", fmt_shape(bc.shape) if bc.ok else "does not broadcast")

st.subheader("1 · Line the shapes up from the right")
st.plotly_chart(figures.alignment(bc.dims), key="bc_align_fig")
st.markdown("\n".join(f"- `{line}`" for line in bc.steps()))
a_txt, b_txt = fmt_shape(a), fmt_shape(b)
if bc.ok:
    st.caption(f"torch agrees: `torch.broadcast_shapes({a_txt}, {b_txt})` returns "
               f"`torch.Size({list(bc.torch_shape)})`.")
else:
    st.error(bc.reason(), icon=":material/block:")
    st.markdown(f"What torch says for `a + b`: `RuntimeError: {bc.torch_error}`  \n"
                "(torch counts dims from the left of the result, as the alignment above does.)")
    code_panel(broadcasting.broadcast_error_code(bc))
    halt()

st.subheader("2 · A small example, computed by torch")
a_small, b_small = broadcasting.example_shapes(bc, st.session_state["bc_cap"])
ex = _example(a_small, b_small)
out_shape = tuple(ex.out.shape)
st.markdown(f"A small **a** of shape `{fmt_shape(a_small)}` holds 0, 1, 2, ...; **b** of shape "
            f"`{fmt_shape(b_small)}` holds {ex.scale}, {2 * ex.scale}, {3 * ex.scale}, ... so in `a + b` (shape "
            f"`{fmt_shape(out_shape)}`) you read b's value in the {ex.scale}s and a's value in the rest. "
            "Outlined cells are really stored; the others are the same memory read again (stride 0).")
lead = figures.slice_picker(out_shape, "bc_slice")
rl, cl = f"dim {len(out_shape) - 2}", f"dim {len(out_shape) - 1}"

cols = st.columns(3)
for col, (label, t) in zip(cols[:2], (("a", ex.a), ("b", ex.b)), strict=True):
    e, stored = broadcasting.stretched(t, out_shape)
    with col:
        st.plotly_chart(figures.grid(e[lead], highlight=stored[lead], row_label=rl, col_label=cl,
                                     title=f"{label} stretched to {fmt_shape(out_shape)}"), key=f"bc_{label}_fig")
with cols[2]:
    st.plotly_chart(figures.grid(ex.out[lead], title="a + b", colorscale="Greens", row_label=rl, col_label=cl),
                    key="bc_out_fig")

st.subheader("3 · expand (a view) vs repeat (a copy)")
st.radio("Stretch which tensor to the result shape?", ("A", "B"), key="bc_stretch", horizontal=True)
src = a if st.session_state["bc_stretch"] == "A" else b
evr = _expand_vs_repeat(src, bc.shape)
rows = [
    {"tensor": "x (source)", "shape": fmt_shape(src), "stride": "", "storage bytes": evr.source_bytes,
     "same data_ptr as x": "", "sees x.fill_(1)": ""},
    {"tensor": "x.expand(...)", "shape": fmt_shape(bc.shape), "stride": str(evr.expand_stride),
     "storage bytes": evr.expand_bytes, "same data_ptr as x": evr.expand_shares,
     "sees x.fill_(1)": evr.expand_sees_write},
]
if evr.repeat_skipped is None:
    rows.append({"tensor": f"x.repeat{evr.repeats}", "shape": fmt_shape(bc.shape), "stride": str(evr.repeat_stride),
                 "storage bytes": evr.repeat_bytes, "same data_ptr as x": evr.repeat_shares,
                 "sees x.fill_(1)": evr.repeat_sees_write})
st.dataframe(pd.DataFrame(rows).astype(str), hide_index=True, key="bc_evr_table")
if evr.repeat_skipped:
    st.warning(evr.repeat_skipped, icon=":material/memory:")
else:
    st.markdown(f"`expand` keeps the source's **{evr.expand_bytes:,} bytes** and sets stride 0 on stretched dims; "
                f"`repeat` allocates **{evr.repeat_bytes:,} bytes** and copies. Broadcasting in `a + b` works like "
                "expand: no copy of the inputs is ever made.")

code_panel(broadcasting.broadcast_code(bc, ex, evr, st.session_state["bc_cap"]))
