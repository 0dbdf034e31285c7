"""core.combine against torch: cat, stack, split and chunk, their messages, and the code panels."""

import random

import pytest
import torch

from core import combine
from core.parsing import InputError
from tests.helpers import run_panel, same_output


def test_cat_and_stack_agree_with_torch_on_random_shapes():
    rng = random.Random(4)
    for _ in range(200):
        nd = rng.randint(1, 3)
        base = [rng.randint(1, 3) for _ in range(nd)]
        shapes = []
        for _ in range(rng.randint(1, 3)):
            s = list(base)
            if rng.random() < 0.5:
                s[rng.randrange(nd)] = rng.randint(1, 3)
            shapes.append(tuple(s))
        dim = rng.randint(-(nd + 1), nd)
        tensors = combine.make_inputs(shapes)
        for op, fn in (("cat", torch.cat), ("stack", torch.stack)):
            joined = getattr(combine, op)(shapes, dim)
            try:
                expected = fn(tensors, dim)
            except (RuntimeError, IndexError) as exc:
                assert joined.result is None and joined.error == str(exc).splitlines()[0], (op, shapes, dim)
                assert joined.reason
                continue
            assert torch.equal(joined.result, expected), (op, shapes, dim)
            for k, t in enumerate(tensors):  # the owner map says where each input's cells went
                assert sorted(joined.result[joined.owner == k].tolist()) == sorted(t.flatten().tolist())


def test_cat_stack_messages():
    j = combine.cat([(2, 3), (2, 4)], 0)
    assert "Tensor 1 has size 4 in dim 1 but tensor 0 has 3" in j.reason
    assert j.algebra == "(2, 3) + (2, 4) along dim 0 -> error"
    assert combine.cat([(2, 3), (4, 3)], 0).algebra == "(2, 3) + (4, 3) along dim 0 -> (6, 3)"
    assert combine.stack([(2, 3), (2, 3)], 1).shape == (2, 2, 3)
    assert "every shape must be the same" in combine.stack([(2, 3), (4, 3)], 0).reason


@pytest.mark.parametrize(("kw", "reference"), [
    ({"size": 2}, lambda x: x.split(2, dim=0)),
    ({"sizes": [1, 3, 1]}, lambda x: x.split([1, 3, 1], dim=0)),
    ({"chunks": 4}, lambda x: x.chunk(4, dim=0)),
])
def test_split_and_chunk_match_torch(kw, reference):
    res = combine.split((5, 4), 0, **kw)
    x = torch.arange(20).reshape(5, 4)
    expected = reference(x)
    assert len(res.pieces) == len(expected)
    assert all(torch.equal(p, e) for p, e in zip(res.pieces, expected, strict=True))
    assert res.shares
    for k, p in enumerate(res.pieces):
        assert torch.equal(x[res.owner == k], p.flatten())


def test_chunk_may_return_fewer_pieces_and_split_list_must_cover():
    assert [p.shape[0] for p in combine.split((5, 2), 0, chunks=4).pieces] == [2, 2, 1]
    with pytest.raises(InputError, match="add up to 2, but dim 0 has size 5"):
        combine.split((5, 4), 0, sizes=[1, 1])
    with pytest.raises(InputError, match="dim=2 does not exist"):
        combine.split((5, 4), 2, size=1)


@pytest.mark.parametrize(("shapes", "dim"), [([(2, 3), (2, 3)], 0), ([(2, 3), (4, 3)], 0), ([(3, 2)] * 3, -1),
                                             ([(2, 3), (4, 1)], 0)])
def test_join_panel_prints_torch_s_shapes(shapes, dim):
    joined = [combine.cat(shapes, dim), combine.stack(shapes, dim)]
    code = combine.join_code(shapes, dim, joined)
    results = run_panel(code)
    assert len(results) == sum(j.shape is not None for j in joined)
    assert all(same_output(*r[1:]) for r in results), results
    assert code.count("raises:") == sum(j.error is not None for j in joined)


@pytest.mark.parametrize("kw", [{"size": 2}, {"sizes": [1, 3, 1]}, {"chunks": 4}])
def test_split_panel_prints_the_pieces_shapes(kw):
    res = combine.split((5, 4), 0, **kw)
    results = run_panel(combine.split_code((5, 4), res))
    assert results[0][1] == str([p.shape for p in res.pieces]) and same_output(*results[0][1:])
