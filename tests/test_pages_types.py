"""The Tensor types lesson through AppTest: dtypes, promotions, casts and shared memory shown on the page are
torch's own; bad input gives a message and keeps every setting."""

import numpy as np
import torch

from tests.helpers import codes, errors, figure, metrics, open_page, rerun, set_widgets, table

TYPES = "pages/09_tensor_types.py"


def part(at, name: str):
    at.session_state["ty_part"] = name
    return rerun(at)


def test_uint8_wraps_around_as_torch_does(app):
    at = open_page(app, TYPES)
    m = metrics(at)
    a = torch.tensor([250, 100, 3], dtype=torch.uint8)
    assert m["a.dtype"] == "uint8" and m["bytes each"] == "1" and m["bytes in all"] == "3" and m["stride"] == "(1,)"
    assert m["(a + b).dtype"] == "uint8"
    result = a + 10
    assert repr(result) in "\n".join(codes(at))  # tensor([  4, 110,  13], dtype=torch.uint8)
    (warning,) = [w.value for w in at.warning]
    assert "260" in warning and "wraps around modulo 256 to 4" in warning
    assert not errors(at)


def test_promotions_match_torch(app):
    at = open_page(app, TYPES)
    cases = [  # (a, a dtype, op, b, b kind, b dtype) -> torch computes the expected dtype
        ("1, 2, 3", "infer", "/", "2", "python", "infer"),
        ("1, 2, 3", "int32", "+", "2.5", "python", "infer"),
        ("1, 2, 3", "int8", "+", "1000", "tensor", "infer"),  # a 0-d int64 does not widen int8
        ("1, 2, 3", "int64", "*", "1.5", "tensor", "float64"),  # a 0-d float64 of a higher family decides
        ("1.5, 2", "float16", "+", "[1, 2]", "tensor", "float64"),  # two dimensioned tensors: the larger wins
        ("1, 2", "uint8", "+", "[1, 2]", "tensor", "int8"),  # neither holds the other: int16
        ("True, False", "infer", "<", "1", "python", "infer"),
    ]
    for a_text, a_dtype, op, b_text, kind, b_dtype in cases:
        set_widgets(at, ty_a=a_text, ty_adtype=a_dtype, ty_op=op, ty_bkind=kind)
        if kind == "tensor":
            set_widgets(at, ty_bdtype=b_dtype)
        set_widgets(at, ty_b=b_text)
        a = eval_free(a_text, a_dtype)
        b = eval_free(b_text, b_dtype) if kind == "tensor" else float(b_text) if "." in b_text else int(b_text)
        expected = {"+": a + b, "*": a * b, "/": a / b, "<": a < b}[op]
        assert metrics(at)[f"(a {op} b).dtype"] == str(expected.dtype).removeprefix("torch."), (a_text, op, b_text)
        assert not errors(at)


def eval_free(text: str, dtype: str) -> torch.Tensor:
    """The test's own reading of simple typed values (no parser of the app): '1, 2' or '[1, 2]' or '1000'."""
    body = text.strip("[]")
    items = [s.strip() for s in body.split(",")]
    values = [s == "True" if s in ("True", "False") else float(s) if "." in s else int(s) for s in items]
    value = values if ("," in text or "[" in text) else values[0]
    return torch.tensor(value, dtype=None if dtype == "infer" else getattr(torch, dtype))


def test_refusals_give_torch_words_and_keep_settings(app):
    at = open_page(app, TYPES)
    set_widgets(at, ty_adtype="bool", ty_b="True", ty_op="-", ty_bkind="tensor")
    (error,) = errors(at)
    assert "torch refuses" in error and "Subtraction" in error  # torch's own message for bool - bool
    set_widgets(at, ty_a="1, 2, 3", ty_adtype="infer", ty_op="+", ty_b="[1, 2]")
    assert "must match the size" in errors(at)[0]
    set_widgets(at, ty_a="2, a")
    assert "`a` is not a number" in errors(at)[0]
    assert at.session_state["ty_op"] == "+" and at.session_state["ty_b"] == "[1, 2]"
    set_widgets(at, ty_a="300", ty_adtype="uint8")
    assert "refuses these numbers as uint8" in errors(at)[0]
    set_widgets(at, ty_a="1, 2", ty_bkind="python", ty_b="1, 2")
    assert "A Python number is one number" in errors(at)[0]


def test_equal_vs_eq(app):
    at = open_page(app, TYPES)
    set_widgets(at, ty_a="1, 2", ty_adtype="infer", ty_op="==", ty_bkind="tensor")
    set_widgets(at, ty_bdtype="float32", ty_b="[1, 2]")
    assert metrics(at)["(a == b).dtype"] == "bool"
    caption = " ".join(c.value for c in at.caption)
    assert f"**{torch.equal(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))}**" in caption


def test_families_table_and_memory(app):
    at = open_page(app, TYPES)
    part(at, "families")
    t = table(at, "bytes")
    got = dict(zip(t["dtype"], t["bytes"], strict=True))
    assert got["torch.float16"] == 2 and got["torch.float64"] == 8 and got["torch.bool"] == 1
    assert dict(zip(t["dtype"], t["max"], strict=True))["torch.uint8"] == "255"
    set_widgets(at, ty_numel=25_557_032)
    bars = figure(at, "25,557,032 elements")["data"][0]
    sizes = dict(zip(bars["y"], bars["x"], strict=True))
    assert sizes["float32"] == 25_557_032 * torch.empty((), dtype=torch.float32).element_size()
    assert sizes["bfloat16"] == 2 * 25_557_032


def test_constructors_show_inferred_dtypes(app):
    at = open_page(app, TYPES)
    part(at, "create")
    set_widgets(at, ty_cvals="1.5, 2", ty_shape="3,2")
    t = table(at, "code")
    dtype = dict(zip(t["code"], t["dtype"], strict=True))
    shape = dict(zip(t["code"], t["shape"], strict=True))
    assert dtype["torch.tensor([1.5, 2])"] == str(torch.tensor([1.5, 2]).dtype).removeprefix("torch.")
    assert dtype["torch.Tensor(3, 2)"] == "float32" and shape["torch.Tensor(3, 2)"] == "(3, 2)"
    assert shape["torch.tensor(1.5)"] == "()" and shape["torch.tensor([1.5])"] == "(1,)"
    set_widgets(at, ty_shape="0,-1")
    assert errors(at) and at.session_state["ty_cvals"] == "1.5, 2"


def test_casts_match_torch(app):
    at = open_page(app, TYPES)
    part(at, "cast")
    values = [-2.7, -0.5, 0.1, 2.5, 300, 70000]
    x = torch.tensor(values)
    t = table(at, "cast").set_index("cast")
    assert list(t.loc[".half()"]) == [f"{v:.10g}" if np.isfinite(v) else str(v) for v in x.half().tolist()]
    assert list(t.loc[".long()"]) == [str(v) for v in x.long().tolist()]
    assert list(t.loc[".to(torch.uint8)"]) == ["out of range", "0", "0", "2", "out of range", "out of range"]
    assert t.loc[".half()", "x[5]"] == "inf" and t.loc[".bfloat16()", "x[5]"] == "70144"
    m = metrics(at)
    assert m["x.to(x.dtype) is x"] == str(x.to(x.dtype) is x) == "True"
    assert m["x.to(x.dtype, copy=True) is x"] == "False" and m["x.dtype after x.to(other)"] == "float32"
    set_widgets(at, ty_xvals="1, 300, -1")  # integers: narrowing wraps around
    t = table(at, "cast").set_index("cast")
    assert list(t.loc[".to(torch.uint8)"]) == ["1", "44 (wrapped)", "255 (wrapped)"]


def test_numpy_memory_is_shared_or_copied(app):
    at = open_page(app, TYPES)
    part(at, "numpy")
    set_widgets(at, ty_n=6, ty_i=2, ty_v=7.0)
    t = table(at, "code")
    rows = {code: (list(values), bool(shares)) for code, values, shares in zip(t["code"], t["values"], t["shares"], strict=True)}
    arr = np.arange(6, dtype=np.float64)
    shared, copied = torch.from_numpy(arr), torch.tensor(arr)
    arr[2] = 7.0
    assert rows["torch.from_numpy(arr)"] == (shared.tolist(), True)
    assert rows["torch.tensor(arr)"] == (copied.tolist(), False)
    set_widgets(at, ty_via=True, ty_i=-1)  # through the tensor: the array changes too
    assert "arr = [0.0, 1.0, 2.0, 3.0, 4.0, 7.0]" in codes(at)[0]
    set_widgets(at, ty_n=3, ty_i=8)
    assert "out of range" in errors(at)[0]
    assert at.session_state["ty_v"] == 7.0
