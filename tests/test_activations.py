"""core.activations against torch itself: autograd jacobians, finite differences, closed forms."""

import math

import pytest
import torch

from core import activations
from tests.helpers import central_difference, panel_variables, run_panel, same_output


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_activation_gradient_is_the_jacobian_diagonal(name):
    c = activations.activation_curve(name, -4.0, 4.0, 81, slope=0.2, beta=2.0, dtype=torch.float64)
    f = lambda v: activations.ACTIVATIONS[name].fn(v, slope=0.2, beta=2.0)  # noqa: E731
    jac = torch.autograd.functional.jacobian(f, c.x)  # (81, 81), diagonal because f is elementwise
    torch.testing.assert_close(c.grad, jac.diagonal())
    torch.testing.assert_close(jac, torch.diag(jac.diagonal()))
    torch.testing.assert_close(c.y, f(c.x))


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_activation_gradient_matches_finite_differences(name):
    x = torch.linspace(-4.0, 4.0, 161, dtype=torch.float64)
    x = x[x.abs() > 0.02]  # ReLU-like kinks at 0: no derivative there to compare
    c = activations.activation_curve(name, -4.0, 4.0, 161, slope=0.3, beta=1.5, dtype=torch.float64)
    mask = c.x.abs() > 0.02
    fd = central_difference(lambda v: activations.ACTIVATIONS[name].fn(v, slope=0.3, beta=1.5), x)
    torch.testing.assert_close(c.grad[mask], fd, atol=1e-6, rtol=1e-6)


def test_sigmoid_peak_gradient_and_saturation_zones():
    c = activations.activation_curve("sigmoid", -6.0, 6.0, 401)
    x_peak, g_peak = activations.peak_gradient(c)
    assert abs(x_peak) < 1e-6 and g_peak == pytest.approx(0.25, abs=1e-7)
    # sigma'(x) = 0.01 where sigma(x) = (1 - sqrt(0.96)) / 2, i.e. |x| = log((1 + sqrt(.96)) / (1 - sqrt(.96)))
    edge = math.log((1 + math.sqrt(0.96)) / (1 - math.sqrt(0.96)))
    (a0, a1), (b0, b1) = activations.saturation_zones(c)
    assert a0 == -6.0 and b1 == 6.0
    assert a1 == pytest.approx(-edge, abs=0.03) and b0 == pytest.approx(edge, abs=0.03)
    assert (c.grad.abs() < activations.SATURATION)[c.x.abs() > edge + 0.03].all()


def test_relu_family_gradients():
    relu = activations.activation_curve("ReLU", -2.0, 2.0, 41)
    assert activations.saturation_zones(relu)[0][0] == -2.0 and activations.saturated_share(relu) == pytest.approx(21 / 41)
    leaky = activations.activation_curve("LeakyReLU", -2.0, 2.0, 41, slope=0.3)
    assert torch.allclose(leaky.grad[leaky.x < 0], torch.tensor(0.3)) and activations.saturation_zones(leaky) == []
    assert torch.allclose(leaky.grad[leaky.x > 0], torch.tensor(1.0))
    soft = activations.activation_curve("softplus", -3.0, 3.0, 61, beta=4.0)
    torch.testing.assert_close(soft.grad, torch.sigmoid(4.0 * soft.x))  # softplus' = sigmoid(beta x)
    tanh = activations.activation_curve("tanh", -3.0, 3.0, 61)
    torch.testing.assert_close(tanh.grad, 1 - torch.tanh(tanh.x) ** 2)


def test_selu_and_gelu_peaks():
    _, selu_peak = activations.peak_gradient(activations.activation_curve("SELU", -3.0, 3.0, 6001, dtype=torch.float64))
    assert selu_peak == pytest.approx(1.0507009873554805 * 1.6732632423543772, rel=2e-3)  # lambda * alpha at 0-
    x, gelu_peak = activations.peak_gradient(activations.activation_curve("GELU", -4.0, 4.0, 8001, dtype=torch.float64))
    assert gelu_peak == pytest.approx(1.1289, abs=1e-3) and x == pytest.approx(1.414, abs=0.01)  # peak at sqrt(2)


def test_activation_code_panel_computes_the_same_curves():
    names = ("sigmoid", "LeakyReLU", "softplus")
    curves = activations.activation_curves(names, -5.0, 5.0, 201, slope=0.25, beta=2.0)
    code = activations.activation_code(curves, -5.0, 5.0, slope=0.25, beta=2.0)
    ns = panel_variables(code)
    core = activations.activation_curve("softplus", -5.0, 5.0, 201, slope=0.25, beta=2.0)
    torch.testing.assert_close(ns["grads"]["softplus"], core.grad)
    torch.testing.assert_close(ns["ys"]["softplus"].detach(), core.y)
    printed = run_panel(code)
    assert len(printed) == 3 and all(same_output(p, e) for _, p, e in printed), printed
    # sigma' < 0.01 for |x| > 4.59: 2 x 0.41 of the 10 wide range, 9% of its 201 grid points
    assert printed[0][1] == "sigmoid: max f'(x) = 0.2500 at x = -0.00, saturated on 9% of the range"
