import pandas as pd
import streamlit as st
import torch

from core import dtype_casts, dtypes
from core.parsing import InputError, parse_literal, parse_shape
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, escape_markdown, fail, header

LABELS = {"build": "build & promote", "families": "dtype families", "create": "making tensors",
          "cast": "casting & precision", "numpy": "NumPy & memory"}  # part -> label
CHOSEN = ("infer", *dtypes.DTYPES)
PARAMS = {
    "ty_part": links.Choice("build", tuple(LABELS)),
    "ty_a": links.Text("250, 100, 3", max_len=200, refused=("2,a", "[1, 2"), accepted="250, 7"),
    "ty_adtype": links.Choice("uint8", CHOSEN),
    "ty_op": links.Choice("+", tuple(dtypes.OPS)),
    "ty_b": links.Text("10", max_len=200, refused=("x", "1]"), accepted="12",
                       shown_with=(("ty_part", "build"),)),
    "ty_bkind": links.Choice("python", tuple(dtypes.KINDS)),
    "ty_bdtype": links.Choice("infer", CHOSEN),
    "ty_numel": links.Int(1_000_000, 1, 10**10),
    "ty_cvals": links.Text("1, 2, 3", max_len=200, refused=("1,,b", "[[1], [2, 3]]"), accepted="1.5, 2",
                           shown_with=(("ty_part", "create"),)),
    "ty_shape": links.Text("2,3", max_len=40, refused=("x", "0,-1"), accepted="3,2", shown_with=(("ty_part", "create"),)),
    "ty_xvals": links.Text("-2.7, -0.5, 0.1, 2.5, 300, 70000", max_len=300, refused=("e", "1;;"), accepted="0.1, 7",
                           shown_with=(("ty_part", "cast"),)),
    "ty_n": links.Int(5, 2, 12),
    "ty_i": links.Int(1, -12, 11),
    "ty_v": links.Float(9.0, -1e6, 1e6),
    "ty_via": links.Bool(False),
}

links.bind(PARAMS)
header("Tensor types", "Every tensor has a **dtype**: what kind of number each element is and how many bytes it "
       "takes. It decides what `torch.tensor` makes of your numbers, what `a + b` returns, and when 250 + 10 "
       "quietly becomes 4.")
st.segmented_control("Part", tuple(LABELS), key="ty_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


def _values(key: str, label: str, max_elements: int = 64):
    try:
        return parse_literal(ss[key], max_elements=max_elements)
    except InputError as exc:
        fail(f"{label}: {exc}")


def _facts(t: torch.Tensor, what: str) -> None:
    f = dtypes.facts(t)
    m = st.columns(6)
    m[0].metric(f"{what}.dtype", f.dtype)
    m[1].metric("bytes each", f.bytes_each, help="t.element_size()")
    m[2].metric("numel", f.numel, help="t.numel(): number of elements")
    m[3].metric("bytes in all", f.nbytes, help="t.element_size() * t.numel()")
    m[4].metric("shape", f.shape, help=f"t.shape; t.dim() = {f.dim}")
    m[5].metric("stride", f.stride, help="t.stride(): elements to skip to move one step along each dim")


def build_part():
    st.caption("Type numbers as Python would: `3` is an int, `3.0` or `1e3` a float, `True` a bool; `;` starts a "
               "new row. Try `250 + 10` as uint8, then b as a tensor `[10.5]`, then `/` on two ints.")
    c1, c2, _ = st.columns([4, 3, 2])
    c1.text_input("a", key="ty_a")
    c2.selectbox("a's dtype", CHOSEN, key="ty_adtype", help="infer: what torch.tensor picks by itself")
    st.segmented_control("Operation", tuple(dtypes.OPS), key="ty_op", required=True)
    c1, c2, c3 = st.columns([4, 3, 2])
    c1.text_input("b", key="ty_b")
    c2.segmented_control("b is", tuple(dtypes.KINDS), key="ty_bkind", required=True,
                         format_func=lambda k: dtypes.KINDS.get(k, k))
    if ss["ty_bkind"] == "tensor":
        c3.selectbox("b's dtype", CHOSEN, key="ty_bdtype")
    a_value, b_value = _values("ty_a", "a"), _values("ty_b", "b")
    try:
        a = dtypes.build(a_value, ss["ty_adtype"])
        b = dtypes.operand(b_value, ss["ty_bdtype"], ss["ty_bkind"])
    except InputError as exc:
        fail(str(exc))
    _facts(a, "a")
    op = ss["ty_op"] or "+"
    run = dtypes.operate(a, b, op)
    st.code(f"a = {dtypes.tensor_call(a_value, ss['ty_adtype'])}\n{a!r}\n\n"
            f"b = {dtypes.operand_call(b_value, ss['ty_bdtype'], ss['ty_bkind'])}\n{b!r}", language="python")
    if run.error:
        st.error(f"`a {op} b`: torch refuses. {escape_markdown(run.error)}", icon=":material/block:")
    else:
        left, right = st.columns([3, 1])
        left.code(f"a {op} b\n{run.result!r}", language="python")
        right.metric(f"(a {op} b).dtype", dtypes.name(run.result.dtype))
    if run.note:
        st.warning(run.note, icon=":material/warning:")
    st.markdown("**Why this dtype**\n" + "\n".join(f"- {s}" for s in run.steps))
    if op == "==" and run.result is not None:
        st.caption(f"`a == b` (or `torch.eq`) compares element by element; `torch.equal(a, b)` is one bool, True "
                   f"only for the same shape and the same values: **{dtypes.equal(a, b)}**.")
    code_panel(dtypes.promotion_code(a_value, ss["ty_adtype"], b_value, ss["ty_bdtype"], ss["ty_bkind"], op, a, run))


def families_part():
    st.markdown(f"The default float type is **{dtypes.name(torch.get_default_dtype())}** (`torch.get_default_dtype()`)"
                ": `torch.tensor(1.5)`, `torch.rand`, and every layer's weights use it. Integers default to int64. "
                "Half precision (float16, bfloat16) halves memory and is what mixed-precision training uses.")
    st.dataframe(pd.DataFrame(dtypes.dtype_table()), hide_index=True, width="stretch", key="ty_table")
    st.number_input("Elements in a tensor", 1, 10**10, key="ty_numel", step=1000,
                    help="e.g. 1,000,000 = a 1000 x 1000 matrix; 25,557,032 = the weights of ResNet-50")
    n = ss["ty_numel"]
    sizes = dtypes.memory(n)
    st.plotly_chart(figures.memory_bars(sizes, title=f"{n:,} elements, in each dtype"), key="ty_memory_fig")
    st.caption("The step near 1 (`torch.finfo(dtype).eps`) is the smallest change a float can show at 1.0: "
               "in float32, `1 + 1e-8 == 1`. bfloat16 keeps float32's range with fewer digits; float16 overflows "
               "to inf above 65504.")
    code_panel(dtypes.families_code(n))


def create_part():
    c1, c2 = st.columns(2)
    c1.text_input("Numbers for torch.tensor", key="ty_cvals")
    c2.text_input("Shape to allocate", key="ty_shape", help="for torch.Tensor(2, 3), torch.empty(2, 3), ...")
    value = _values("ty_cvals", "Numbers")
    try:
        shape = parse_shape(ss["ty_shape"], max_elements=10_000, max_dims=4)
        made = dtype_casts.constructors(value, shape)
    except InputError as exc:
        fail(f"Shape to allocate: {exc}")
    st.dataframe(pd.DataFrame(made), hide_index=True, width="stretch", key="ty_made",
                 column_config={"code": st.column_config.TextColumn(width="large")})
    st.markdown("- `torch.tensor(data)` **copies** your numbers and **infers** the dtype (int64, float32 or bool).\n"
                "- `torch.Tensor(...)` (capital T) is the class: given numbers it makes float32; given sizes it "
                "**allocates** that shape without setting the values, like `torch.empty`. `torch.FloatTensor`, "
                "`LongTensor`... are its older, typed spellings.\n"
                "- One number gives a **0-d** tensor (shape `()`, `dim() == 0`); `.item()` turns a one-element "
                "tensor into a Python number, `.tolist()` any tensor into (nested) lists.")
    code_panel(dtype_casts.constructors_code(value, shape))


def cast_part():
    st.text_input("Values of x", key="ty_xvals", help="x = torch.tensor(values): float32 if any is a float")
    value = _values("ty_xvals", "Values of x", max_elements=12)
    x = dtypes.build(value if isinstance(value, list) else [value])
    if x.dim() > 1:
        x = x.flatten()
    table = dtype_casts.cast_table(x)
    rows = [{"cast": call, **{f"x[{i}]": cell for i, cell in enumerate(cells)}} for call, cells in table.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ty_casts")
    st.caption("Float to integer cuts toward zero (-2.7 -> -2). A float outside an integer type's range has no "
               "defined result (shown as out of range); integers that do not fit wrap around. `.bool()` is True for "
               "every nonzero value. `.double()` cannot bring back the digits float32 already dropped.")
    f = dtype_casts.to_facts(x)
    m = st.columns(3)
    m[0].metric("x.to(x.dtype) is x", str(f.same_is_x), help="nothing to change: .to returns x itself")
    m[1].metric("x.to(x.dtype, copy=True) is x", str(f.copy_is_x))
    m[2].metric("x.dtype after x.to(other)", f.x_dtype_after, help="not in place: assign the result")
    code_panel(dtype_casts.cast_code(value if isinstance(value, list) else [value], x))


def numpy_part():
    c1, c2, c3, c4 = st.columns(4)
    c1.slider("Array length", 2, 12, key="ty_n")
    c2.number_input("Index to change", -12, 11, key="ty_i")
    c3.number_input("New value", -1e6, 1e6, key="ty_v", step=1.0)
    c4.toggle("Change it via t", key="ty_via", help="Off: arr[i] = value. On: t = torch.from_numpy(arr); t[i] = value")
    try:
        arr, rows = dtype_casts.numpy_sharing(ss["ty_n"], ss["ty_i"], ss["ty_v"], ss["ty_via"])
    except InputError as exc:
        fail(str(exc))
    st.code(f"arr = {arr}  (NumPy, float64)", language=None)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ty_shared",
                 column_config={"shares": st.column_config.CheckboxColumn("shares arr's memory")})
    st.markdown("`torch.from_numpy` and `torch.as_tensor` **share** the array's memory: change one and the other "
                "changes. `torch.tensor(arr)` **copies**, and so does any cast (`.float()`): NumPy's float64 default "
                "becomes float32 only through a copy. `.numpy()` shares the other way round.")
    gpu = "available" if torch.cuda.is_available() else "not available on this server"
    st.caption(f"Device: these tensors live on `{torch.empty(0).device}`; CUDA is {gpu}. `.numpy()` needs a CPU "
               f"tensor; for one on another device torch says: *{dtype_casts.numpy_on_other_device()}*")
    code_panel(dtype_casts.numpy_code(ss["ty_n"], ss["ty_i"], ss["ty_v"], ss["ty_via"]))


PARTS = {"build": build_part, "families": families_part, "create": create_part, "cast": cast_part,
         "numpy": numpy_part}
PARTS[ss["ty_part"] or "build"]()
