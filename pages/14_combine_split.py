import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import combine
from core.parsing import InputError, parse_ints, parse_shape
from core.tensor_common import fmt_shape, source_ids
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, fail, header

LABELS = {"cat_stack": "cat vs stack", "split_chunk": "split & chunk"}  # part -> label
SPLIT_MODES = ("split(size)", "split([sizes])", "chunk(n)")
PARAMS = {
    # links made before the options were short names carry the labels
    "cs_part": links.Choice("cat_stack", tuple(LABELS),
                            aliases=tuple((label, part) for part, label in LABELS.items())),
    "cs_shapes": links.Text("2,3; 2,3", max_len=120, refused=("x; 2,3", "2,a"), accepted="2,3; 4,3"),
    "cs_dim": links.Int(0, -4, 3),
    "cs_shape": links.Text("5,4", max_len=40, refused=("*", "5,a"), accepted="6,4", shown_with=(("cs_part", "split_chunk"),)),
    "cs_sdim": links.Int(0, -3, 2),
    "cs_mode": links.Choice("split(size)", SPLIT_MODES),
    "cs_size": links.Int(2, 1, 64),
    "cs_sizes": links.Text("1, 3, 1", max_len=120, refused=("1, 1", "a"), accepted="2, 2, 1",
                          shown_with=(("cs_part", "split_chunk"), ("cs_mode", "split([sizes])"))),
    "cs_chunks": links.Int(3, 1, 64),
}

links.bind(PARAMS)
header("Combine & split", "`torch.cat` glues tensors along an **existing** dim (sizes add up there, every other "
       "size must match). `torch.stack` puts equal tensors side by side along a **new** dim. `split` and "
       "`chunk` go the other way and return views. Colours say which tensor (or piece) each cell belongs to.")
# A label also maps to itself: AppTest lists a control's options by their labels, and tests pick parts by them.
st.segmented_control("Part", tuple(LABELS), key="cs_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


def _draw(t, owner, key: str, title: str):
    """Cells coloured by owner; for more than 2 dims a slice picker chooses the 2-D slice."""
    lead = figures.slice_picker(tuple(t.shape), key + "_slice") if t.dim() > 2 else ()
    values = t[lead].numpy()
    text = np.vectorize(figures.fmt_value, otypes=[object])(values)
    nd = t.dim()
    st.plotly_chart(figures.source_grid(owner[lead].numpy(), text, title=title, row_label=f"dim {nd - 2}",
                                        col_label=f"dim {nd - 1}"), key=key)


EXAMPLES = {"equal shapes": ("2,3; 2,3", 0), "cat only": ("2,3; 4,3", 0), "cat along dim 1": ("2,3; 2,1", 1),
            "neither": ("2,3; 4,1", 0), "three tensors, new last dim": ("3,2; 3,2; 3,2", -1),
            "two batches of images": ("4,3,32,32; 4,3,32,32", 0)}


def _use_example():
    choice = ss.get("cs_example")
    if choice in EXAMPLES:
        ss["cs_shapes"], ss["cs_dim"] = EXAMPLES[choice]
    ss["cs_example"] = None


def cat_stack_part():
    st.pills("Examples", list(EXAMPLES), key="cs_example", on_change=_use_example)
    c1, c2 = st.columns([3, 2])
    c1.text_input("Shapes of the tensors, separated by ';'", key="cs_shapes",
                  help="e.g. 2,3; 4,3 (two tensors). Up to 4 tensors.")
    try:
        shapes = [parse_shape(p, max_elements=50_000, max_dims=4) for p in ss["cs_shapes"].split(";") if p.strip()]
    except InputError as exc:
        fail(f"Shapes: {exc}")
    if not 1 <= len(shapes) <= 4:
        fail("Type between 1 and 4 shapes separated by ';', e.g. 2,3; 4,3.")
    nd = len(shapes[0])
    options = list(range(-(nd + 1), nd + 1))
    if ss["cs_dim"] not in options:
        ss["cs_dim"] = 0
    c2.segmented_control("dim", options, key="cs_dim", required=True,
                     help=f"cat takes dim in {-nd}..{nd - 1}; stack also takes {-(nd + 1)} and {nd} (a new dim).")
    dim = ss["cs_dim"]
    joined = {"cat": combine.cat(shapes, dim), "stack": combine.stack(shapes, dim)}
    names = ", ".join(f"t{k}" for k in range(len(shapes)))
    m = st.columns(2)
    for col, (op, j) in zip(m, joined.items(), strict=True):
        col.metric(f"torch.{op}([{names}], dim={dim})", fmt_shape(j.shape) if j.shape is not None else "error")
    cols = st.columns(2)
    for col, (op, j) in zip(cols, joined.items(), strict=True):
        with col:
            st.markdown(f"**{op}**: `{j.algebra}`")
            if j.error:
                st.error(f"{j.reason}  \ntorch: *{j.error}*", icon=":material/block:")
            else:
                _draw(j.result, j.owner, f"cs_{op}_fig", f"torch.{op}(..., dim={dim}) {fmt_shape(j.shape)}")
    with st.expander("The inputs", expanded=False):
        tensors = combine.make_inputs(shapes)
        icols = st.columns(len(tensors))
        for k, (col, t) in enumerate(zip(icols, tensors, strict=True)):
            with col:
                _draw(t, torch.full(t.shape, k), f"cs_in{k}_fig", f"t{k} {fmt_shape(t.shape)}")
    code_panel(combine.join_code(shapes, dim, list(joined.values())))


def split_chunk_part():
    c = st.columns([2, 2, 2, 3])
    c[0].text_input("Shape of x", key="cs_shape")
    try:
        shape = parse_shape(ss["cs_shape"], max_elements=10_000, max_dims=4)
    except InputError as exc:
        fail(f"Shape of x: {exc}")
    nd = len(shape)
    if ss["cs_sdim"] not in range(-nd, nd):
        ss["cs_sdim"] = 0
    c[1].segmented_control("dim", list(range(-nd, nd)), key="cs_sdim", required=True)
    c[2].radio("Method", SPLIT_MODES, key="cs_mode")
    n = shape[ss["cs_sdim"]]
    mode = ss["cs_mode"]
    with c[3]:
        if mode == "split(size)":
            ss["cs_size"] = min(ss["cs_size"], max(n, 1))
            if n > 1:
                st.slider("split_size: each piece has this many (the last may be smaller)", 1, n, key="cs_size")
        elif mode == "split([sizes])":
            st.text_input(f"sizes (must add up to {n})", key="cs_sizes")
        else:
            ss["cs_chunks"] = min(ss["cs_chunks"], 64)
            st.slider("chunks: at most this many pieces", 1, 12, key="cs_chunks")
    try:
        if mode == "split(size)":
            res = combine.split(shape, ss["cs_sdim"], size=ss["cs_size"])
        elif mode == "split([sizes])":
            res = combine.split(shape, ss["cs_sdim"], sizes=parse_ints(ss["cs_sizes"], max_len=64))
        else:
            res = combine.split(shape, ss["cs_sdim"], chunks=ss["cs_chunks"])
    except InputError as exc:
        fail(str(exc))
    x = source_ids(shape)
    m = st.columns(3)
    m[0].metric("x", fmt_shape(shape))
    m[1].metric("pieces", len(res.pieces))
    m[2].metric("memory", "views of x" if res.shares else "copies")
    if mode == "chunk(n)" and len(res.pieces) != ss["cs_chunks"]:
        st.info(f"chunk({ss['cs_chunks']}) returned {len(res.pieces)} pieces: chunk uses pieces of size "
                f"ceil({n}/{ss['cs_chunks']}) = {-(-n // ss['cs_chunks'])}, which may need fewer pieces than asked.",
                icon=":material/info:")
    c1, c2 = st.columns([3, 2])
    with c1:
        _draw(x, res.owner, "cs_split_fig", f"{res.call}: cells coloured by piece")
    with c2:
        st.dataframe(pd.DataFrame([{"piece": k, "shape": fmt_shape(p.shape), "stride": str(p.stride()),
                                    "first value": int(p.flatten()[0]) if p.numel() else None}
                                   for k, p in enumerate(res.pieces)]), hide_index=True, key="cs_pieces_table")
    code_panel(combine.split_code(shape, res))


PARTS = {"cat_stack": cat_stack_part, "split_chunk": split_chunk_part}
PARTS[ss["cs_part"] or "cat_stack"]()
