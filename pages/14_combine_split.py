import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import tensors as T
from core.parsing import InputError, parse_ints, parse_shape
from ui import figures_tensors as F
from ui import links
from ui.common import code_panel, fail, header

PARTS = ("cat vs stack", "split & chunk")
SPLIT_MODES = ("split(size)", "split([sizes])", "chunk(n)")
PARAMS = {
    "cs_part": links.Choice("cat vs stack", PARTS),
    "cs_shapes": links.Text("2,3; 2,3", max_len=120),
    "cs_dim": links.Int(0, -4, 3),
    "cs_shape": links.Text("5,4", max_len=40),
    "cs_sdim": links.Int(0, -3, 2),
    "cs_mode": links.Choice("split(size)", SPLIT_MODES),
    "cs_size": links.Int(2, 1, 64),
    "cs_sizes": links.Text("1, 3, 1", max_len=120),
    "cs_chunks": links.Int(3, 1, 64),
}

links.bind(PARAMS)
header("Combine & split", "`torch.cat` glues tensors along an **existing** dim (sizes add up there, every other "
       "size must match). `torch.stack` puts equal tensors side by side along a **new** dim. `split` and "
       "`chunk` go the other way and return views. Colours say which tensor (or piece) each cell belongs to.")
st.segmented_control("Part", PARTS, key="cs_part", required=True)
part = st.session_state["cs_part"] or "cat vs stack"
ss = st.session_state


def _draw(t, owner, key: str, title: str):
    """Cells coloured by owner; for more than 2 dims a slice picker chooses the 2-D slice."""
    lead = F.slice_picker(tuple(t.shape), key + "_slice") if t.dim() > 2 else ()
    values = t[lead].numpy()
    text = np.vectorize(F.fmt_value, otypes=[object])(values)
    nd = t.dim()
    st.plotly_chart(F.source_grid(owner[lead].numpy(), text, title=title, row_label=f"dim {nd - 2}",
                                  col_label=f"dim {nd - 1}"), key=key)


EXAMPLES = {"equal shapes": ("2,3; 2,3", 0), "cat only": ("2,3; 4,3", 0), "cat along dim 1": ("2,3; 2,1", 1),
            "neither": ("2,3; 4,1", 0), "three tensors, new last dim": ("3,2; 3,2; 3,2", -1)}


def _use_example():
    choice = ss.get("cs_example")
    if choice in EXAMPLES:
        ss["cs_shapes"], ss["cs_dim"] = EXAMPLES[choice]
    ss["cs_example"] = None


if part == "cat vs stack":
    st.pills("Examples", list(EXAMPLES), key="cs_example", on_change=_use_example)
    c1, c2 = st.columns([3, 2])
    c1.text_input("Shapes of the tensors, separated by ';'", key="cs_shapes",
                  help="e.g. 2,3; 4,3 (two tensors). Up to 4 tensors.")
    try:
        shapes = [parse_shape(p, max_elements=10_000, max_dims=4) for p in ss["cs_shapes"].split(";") if p.strip()]
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
    joined = {"cat": T.cat(shapes, dim), "stack": T.stack(shapes, dim)}
    names = ", ".join(f"t{k}" for k in range(len(shapes)))
    m = st.columns(2)
    for col, (op, j) in zip(m, joined.items(), strict=True):
        col.metric(f"torch.{op}([{names}], dim={dim})", T.fmt_shape(j.shape) if j.shape is not None else "error")
    cols = st.columns(2)
    for col, (op, j) in zip(cols, joined.items(), strict=True):
        with col:
            st.markdown(f"**{op}**: `{j.algebra}`")
            if j.error:
                st.error(f"{j.reason}  \ntorch: *{j.error}*", icon=":material/block:")
            else:
                _draw(j.result, j.owner, f"cs_{op}_fig", f"torch.{op}(..., dim={dim}) {T.fmt_shape(j.shape)}")
    with st.expander("The inputs", expanded=False):
        tensors = T.make_inputs(shapes)
        icols = st.columns(len(tensors))
        for k, (col, t) in enumerate(zip(icols, tensors, strict=True)):
            with col:
                _draw(t, torch.full(t.shape, k), f"cs_in{k}_fig", f"t{k} {T.fmt_shape(t.shape)}")
    scale = T.input_scale(shapes)
    lines = [f"t{k} = torch.arange({int(np.prod(s))}).reshape{T.fmt_shape(s)}" + (f" + {k * scale}" if k else "")
             for k, s in enumerate(shapes)]
    outs = []
    for op, j in joined.items():
        call = f"torch.{op}([{names}], dim={dim})"
        outs.append(f"print({call}.shape)  # torch.Size({list(j.shape)})" if j.shape is not None
                    else f"# {call} raises: {j.error}")
    code_panel("import torch\n\n" + "\n".join(lines) + "\n" + "\n".join(outs) + "\n")

else:
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
            res = T.split(shape, ss["cs_sdim"], size=ss["cs_size"])
        elif mode == "split([sizes])":
            res = T.split(shape, ss["cs_sdim"], sizes=parse_ints(ss["cs_sizes"], max_len=64))
        else:
            res = T.split(shape, ss["cs_sdim"], chunks=ss["cs_chunks"])
    except InputError as exc:
        fail(str(exc))
    x = torch.arange(int(np.prod(shape))).reshape(shape)
    m = st.columns(3)
    m[0].metric("x", T.fmt_shape(shape))
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
        st.dataframe(pd.DataFrame([{"piece": k, "shape": T.fmt_shape(p.shape), "stride": str(p.stride()),
                                    "first value": int(p.flatten()[0]) if p.numel() else None}
                                   for k, p in enumerate(res.pieces)]), hide_index=True, key="cs_pieces_table")
    code_panel(f"""import torch

x = torch.arange({x.numel()}).reshape{T.fmt_shape(shape)}
pieces = {res.call}
print([p.shape for p in pieces])  # {[list(p.shape) for p in res.pieces]}
""")
