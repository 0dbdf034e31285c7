"""core.linear_regression: both fits against each other, torch.optim and the closed form."""

import math

import pytest
import torch
import torch.nn.functional as F

from core import linear_regression
from tests.helpers import panel_variables, run_panel, same_output


def test_same_seed_same_points():
    a, b = linear_regression.make_line(40, 1.5, 0.3, 0.4, seed=7), linear_regression.make_line(40, 1.5, 0.3, 0.4, seed=7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], linear_regression.make_line(40, 1.5, 0.3, 0.4, seed=8)[1])
    assert a[0].min() >= -2 and a[0].max() <= 2


def test_hand_gradient_equals_autograd_gradient():
    x, y = linear_regression.make_line(30, -1.2, 0.7, 0.3, seed=3)
    w = torch.tensor(0.4, requires_grad=True)
    b = torch.tensor(-0.2, requires_grad=True)
    F.mse_loss(w * x + b, y).backward()
    y_hat = 0.4 * x - 0.2
    torch.testing.assert_close(2 * ((y_hat - y) * x).mean(), w.grad)
    torch.testing.assert_close(2 * (y_hat - y).mean(), b.grad)


def test_both_fits_take_the_same_path_and_reach_least_squares():
    x, y = linear_regression.make_line(50, 2.0, -1.0, 0.5, seed=0)
    hand = linear_regression.fit_by_hand(x, y, 0.1, 200)
    auto = linear_regression.fit_by_autograd(x, y, 0.1, 200)
    torch.testing.assert_close(hand.path, auto.path, atol=1e-5, rtol=1e-5)
    w, b = linear_regression.least_squares(x, y)
    # the closed form by the normal equations, and by numpy's polyfit, agree with lstsq
    xd, yd = x.double(), y.double()
    w_ne = ((xd - xd.mean()) * (yd - yd.mean())).sum() / ((xd - xd.mean()) ** 2).sum()
    assert w == pytest.approx(w_ne.item(), abs=1e-9) and b == pytest.approx((yd.mean() - w_ne * xd.mean()).item())
    for fit in (hand, auto):
        assert fit.w == pytest.approx(w, abs=1e-4) and fit.b == pytest.approx(b, abs=1e-4)
    assert hand.losses[-1] < hand.losses[0] and hand.diverged_at is None


def test_momentum_changes_the_path_not_the_answer():
    x, y = linear_regression.make_line(50, 2.0, -1.0, 0.5, seed=0)
    hand = linear_regression.fit_by_hand(x, y, 0.05, 400)
    auto = linear_regression.fit_by_autograd(x, y, 0.05, 400, momentum=0.9)
    assert (hand.path[5] - auto.path[5]).abs().max() > 1e-3
    w, b = linear_regression.least_squares(x, y)
    assert auto.w == pytest.approx(w, abs=1e-3) and auto.b == pytest.approx(b, abs=1e-3)


def test_regression_divergence_is_reported():
    x, y = linear_regression.make_line(50, 2.0, -1.0, 0.5, seed=0)
    hand = linear_regression.fit_by_hand(x, y, 1.0, 500)
    auto = linear_regression.fit_by_autograd(x, y, 1.0, 500)
    assert hand.diverged_at is not None and hand.diverged_at == auto.diverged_at
    assert torch.isfinite(hand.path).all() and len(hand.path) == hand.diverged_at


def test_loss_surface_is_the_mse_at_each_grid_point():
    x, y = linear_regression.make_line(20, 1.0, 0.0, 0.2, seed=1)
    ws, bs, surface = linear_regression.loss_surface(x, y, (-1.0, 3.0), (-2.0, 2.0), 9)
    for i, j in [(0, 0), (4, 7), (8, 3)]:
        assert surface[i, j].item() == pytest.approx(F.mse_loss(ws[j] * x + bs[i], y).item(), rel=1e-5)


def test_regression_code_panels_reproduce_both_fits():
    x, y = linear_regression.make_line(60, 1.5, 0.5, 0.3, seed=4)
    hand = linear_regression.fit_by_hand(x, y, 0.2, 80)
    auto = linear_regression.fit_by_autograd(x, y, 0.2, 80, momentum=0.5)
    best = linear_regression.least_squares(x, y)
    code_hand, code_auto = linear_regression.regression_code(60, 1.5, 0.5, 0.3, 4, 0.2, 80, 0.5, hand=hand,
                                                             auto=auto, best=best)
    ns = panel_variables(code_hand)
    assert ns["w"].item() == pytest.approx(hand.w, abs=1e-6) and ns["b"].item() == pytest.approx(hand.b, abs=1e-6)
    ns = panel_variables(code_auto)
    assert ns["w"].item() == pytest.approx(auto.w, abs=1e-6) and ns["b"].item() == pytest.approx(auto.b, abs=1e-6)
    printed = run_panel(code_hand) + run_panel(code_auto)  # w and b twice, then lstsq's exact answer
    assert len(printed) == 3 and all(same_output(p, e) for _, p, e in printed), printed
    x, y = linear_regression.make_line(50, 2.0, -1.0, 0.5, 0)
    blown = linear_regression.fit_by_hand(x, y, 1.0, 100)
    blown_auto = linear_regression.fit_by_autograd(x, y, 1.0, 100)
    code_hand, _ = linear_regression.regression_code(50, 2.0, -1.0, 0.5, 0, 1.0, 100, 0.0, hand=blown,
                                                     auto=blown_auto, best=linear_regression.least_squares(x, y))
    ns = panel_variables(code_hand)
    assert ns["epoch"] == blown.diverged_at and math.isfinite(ns["w"].item())  # stops where the page stops
    assert run_panel(code_hand) == []  # a diverged fit promises no numbers
