import numpy as np
import streamlit as st

from core import selection
from core.parsing import InputError, parse_shape
from core.tensor_common import fmt_shape
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, fail, header

OPS = selection.SELECT_OPS
PARAMS = {
    "tk_shape": links.Text("4,6", max_len=40, refused=("x", "0,3"), accepted="4,7"),
    "tk_seed": links.Int(0, 0, 10_000),
    "tk_op": links.Choice("topk", OPS),
    "tk_k": links.Int(2, 1, 4096),
    "tk_dim": links.Int(1, -3, 2),
    "tk_nodim": links.Bool(False),
    "tk_largest": links.Bool(True),
    "tk_keepdim": links.Bool(False),
}

links.bind(PARAMS)
header("topk, kthvalue, max, argmax", "Pick the largest (or smallest) entries **along one dim**: every other "
       "dim is kept, one answer per row/column. The values are 0, 1, 2, ... shuffled, so there are no ties. "
       "Outlined cells are the ones selected; the number after `#` is their rank.")

c1, c2, c3 = st.columns([2, 1, 3])
c1.text_input("Shape of x (1 to 3 dims)", key="tk_shape")
c2.number_input("seed", 0, 10_000, key="tk_seed")
c3.segmented_control("Operation", OPS, key="tk_op", required=True)
op = st.session_state["tk_op"] or "topk"

try:
    shape = parse_shape(st.session_state["tk_shape"], max_elements=10_000, max_dims=3)
except InputError as exc:
    fail(f"Shape of x: {exc}")
nd = len(shape)
dims = list(range(-nd, nd))
if st.session_state["tk_dim"] not in dims:
    st.session_state["tk_dim"] = nd - 1
has_k = op in ("topk", "kthvalue")
can_flatten = op in ("max", "min", "argmax", "argmin")
c1, c2, c3, c4, c5 = st.columns([3, 3, 2, 2, 2])
with c3:
    st.toggle("no dim", key="tk_nodim", disabled=not can_flatten,
              help="max/min/argmax/argmin without dim look at x.flatten(); argmax then returns a flat index.")
nodim = can_flatten and st.session_state["tk_nodim"]
with c2:
    st.segmented_control("dim", dims, key="tk_dim", required=True, disabled=nodim)
dim = None if nodim else st.session_state["tk_dim"]
size = shape[st.session_state["tk_dim"]]
st.session_state["tk_k"] = min(max(st.session_state["tk_k"], 1), size)
with c1:
    if size > 1:
        st.slider("k", 1, size, key="tk_k", disabled=not has_k,
                  help=f"topk returns the k largest along dim; kthvalue the k-th smallest. dim has size {size}.")
    else:
        st.caption("k = 1 (dim has size 1)")
k = st.session_state["tk_k"]
c4.toggle("largest", key="tk_largest", disabled=op != "topk", help="topk only: False picks the k smallest.")
c5.toggle("keepdim", key="tk_keepdim", disabled=op == "topk" or nodim,
          help="Keep the reduced dim with size 1, so the result still lines up with x (handy for broadcasting).")


@st.cache_data(max_entries=64, show_spinner=False)
def _select(shape, seed, op, k, dim, largest, keepdim):
    x = selection.distinct_values(shape, seed)
    return selection.select(x, op, k=k, dim=dim, largest=largest, keepdim=keepdim)


largest, keepdim = st.session_state["tk_largest"], st.session_state["tk_keepdim"] and not nodim
try:
    sel = _select(shape, st.session_state["tk_seed"], op, k, dim, largest, keepdim)
except InputError as exc:
    fail(str(exc))
x = sel.x

m = st.columns(4)
m[0].metric("x", fmt_shape(x.shape))
if sel.values is not None:
    m[1].metric("values shape", fmt_shape(sel.values.shape))
if sel.indices is not None:
    m[2].metric("indices shape", fmt_shape(sel.indices.shape))
if sel.flat_index is not None:
    m[3].metric("flat index", sel.flat_index, help=f"x.flatten()[{sel.flat_index}] is x{list(sel.unravelled)}")
st.markdown(f"`{sel.call}`")

lead = figures.slice_picker(shape, "tk_slice")
xs, rank, mask = x[lead].numpy(), sel.rank[lead].numpy(), sel.mask[lead].numpy()
text = np.vectorize(lambda v, r: f"{v}" + (f" #{r}" if r else ""), otypes=[object])(xs, rank)
rl, cl = (f"dim {nd - 2}", f"dim {nd - 1}") if nd >= 2 else ("", "dim 0")
cols = st.columns([3, 2])
with cols[0]:
    st.plotly_chart(figures.grid(xs, text=text, highlight=mask, title=f"x {fmt_shape(shape)}", row_label=rl,
                                 col_label=cl), key="tk_x_fig")
with cols[1]:
    for name, t in (("values", sel.values), ("indices", sel.indices)):
        if t is None:
            continue
        part = lead[: max(t.dim() - 2, 0)]  # same leading indices as x's slice (keepdim/topk keep the dims)
        drawn = t[part] if part else t
        note = f" slice [{', '.join(map(str, part))}]" if part else ""
        st.plotly_chart(figures.grid(drawn.numpy(), title=f"{name} {fmt_shape(t.shape)}{note}",
                                     row_label=f"dim {t.dim() - 2}", col_label=f"dim {t.dim() - 1}",
                                     colorscale="Greens" if name == "values" else "Oranges"), key=f"tk_{name}_fig")

result_lines = []
if sel.values is not None:
    result_lines.append(f"values  = {sel.values.tolist()}")
if sel.indices is not None:
    result_lines.append(f"indices = {sel.indices.tolist()}")
st.code("\n".join(result_lines), language="python")

st.subheader("argmax without dim vs with dim")
st.caption("Without dim, argmax looks at x.flatten() and returns one number: a position in the flattened tensor. "
           "With dim it returns one index per slice along the other dims.")
flat = selection.select(x, "argmax", dim=None)
per_dim = selection.select(x, "argmax", dim=st.session_state["tk_dim"])
a1, a2 = st.columns(2)
a1.markdown(f"`x.argmax()` → **{flat.flat_index}**  \nin x's shape that is `x{list(flat.unravelled)}` "
            f"(`torch.unravel_index`), the value {int(x.flatten()[flat.flat_index])}.")
a2.markdown(f"`x.argmax(dim={st.session_state['tk_dim']})` → `{per_dim.indices.tolist()}`  \n"
            f"shape {fmt_shape(per_dim.indices.shape)}: one index along dim {st.session_state['tk_dim']} per slice.")

code_panel(selection.select_code(sel, st.session_state["tk_seed"], flat, per_dim))
