"""core.indexing against torch: slicing (views), index_select, masked_select, take (copies), the code panel."""

import pytest
import torch

from core import indexing
from core.parsing import InputError
from core.tensor_common import source_ids
from tests.helpers import run_panel, same_output


@pytest.mark.parametrize("items", [(slice(1, 3), slice(None, None, 2)), (Ellipsis, -1), (0,), (slice(None), None),
                                   (Ellipsis, None, slice(1, 4, 2)), (slice(10, 20),)])
def test_index_matches_torch(items):
    x = torch.arange(20).reshape(4, 5)
    p = indexing.index(x, items)
    assert torch.equal(p.result, x[items])
    assert torch.equal(p.ids, x[items])  # x holds its own flat ids
    assert set(x[p.mask].tolist()) == set(x[items].flatten().tolist())
    assert p.shares  # basic slicing never copies


def test_index_text_writes_the_same_index_back():
    x = torch.arange(60).reshape(3, 4, 5)
    for items in [(slice(1, 3), slice(None, None, 2)), (Ellipsis, -1), (0, None), (slice(None), slice(2, None)),
                  (Ellipsis, None, slice(None, 4, 3))]:
        text = indexing.index_text(items)
        assert torch.equal(eval(f"x[{text}]", {"x": x}), x[items]), text  # our own text, never user input
    assert indexing.index_text((slice(1, 3), Ellipsis)) == "1:3, ..."


def test_index_errors_are_torch_s():
    x = torch.arange(20).reshape(4, 5)
    with pytest.raises(InputError, match="index 5 is out of bounds for dimension 1 with size 5"):
        indexing.index(x, (Ellipsis, 5))


def test_index_select_masked_select_take_match_torch():
    x = torch.arange(20).reshape(4, 5)
    p = indexing.index_select(x, 1, [0, 2, 2])
    assert torch.equal(p.result, x.index_select(1, torch.tensor([0, 2, 2]))) and not p.shares
    assert int(p.mask.sum()) == 8
    with pytest.raises(InputError, match="index 5 is out of range for dim 1"):
        indexing.index_select(x, 1, [5])
    p = indexing.masked_select(x, ">", 10)
    assert torch.equal(p.result, torch.masked_select(x, x > 10)) and p.result.dim() == 1
    p = indexing.take(x, [0, 7, -1])
    assert p.result.tolist() == torch.take(x, torch.tensor([0, 7, -1])).tolist() == [0, 7, 19]
    with pytest.raises(InputError, match="20 elements"):
        indexing.take(x, [20])


@pytest.mark.parametrize(("picked", "expr"), [
    (lambda x: indexing.index(x, (slice(1, 3), slice(None, None, 2))), "x[1:3, ::2]"),
    (lambda x: indexing.index_select(x, 1, [0, 2, 2]), "x.index_select(1, torch.tensor([0, 2, 2]))"),
    (lambda x: indexing.masked_select(x, ">", 10.0), "torch.masked_select(x, x > 10)"),
    (lambda x: indexing.take(x, [0, 7, -1]), "torch.take(x, torch.tensor([0, 7, -1]))"),
])
def test_code_panel_runs_the_shown_expression(picked, expr):
    x = source_ids((4, 5))
    p = picked(x)
    assert p.expr == expr
    assert torch.equal(eval(expr, {"torch": torch, "x": x}), p.result)  # our own generated code
    code = indexing.index_code(x, p)
    results = run_panel(code)
    assert [r[1] for r in results] == [str(p.result.shape), str(p.shares)]
    assert all(same_output(*r[1:]) for r in results), results
