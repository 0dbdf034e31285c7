"""Tensor types against torch: the promotion rules in words give torch.result_type's dtype for every pair, the
notes tell the truth about wrap-around and rounding, casts and shared memory are torch's and NumPy's own."""

import itertools

import numpy as np
import pytest
import torch

from core import dtype_casts, dtypes
from core.parsing import InputError, parse_literal

PYTHON_NUMBERS = (True, 3, 2.5)


def operands(dtype: torch.dtype):
    """A dimensioned tensor and a 0-d tensor of this dtype."""
    v = True if dtype == torch.bool else 1
    return torch.tensor([v], dtype=dtype), torch.tensor(v, dtype=dtype)


def test_promote_matches_result_type_for_every_pair():
    checked = 0
    for da, db in itertools.product(dtypes.DTYPES.values(), repeat=2):
        for a, b in itertools.product(operands(da), operands(db)):
            assert dtypes.promote(a, b)[0] == torch.result_type(a, b), (a, b)
            checked += 1
    for da in dtypes.DTYPES.values():
        for a, number in itertools.product(operands(da), PYTHON_NUMBERS):
            assert dtypes.promote(a, number)[0] == torch.result_type(a, number), (a, number)
            checked += 1
    assert checked == len(dtypes.DTYPES) ** 2 * 4 + len(dtypes.DTYPES) * 2 * 3


@pytest.mark.parametrize("op", list(dtypes.OPS))
def test_result_dtype_is_the_dtype_torch_returns(op):
    for da, db in itertools.product(dtypes.DTYPES.values(), repeat=2):
        a, b = torch.tensor([3, 2], dtype=da), torch.tensor(2, dtype=db)
        run = dtypes.operate(a, b, op)
        if run.error is None:
            assert run.result.dtype == run.dtype == dtypes.result_dtype(a, b, op)[0], (da, db, op)
            assert torch.equal(run.result, dtypes.OPS[op](a, b))


def test_wrap_around_and_rounding_notes():
    run = dtypes.operate(torch.tensor([250, 100], dtype=torch.uint8), 10, "+")
    assert run.result.tolist() == [4, 110] and "260" in run.note and "modulo 256 to 4" in run.note
    run = dtypes.operate(torch.tensor([100], dtype=torch.int8), torch.tensor(1000), "+")  # 0-d int64 keeps int8
    assert run.dtype == torch.int8 and run.result.item() == (1100 + 128) % 256 - 128 == 76 and "1,100" in run.note
    run = dtypes.operate(torch.tensor([3, 4], dtype=torch.uint8), 10, "-")
    assert run.result.tolist() == [249, 250] and "-7" in run.note
    run = dtypes.operate(torch.tensor([1.0, 2.0], dtype=torch.float16), 70000.0, "*")
    assert torch.isinf(run.result).all() and "65504" in run.note
    run = dtypes.operate(torch.tensor([1, 2]), torch.tensor([3, 3]), "/")
    assert run.dtype == torch.float32 and "rounds" in run.note  # 1/3 in float32
    assert dtypes.operate(torch.tensor([1, 2]), 1, "+").note is None


def test_refusals_are_torch_messages():
    run = dtypes.operate(torch.tensor([True]), torch.tensor([False]), "-")
    assert run.result is None and "Subtraction" in run.error
    run = dtypes.operate(torch.tensor([1, 2, 3]), torch.tensor([1, 2]), "+")
    assert "must match" in run.error
    assert dtypes.operate(torch.tensor([1, 2]), 0, "//").error  # integer division by zero
    with pytest.raises(InputError, match="uint8"):
        dtypes.build(300, "uint8")
    with pytest.raises(InputError, match="one number"):
        dtypes.operand([1, 2], "infer", "python")
    with pytest.raises(InputError):
        dtypes.operate(torch.tensor([1]), 1, "**")


def test_build_infers_as_torch_tensor_does():
    for text, expected in (("1, 2", torch.int64), ("1, 2.0", torch.float32), ("True, False", torch.bool),
                           ("True, 2", torch.int64), ("1e3", torch.float32)):
        assert dtypes.build(parse_literal(text)).dtype == expected, text
    t = dtypes.build(parse_literal("1, 2; 3, 4"), "int16")
    assert dtypes.facts(t) == dtypes.Facts("int16", 2, 4, 8, "(2, 2)", 2, "(2, 1)")
    assert dtypes.build(parse_literal("5")).dim() == 0


def test_parse_literal_keeps_python_types():
    assert parse_literal("1, 2.5; True, 4") == [[1, 2.5], [True, 4]]
    assert parse_literal("[[1, 2], [3, 4]]") == [[1, 2], [3, 4]]
    assert parse_literal("7") == 7 and isinstance(parse_literal("7"), int)
    assert parse_literal("[7]") == [7] and parse_literal("7,") == [7]
    for bad in ("", "abc", "[1, 2", "[1, [2]]", "1; 2, 3", "9" * 30, "__import__('os')"):
        with pytest.raises(InputError):
            parse_literal(bad)
    with pytest.raises(InputError, match="at most 4"):
        parse_literal("1 2 3 4 5", max_elements=4)


def test_dtype_table_and_memory_are_torchs():
    rows = {r["dtype"]: r for r in dtypes.dtype_table()}
    assert rows["torch.int16"]["max"] == f"{torch.iinfo(torch.int16).max:,}"
    assert rows["torch.float32"]["step near 1"] == f"{torch.finfo(torch.float32).eps:.3g}"
    assert dtypes.memory(1000) == {k: torch.zeros(1000, dtype=d).nbytes for k, d in dtypes.DTYPES.items()}


def test_casts_are_torchs_and_out_of_range_is_marked():
    x = torch.tensor([-2.7, 0.1, 300.0, float("inf")])
    table = dtype_casts.cast_table(x)
    assert table[".long()"][:3] == ["-2", "0", "300"] and table[".long()"][3] == "out of range"
    assert table[".to(torch.uint8)"] == ["out of range", "0", "out of range", "out of range"]
    assert table[".half()"][1] == f"{torch.tensor(0.1).half().item():.10g}" == "0.09997558594"
    assert table[".bool()"] == ["True"] * 4
    facts = dtype_casts.to_facts(x)
    assert facts.same_is_x and not facts.copy_is_x and not facts.other_is_x and facts.x_dtype_after == "float32"


def test_constructors_report_what_torch_made():
    made = {m.code: m for m in dtype_casts.constructors([1, 2], (2, 3))}
    assert made["torch.tensor([1, 2])"].dtype == "int64"
    assert made["torch.Tensor([1, 2])"].dtype == "float32" and made["torch.Tensor([1, 2])"].values == "[1.0, 2.0]"
    assert made["torch.Tensor(2, 3)"].shape == "(2, 3)" and "uninitialised" in made["torch.Tensor(2, 3)"].values
    assert made["torch.tensor(1)"].dim == 0 and made["torch.tensor([1])"].shape == "(1,)"
    with pytest.raises(InputError):
        dtype_casts.constructors([1], (1000, 1000))


def test_numpy_sharing_is_numpys():
    arr, rows = dtype_casts.numpy_sharing(4, 1, 9.0, through_tensor=False)
    by = {r.code: r for r in rows}
    assert arr == [0.0, 9.0, 2.0, 3.0]
    assert by["torch.from_numpy(arr)"].values == arr and by["torch.from_numpy(arr)"].shares
    assert by["torch.as_tensor(arr)"].shares and by["torch.as_tensor(arr)"].dtype == "float64"
    assert not by["torch.tensor(arr)"].shares and by["torch.tensor(arr)"].values == [0.0, 1.0, 2.0, 3.0]
    assert by["torch.from_numpy(arr).float()"].dtype == "float32" and not by["torch.from_numpy(arr).float()"].shares
    arr, rows = dtype_casts.numpy_sharing(4, -1, 5.0, through_tensor=True)
    assert arr[-1] == 5.0 == np.float64(rows[0].values[-1])
    with pytest.raises(InputError, match="out of range"):
        dtype_casts.numpy_sharing(3, 3, 1.0, through_tensor=False)
