"""core.functions against torch itself: autograd jacobians, finite differences, torch.optim, closed forms."""

import contextlib
import io
import math

import pytest
import torch
import torch.nn.functional as F

from core import functions as fn


def _run(code: str) -> dict:
    """Execute a generated code panel (our own text, never user input) and return its variables."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<code panel>", "exec"), namespace)  # noqa: S102
    return namespace


def _central_difference(f, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    return (f(x + h) - f(x - h)) / (2 * h)


# ------------------------------------------------------------------------------------------------ activations


@pytest.mark.parametrize("name", list(fn.ACTIVATIONS))
def test_activation_gradient_is_the_jacobian_diagonal(name):
    c = fn.activation_curve(name, -4.0, 4.0, 81, slope=0.2, beta=2.0, dtype=torch.float64)
    f = lambda v: fn.ACTIVATIONS[name].fn(v, slope=0.2, beta=2.0)  # noqa: E731
    jac = torch.autograd.functional.jacobian(f, c.x)  # (81, 81), diagonal because f is elementwise
    torch.testing.assert_close(c.grad, jac.diagonal())
    torch.testing.assert_close(jac, torch.diag(jac.diagonal()))
    torch.testing.assert_close(c.y, f(c.x))


@pytest.mark.parametrize("name", list(fn.ACTIVATIONS))
def test_activation_gradient_matches_finite_differences(name):
    x = torch.linspace(-4.0, 4.0, 161, dtype=torch.float64)
    x = x[x.abs() > 0.02]  # ReLU-like kinks at 0: no derivative there to compare
    c = fn.activation_curve(name, -4.0, 4.0, 161, slope=0.3, beta=1.5, dtype=torch.float64)
    mask = c.x.abs() > 0.02
    fd = _central_difference(lambda v: fn.ACTIVATIONS[name].fn(v, slope=0.3, beta=1.5), x)
    torch.testing.assert_close(c.grad[mask], fd, atol=1e-6, rtol=1e-6)


def test_sigmoid_peak_gradient_and_saturation_zones():
    c = fn.activation_curve("sigmoid", -6.0, 6.0, 401)
    x_peak, g_peak = fn.peak_gradient(c)
    assert abs(x_peak) < 1e-6 and g_peak == pytest.approx(0.25, abs=1e-7)
    # sigma'(x) = 0.01 where sigma(x) = (1 - sqrt(0.96)) / 2, i.e. |x| = log((1 + sqrt(.96)) / (1 - sqrt(.96)))
    edge = math.log((1 + math.sqrt(0.96)) / (1 - math.sqrt(0.96)))
    (a0, a1), (b0, b1) = fn.saturation_zones(c)
    assert a0 == -6.0 and b1 == 6.0
    assert a1 == pytest.approx(-edge, abs=0.03) and b0 == pytest.approx(edge, abs=0.03)
    assert (c.grad.abs() < fn.SATURATION)[c.x.abs() > edge + 0.03].all()


def test_relu_family_gradients():
    relu = fn.activation_curve("ReLU", -2.0, 2.0, 41)
    assert fn.saturation_zones(relu)[0][0] == -2.0 and fn.saturated_share(relu) == pytest.approx(21 / 41)
    leaky = fn.activation_curve("LeakyReLU", -2.0, 2.0, 41, slope=0.3)
    assert torch.allclose(leaky.grad[leaky.x < 0], torch.tensor(0.3)) and fn.saturation_zones(leaky) == []
    assert torch.allclose(leaky.grad[leaky.x > 0], torch.tensor(1.0))
    soft = fn.activation_curve("softplus", -3.0, 3.0, 61, beta=4.0)
    torch.testing.assert_close(soft.grad, torch.sigmoid(4.0 * soft.x))  # softplus' = sigmoid(beta x)
    tanh = fn.activation_curve("tanh", -3.0, 3.0, 61)
    torch.testing.assert_close(tanh.grad, 1 - torch.tanh(tanh.x) ** 2)


def test_selu_and_gelu_peaks():
    _, selu_peak = fn.peak_gradient(fn.activation_curve("SELU", -3.0, 3.0, 6001, dtype=torch.float64))
    assert selu_peak == pytest.approx(1.0507009873554805 * 1.6732632423543772, rel=2e-3)  # lambda * alpha at 0-
    x, gelu_peak = fn.peak_gradient(fn.activation_curve("GELU", -4.0, 4.0, 8001, dtype=torch.float64))
    assert gelu_peak == pytest.approx(1.1289, abs=1e-3) and x == pytest.approx(1.414, abs=0.01)  # peak at sqrt(2)


def test_activation_code_panel_computes_the_same_curves():
    names = ("sigmoid", "LeakyReLU", "softplus")
    ns = _run(fn.activation_code(names, -5.0, 5.0, 201, slope=0.25, beta=2.0))
    core = fn.activation_curve("softplus", -5.0, 5.0, 201, slope=0.25, beta=2.0)  # the loop ends on softplus
    torch.testing.assert_close(ns["dy"], core.grad)
    torch.testing.assert_close(ns["y"].detach(), core.y)


# ----------------------------------------------------------------------------------------------------- losses


def test_regression_loss_gradients():
    curves = fn.regression_loss_curves(("MSE", "L1", "Huber"), -3.0, 3.0, 301, target=0.5, delta=0.8)
    r = curves["MSE"].x - 0.5
    torch.testing.assert_close(curves["MSE"].grad, 2 * r)
    mask = r.abs() > 1e-3
    torch.testing.assert_close(curves["L1"].grad[mask], torch.sign(r[mask]))
    torch.testing.assert_close(curves["Huber"].grad, r.clamp(-0.8, 0.8))  # Huber's gradient is clipped at delta
    torch.testing.assert_close(curves["Huber"].y, F.huber_loss(curves["Huber"].x, torch.full_like(r, 0.5),
                                                               reduction="none", delta=0.8))


def test_regression_code_panel_runs_the_same_losses():
    ns = _run(fn.regression_loss_code(("MSE", "Huber"), -2.0, 2.0, 41, target=0.5, delta=0.7))
    core = fn.regression_loss_curves(("Huber",), -2.0, 2.0, 41, target=0.5, delta=0.7)["Huber"]
    torch.testing.assert_close(ns["grad"], core.grad)


def test_seeds_argument_sigmoid_mse_vanishes_cross_entropy_does_not():
    curves = fn.classification_loss_curves(-10.0, 10.0, 401)
    p = curves["sigmoid + MSE"].p
    torch.testing.assert_close(curves["sigmoid + MSE"].grad_z, (p - 1) * p * (1 - p))  # (p - y) p (1 - p)
    for name in ("sigmoid + BCE", "BCE with logits", "cross-entropy", "log_softmax + NLL"):
        torch.testing.assert_close(curves[name].grad_z, p - 1, atol=1e-6, rtol=1e-5)  # p - y
        torch.testing.assert_close(curves[name].loss, -torch.log(p), atol=1e-5, rtol=1e-5)
    confident_wrong = fn.classification_losses([-8.0])
    mse, ce = confident_wrong["sigmoid + MSE"].grad_z.item(), confident_wrong["cross-entropy"].grad_z.item()
    assert abs(mse) < 4e-4 and ce == pytest.approx(-0.99966, abs=1e-5)
    assert abs(ce) / abs(mse) > 2900


def test_classification_gradients_with_respect_to_p():
    at = fn.classification_losses([-2.0, 0.0, 3.0])
    p = torch.sigmoid(torch.tensor([-2.0, 0.0, 3.0]))
    torch.testing.assert_close(at["sigmoid + MSE"].grad_p, p - 1)
    torch.testing.assert_close(at["sigmoid + BCE"].grad_p, -1 / p)
    assert at["cross-entropy"].grad_p is None
    ref = torch.tensor([-2.0, 0.0, 3.0], requires_grad=True)  # dL/dz by the jacobian of the loss vector
    jac = torch.autograd.functional.jacobian(lambda z: 0.5 * (torch.sigmoid(z) - 1) ** 2, ref)
    torch.testing.assert_close(at["sigmoid + MSE"].grad_z, jac.diagonal())


def test_classification_code_panel_matches_core():
    ns = _run(fn.classification_code(-6.0, -10.0, 10.0, 401))
    core = fn.classification_loss_curves(-10.0, 10.0, 401)["log_softmax + NLL"]
    torch.testing.assert_close(ns["grad"], core.grad_z)


def test_cross_entropy_is_log_softmax_plus_nll():
    check = fn.cross_entropy_check([2.0, 1.0, 0.1], 0)
    assert check.cross_entropy == pytest.approx(0.4170299, abs=1e-6)
    assert check.cross_entropy == pytest.approx(check.nll_of_log_softmax, abs=1e-7)
    assert check.cross_entropy == pytest.approx(check.minus_log_p, abs=1e-6)
    torch.testing.assert_close(check.grad, check.p_minus_onehot)
    z = torch.tensor([[2.0, 1.0, 0.1]], requires_grad=True)
    torch.nn.CrossEntropyLoss()(z, torch.tensor([0])).backward()
    torch.testing.assert_close(check.grad, z.grad[0])
    ns = _run(fn.cross_entropy_code([2.0, 1.0, 0.1], 0))
    assert ns["ce"].item() == pytest.approx(check.cross_entropy)


# ---------------------------------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.5])
def test_softmax_jacobian_matches_formula_and_finite_differences(temperature):
    logits = [2.0, 1.0, 0.1, -1.0]
    r = fn.softmax_jacobian(logits, temperature)
    torch.testing.assert_close(r.jacobian, r.formula)
    assert torch.all(r.jacobian.diagonal() > 0)
    assert torch.all(r.jacobian[~torch.eye(4, dtype=torch.bool)] < 0)
    torch.testing.assert_close(r.jacobian.sum(dim=1), torch.zeros(4), atol=1e-6, rtol=0)
    z = torch.tensor(logits, dtype=torch.float64)
    fd = torch.stack([_central_difference(lambda v, j=j: torch.softmax(
        torch.where(torch.arange(4) == j, v, z) / temperature, 0), z) for j in range(4)], dim=1)
    torch.testing.assert_close(r.jacobian.double(), fd, atol=1e-5, rtol=1e-4)


def test_softmax_jacobian_diagonal_is_p_one_minus_p():
    r = fn.softmax_jacobian([3.0, -1.0, 0.5], 1.0)
    torch.testing.assert_close(r.jacobian.diagonal(), r.probs * (1 - r.probs))
    assert r.jacobian[0, 1].item() == pytest.approx(-(r.probs[0] * r.probs[1]).item(), abs=1e-7)
    ns = _run(fn.softmax_code([3.0, -1.0, 0.5], 1.0))
    torch.testing.assert_close(ns["J"], r.jacobian)


def test_temperature_sharpens_and_flattens():
    cold = fn.softmax_jacobian([2.0, 1.0, 0.1], 0.1).probs
    hot = fn.softmax_jacobian([2.0, 1.0, 0.1], 5.0).probs
    assert cold.max() > 0.9999 and (hot.max() - hot.min()) < 0.2


def test_naive_softmax_overflows_stable_one_does_not():
    logits = [2.0, 1.0, 0.1, -1.0]
    calm = fn.softmax_stability(logits, 0.0)
    assert not calm.overflowed
    torch.testing.assert_close(calm.naive, calm.stable)
    hot = fn.softmax_stability(logits, 100.0)  # max logit 102 > 88.7: exp overflows in float32
    assert hot.overflowed and torch.isnan(hot.naive).all() and math.isinf(hot.naive_logsumexp)
    torch.testing.assert_close(hot.stable, calm.stable)  # softmax(z + c) = softmax(z)
    torch.testing.assert_close(hot.builtin, calm.stable)
    assert hot.logsumexp == pytest.approx(calm.logsumexp + 100.0, abs=1e-4)
    assert not fn.softmax_stability(logits, 85.0).overflowed  # 87 is still finite in float32
    ns = _run(fn.stability_code(logits, 100.0))
    assert torch.isnan(ns["naive"]).all() and torch.allclose(ns["stable"], hot.stable)


# ------------------------------------------------------------------------------------------- gradient descent


@pytest.mark.parametrize("name", list(fn.FUNCTIONS_1D))
def test_descent_matches_torch_optim_sgd(name):
    result = fn.gradient_descent_1d(name, 1.7, 0.01, 30)
    x = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=0.01)
    xs = [x.item()]
    for _ in range(30):
        optimizer.zero_grad()
        fn.FUNCTIONS_1D[name].fn(x).backward()
        optimizer.step()
        xs.append(x.item())
    torch.testing.assert_close(result.xs, torch.tensor(xs, dtype=torch.float64))


def test_descent_gradients_match_finite_differences():
    result = fn.gradient_descent_1d("x^2 sin(x)", 3.0, 0.02, 20)
    fd = _central_difference(lambda v: v**2 * torch.sin(v), result.xs)
    torch.testing.assert_close(result.grads, fd, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(result.grads, 2 * result.xs * torch.sin(result.xs) + result.xs**2 * torch.cos(result.xs))


def test_descent_on_x_squared_converges_oscillates_diverges():
    good = fn.gradient_descent_1d("x^2", 2.0, 0.2, 60)
    assert good.status == "converged" and abs(good.xs[-1].item()) < 1e-6
    assert torch.allclose(good.xs, 2.0 * 0.6 ** torch.arange(61, dtype=torch.float64))  # x_k = (1 - 2 lr)^k x_0
    bouncing = fn.gradient_descent_1d("x^2", 2.0, 1.0, 20)
    assert bouncing.status == "oscillating" and set(bouncing.xs.tolist()) == {2.0, -2.0}
    bad = fn.gradient_descent_1d("x^2", 2.0, 1.1, 60)
    # |x_k| = 2 * 1.2^k first exceeds 1e4 at k = 47
    assert bad.status == "diverged" and bad.diverged_at == 47 and len(bad.xs) == 47
    assert torch.isfinite(bad.xs).all() and bad.xs.abs().max() < fn.DIVERGE_LIMIT
    assert "step 47" in bad.message and "lr" in bad.message


def test_descent_stops_at_the_first_non_finite_iterate():
    result = fn.gradient_descent_1d("x^4 - 3x^2 + x", 2.0, 1.5, 100)
    assert result.status == "diverged" and result.diverged_at is not None
    assert torch.isfinite(result.xs).all() and torch.isfinite(result.fs).all()
    assert abs(result.bad_value) > fn.DIVERGE_LIMIT or not math.isfinite(result.bad_value)


@pytest.mark.parametrize("name", list(fn.FUNCTIONS_1D))
def test_presets_show_what_they_promise(name):
    expected = {"too small": "moving", "just right": "converged", "oscillating": "oscillating",
                "diverging": "diverged", "bouncing": "oscillating"}
    for behaviour, x0, lr in fn.FUNCTIONS_1D[name].presets:
        assert fn.gradient_descent_1d(name, x0, lr, 60).status == expected[behaviour], (name, behaviour)


def test_descent_code_panel_reproduces_the_iterates():
    result = fn.gradient_descent_1d("x^2 sin(x)", 3.0, 0.02, 40)
    ns = _run(fn.gradient_descent_code("x^2 sin(x)", 3.0, 0.02, 40))
    assert ns["xs"] == pytest.approx(result.xs.tolist())
    diverged = _run(fn.gradient_descent_code("x^2", 2.0, 1.1, 60))
    assert len(diverged["xs"]) == 47


def test_function_curve_gradient_is_autograd():
    c = fn.function_curve("x^4 - 3x^2 + x", -2.0, 2.0, 101)
    torch.testing.assert_close(c.grad, 4 * c.x**3 - 6 * c.x + 1, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------------------ linear regression


def test_same_seed_same_points():
    a, b = fn.make_line(40, 1.5, 0.3, 0.4, seed=7), fn.make_line(40, 1.5, 0.3, 0.4, seed=7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], fn.make_line(40, 1.5, 0.3, 0.4, seed=8)[1])
    assert a[0].min() >= -2 and a[0].max() <= 2


def test_hand_gradient_equals_autograd_gradient():
    x, y = fn.make_line(30, -1.2, 0.7, 0.3, seed=3)
    w = torch.tensor(0.4, requires_grad=True)
    b = torch.tensor(-0.2, requires_grad=True)
    F.mse_loss(w * x + b, y).backward()
    y_hat = 0.4 * x - 0.2
    torch.testing.assert_close(2 * ((y_hat - y) * x).mean(), w.grad)
    torch.testing.assert_close(2 * (y_hat - y).mean(), b.grad)


def test_both_fits_take_the_same_path_and_reach_least_squares():
    x, y = fn.make_line(50, 2.0, -1.0, 0.5, seed=0)
    hand = fn.fit_by_hand(x, y, 0.1, 200)
    auto = fn.fit_by_autograd(x, y, 0.1, 200)
    torch.testing.assert_close(hand.path, auto.path, atol=1e-5, rtol=1e-5)
    w, b = fn.least_squares(x, y)
    # the closed form by the normal equations, and by numpy's polyfit, agree with lstsq
    xd, yd = x.double(), y.double()
    w_ne = ((xd - xd.mean()) * (yd - yd.mean())).sum() / ((xd - xd.mean()) ** 2).sum()
    assert w == pytest.approx(w_ne.item(), abs=1e-9) and b == pytest.approx((yd.mean() - w_ne * xd.mean()).item())
    for fit in (hand, auto):
        assert fit.w == pytest.approx(w, abs=1e-4) and fit.b == pytest.approx(b, abs=1e-4)
    assert hand.losses[-1] < hand.losses[0] and hand.diverged_at is None


def test_momentum_changes_the_path_not_the_answer():
    x, y = fn.make_line(50, 2.0, -1.0, 0.5, seed=0)
    hand = fn.fit_by_hand(x, y, 0.05, 400)
    auto = fn.fit_by_autograd(x, y, 0.05, 400, momentum=0.9)
    assert (hand.path[5] - auto.path[5]).abs().max() > 1e-3
    w, b = fn.least_squares(x, y)
    assert auto.w == pytest.approx(w, abs=1e-3) and auto.b == pytest.approx(b, abs=1e-3)


def test_regression_divergence_is_reported():
    x, y = fn.make_line(50, 2.0, -1.0, 0.5, seed=0)
    hand = fn.fit_by_hand(x, y, 1.0, 500)
    auto = fn.fit_by_autograd(x, y, 1.0, 500)
    assert hand.diverged_at is not None and hand.diverged_at == auto.diverged_at
    assert torch.isfinite(hand.path).all() and len(hand.path) == hand.diverged_at


def test_loss_surface_is_the_mse_at_each_grid_point():
    x, y = fn.make_line(20, 1.0, 0.0, 0.2, seed=1)
    ws, bs, surface = fn.loss_surface(x, y, (-1.0, 3.0), (-2.0, 2.0), 9)
    for i, j in [(0, 0), (4, 7), (8, 3)]:
        assert surface[i, j].item() == pytest.approx(F.mse_loss(ws[j] * x + bs[i], y).item(), rel=1e-5)


def test_regression_code_panels_reproduce_both_fits():
    x, y = fn.make_line(60, 1.5, 0.5, 0.3, seed=4)
    hand = fn.fit_by_hand(x, y, 0.2, 80)
    auto = fn.fit_by_autograd(x, y, 0.2, 80, momentum=0.5)
    code_hand, code_auto = fn.regression_code(60, 1.5, 0.5, 0.3, 4, 0.2, 80, 0.5)
    ns = _run(code_hand)
    assert ns["w"].item() == pytest.approx(hand.w, abs=1e-6) and ns["b"].item() == pytest.approx(hand.b, abs=1e-6)
    ns = _run(code_auto)
    assert ns["w"].item() == pytest.approx(auto.w, abs=1e-6) and ns["b"].item() == pytest.approx(auto.b, abs=1e-6)
    blown = fn.fit_by_hand(*fn.make_line(50, 2.0, -1.0, 0.5, 0), 1.0, 100)
    ns = _run(fn.regression_code(50, 2.0, -1.0, 0.5, 0, 1.0, 100, 0.0)[0])
    assert ns["epoch"] == blown.diverged_at and math.isfinite(ns["w"].item())  # stops where the page stops


# --------------------------------------------------------------------------------------------------- backprop


@pytest.mark.parametrize("activation", list(fn.HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("seed", [0, 5])
def test_manual_chain_rule_equals_autograd(activation, seed):
    result = fn.backprop((0.8, -1.3), 0.4, seed, activation)
    for name in result.manual:
        torch.testing.assert_close(result.manual[name], result.autograd[name])


def test_backprop_matches_finite_differences_on_w1():
    base = fn.tiny_net(2)
    result = fn.backprop((0.5, 1.5), -0.3, 2, "tanh")
    x, y = torch.tensor([0.5, 1.5], dtype=torch.float64), torch.tensor([-0.3], dtype=torch.float64)

    def loss_of(w1):
        params = {k: v.double() for k, v in base.items()} | {"W1": w1}
        return fn._forward(params, x, y, "tanh")[-1]

    w1 = base["W1"].double()
    fd = torch.zeros_like(w1)
    for i in range(3):
        for j in range(2):
            e = torch.zeros_like(w1)
            e[i, j] = 1e-6
            fd[i, j] = (loss_of(w1 + e) - loss_of(w1 - e)) / 2e-6
    torch.testing.assert_close(result.autograd["W1"].double(), fd, atol=1e-5, rtol=1e-4)


def test_graph_flags():
    flags = {row["tensor"]: row for row in fn.backprop((1.0, -0.5), 0.5).flags}
    assert flags["x"]["requires_grad"] is False and flags["x"]["has .grad after backward()"] is False
    assert flags["W1"]["is_leaf"] and flags["W1"]["has .grad after backward()"]
    assert not flags["h"]["is_leaf"] and flags["h"]["grad_fn"] == "TanhBackward0"
    assert not flags["h"]["has .grad after backward()"]
    assert flags["loss"]["grad_fn"] == "SumBackward0"


def test_backward_twice_needs_retain_graph_and_accumulates():
    twice = fn.backward_twice((1.0, -0.5), 0.5)
    assert "backward through the graph a second time" in twice.error
    for name in fn.PARAM_NAMES:
        torch.testing.assert_close(twice.second[name], 2 * twice.first[name])


def test_forgetting_zero_grad_sums_gradients():
    summed = fn.accumulated_grads((1.0, -0.5), 0.5, calls=4, zero_grad=False)
    zeroed = fn.accumulated_grads((1.0, -0.5), 0.5, calls=4, zero_grad=True)
    for k in range(4):
        torch.testing.assert_close(summed[k], (k + 1) * zeroed[0])
        torch.testing.assert_close(zeroed[k], zeroed[0])
    torch.testing.assert_close(zeroed[0], fn.backprop((1.0, -0.5), 0.5).autograd["W2"][0])


def test_training_without_zero_grad_does_worse():
    good_loss, good_norm = fn.train_tiny((1.0, -0.5), 0.5, lr=0.05, steps=40, zero_grad=True)
    bad_loss, bad_norm = fn.train_tiny((1.0, -0.5), 0.5, lr=0.05, steps=40, zero_grad=False)
    assert good_loss[-1] < 1e-6 and bad_loss[-1] > 1e-2
    assert good_loss[0] == bad_loss[0] and good_norm[0] == bad_norm[0]  # identical until grads start summing
    assert (torch.diff(bad_loss) > 0).any()  # it overshoots: the loss goes back up


def test_backprop_code_panels_run():
    ns = _run(fn.backprop_code((1.0, -0.5), 0.5, 0, "sigmoid"))
    result = fn.backprop((1.0, -0.5), 0.5, 0, "sigmoid")
    torch.testing.assert_close(ns["W1"].grad, result.autograd["W1"])
    torch.testing.assert_close(ns["d_W1"], ns["W1"].grad)
    ns = _run(fn.zero_grad_code((1.0, -0.5), 0.5, 0, "tanh", 0.05, 40, zero_grad=False))
    losses, _ = fn.train_tiny((1.0, -0.5), 0.5, 0, "tanh", 0.05, 40, zero_grad=False)
    assert ns["loss"].item() == pytest.approx(losses[-1].item(), rel=1e-5)
