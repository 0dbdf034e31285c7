"""core.strides against torch: strides, contiguity, view vs reshape, the round trip, squeeze and unsqueeze."""

import pytest
import torch

from core import strides
from core.parsing import InputError
from core.tensor_common import fmt_shape
from tests.helpers import run_panel, same_output


def test_transpose_then_view_fails_like_torch_and_reshape_copies():
    res = strides.reshape_chain((3, 4), "transpose", dims=(0, 1), second="view", new_shape=(-1,))
    with pytest.raises(RuntimeError) as exc:
        torch.arange(12).view(3, 4).t().view(-1)
    assert res.error == str(exc.value).splitlines()[0]
    x, y = res.steps
    assert (x.stride, y.stride) == ((4, 1), (1, 4))
    assert x.contiguous and not y.contiguous and y.shares_base
    res = strides.reshape_chain((3, 4), "transpose", second="reshape", new_shape=(-1,))
    z = res.steps[-1]
    assert z.shape == (12,) and not z.shares_base
    assert z.tensor.tolist() == torch.arange(12).view(3, 4).t().reshape(-1).tolist()


def test_offsets_are_sum_of_index_times_stride():
    res = strides.reshape_chain((2, 3, 4), "permute", dims=(2, 0, 1))
    y = res.steps[1]
    assert y.stride == torch.arange(24).view(2, 3, 4).permute(2, 0, 1).stride()
    assert torch.equal(y.offsets, y.tensor)  # x = arange, so each value is its own storage offset
    view = strides.reshape_chain((2, 6), second="view", new_shape=(3, -1)).steps[-1]
    assert view.shape == (3, 4) and view.shares_base and view.contiguous


def test_reshape_chain_rejects_impossible_shapes():
    with pytest.raises(InputError, match="holds 10 elements but the tensor has 12"):
        strides.reshape_chain((3, 4), second="view", new_shape=(2, 5))
    with pytest.raises(InputError, match="does not divide 12"):
        strides.reshape_chain((3, 4), second="reshape", new_shape=(5, -1))
    with pytest.raises(InputError, match="permute needs each dim"):
        strides.reshape_chain((3, 4), "permute", dims=(0, 0))


def test_transpose_round_trip_contaminates_in_the_wrong_order():
    rt = strides.transpose_round_trip((4, 3, 28, 28))
    assert rt.wrong_equal is False and rt.right_equal is True
    a = rt.a
    assert torch.equal(rt.wrong, a.transpose(1, 3).contiguous().view(4, 3 * 28 * 28).view(4, 3, 28, 28))
    assert torch.equal(rt.right, a)


def test_squeeze_and_unsqueeze_tables_match_torch():
    x = torch.zeros(1, 3, 1, 4)
    for row in strides.unsqueeze_table((1, 3, 1, 4)):
        assert row["result shape"] == fmt_shape(x.unsqueeze(row["dim"]).shape)
        assert x.unsqueeze(row["dim"]).shape == x.unsqueeze(row["same as dim"]).shape
    rows = strides.squeeze_table((1, 3, 1, 4))
    assert [r["dim"] for r in rows] == list(range(-4, 4))
    for row in rows:
        assert row["result shape"] == fmt_shape(x.squeeze(row["dim"]).shape)
        assert (row["effect"] == "removed") == (x.shape[row["dim"]] == 1)


@pytest.mark.parametrize(("shape", "first", "kw"), [
    ((3, 4), "transpose", {"dims": (0, 1), "second": "reshape", "new_shape": (-1,)}),
    ((3, 4), "transpose", {"dims": (0, 1), "second": "view", "new_shape": (-1,)}),
    ((2, 3, 4), "permute", {"dims": (2, 0, 1), "second": "contiguous"}),
    ((12,), "none", {"second": "view", "new_shape": (3, -1)}),
])
def test_reshape_panel_runs_even_when_view_fails(shape, first, kw):
    res = strides.reshape_chain(shape, first, **kw)
    code = strides.reshape_code(res)
    results = run_panel(code)  # a failing view is a comment, so the code runs to the end
    assert len(results) == len(res.steps) and all(same_output(*r[1:]) for r in results), results
    assert ("raises RuntimeError" in code) == (res.error is not None)
    assert [row["code"] for row in strides.layout_table(res)] == [res.exprs[s.name] for s in res.steps]


def test_round_trip_and_squeeze_panels():
    results = run_panel(strides.round_trip_code(strides.transpose_round_trip((2, 3, 2, 3))))
    assert [r[1] for r in results] == ["tensor(False)", "tensor(True)"]
    assert all(same_output(*r[1:]) for r in results)
    for shape, dim in [((1, 3, 1, 4), -1), ((5,), 0), ((1, 1), 2)]:
        sq = strides.squeeze_demo(shape, dim)
        assert sq.unsqueezed == tuple(torch.zeros(shape).unsqueeze(dim).shape)
        assert sq.squeezed == tuple(torch.zeros(shape).squeeze().shape)
        results = run_panel(strides.squeeze_code(sq))
        assert len(results) == 2 + len(shape) and all(same_output(*r[1:]) for r in results), results


def test_squeeze_note_explains_negative_dims():
    assert "`unsqueeze(-1)` is `unsqueeze(4)`" in strides.squeeze_demo((1, 3, 1, 4), -1).note()
    assert "the same as `unsqueeze(4)`" in strides.squeeze_demo((1, 3, 1, 4), 0).note()
