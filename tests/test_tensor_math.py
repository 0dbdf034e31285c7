"""core.tensor_math against torch: matmul shapes, clipping, norms, reductions, where, and the code panels."""

import math
import random

import pytest
import torch

from core import tensor_math
from core.parsing import InputError
from core.tensor_common import compare
from tests.helpers import run_panel, same_output


def _prints_what_it_says(code: str, n: int) -> None:
    results = run_panel(code)
    assert len(results) == n and all(same_output(*r[1:]) for r in results), (results, code)


def test_matmul_shapes_agree_with_torch_on_random_pairs():
    rng = random.Random(5)
    ok = 0
    for _ in range(400):
        a = tuple(rng.choice([1, 2, 3]) for _ in range(rng.randint(1, 4)))
        b = tuple(rng.choice([1, 2, 3]) for _ in range(rng.randint(1, 4)))
        mm = tensor_math.matmul_shapes(a, b)
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
    mm = tensor_math.matmul_shapes((10, 1, 3, 4), (5, 4, 2))
    assert mm.shape == (10, 5, 3, 2)
    assert mm.steps == ("matrix dims: (3, 4) @ (4, 2) -> (3, 2)", "batch dims (10, 1) and (5,) broadcast -> (10, 5)",
                        "result (10, 5, 3, 2)")
    assert "A's last dim is 4 but B's second-to-last dim is 3" in tensor_math.matmul_shapes((2, 4), (3, 2)).reason
    assert tensor_math.matmul_shapes((3,), (3,)).shape == ()


def test_clipping_matches_torch_nn_utils():
    grad = torch.randn(12, generator=torch.Generator().manual_seed(0)) * 1.5
    cl = tensor_math.clip_gradients(grad, 0.5, 1.0)
    assert torch.equal(cl.by_value, grad.clamp(-0.5, 0.5)) and torch.equal(cl.by_value, cl.by_value_nn)
    assert cl.norm_after_norm == pytest.approx(1.0, rel=1e-4)
    assert torch.allclose(cl.by_norm, grad * (1.0 / (grad.norm() + 1e-6)), atol=1e-6)  # direction kept
    assert cl.n_clamped == int((grad.abs() > 0.5).sum())


@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_norm_is_the_textbook_formula(p, dim):
    x = tensor_math.small_ints((3, 4), seed=0, low=-5, high=6)
    r = tensor_math.norm(x, p, dim)
    if p == math.inf:
        expected = x.abs().amax() if dim is None else x.abs().amax(dim)
    else:
        expected = (x.abs() ** p).sum(dim=dim).pow(1 / p) if dim is not None else (x.abs() ** p).sum().pow(1 / p)
    assert torch.allclose(r, expected)


@pytest.mark.parametrize("op", tensor_math.REDUCTIONS)
def test_reductions_match_torch(op):
    x = tensor_math.small_ints((3, 4), seed=1, low=-5, high=6)
    for dim in (0, 1):
        red = tensor_math.reduce(x, op, dim, keepdim=True)
        ref = getattr(torch, op)(x, dim=dim, keepdim=True)
        ref_values = ref.values if op in ("min", "max") else ref
        assert torch.equal(red.values, ref_values) and red.shape == tuple(ref_values.shape)
    assert torch.equal(tensor_math.reduce(x, op, None).values, getattr(torch, op)(x))


def test_where_and_comparisons():
    x = tensor_math.small_ints((3, 4), seed=2, low=-5, high=6)
    mask, out = tensor_math.where(x, ">=", 1.0, -9.0)
    assert torch.equal(mask, x >= 1) and torch.equal(out, torch.where(x >= 1, x, torch.tensor(-9.0)))
    with pytest.raises(InputError):
        compare(x, "=>", 1.0)


def test_elementwise_functions():
    x = torch.linspace(-2, 2, 9)
    assert torch.equal(tensor_math.elementwise("pow", x, 2.0), x**2)
    assert int(torch.isnan(tensor_math.elementwise("sqrt", x)).sum()) == 4
    assert torch.equal(tensor_math.elementwise("exp", x), torch.exp(x))
    assert torch.isinf(tensor_math.elementwise("log", torch.tensor([0.0]))).all()


@pytest.mark.parametrize(("a", "b"), [((10, 1, 3, 4), (5, 4, 2)), ((4,), (4, 3)), ((2, 5, 3), (3,)), ((3,), (3,))])
def test_matmul_example_and_panel(a, b):
    mm = tensor_math.matmul_shapes(a, b)
    ex = tensor_math.matmul_example(a, b)
    assert torch.equal(ex.C, ex.A @ ex.B) and max(ex.A.shape[:-2], default=1) <= 2 and max(ex.C.shape) <= 4
    i, j = ex.first(ex.C).shape[0] - 1, ex.first(ex.C).shape[1] - 1
    row, col, cell = ex.cell_masks(i, j)
    assert ex.first(ex.C)[cell].item() == (ex.first(ex.A)[row] * ex.first(ex.B)[col]).sum().item()
    _prints_what_it_says(tensor_math.matmul_code(mm, ex, i, j), 2)


def test_matmul_error_panel_raises_torch_s_message():
    mm = tensor_math.matmul_shapes((2, 4), (3, 2))
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        exec(compile(tensor_math.matmul_error_code(mm), "<panel>", "exec"), {})  # our own generated code


@pytest.mark.parametrize("fn", tensor_math.ELEMENTWISE)
def test_elementwise_panel_counts_nan_and_inf(fn):
    y = tensor_math.elementwise(fn, torch.linspace(-2.0, 4.0, 41), -0.5)
    _prints_what_it_says(tensor_math.elementwise_code(fn, -2.0, 4.0, -0.5, y), 1)
    assert tensor_math.elementwise_call("pow", 2.0) == "x.pow(2)"


@pytest.mark.parametrize(("clip", "max_norm", "seed"), [(0.5, 1.0, 0), (0.05, 5.0, 3), (3.0, 0.1, 7)])
def test_clip_panel_prints_the_three_norms(clip, max_norm, seed):
    cl = tensor_math.clip_gradients(tensor_math.random_gradient(seed), clip, max_norm)
    assert torch.equal(cl.grad, torch.randn(12, generator=torch.Generator().manual_seed(seed)) * 1.5)
    _prints_what_it_says(tensor_math.clip_code(cl, clip, max_norm, seed), 1)


@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (None, True), (1, False), (-1, True)])
def test_norm_panel_prints_the_norm(p, dim, keepdim):
    x = tensor_math.small_ints((3, 4), seed=4, low=-5, high=6)
    r = tensor_math.norm(x, p, dim, keepdim)
    assert eval(tensor_math.norm_call(p, dim, keepdim), {"x": x}).shape == r.shape  # our own generated code
    _prints_what_it_says(tensor_math.norm_code(x, 4, p, dim, keepdim, r), 1)


@pytest.mark.parametrize("op", tensor_math.REDUCTIONS)
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (0, True), (-1, False)])
def test_reduce_panel_and_mask(op, dim, keepdim):
    x = tensor_math.small_ints((2, 3, 4), seed=2, low=-5, high=6)
    red = tensor_math.reduce(x, op, dim, keepdim)
    with_indices = op in ("min", "max") and dim is not None
    _prints_what_it_says(tensor_math.reduce_code(x, 2, op, dim, keepdim, red), 2 if with_indices else 1)
    if red.indices is None:
        assert red.mask is None
    else:  # the outlined cells hold the reduced values
        assert int(red.mask.sum()) == red.values.numel()
        if op != "argmax":
            assert sorted(x[red.mask].tolist()) == sorted(red.values.flatten().tolist())


def test_where_panel_counts_the_mask():
    x = tensor_math.small_ints((3, 4), seed=0, low=-5, high=6)
    for op, t in [(">", 0.0), ("<=", -1.5), ("!=", 2.0)]:
        mask, _ = tensor_math.where(x, op, t, -9.0)
        _prints_what_it_says(tensor_math.where_code(x, 0, op, t, -9.0, mask), 1)
