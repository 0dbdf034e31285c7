"""core.broadcasting against torch itself: the rule, the failing dim, expand vs repeat, and the code panel."""

import random
import re

import pytest
import torch

from core import broadcasting
from core.broadcasting import INSERTED, KEPT, STRETCHED
from core.parsing import InputError
from tests.helpers import run_panel, same_output


def _random_shape(rng: random.Random, max_dims: int = 5) -> tuple[int, ...]:
    return tuple(rng.choice([1, 1, 2, 3, 4]) for _ in range(rng.randint(0, max_dims)))


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
    bc = broadcasting.broadcast(a, b)
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
        bc = broadcasting.broadcast(a, b)
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
    bc = broadcasting.broadcast((4, 32, 14, 14), (32, 1, 1))
    assert [(d.a_role, d.b_role) for d in bc.dims] == [
        (KEPT, INSERTED), (KEPT, KEPT), (KEPT, STRETCHED), (KEPT, STRETCHED)]
    assert [d.neg for d in bc.dims] == [-4, -3, -2, -1]
    assert bc.steps()[0].startswith("dim 3 (= -1): A 14, B 1 -> 14")
    assert "B gets a new size-1 dim, stretched to 4" in bc.steps()[-1]


def test_broadcast_reason_names_every_clash():
    bc = broadcasting.broadcast((2, 3, 5), (4, 3, 6))
    assert [d.axis for d in bc.clashes] == [2, 0]
    assert "Dimension 2 of the result" in bc.reason() and "0 (2 vs 4)" in bc.reason()
    assert bc.torch_error == "The size of tensor a (5) must match the size of tensor b (6) at non-singleton dimension 2"


def test_example_shapes_broadcast_like_the_originals():
    rng = random.Random(1)
    checked = 0
    for _ in range(300):
        a = tuple(rng.choice([1, 2, 5, 32]) for _ in range(rng.randint(1, 4)))
        b = tuple(rng.choice([1, 2, 5, 32]) for _ in range(rng.randint(1, 4)))
        bc = broadcasting.broadcast(a, b)
        if not bc.ok:
            continue
        checked += 1
        for cap in (2, 3):
            sa, sb = broadcasting.example_shapes(bc, cap)
            small = broadcasting.broadcast(sa, sb)
            assert small.ok and len(sa) == len(a) and len(sb) == len(b)
            assert [d.a_role for d in small.dims] == [d.a_role for d in bc.dims]
            assert [d.b_role for d in small.dims] == [d.b_role for d in bc.dims]
            assert max(small.shape) <= max(cap, 1)
    assert checked > 50


def test_example_values_read_as_b_then_a():
    ex = broadcasting.broadcast_example((3, 3, 3, 3), (3, 1, 1))
    assert torch.equal(ex.out, ex.a + ex.b)
    assert ex.scale == 100  # a holds 0..80
    assert torch.equal(ex.out // ex.scale, (ex.b // ex.scale).expand(ex.out.shape))
    assert torch.equal(ex.out % ex.scale, ex.a.expand(ex.out.shape))
    assert broadcasting.broadcast_example((2, 1), (3,)).out.tolist() == [[10, 20, 30], [11, 21, 31]]


def test_expand_is_a_view_and_repeat_a_copy():
    r = broadcasting.expand_vs_repeat((32, 1, 1), (4, 32, 14, 14))
    x = torch.zeros(32, 1, 1)
    assert r.expand_stride == x.expand(4, 32, 14, 14).stride() == (0, 1, 0, 0)
    assert r.expand_bytes == r.source_bytes == 32 * 4
    assert r.expand_shares and r.expand_sees_write
    assert r.repeats == (4, 1, 14, 14)
    assert r.repeat_stride == x.repeat(4, 1, 14, 14).stride()
    assert r.repeat_bytes == 4 * 32 * 14 * 14 * 4
    assert r.repeat_shares is False and r.repeat_sees_write is False


def test_repeat_is_skipped_when_it_would_copy_too_much():
    r = broadcasting.expand_vs_repeat((1000, 1), (1000, 2000))
    assert r.repeat_skipped and "2,000,000" in r.repeat_skipped
    assert r.repeat_bytes is None and r.expand_bytes == 4000
    with pytest.raises(InputError, match="neither 1 nor"):
        broadcasting.expand_vs_repeat((3, 2), (3, 4))


def test_stretched_marks_only_the_stored_cells():
    e, stored = broadcasting.stretched(torch.arange(3).reshape(3, 1), (2, 3, 4))
    assert torch.equal(e, torch.arange(3).reshape(3, 1).expand(2, 3, 4))
    assert stored.tolist() == [[[True, False, False, False]] * 3, [[False] * 4] * 3]  # dim 0 inserted, dim 2 stretched


@pytest.mark.parametrize(("a", "b", "source"), [((4, 32, 14, 14), (32, 1, 1), (32, 1, 1)), ((5, 4), (4,), (4,)),
                                                ((1000, 1), (1, 2000), (1000, 1))])
def test_code_panel_runs_and_prints_what_it_promises(a, b, source):
    bc = broadcasting.broadcast(a, b)
    ex = broadcasting.broadcast_example(*broadcasting.example_shapes(bc, 3))
    evr = broadcasting.expand_vs_repeat(source, bc.shape)
    code = broadcasting.broadcast_code(bc, ex, evr, 3)
    results = run_panel(code)
    assert len(results) == (3 if evr.repeat_skipped else 4)  # repeat is left out when it would copy too much
    assert all(same_output(printed, expected) for _, printed, expected in results), results
    assert f"torch.Size({list(ex.out.shape)})" in code and f"torch.Size({list(bc.shape)})" in code


def test_error_panel_raises_torch_s_message():
    bc = broadcasting.broadcast((4, 32, 14, 14), (3, 1, 1))
    code = broadcasting.broadcast_error_code(bc)
    assert code.endswith(f"a + b  # RuntimeError: {bc.torch_error}\n")
    with pytest.raises(RuntimeError, match=re.escape(bc.torch_error)):
        exec(compile(code, "<panel>", "exec"), {})  # our own generated code
