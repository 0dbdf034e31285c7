"""core.descent1d against torch.optim.SGD, finite differences and the closed form on x^2."""

import math

import pytest
import torch

from core import descent1d
from tests.helpers import central_difference, panel_variables, run_panel, same_output


@pytest.mark.parametrize("name", list(descent1d.FUNCTIONS_1D))
def test_descent_matches_torch_optim_sgd(name):
    result = descent1d.gradient_descent_1d(name, 1.7, 0.01, 30)
    x = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=0.01)
    xs = [x.item()]
    for _ in range(30):
        optimizer.zero_grad()
        descent1d.FUNCTIONS_1D[name].fn(x).backward()
        optimizer.step()
        xs.append(x.item())
    torch.testing.assert_close(result.xs, torch.tensor(xs, dtype=torch.float64))


def test_descent_gradients_match_finite_differences():
    result = descent1d.gradient_descent_1d("x^2 sin(x)", 3.0, 0.02, 20)
    fd = central_difference(lambda v: v**2 * torch.sin(v), result.xs)
    torch.testing.assert_close(result.grads, fd, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(result.grads, 2 * result.xs * torch.sin(result.xs) + result.xs**2 * torch.cos(result.xs))


def test_descent_on_x_squared_converges_oscillates_diverges():
    good = descent1d.gradient_descent_1d("x^2", 2.0, 0.2, 60)
    assert good.status == "converged" and abs(good.xs[-1].item()) < 1e-6
    assert torch.allclose(good.xs, 2.0 * 0.6 ** torch.arange(61, dtype=torch.float64))  # x_k = (1 - 2 lr)^k x_0
    bouncing = descent1d.gradient_descent_1d("x^2", 2.0, 1.0, 20)
    assert bouncing.status == "oscillating" and set(bouncing.xs.tolist()) == {2.0, -2.0}
    bad = descent1d.gradient_descent_1d("x^2", 2.0, 1.1, 60)
    # |x_k| = 2 * 1.2^k first exceeds 1e4 at k = 47
    assert bad.status == "diverged" and bad.diverged_at == 47 and len(bad.xs) == 47
    assert torch.isfinite(bad.xs).all() and bad.xs.abs().max() < descent1d.DIVERGE_LIMIT
    assert "step 47" in bad.message and "lr" in bad.message


def test_descent_stops_at_the_first_non_finite_iterate():
    result = descent1d.gradient_descent_1d("x^4 - 3x^2 + x", 2.0, 1.5, 100)
    assert result.status == "diverged" and result.diverged_at is not None
    assert torch.isfinite(result.xs).all() and torch.isfinite(result.fs).all()
    assert abs(result.bad_value) > descent1d.DIVERGE_LIMIT or not math.isfinite(result.bad_value)


@pytest.mark.parametrize("name", list(descent1d.FUNCTIONS_1D))
def test_presets_show_what_they_promise(name):
    expected = {"too small": "moving", "just right": "converged", "oscillating": "oscillating",
                "diverging": "diverged", "bouncing": "oscillating"}
    for behaviour, x0, lr in descent1d.FUNCTIONS_1D[name].presets:
        assert descent1d.gradient_descent_1d(name, x0, lr, 60).status == expected[behaviour], (name, behaviour)


def test_descent_code_panel_reproduces_the_iterates():
    result = descent1d.gradient_descent_1d("x^2 sin(x)", 3.0, 0.02, 40)
    code = descent1d.gradient_descent_code("x^2 sin(x)", 3.0, 40, result)
    ns = panel_variables(code)
    assert ns["xs"] == pytest.approx(result.xs.tolist())
    printed = run_panel(code)
    assert len(printed) == 1 and all(same_output(p, e) for _, p, e in printed), printed
    blown = descent1d.gradient_descent_1d("x^2", 2.0, 1.1, 60)
    code = descent1d.gradient_descent_code("x^2", 2.0, 60, blown)
    diverged = panel_variables(code)
    assert len(diverged["xs"]) == 47
    printed = run_panel(code)  # the divergence message, then where x stopped
    assert len(printed) == 2 and all(same_output(p, e) for _, p, e in printed), printed
    assert printed[0][1].startswith("diverged at step 47:")


def test_function_curve_gradient_is_autograd():
    c = descent1d.function_curve("x^4 - 3x^2 + x", -2.0, 2.0, 101)
    torch.testing.assert_close(c.grad, 4 * c.x**3 - 6 * c.x + 1, atol=1e-5, rtol=1e-5)
