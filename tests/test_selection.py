"""core.selection against torch: topk, kthvalue, max, min, argmax, argmin, and the code panel."""

import pytest
import torch

from core import selection
from core.parsing import InputError
from tests.helpers import run_panel, same_output


def test_topk_matches_torch_and_marks_the_winners():
    x = selection.distinct_values((4, 6), seed=0)
    s = selection.select(x, "topk", k=3, dim=1)
    values, indices = torch.topk(x, 3, dim=1)
    assert torch.equal(s.values, values) and torch.equal(s.indices, indices)
    assert int(s.mask.sum()) == 12 and torch.equal(s.mask.sum(1), torch.full((4,), 3))
    assert torch.equal(x[s.rank == 1], values[:, 0])  # rank 1 is the largest of each row
    smallest = selection.select(x, "topk", k=2, dim=0, largest=False)
    assert torch.equal(smallest.values, torch.topk(x, 2, dim=0, largest=False).values)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_reductions_with_indices_match_torch(dim, keepdim):
    x = selection.distinct_values((3, 5), seed=2)
    kth = selection.select(x, "kthvalue", k=2, dim=dim, keepdim=keepdim)
    ref = torch.kthvalue(x, 2, dim=dim, keepdim=keepdim)
    assert torch.equal(kth.values, ref.values) and torch.equal(kth.indices, ref.indices)
    mx = selection.select(x, "max", dim=dim, keepdim=keepdim)
    ref = torch.max(x, dim=dim, keepdim=keepdim)
    assert torch.equal(mx.values, ref.values) and torch.equal(mx.indices, ref.indices)
    assert torch.equal(x[mx.mask].sort().values, ref.values.flatten().sort().values)
    am = selection.select(x, "argmin", dim=dim, keepdim=keepdim)
    assert torch.equal(am.indices, torch.argmin(x, dim=dim, keepdim=keepdim))


def test_argmax_without_dim_is_a_flat_index():
    x = selection.distinct_values((2, 3, 4), seed=1)
    s = selection.select(x, "argmax", dim=None)
    assert s.flat_index == int(x.argmax())
    assert x[s.unravelled] == x.max()
    assert int(s.mask.sum()) == 1 and x[s.mask].item() == x.max().item()
    m = selection.select(x, "min", dim=None)
    assert m.values == x.min() and x[m.unravelled] == x.min()


def test_select_rejects_bad_k_and_dim():
    x = selection.distinct_values((2, 3), seed=0)
    with pytest.raises(InputError, match="k=4 is out of range"):
        selection.select(x, "topk", k=4, dim=1)
    with pytest.raises(InputError, match="dim=2 does not exist"):
        selection.select(x, "max", dim=2)
    assert sorted(selection.distinct_values((3, 4), seed=5).flatten().tolist()) == list(range(12))


def test_call_names_only_the_arguments_that_matter():
    x = selection.distinct_values((4, 6), seed=0)
    assert selection.select(x, "topk", k=2, dim=1).call == "x.topk(2, dim=1)"
    assert selection.select(x, "topk", k=2, dim=-1, largest=False, keepdim=True).call == \
        "x.topk(2, dim=-1, largest=False)"  # topk keeps the dim anyway
    assert selection.select(x, "kthvalue", k=3, dim=0, keepdim=True).call == "x.kthvalue(3, dim=0, keepdim=True)"
    assert selection.select(x, "argmax", dim=None).call == "x.argmax()"


@pytest.mark.parametrize("op", selection.SELECT_OPS)
@pytest.mark.parametrize(("shape", "dim", "keepdim"), [((4, 6), 1, False), ((2, 3, 4), -1, True), ((7,), 0, False),
                                                        ((4, 6), None, False)])
def test_code_panel_prints_what_torch_returns(op, shape, dim, keepdim):
    if dim is None and op in ("topk", "kthvalue"):
        return
    x = selection.distinct_values(shape, seed=3)
    sel = selection.select(x, op, k=2, dim=dim, keepdim=keepdim, largest=not keepdim)
    flat, per_dim = selection.select(x, "argmax", dim=None), selection.select(x, "argmax", dim=len(shape) - 1)
    results = run_panel(selection.select_code(sel, 3, flat, per_dim))
    assert len(results) >= 4 and all(same_output(*r[1:]) for r in results), results


def test_panel_shows_argmax_as_torch_prints_it():
    x = selection.distinct_values((4, 6), seed=0)
    sel = selection.select(x, "topk", k=2, dim=1)
    code = selection.select_code(sel, 0, selection.select(x, "argmax", dim=None), selection.select(x, "argmax", dim=1))
    assert f"print(x.argmax(dim=1))  # {' '.join(str(x.argmax(dim=1)).split())}" in code  # tensor([...]), not a list
