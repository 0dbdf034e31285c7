"""core.losses against torch itself: closed-form gradients, jacobians, nn.CrossEntropyLoss."""

import pytest
import torch
import torch.nn.functional as F

from core import losses
from tests.helpers import panel_variables, run_panel, same_output


def test_regression_loss_gradients():
    curves = losses.regression_loss_curves(("MSE", "L1", "Huber"), -3.0, 3.0, 301, target=0.5, delta=0.8)
    r = curves["MSE"].x - 0.5
    torch.testing.assert_close(curves["MSE"].grad, 2 * r)
    mask = r.abs() > 1e-3
    torch.testing.assert_close(curves["L1"].grad[mask], torch.sign(r[mask]))
    torch.testing.assert_close(curves["Huber"].grad, r.clamp(-0.8, 0.8))  # Huber's gradient is clipped at delta
    torch.testing.assert_close(curves["Huber"].y, F.huber_loss(curves["Huber"].x, torch.full_like(r, 0.5),
                                                               reduction="none", delta=0.8))


def test_regression_code_panel_runs_the_same_losses():
    curves = losses.regression_loss_curves(("MSE", "Huber"), -2.0, 2.0, 41, target=0.5, delta=0.7)
    code = losses.regression_loss_code(curves, -2.0, 2.0, target=0.5, delta=0.7)
    ns = panel_variables(code)
    core = losses.regression_loss_curves(("Huber",), -2.0, 2.0, 41, target=0.5, delta=0.7)["Huber"]
    torch.testing.assert_close(ns["grads"]["Huber"], core.grad)
    printed = run_panel(code)  # at y_hat = 2: MSE's 2 (y_hat - y) = 3, Huber's clipped at delta
    truth = ["dL/dy_hat at y_hat = 2.0", "MSE 3.0", "Huber 0.7"]
    assert all(same_output(p, t) and same_output(p, e) for (_, p, e), t in zip(printed, truth, strict=True))


def test_seeds_argument_sigmoid_mse_vanishes_cross_entropy_does_not():
    curves = losses.classification_loss_curves(-10.0, 10.0, 401)
    p = curves["sigmoid + MSE"].p
    torch.testing.assert_close(curves["sigmoid + MSE"].grad_z, (p - 1) * p * (1 - p))  # (p - y) p (1 - p)
    for name in ("sigmoid + BCE", "BCE with logits", "cross-entropy", "log_softmax + NLL"):
        torch.testing.assert_close(curves[name].grad_z, p - 1, atol=1e-6, rtol=1e-5)  # p - y
        torch.testing.assert_close(curves[name].loss, -torch.log(p), atol=1e-5, rtol=1e-5)
    confident_wrong = losses.classification_losses([-8.0])
    mse, ce = confident_wrong["sigmoid + MSE"].grad_z.item(), confident_wrong["cross-entropy"].grad_z.item()
    assert abs(mse) < 4e-4 and ce == pytest.approx(-0.99966, abs=1e-5)
    assert abs(ce) / abs(mse) > 2900


def test_classification_gradients_with_respect_to_p():
    at = losses.classification_losses([-2.0, 0.0, 3.0])
    p = torch.sigmoid(torch.tensor([-2.0, 0.0, 3.0]))
    torch.testing.assert_close(at["sigmoid + MSE"].grad_p, p - 1)
    torch.testing.assert_close(at["sigmoid + BCE"].grad_p, -1 / p)
    assert at["cross-entropy"].grad_p is None
    ref = torch.tensor([-2.0, 0.0, 3.0], requires_grad=True)  # dL/dz by the jacobian of the loss vector
    jac = torch.autograd.functional.jacobian(lambda z: 0.5 * (torch.sigmoid(z) - 1) ** 2, ref)
    torch.testing.assert_close(at["sigmoid + MSE"].grad_z, jac.diagonal())


def test_classification_code_panel_matches_core():
    code = losses.classification_code(losses.classification_losses([-6.0]), -6.0, -10.0, 10.0, 401)
    ns = panel_variables(code)
    core = losses.classification_loss_curves(-10.0, 10.0, 401)["log_softmax + NLL"]
    torch.testing.assert_close(ns["grads"]["log_softmax + NLL"], core.grad_z)
    printed = run_panel(code)
    assert len(printed) == 8 and all(same_output(p, e) for _, p, e in printed), printed


def test_cross_entropy_is_log_softmax_plus_nll():
    check = losses.cross_entropy_check([2.0, 1.0, 0.1], 0)
    assert check.cross_entropy == pytest.approx(0.4170299, abs=1e-6)
    assert check.cross_entropy == pytest.approx(check.nll_of_log_softmax, abs=1e-7)
    assert check.cross_entropy == pytest.approx(check.minus_log_p, abs=1e-6)
    torch.testing.assert_close(check.grad, check.p_minus_onehot)
    z = torch.tensor([[2.0, 1.0, 0.1]], requires_grad=True)
    torch.nn.CrossEntropyLoss()(z, torch.tensor([0])).backward()
    torch.testing.assert_close(check.grad, z.grad[0])
    code = losses.cross_entropy_code(check)
    ns = panel_variables(code)
    assert ns["ce"].item() == pytest.approx(check.cross_entropy)
    printed = run_panel(code)
    assert len(printed) == 3 and all(same_output(p, e) for _, p, e in printed), printed


def test_cross_entropy_code_runs_for_whole_number_logits():
    """Logits 1e4, 0, -3, 2 are written as floats: an int64 tensor cannot require gradients."""
    check = losses.cross_entropy_check([1e4, 0.0, -3.0, 2.0], 2)
    assert check.cross_entropy == pytest.approx(10003.0)
    printed = run_panel(losses.cross_entropy_code(check))
    assert len(printed) == 3 and all(same_output(p, e) for _, p, e in printed), printed
