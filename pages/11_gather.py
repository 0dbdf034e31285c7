import numpy as np
import streamlit as st
import torch

from core import gather
from core.parsing import InputError, parse_tensor
from core.tensor_common import fmt_shape, source_ids
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, fail, header

PRESETS = gather.gather_presets(seed=0)
MODES = {"preset": "Preset", "random": "Random", "typed": "Type your own"}  # option -> label
PARAMS = {
    "ga_mode": links.Choice("preset", tuple(MODES), aliases=tuple((label, mode) for mode, label in MODES.items())),
    "ga_preset": links.Choice("worked", tuple(PRESETS)),
    "ga_dim": links.Int(1, -3, 2),
    "ga_input": links.Text("[[1, 2], [3, 4]]", max_len=2000, refused=("[[1, 2], [3]]", "[[1, 2], [3, x]]"),
                           accepted="[[5, 6], [7, 8]]", shown_with=(("ga_mode", "typed"),)),
    "ga_index": links.Text("[[0, 0], [1, 0]]", max_len=2000, refused=("[[0, 0], [2, 0]]", "[[0.5, 0]]"),
                           accepted="[[1, 1], [0, 0]]", shown_with=(("ga_mode", "typed"),)),
    "ga_rows": links.Int(3, 1, 8),
    "ga_cols": links.Int(4, 1, 8),
    "ga_irows": links.Int(3, 1, 8),
    "ga_icols": links.Int(2, 1, 8),
    "ga_seed": links.Int(0, 0, 10_000),
}

links.bind(PARAMS)
header("gather", "`torch.gather(input, dim, index)` builds a tensor shaped like **index**. Each output cell "
       "copies one input cell: at the same position, except along `dim`, where the coordinate is read from "
       "`index`. Colours follow the cells: every output cell has the colour of the input cell it came from.")


def _use_preset():
    st.session_state["ga_dim"] = PRESETS[st.session_state["ga_preset"]].dim


def _edit(current_input: list, current_index: list):
    st.session_state["ga_input"] = str(current_input)
    st.session_state["ga_index"] = str(current_index)
    st.session_state["ga_mode"] = "typed"


def preset_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    st.selectbox("Preset", list(PRESETS), key="ga_preset", format_func=lambda k: PRESETS[k].name,
                 on_change=_use_preset)
    preset = PRESETS[st.session_state["ga_preset"]]
    st.info(preset.note, icon=":material/lightbulb:")
    return torch.tensor(preset.input), torch.tensor(preset.index)


def random_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    c = st.columns(5)
    c[0].slider("input rows", 1, 8, key="ga_rows")
    c[1].slider("input cols", 1, 8, key="ga_cols")
    c[2].slider("index rows", 1, 8, key="ga_irows")
    c[3].slider("index cols", 1, 8, key="ga_icols")
    c[4].number_input("seed", 0, 10_000, key="ga_seed")
    dim_for_values = st.session_state["ga_dim"] if -2 <= st.session_state["ga_dim"] <= 1 else 1
    return gather.random_gather(st.session_state["ga_rows"], st.session_state["ga_cols"],
                                st.session_state["ga_irows"], st.session_state["ga_icols"], dim_for_values,
                                st.session_state["ga_seed"])


def typed_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    c1, c2 = st.columns(2)
    c1.text_area("input", key="ga_input", height=110, help="Nested brackets like Python: [[1, 2], [3, 4]]")
    c2.text_area("index (whole numbers)", key="ga_index", height=110)
    try:
        parsed_input = parse_tensor(st.session_state["ga_input"], max_elements=4096)
        parsed_index = parse_tensor(st.session_state["ga_index"], max_elements=4096, integer=True)
    except InputError as exc:
        fail(str(exc))
    x, index = torch.tensor(parsed_input), torch.tensor(parsed_index)
    if x.dim() > 3 or index.dim() > 3:
        fail("This lesson draws tensors of up to 3 dimensions; type a 1-D, 2-D or 3-D tensor.")
    if x.dtype.is_floating_point and bool((x == x.round()).all()):
        x = x.long()  # whole numbers read better without decimals
    return x, index


SOURCES = {"preset": preset_tensors, "random": random_tensors, "typed": typed_tensors}
# A label also maps to itself: AppTest lists a control's options by their labels, and tests pick parts by them.
st.segmented_control("Tensors", tuple(MODES), key="ga_mode", required=True, format_func=lambda m: MODES.get(m, m))
mode = st.session_state["ga_mode"] or "preset"
x, index = SOURCES[mode]()

# dim: the widget's options follow the number of dims of the tensors above
ndim = max(x.dim(), 1)
dims = list(range(-ndim, ndim))
if st.session_state["ga_dim"] not in dims:
    st.session_state["ga_dim"] = ndim - 1
st.segmented_control("dim", dims, key="ga_dim", required=True, help="The dimension along which index chooses.")
dim = st.session_state["ga_dim"]

if mode != "typed":
    st.button("Edit these tensors", icon=":material/edit:", key="ga_edit", on_click=_edit,
              args=(gather.literal(x), index.tolist()))

try:
    g = gather.gather(x, dim, index)
except InputError as exc:
    fail(str(exc))

st.markdown(f"**The rule for dim={dim}:** `{g.rule()}`")
out_list = gather.literal(g.out)
st.markdown(f"**Result** `out = torch.gather(input, {dim}, index)` has the shape of index, "
            f"`{fmt_shape(g.out.shape)}`:")
st.code(f"out = {out_list}", language="python")

# 3-D tensors: one 2-D slice at a time (the output slice, and the same slice of input and index)
lead = figures.slice_picker(tuple(g.out.shape), "ga_slice") if g.out.dim() > 2 else ()
flat_of_input = source_ids(tuple(x.shape))
src = g.sources[lead] if lead else g.sources  # (..., ndim)
src_np = src.numpy()
src_flat = np.ravel_multi_index(tuple(np.moveaxis(src_np, -1, 0)), tuple(x.shape)) if src_np.size else src_np
out_np, idx_np = g.out[lead].numpy(), g.index[lead].numpy()
coord = np.vectorize(lambda *c: "[" + ",".join(str(int(v)) for v in c) + "]", otypes=[object])
src_text = coord(*np.moveaxis(src_np, -1, 0))
out_text = np.vectorize(lambda v, s: f"{figures.fmt_value(v)}<br>from {s}", otypes=[object])(out_np, src_text)
idx_text = np.vectorize(lambda v: figures.fmt_value(v), otypes=[object])(idx_np)

rl, cl = (f"dim {g.out.dim() - 2}", f"dim {g.out.dim() - 1}")
values_text = np.vectorize(figures.fmt_value, otypes=[object])


def _input_grid(i=None):
    """input (or its slice input[i] for 3-D tensors), coloured by cell; outlined where the shown out cells read."""
    ids, values = (flat_of_input, x) if i is None else (flat_of_input[i], x[i])
    title = f"input {fmt_shape(x.shape)}" if i is None else f"input[{i}]"
    st.plotly_chart(figures.source_grid(ids.numpy(), values_text(values.numpy()), title=title,
                                        highlight=np.isin(ids.numpy(), src_flat), row_label=rl, col_label=cl),
                    key=f"ga_input_fig{'' if i is None else i}")


if x.dim() > 2:  # sources can sit in any slice of input (when dim=0), so show the slices side by side
    shown = min(x.shape[0], 4)
    st.caption(f"input {fmt_shape(x.shape)}, slice by slice" + (f" (first {shown})" if shown < x.shape[0] else "")
               + ". Outlined: the cells that the out slice below copies.")
    for i, col in enumerate(st.columns(shown)):
        with col:
            _input_grid(i)
    c2, c3 = st.columns(2)
else:
    c1, c2, c3 = st.columns([1.1, 0.9, 1.1])
    with c1:
        _input_grid()
        st.caption("Outlined: cells that some output cell copies.")
with c2:
    st.plotly_chart(figures.source_grid(src_flat, idx_text, title=f"index {fmt_shape(index.shape)}", row_label=rl,
                                        col_label=cl), key="ga_index_fig")
with c3:
    st.plotly_chart(figures.source_grid(src_flat, out_text, title=f"out {fmt_shape(g.out.shape)}", row_label=rl,
                                        col_label=cl), key="ga_out_fig")

cells = [tuple(int(v) for v in c) for c in np.ndindex(*g.out.shape)][:400]
if cells:
    cell = st.selectbox("Explain one output cell", cells, key="ga_cell",
                        format_func=lambda c: "out[" + "][".join(map(str, c)) + "]")
    st.code(g.explain(cell), language="python")

code_panel(gather.gather_code(g, dim, classification=mode == "preset" and st.session_state["ga_preset"] == "label"))
