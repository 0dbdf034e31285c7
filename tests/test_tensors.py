"""core.tensors against torch itself: every explanation must agree with what torch computes or raises."""

import math
import random
import re

import pytest
import torch

from core import tensors as T
from core.parsing import InputError


def _random_shape(rng: random.Random, max_dims: int = 5) -> tuple[int, ...]:
    return tuple(rng.choice([1, 1, 2, 3, 4]) for _ in range(rng.randint(0, max_dims)))


# ---------------------------------------------------------------------------------------------------------
# Broadcasting


def _torch_failing_dim(a, b) -> int | None:
    try:
        torch.zeros(a) + torch.zeros(b)
    except RuntimeError as exc:
        return int(re.search(r"non-singleton dimension (\d+)", str(exc)).group(1))
    return None


PAIRS = [((4, 32, 14, 14), (32, 1, 1)), ((3, 1), (1, 4)), ((5, 4), (4,)), ((4, 32, 14, 14), (3, 1, 1)),
         ((2, 3), (3, 2)), ((1,), (7,)), ((), (2, 3)), ((2, 1, 3), (4, 1)), ((8, 1, 6, 1), (7, 1, 5)),
         ((5, 0), (1,)), ((0,), (3,))]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_broadcast_matches_torch_on_known_pairs(a, b):
    bc = T.broadcast(a, b)
    try:
        expected = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        expected = None
    assert bc.shape == expected
    assert bc.agrees
    if expected is not None:
        assert tuple((torch.zeros(a) + torch.zeros(b)).shape) == bc.shape
    else:
        assert bc.clashes[0].axis == _torch_failing_dim(a, b)
        assert f"Dimension {bc.clashes[0].axis} of the result" in bc.reason()


def test_broadcast_matches_torch_on_random_pairs():
    rng = random.Random(0)
    failures = 0
    for _ in range(400):
        a, b = _random_shape(rng), _random_shape(rng)
        bc = T.broadcast(a, b)
        assert bc.agrees, (a, b)
        try:
            expected = tuple(torch.broadcast_shapes(a, b))
        except RuntimeError:
            expected = None
            failures += 1
            # torch names the right-most clash, counted from the left of the result: so do we
            assert bc.clashes[0].axis == _torch_failing_dim(a, b), (a, b)
        assert bc.shape == expected, (a, b)
    assert 50 < failures < 350  # both outcomes were exercised


def test_broadcast_roles_for_the_image_bias_example():
    bc = T.broadcast((4, 32, 14, 14), (32, 1, 1))
    assert [(d.a_role, d.b_role) for d in bc.dims] == [
        (T.KEPT, T.INSERTED), (T.KEPT, T.KEPT), (T.KEPT, T.STRETCHED), (T.KEPT, T.STRETCHED)]
    assert [d.neg for d in bc.dims] == [-4, -3, -2, -1]
    assert bc.steps()[0].startswith("dim 3 (= -1): A 14, B 1 -> 14")
    assert "B gets a new size-1 dim, stretched to 4" in bc.steps()[-1]


def test_broadcast_reason_names_every_clash():
    bc = T.broadcast((2, 3, 5), (4, 3, 6))
    assert [d.axis for d in bc.clashes] == [2, 0]
    assert "Dimension 2 of the result" in bc.reason() and "0 (2 vs 4)" in bc.reason()
    assert bc.torch_error == "The size of tensor a (5) must match the size of tensor b (6) at non-singleton dimension 2"


def test_example_shapes_broadcast_like_the_originals():
    rng = random.Random(1)
    checked = 0
    for _ in range(300):
        a = tuple(rng.choice([1, 2, 5, 32]) for _ in range(rng.randint(1, 4)))
        b = tuple(rng.choice([1, 2, 5, 32]) for _ in range(rng.randint(1, 4)))
        bc = T.broadcast(a, b)
        if not bc.ok:
            continue
        checked += 1
        for cap in (2, 3):
            sa, sb = T.example_shapes(bc, cap)
            small = T.broadcast(sa, sb)
            assert small.ok and len(sa) == len(a) and len(sb) == len(b)
            assert [d.a_role for d in small.dims] == [d.a_role for d in bc.dims]
            assert [d.b_role for d in small.dims] == [d.b_role for d in bc.dims]
            assert max(small.shape) <= max(cap, 1)
    assert checked > 50


def test_example_values_read_as_b_then_a():
    ex = T.broadcast_example((3, 3, 3, 3), (3, 1, 1))
    assert torch.equal(ex.out, ex.a + ex.b)
    assert ex.scale == 100  # a holds 0..80
    assert torch.equal(ex.out // ex.scale, (ex.b // ex.scale).expand(ex.out.shape))
    assert torch.equal(ex.out % ex.scale, ex.a.expand(ex.out.shape))
    assert T.broadcast_example((2, 1), (3,)).out.tolist() == [[10, 20, 30], [11, 21, 31]]


def test_expand_is_a_view_and_repeat_a_copy():
    r = T.expand_vs_repeat((32, 1, 1), (4, 32, 14, 14))
    x = torch.zeros(32, 1, 1)
    assert r.expand_stride == x.expand(4, 32, 14, 14).stride() == (0, 1, 0, 0)
    assert r.expand_bytes == r.source_bytes == 32 * 4
    assert r.expand_shares and r.expand_sees_write
    assert r.repeats == (4, 1, 14, 14)
    assert r.repeat_stride == x.repeat(4, 1, 14, 14).stride()
    assert r.repeat_bytes == 4 * 32 * 14 * 14 * 4
    assert r.repeat_shares is False and r.repeat_sees_write is False


def test_repeat_is_skipped_when_it_would_copy_too_much():
    r = T.expand_vs_repeat((1000, 1), (1000, 2000))
    assert r.repeat_skipped and "2,000,000" in r.repeat_skipped
    assert r.repeat_bytes is None and r.expand_bytes == 4000
    with pytest.raises(InputError, match="neither 1 nor"):
        T.expand_vs_repeat((3, 2), (3, 4))


# ---------------------------------------------------------------------------------------------------------
# gather


def test_gather_worked_example():
    g = T.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]]))
    assert g.out.tolist() == [[1, 1], [4, 3]]
    assert g.rule() == "out[i][j] = input[i][index[i][j]]"
    assert g.explain((1, 0)) == "out[1][0] = input[1][index[1][0]] = input[1][1] = 4"
    assert g.sources[1, 0].tolist() == [1, 1]


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gather_sources_point_at_the_copied_cells(dim):
    gen = torch.Generator().manual_seed(dim + 5)
    x = torch.randn(3, 4, 5, generator=gen)
    shape = [2, 3, 4]
    shape[dim] = 6  # along dim, index may be longer than input
    index = torch.randint(0, x.shape[dim], shape, generator=gen)
    g = T.gather(x, dim, index)
    assert torch.equal(g.out, torch.gather(x, dim, index))
    src = g.sources.reshape(-1, 3)
    assert torch.equal(x[src[:, 0], src[:, 1], src[:, 2]], g.out.reshape(-1))


def test_gather_rule_for_dim_0():
    g = T.gather(torch.tensor([[10, 11, 12], [20, 21, 22], [30, 31, 32]]), 0, torch.tensor([[2, 0, 1], [0, 0, 2]]))
    assert g.rule() == "out[i][j] = input[index[i][j]][j]"
    assert g.out.tolist() == [[30, 11, 22], [10, 11, 32]]


def test_gather_checks_agree_with_torch_on_random_cases():
    rng = random.Random(3)
    raised = 0
    for _ in range(300):
        nd = rng.randint(1, 3)
        shape = tuple(rng.randint(1, 4) for _ in range(nd))
        index_nd = nd if rng.random() < 0.85 else rng.choice([d for d in (1, 2, 3) if d != nd])
        index_shape = tuple(rng.randint(1, 5) for _ in range(index_nd))
        dim = rng.randint(-nd, nd - 1)
        size = shape[dim]
        index = torch.tensor([rng.randint(-1, size) if rng.random() < 0.1 else rng.randint(0, size - 1)
                              for _ in range(math.prod(index_shape))]).reshape(index_shape)
        x = torch.arange(math.prod(shape)).reshape(shape)
        try:
            expected = torch.gather(x, dim, index)
        except (RuntimeError, IndexError):
            expected = None
        if expected is None:
            raised += 1
            with pytest.raises(InputError):
                T.gather(x, dim, index)
        else:
            assert torch.equal(T.gather(x, dim, index).out, expected)
    assert 30 < raised < 270


def test_gather_messages_name_the_problem():
    x = torch.tensor([[1, 2], [3, 4]])
    with pytest.raises(InputError, match=r"index\[0, 1\] = 2 is out of range.*0\.\.1"):
        T.gather(x, 1, torch.tensor([[0, 2], [1, 0]]))
    with pytest.raises(InputError, match="index has 1 dimension but input has 2"):
        T.gather(x, 1, torch.tensor([0, 1]))
    with pytest.raises(InputError, match="index has size 3 in dim 0 but input has only 2"):
        T.gather(x, 1, torch.tensor([[0], [1], [0]]))
    with pytest.raises(InputError, match="dim=2 does not exist"):
        T.gather(x, 2, torch.tensor([[0]]))


def test_label_probability_preset_picks_each_rows_label():
    p = T.gather_presets(seed=0)["label"]
    probs, labels = torch.tensor(p.input), torch.tensor(p.index).squeeze(1)
    g = T.gather(probs, p.dim, torch.tensor(p.index))
    assert torch.equal(g.out.squeeze(1), probs[torch.arange(4), labels])
    assert torch.allclose(probs.sum(1), torch.ones(4), atol=0.03)  # rows are (rounded) probabilities


def test_random_gather_index_is_valid_for_its_dim():
    for dim in (0, 1, -1):
        x, index = T.random_gather(3, 5, 4, 2, dim, seed=7)
        assert x.shape == (3, 5) and index.shape == (4, 2)
        assert int(index.max()) < x.shape[dim]


# ---------------------------------------------------------------------------------------------------------
# topk, kthvalue, max, argmax


def test_topk_matches_torch_and_marks_the_winners():
    x = T.distinct_values((4, 6), seed=0)
    s = T.select(x, "topk", k=3, dim=1)
    values, indices = torch.topk(x, 3, dim=1)
    assert torch.equal(s.values, values) and torch.equal(s.indices, indices)
    assert int(s.mask.sum()) == 12 and torch.equal(s.mask.sum(1), torch.full((4,), 3))
    assert torch.equal(x[s.rank == 1], values[:, 0])  # rank 1 is the largest of each row
    smallest = T.select(x, "topk", k=2, dim=0, largest=False)
    assert torch.equal(smallest.values, torch.topk(x, 2, dim=0, largest=False).values)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_reductions_with_indices_match_torch(dim, keepdim):
    x = T.distinct_values((3, 5), seed=2)
    kth = T.select(x, "kthvalue", k=2, dim=dim, keepdim=keepdim)
    ref = torch.kthvalue(x, 2, dim=dim, keepdim=keepdim)
    assert torch.equal(kth.values, ref.values) and torch.equal(kth.indices, ref.indices)
    mx = T.select(x, "max", dim=dim, keepdim=keepdim)
    ref = torch.max(x, dim=dim, keepdim=keepdim)
    assert torch.equal(mx.values, ref.values) and torch.equal(mx.indices, ref.indices)
    assert torch.equal(x[mx.mask].sort().values, ref.values.flatten().sort().values)
    am = T.select(x, "argmin", dim=dim, keepdim=keepdim)
    assert torch.equal(am.indices, torch.argmin(x, dim=dim, keepdim=keepdim))


def test_argmax_without_dim_is_a_flat_index():
    x = T.distinct_values((2, 3, 4), seed=1)
    s = T.select(x, "argmax", dim=None)
    assert s.flat_index == int(x.argmax())
    assert x[s.unravelled] == x.max()
    assert int(s.mask.sum()) == 1 and x[s.mask].item() == x.max().item()
    m = T.select(x, "min", dim=None)
    assert m.values == x.min() and x[m.unravelled] == x.min()


def test_select_rejects_bad_k_and_dim():
    x = T.distinct_values((2, 3), seed=0)
    with pytest.raises(InputError, match="k=4 is out of range"):
        T.select(x, "topk", k=4, dim=1)
    with pytest.raises(InputError, match="dim=2 does not exist"):
        T.select(x, "max", dim=2)
    assert sorted(T.distinct_values((3, 4), seed=5).flatten().tolist()) == list(range(12))


# ---------------------------------------------------------------------------------------------------------
# Creation


@pytest.mark.parametrize("kind", T.CREATORS)
def test_create_matches_the_shown_call(kind):
    made = T.create(kind, shape=(3, 4), start=1, end=3, step=0.5, steps=5, base=2, low=-2, high=5, fill=7, n=4,
                    seed=11)
    namespace = {"torch": torch, "g": torch.Generator().manual_seed(11)}
    shown = eval(made.call, namespace)  # our own generated code, never user text
    assert torch.equal(shown, made.tensor)
    assert made.random == ("generator=g" in made.call)


def test_create_values():
    assert T.create("arange", start=0, end=5, step=2).tensor.tolist() == [0, 2, 4]
    assert T.create("linspace", start=0, end=1, steps=5).tensor.tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert T.create("logspace", start=0, end=3, steps=4, base=10).tensor.tolist() == [1, 10, 100, 1000]
    assert torch.equal(T.create("eye", n=3).tensor, torch.eye(3))
    assert sorted(T.create("randperm", n=6, seed=3).tensor.tolist()) == list(range(6))


def test_create_refuses_bad_input():
    with pytest.raises(InputError, match="goes the wrong way"):
        T.create("arange", start=0, end=10, step=-1)
    with pytest.raises(InputError, match="step other than 0"):
        T.create("arange", step=0)
    with pytest.raises(InputError, match="low < high"):
        T.create("randint", low=5, high=5)
    with pytest.raises(InputError, match="at most 1,000,000"):
        T.create("rand", shape=(2000, 2000))
    with pytest.raises(InputError, match="at most 1,000,000"):
        T.create("arange", start=0, end=1e7, step=1)
    with pytest.raises(InputError, match="negative"):
        T.create("linspace", steps=-1)


# ---------------------------------------------------------------------------------------------------------
# Indexing


@pytest.mark.parametrize("items", [(slice(1, 3), slice(None, None, 2)), (Ellipsis, -1), (0,), (slice(None), None),
                                   (Ellipsis, None, slice(1, 4, 2)), (slice(10, 20),)])
def test_index_matches_torch(items):
    x = torch.arange(20).reshape(4, 5)
    p = T.index(x, items)
    assert torch.equal(p.result, x[items])
    assert torch.equal(p.ids, x[items])  # x holds its own flat ids
    assert set(x[p.mask].tolist()) == set(x[items].flatten().tolist())
    assert p.shares  # basic slicing never copies


def test_index_text_writes_the_same_index_back():
    x = torch.arange(60).reshape(3, 4, 5)
    for items in [(slice(1, 3), slice(None, None, 2)), (Ellipsis, -1), (0, None), (slice(None), slice(2, None)),
                  (Ellipsis, None, slice(None, 4, 3))]:
        text = T.index_text(items)
        assert torch.equal(eval(f"x[{text}]", {"x": x}), x[items]), text  # our own text, never user input
    assert T.index_text((slice(1, 3), Ellipsis)) == "1:3, ..."


def test_index_errors_are_torch_s():
    x = torch.arange(20).reshape(4, 5)
    with pytest.raises(InputError, match="index 5 is out of bounds for dimension 1 with size 5"):
        T.index(x, (Ellipsis, 5))


def test_index_select_masked_select_take_match_torch():
    x = torch.arange(20).reshape(4, 5)
    p = T.index_select(x, 1, [0, 2, 2])
    assert torch.equal(p.result, x.index_select(1, torch.tensor([0, 2, 2]))) and not p.shares
    assert int(p.mask.sum()) == 8
    with pytest.raises(InputError, match="index 5 is out of range for dim 1"):
        T.index_select(x, 1, [5])
    p = T.masked_select(x, ">", 10)
    assert torch.equal(p.result, torch.masked_select(x, x > 10)) and p.result.dim() == 1
    p = T.take(x, [0, 7, -1])
    assert p.result.tolist() == torch.take(x, torch.tensor([0, 7, -1])).tolist() == [0, 7, 19]
    with pytest.raises(InputError, match="20 elements"):
        T.take(x, [20])


# ---------------------------------------------------------------------------------------------------------
# View, reshape, strides


def test_transpose_then_view_fails_like_torch_and_reshape_copies():
    res = T.reshape_chain((3, 4), "transpose", dims=(0, 1), second="view", new_shape=(-1,))
    with pytest.raises(RuntimeError) as exc:
        torch.arange(12).view(3, 4).t().view(-1)
    assert res.error == str(exc.value).splitlines()[0]
    x, y = res.steps
    assert (x.stride, y.stride) == ((4, 1), (1, 4))
    assert x.contiguous and not y.contiguous and y.shares_base
    res = T.reshape_chain((3, 4), "transpose", second="reshape", new_shape=(-1,))
    z = res.steps[-1]
    assert z.shape == (12,) and not z.shares_base
    assert z.tensor.tolist() == torch.arange(12).view(3, 4).t().reshape(-1).tolist()


def test_offsets_are_sum_of_index_times_stride():
    res = T.reshape_chain((2, 3, 4), "permute", dims=(2, 0, 1))
    y = res.steps[1]
    assert y.stride == torch.arange(24).view(2, 3, 4).permute(2, 0, 1).stride()
    assert torch.equal(y.offsets, y.tensor)  # x = arange, so each value is its own storage offset
    view = T.reshape_chain((2, 6), second="view", new_shape=(3, -1)).steps[-1]
    assert view.shape == (3, 4) and view.shares_base and view.contiguous


def test_reshape_chain_rejects_impossible_shapes():
    with pytest.raises(InputError, match="holds 10 elements but the tensor has 12"):
        T.reshape_chain((3, 4), second="view", new_shape=(2, 5))
    with pytest.raises(InputError, match="does not divide 12"):
        T.reshape_chain((3, 4), second="reshape", new_shape=(5, -1))
    with pytest.raises(InputError, match="permute needs each dim"):
        T.reshape_chain((3, 4), "permute", dims=(0, 0))


def test_transpose_round_trip_contaminates_in_the_wrong_order():
    rt = T.transpose_round_trip((4, 3, 28, 28))
    assert rt.wrong_equal is False and rt.right_equal is True
    a = rt.a
    assert torch.equal(rt.wrong, a.transpose(1, 3).contiguous().view(4, 3 * 28 * 28).view(4, 3, 28, 28))
    assert torch.equal(rt.right, a)


def test_squeeze_and_unsqueeze_tables_match_torch():
    x = torch.zeros(1, 3, 1, 4)
    for row in T.unsqueeze_table((1, 3, 1, 4)):
        assert row["result shape"] == T.fmt_shape(x.unsqueeze(row["dim"]).shape)
        assert x.unsqueeze(row["dim"]).shape == x.unsqueeze(row["same as dim"]).shape
    rows = T.squeeze_table((1, 3, 1, 4))
    assert [r["dim"] for r in rows] == list(range(-4, 4))
    for row in rows:
        assert row["result shape"] == T.fmt_shape(x.squeeze(row["dim"]).shape)
        assert (row["effect"] == "removed") == (x.shape[row["dim"]] == 1)


# ---------------------------------------------------------------------------------------------------------
# cat, stack, split, chunk


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
        tensors = T.make_inputs(shapes)
        for op, fn in (("cat", torch.cat), ("stack", torch.stack)):
            joined = getattr(T, op)(shapes, dim)
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
    j = T.cat([(2, 3), (2, 4)], 0)
    assert "Tensor 1 has size 4 in dim 1 but tensor 0 has 3" in j.reason
    assert j.algebra == "(2, 3) + (2, 4) along dim 0 -> error"
    assert T.cat([(2, 3), (4, 3)], 0).algebra == "(2, 3) + (4, 3) along dim 0 -> (6, 3)"
    assert T.stack([(2, 3), (2, 3)], 1).shape == (2, 2, 3)
    assert "every shape must be the same" in T.stack([(2, 3), (4, 3)], 0).reason


@pytest.mark.parametrize(("kw", "reference"), [
    ({"size": 2}, lambda x: x.split(2, dim=0)),
    ({"sizes": [1, 3, 1]}, lambda x: x.split([1, 3, 1], dim=0)),
    ({"chunks": 4}, lambda x: x.chunk(4, dim=0)),
])
def test_split_and_chunk_match_torch(kw, reference):
    res = T.split((5, 4), 0, **kw)
    x = torch.arange(20).reshape(5, 4)
    expected = reference(x)
    assert len(res.pieces) == len(expected)
    assert all(torch.equal(p, e) for p, e in zip(res.pieces, expected, strict=True))
    assert res.shares
    for k, p in enumerate(res.pieces):
        assert torch.equal(x[res.owner == k], p.flatten())


def test_chunk_may_return_fewer_pieces_and_split_list_must_cover():
    assert [p.shape[0] for p in T.split((5, 2), 0, chunks=4).pieces] == [2, 2, 1]
    with pytest.raises(InputError, match="add up to 2, but dim 0 has size 5"):
        T.split((5, 4), 0, sizes=[1, 1])
    with pytest.raises(InputError, match="dim=2 does not exist"):
        T.split((5, 4), 2, size=1)


# ---------------------------------------------------------------------------------------------------------
# Math


def test_matmul_shapes_agree_with_torch_on_random_pairs():
    rng = random.Random(5)
    ok = 0
    for _ in range(400):
        a = tuple(rng.choice([1, 2, 3]) for _ in range(rng.randint(1, 4)))
        b = tuple(rng.choice([1, 2, 3]) for _ in range(rng.randint(1, 4)))
        mm = T.matmul_shapes(a, b)
        try:
            expected = tuple((torch.zeros(a) @ torch.zeros(b)).shape)
        except RuntimeError:
            expected = None
        assert mm.shape == expected, (a, b)
        assert mm.torch_shape == expected
        assert (mm.reason is None) == (expected is not None)
        ok += expected is not None
    assert 50 < ok < 350


def test_matmul_steps_explain_the_batch_rule():
    mm = T.matmul_shapes((10, 1, 3, 4), (5, 4, 2))
    assert mm.shape == (10, 5, 3, 2)
    assert mm.steps == ("matrix dims: (3, 4) @ (4, 2) -> (3, 2)", "batch dims (10, 1) and (5,) broadcast -> (10, 5)",
                        "result (10, 5, 3, 2)")
    assert "A's last dim is 4 but B's second-to-last dim is 3" in T.matmul_shapes((2, 4), (3, 2)).reason
    assert T.matmul_shapes((3,), (3,)).shape == ()


def test_clipping_matches_torch_nn_utils():
    grad = torch.randn(12, generator=torch.Generator().manual_seed(0)) * 1.5
    cl = T.clip_gradients(grad, 0.5, 1.0)
    assert torch.equal(cl.by_value, grad.clamp(-0.5, 0.5)) and torch.equal(cl.by_value, cl.by_value_nn)
    assert cl.norm_after_norm == pytest.approx(1.0, rel=1e-4)
    assert torch.allclose(cl.by_norm, grad * (1.0 / (grad.norm() + 1e-6)), atol=1e-6)  # direction kept
    assert cl.n_clamped == int((grad.abs() > 0.5).sum())


@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_norm_is_the_textbook_formula(p, dim):
    x = T.small_ints((3, 4), seed=0, low=-5, high=6)
    r = T.norm(x, p, dim)
    if p == math.inf:
        expected = x.abs().amax() if dim is None else x.abs().amax(dim)
    else:
        expected = (x.abs() ** p).sum(dim=dim).pow(1 / p) if dim is not None else (x.abs() ** p).sum().pow(1 / p)
    assert torch.allclose(r, expected)


@pytest.mark.parametrize("op", T.REDUCTIONS)
def test_reductions_match_torch(op):
    x = T.small_ints((3, 4), seed=1, low=-5, high=6)
    for dim in (0, 1):
        red = T.reduce(x, op, dim, keepdim=True)
        ref = getattr(torch, op)(x, dim=dim, keepdim=True)
        ref_values = ref.values if op in ("min", "max") else ref
        assert torch.equal(red.values, ref_values) and red.shape == tuple(ref_values.shape)
    assert torch.equal(T.reduce(x, op, None).values, getattr(torch, op)(x))


def test_where_and_comparisons():
    x = T.small_ints((3, 4), seed=2, low=-5, high=6)
    mask, out = T.where(x, ">=", 1.0, -9.0)
    assert torch.equal(mask, x >= 1) and torch.equal(out, torch.where(x >= 1, x, torch.tensor(-9.0)))
    with pytest.raises(InputError):
        T.compare(x, "=>", 1.0)


def test_elementwise_functions():
    x = torch.linspace(-2, 2, 9)
    assert torch.equal(T.elementwise("pow", x, 2.0), x**2)
    assert int(torch.isnan(T.elementwise("sqrt", x)).sum()) == 4
    assert torch.equal(T.elementwise("exp", x), torch.exp(x))
    assert torch.isinf(T.elementwise("log", torch.tensor([0.0]))).all()
