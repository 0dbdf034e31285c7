"""AppTest of the Functions & gradients pages: the values they show, bad input, and shareable settings."""

import math

import numpy as np
import pytest
import torch

from core import activations, backprop, descent1d, linear_regression, losses
from tests.helpers import codes, decode, errors, metrics, open_page, plotly_specs, rerun, table, trace

ACT, LOSS, SOFTMAX = "pages/20_activations.py", "pages/21_losses.py", "pages/22_softmax.py"
GD, REG, BP = "pages/23_gradient_descent.py", "pages/24_linear_regression.py", "pages/25_backprop.py"


# ------------------------------------------------------------------------------------------------ activations


def test_activations_sigmoid_max_gradient_and_saturation(app):
    at = open_page(app, ACT)
    m = metrics(at)
    assert m["max f'(x) of sigmoid"] == "0.2500" and m["at x"] == "0.00" and m["f'(0)"] == "0.2500"
    peak = trace(plotly_specs(at), "max f'(x) of sigmoid")
    assert peak["y"][0] == pytest.approx(0.25, abs=1e-6)
    shapes = [s for s in plotly_specs(at)[0]["layout"]["shapes"] if s["type"] == "rect"]
    edges = sorted({round(s["x1"], 2) for s in shapes} | {round(s["x0"], 2) for s in shapes})
    assert edges == [-6.0, -4.59, 4.59, 6.0]
    assert any("0.25" in i.value for i in at.info)
    rows = table(at, "max f'(x)").set_index("activation")
    assert rows.loc["tanh", "max f'(x)"] == pytest.approx(1.0, abs=1e-6)
    assert rows.loc["ReLU", "saturated share"] == pytest.approx(0.5, abs=0.01)


def test_activations_leaky_slope_drives_the_autograd_curve(app):
    at = open_page(app, ACT)
    assert at.slider(key="act_slope").disabled
    at.selectbox(key="act_focus").set_value("LeakyReLU")
    rerun(at)
    at.slider(key="act_slope").set_value(0.3)
    rerun(at)
    assert not at.slider(key="act_slope").disabled
    curve = [t for t in plotly_specs(at)[0]["data"] if t.get("name") == "LeakyReLU"][1]  # f'(x)
    xs, grads = decode(curve["x"]), decode(curve["y"])
    assert all(g == pytest.approx(0.3) for x, g in zip(xs, grads, strict=True) if x < -0.01)
    assert all(g == pytest.approx(1.0) for x, g in zip(xs, grads, strict=True) if x > 0.01)
    assert "negative_slope=0.3" in codes(at)[0]
    assert metrics(at)["saturated share"] == "0%"


def test_activations_empty_range_is_a_message(app):
    at = open_page(app, ACT)
    at.slider(key="act_range").set_value((2.0, 2.0))
    rerun(at)
    assert "single point" in at.warning[0].value


def test_activations_settings_come_from_the_link(app):
    app.query_params.update({"act_focus": "tanh", "act_range": "-3,3", "act_compare": "GELU"})
    at = open_page(app, ACT)
    assert at.selectbox(key="act_focus").value == "tanh"
    assert metrics(at)["max f'(x) of tanh"] == "1.0000"
    assert at.multiselect(key="act_compare").value == ["GELU"]
    assert "torch.linspace(-3, 3, 401" in codes(at)[0]


# ----------------------------------------------------------------------------------------------------- losses


def test_losses_sigmoid_mse_saturates_cross_entropy_does_not(app):
    at = open_page(app, LOSS)
    at.slider(key="loss_z").set_value(-8.0)
    rerun(at)
    m = metrics(at)
    p = 1 / (1 + math.exp(8))
    assert float(m["p = σ(z)"]) == pytest.approx(p, rel=1e-3)
    assert float(m["dL/dz, sigmoid + MSE"]) == pytest.approx((p - 1) * p * (1 - p), rel=1e-3)
    assert float(m["dL/dz, cross-entropy"]) == pytest.approx(p - 1, rel=1e-3)
    rows = table(at, "dL/dz (autograd)").set_index("loss")
    for name in ("sigmoid + BCE", "BCE with logits", "cross-entropy", "log_softmax + NLL"):
        assert rows.loc[name, "by the formula"] == "p − y"
        assert rows.loc[name, "dL/dz (autograd)"] == pytest.approx(rows.loc[name, "formula value"], rel=1e-4)
        assert rows.loc[name, "loss value"] == pytest.approx(8.000335, rel=1e-4)
    assert rows.loc["sigmoid + MSE", "by the formula"] == "(p − y) p (1 − p)"
    assert rows.loc["sigmoid + MSE", "dL/dz (autograd)"] == pytest.approx(
        rows.loc["sigmoid + MSE", "formula value"], rel=1e-3)
    assert rows.loc["sigmoid + BCE", "dL/dp (autograd)"] == pytest.approx(-1 / p, rel=1e-3)
    assert trace(plotly_specs(at), "cross-entropy at z")["y"][0] == pytest.approx(p - 1, rel=1e-3)
    mse = trace(plotly_specs(at), "sigmoid + MSE")
    assert max(abs(v) for v in mse["y"]) < 0.5  # sigmoid + MSE never exceeds 1/2


def test_losses_cross_entropy_equals_log_softmax_plus_nll(app):
    at = open_page(app, LOSS)
    m = metrics(at)
    assert m["F.cross_entropy(z, y)"] == m["F.nll_loss(F.log_softmax(z), y)"] == "0.417030"
    assert any("agree" in s.value for s in at.success)
    at.text_input(key="loss_logits").set_value("0.5, -1, 3, 2")
    at.number_input(key="loss_class").set_value(3)
    rerun(at)
    m = metrics(at)
    z = torch.tensor([[0.5, -1.0, 3.0, 2.0]])
    expected = torch.nn.functional.cross_entropy(z, torch.tensor([3])).item()
    assert float(m["F.cross_entropy(z, y)"]) == pytest.approx(expected, abs=1e-6)
    assert m["F.cross_entropy(z, y)"] == m["F.nll_loss(F.log_softmax(z), y)"]
    grads = table(at, "logits.grad (autograd)")
    assert grads["logits.grad (autograd)"].tolist() == pytest.approx(grads["p − onehot(y)"].tolist(), abs=1e-6)


def test_losses_bad_logits_and_class_are_messages(app):
    at = open_page(app, LOSS)
    at.text_input(key="loss_logits").set_value("2, abc")
    rerun(at)
    assert "`abc` is not a number" in at.error[0].value
    at.text_input(key="loss_logits").set_value("1, 2")
    at.number_input(key="loss_class").set_value(4)
    rerun(at)
    assert "0..1" in at.error[0].value
    at.text_input(key="loss_logits").set_value("1")
    rerun(at)
    assert "at least 2 numbers" in at.error[0].value


def test_losses_huber_gradient_is_clipped_at_delta(app):
    at = open_page(app, LOSS)
    at.slider(key="loss_delta").set_value(0.5)
    rerun(at)
    huber = decode([t for t in plotly_specs(at)[0]["data"] if t.get("name") == "Huber"][1]["y"])  # dL/dy_hat
    assert max(huber) == pytest.approx(0.5) and min(huber) == pytest.approx(-0.5)


# ---------------------------------------------------------------------------------------------------- softmax


def test_softmax_jacobian_diagonal_is_p_one_minus_p(app):
    at = open_page(app, SOFTMAX)
    rows = table(at, "J[i, i] (autograd)")
    assert rows["J[i, i] (autograd)"].tolist() == pytest.approx(rows["p_i (1 − p_i) / T"].tolist(), abs=1e-7)
    assert rows["row sum of J"].abs().max() < 1e-6
    z = torch.tensor(decode(plotly_specs(at)[1]["data"][0]["z"]), dtype=torch.float64)
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.1, -1.0]), 0)
    torch.testing.assert_close(z.diagonal(), (p * (1 - p)).double(), atol=1e-6, rtol=1e-5)
    assert z[0, 1].item() == pytest.approx(-(p[0] * p[1]).item(), abs=1e-6)
    bars = decode(plotly_specs(at)[0]["data"][0]["y"])
    assert bars.tolist() == pytest.approx(p.tolist(), abs=1e-6)


def test_softmax_temperature_flattens(app):
    at = open_page(app, SOFTMAX)
    at.slider(key="sm_temperature").set_value(5.0)
    rerun(at)
    rows = table(at, "J[i, i] (autograd)")
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.1, -1.0]) / 5.0, 0)
    assert rows["p_i"].tolist() == pytest.approx(p.tolist(), abs=1e-6)
    assert rows["J[i, i] (autograd)"].tolist() == pytest.approx((p * (1 - p) / 5).tolist(), abs=1e-7)
    assert len(plotly_specs(at)[0]["data"]) == 2  # T = 5 and T = 1 side by side


def test_softmax_naive_overflows_at_large_logits(app):
    at = open_page(app, SOFTMAX)
    assert any("No overflow" in s.value for s in at.success)
    at.slider(key="sm_shift").set_value(100.0)
    rerun(at)
    assert "Naive softmax failed" in at.error[0].value
    rows = table(at, "naive exp / Σ exp")
    assert set(rows["naive exp / Σ exp"]) == {"nan"}
    assert rows["stable (z − max z)"].tolist() == rows["torch.softmax"].tolist()
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.1, -1.0]), 0)
    assert [float(v) for v in rows["stable (z − max z)"]] == pytest.approx(p.tolist(), abs=1e-6)
    assert metrics(at)["log(Σ exp(z)) naive"] == "inf"


def test_softmax_bad_logits_are_a_message(app):
    at = open_page(app, SOFTMAX)
    at.text_input(key="sm_logits").set_value("1, 2, [3")
    rerun(at)
    assert at.error and "not a number" in at.error[0].value


# ------------------------------------------------------------------------------------------- gradient descent


def test_gradient_descent_default_converges_on_the_seed_function(app):
    at = open_page(app, GD)
    assert at.selectbox(key="gd_fn").value == "x^2 sin(x)"
    assert "Converged to x = 5.0870" in at.success[0].value
    assert float(metrics(at)["x_k"]) == pytest.approx(5.087, abs=1e-3)
    at.slider(key="gd_step").set_value(0)
    rerun(at)
    m = metrics(at)
    assert float(m["x_k"]) == 3.0 and float(m["f'(x_k) (autograd)"]) == pytest.approx(
        2 * 3 * math.sin(3) + 9 * math.cos(3), rel=1e-4)
    path = trace(plotly_specs(at), "iterates x_k")
    assert path["x"].tolist() == [3.0]


def test_gradient_descent_divergence_message_and_only_finite_points(app):
    at = open_page(app, GD)
    at.selectbox(key="gd_fn").set_value("x^2")
    at.slider(key="gd_lr").set_value(1.1)
    at.slider(key="gd_x0").set_value(2.0)
    rerun(at)
    assert "Diverged at step 47" in at.error[0].value
    specs = plotly_specs(at)
    path = trace(specs, "iterates x_k")
    assert len(path["x"]) == 47 and np.isfinite(path["x"]).all() and np.isfinite(path["y"]).all()
    for spec in specs:
        for t in spec["data"]:
            ys = t.get("y", [])  # a plain list may hold None (a gap in a line), never inf or nan
            ys = ys if isinstance(ys, list) else decode(ys).tolist()
            assert all(v is None or math.isfinite(v) for v in ys if isinstance(v, float | None))


def test_gradient_descent_settings_come_from_the_link(app):
    app.query_params.update({"gd_fn": "x^2", "gd_x0": "2", "gd_lr": "1.1", "gd_steps": "60"})
    at = open_page(app, GD)
    assert at.slider(key="gd_lr").value == pytest.approx(1.1)
    assert "Diverged at step 47" in at.error[0].value
    assert "lr = 1.1" in codes(at)[0] and "return x**2" in codes(at)[0]


def test_gradient_descent_presets(app):
    at = open_page(app, GD)
    at.button(key="gd_preset_oscillating").click()
    rerun(at)
    assert at.slider(key="gd_lr").value == pytest.approx(0.06)
    assert "Oscillating" in at.warning[0].value
    at.button(key="gd_preset_diverging").click()
    rerun(at)
    assert "Diverged" in at.error[0].value
    assert "lr = 0.4" in codes(at)[0]


def test_gradient_descent_play_starts_from_the_first_step(app):
    at = open_page(app, GD)
    at.button(key="gd_play").click()
    rerun(at)
    assert at.slider(key="gd_step").value == 0
    assert at.session_state["gd_playing"] is True


# ------------------------------------------------------------------------------------------ linear regression


def test_linear_regression_two_fits_agree_with_least_squares(app):
    at = open_page(app, REG)
    m = metrics(at)
    x, y = linear_regression.make_line(50, 2.0, -1.0, 0.5, seed=0)
    w, b = linear_regression.least_squares(x, y)
    fits = table(at, "epochs run").set_index("fit")
    for name in ("hand-derived gradient", "autograd + torch.optim.SGD", "least squares (torch.linalg.lstsq)"):
        assert fits.loc[name, "w"] == pytest.approx(w, abs=1e-4) and fits.loc[name, "b"] == pytest.approx(b, abs=1e-4)
    assert float(m["max |hand − autograd|"]) < 1e-5 and float(m["max |fit − least squares|"]) < 1e-4
    assert "Both fits reach the least-squares line" in at.success[0].value
    specs = plotly_specs(at)
    hand, auto = trace(specs, "hand-derived path"), trace(specs, "autograd path")
    assert hand["x"] == pytest.approx(auto["x"], abs=1e-5) and len(hand["x"]) == 101
    assert trace(specs, "least-squares minimum")["x"][0] == pytest.approx(w, abs=1e-6)
    line = trace(specs, "least-squares line")
    assert line["y"][1] - line["y"][0] == pytest.approx(4 * w, abs=1e-5)  # drawn over x in [-2, 2]


def test_linear_regression_new_seed_new_data_same_agreement(app):
    at = open_page(app, REG)
    at.number_input(key="lr_seed").set_value(42)
    at.slider(key="lr_noise").set_value(1.5)
    at.slider(key="lr_epochs").set_value(300)
    rerun(at)
    x, y = linear_regression.make_line(50, 2.0, -1.0, 1.5, seed=42)
    w, b = linear_regression.least_squares(x, y)
    fits = table(at, "epochs run").set_index("fit")
    assert fits.loc["least squares (torch.linalg.lstsq)", "w"] == pytest.approx(w, abs=1e-6)
    assert fits.loc["hand-derived gradient", "w"] == pytest.approx(w, abs=1e-4)
    assert fits.loc["autograd + torch.optim.SGD", "b"] == pytest.approx(b, abs=1e-4)
    assert trace(plotly_specs(at), "data")["y"].tolist() == pytest.approx(y.tolist(), abs=1e-6)


def test_linear_regression_divergence_is_a_message(app):
    at = open_page(app, REG)
    at.slider(key="lr_lr").set_value(1.0)
    at.slider(key="lr_epochs").set_value(300)
    rerun(at)
    assert len(at.error) == 2 and "diverged at epoch" in at.error[0].value
    assert metrics(at)["max |hand − autograd|"] == "diverged"
    specs = plotly_specs(at)
    path = trace(specs, "hand-derived path")
    assert np.isfinite(path["x"]).all() and np.isfinite(path["y"]).all()
    assert max(abs(v) for v in path["x"]) < 100  # stopped at the blow-up, not at float overflow
    assert "hand-derived" not in [t.get("name") for t in specs[0]["data"]]  # no flown-off line over the data


# --------------------------------------------------------------------------------------------------- backprop


def test_backprop_manual_and_autograd_agree(app):
    at = open_page(app, BP)
    grads = table(at, "autograd .grad")
    assert len(grads) == 1 + 3 + 3 + 3 + 1 + 6 + 3
    assert grads["|difference|"].max() < 1e-6
    result = backprop.backprop((1.0, -0.5), 0.5, 0, "tanh")
    w1 = grads.set_index("dL/d").loc["W1[2, 1]", "autograd .grad"]
    assert w1 == pytest.approx(result.autograd["W1"][2, 1].item(), abs=1e-7)
    assert float(metrics(at)["loss (ŷ − y)²"]) == pytest.approx(result.forward["loss"].item(), abs=1e-4)


def test_backprop_retain_graph_and_zero_grad(app):
    at = open_page(app, BP)
    assert "backward through the graph a second time" in at.error[0].value
    retain = table(at, "after 2 backwards")
    assert retain["ratio"].tolist() == pytest.approx([2.0, 2.0, 2.0])
    at.slider(key="bp_calls").set_value(6)
    rerun(at)
    acc = table(at, "W2.grad[0, 0] without zero_grad")
    assert acc["ratio"].tolist() == pytest.approx([1, 2, 3, 4, 5, 6], rel=1e-5)
    m = metrics(at)
    assert float(m["final loss, with zero_grad()"]) < 1e-6 < float(m["final loss, zero_grad() forgotten"])
    flags = table(at, "grad_fn").set_index("tensor")
    assert not flags.loc["x", "requires_grad"] and flags.loc["W2", "has .grad after backward()"]


def test_backprop_training_blow_up_is_a_message(app):
    at = open_page(app, BP)
    at.slider(key="bp_x1").set_value(3.0)
    at.slider(key="bp_x2").set_value(-3.0)
    at.slider(key="bp_y").set_value(3.0)
    at.slider(key="bp_lr").set_value(0.5)
    rerun(at)
    assert metrics(at)["final loss, with zero_grad()"] == "diverged"
    assert "blew up after 14 steps" in at.warning[0].value
    specs = plotly_specs(at)
    assert len(trace(specs, "with zero_grad()")["y"]) == 14


def test_backprop_relu_and_other_seed(app):
    at = open_page(app, BP)
    at.selectbox(key="bp_act").set_value("ReLU")
    at.number_input(key="bp_seed").set_value(3)
    rerun(at)
    assert table(at, "autograd .grad")["|difference|"].max() < 1e-6
    assert "torch.relu" in codes(at)[0] and "manual_seed(3)" in codes(at)[0]


# ------------------------------------------------------------------------------------- figures, fast path


def _figure_json(fig) -> dict:
    import json

    import plotly.io as pio

    spec = json.loads(pio.to_json(fig.to_dict(), validate=False))
    if not spec["layout"].get("title"):
        spec["layout"].pop("title", None)  # no title: {} when validated, null when not; plotly.js reads both alike
    return spec


def test_unvalidated_figures_are_the_validated_figures(monkeypatch):
    """The app skips plotly's validation for speed; the JSON it sends must be what validation would give."""
    from ui import figures_functions as figures
    from ui import plots

    c = activations.activation_curve("sigmoid")
    x, y = linear_regression.make_line()
    hand = linear_regression.fit_by_hand(x, y, 0.1, 50)
    auto = linear_regression.fit_by_autograd(x, y, 0.1, 50)
    descent = descent1d.gradient_descent_1d("x^2", 2.0, 1.1, 60)
    builders = [
        lambda: figures.activations({"sigmoid": c}, "sigmoid", tuple(activations.ACTIVATIONS),
                                    zones=activations.saturation_zones(c), peak=activations.peak_gradient(c)),
        lambda: figures.regression_losses(losses.regression_loss_curves(("MSE", "Huber")),
                                          tuple(losses.REGRESSION_LOSSES), delta=1.0),
        lambda: figures.classification_losses(losses.classification_loss_curves(), tuple(losses.CLASSIFICATION_LOSSES),
                                              z0=-6.0, at=losses.classification_losses([-6.0])),
        lambda: figures.probabilities(torch.tensor([0.7, 0.3]), torch.tensor([0.6, 0.4]), 2.0),
        lambda: figures.descent(descent1d.function_curve("x^2", -3.0, 3.0), descent, 10),
        lambda: figures.descent_progress(descent, 10),
        lambda: figures.loss_surface(*linear_regression.loss_surface(x, y, (0.0, 3.0), (-2.0, 1.0), 20), hand, auto,
                                     (2.0, -1.0)),
        lambda: figures.network(backprop.backprop((1.0, -0.5), 0.5)),
        lambda: figures.training_with_and_without_zero_grad(backprop.train_tiny((1.0, -0.5), 0.5),
                                                            backprop.train_tiny((1.0, -0.5), 0.5, zero_grad=False)),
    ]
    for build in builders:
        monkeypatch.setattr(plots, "VALIDATE", True)
        validated = _figure_json(build())
        monkeypatch.setattr(plots, "VALIDATE", False)
        fast = _figure_json(build())
        assert fast == validated
        assert fast["layout"]["template"]["layout"]["plot_bgcolor"] == "white"


def test_losses_entropy_cross_entropy_and_kl(app):
    from core import entropy

    at = open_page(app, "pages/21_losses.py")
    at.text_input(key="loss_p").set_value("0.5, 0.5, 0")
    at.text_input(key="loss_q").set_value("0.25, 0.25, 0.5")
    rerun(at)
    d = entropy.divergence([0.5, 0.5, 0], [0.25, 0.25, 0.5])
    m = metrics(at)
    assert m["H(p)"] == f"{d.entropy:.4f}" == "0.6931" and m["KL(p ‖ q)"] == f"{d.kl:.4f}" == "0.6931"
    assert m["H(p, q)"] == m["H(p) + KL(p ‖ q)"] == "1.3863"  # log 4
    at.text_input(key="loss_q").set_value("1, 0, 0")
    rerun(at)
    assert any("never exactly 0" in e for e in errors(at))


def test_autograd_graph_page_steps_and_matches_torch(app):
    at = open_page(app, "pages/27_autograd_graph.py")
    m = metrics(at)
    assert m["out.grad_fn"] == "PowBackward0" and m["backward steps"] == "5"
    grads = table(at, "torch.autograd.grad")
    assert list(grads["replayed step by step"]) == pytest.approx(list(grads["torch.autograd.grad"]), rel=1e-12)
    at.session_state["ag_step"] = 3
    rerun(at)
    assert any("TanhBackward0" in md.value and "Step 3 of 5" in md.value for md in at.markdown)
    at.text_input(key="ag_expr").set_value("x*x + x")
    at.text_input(key="ag_vars").set_value("x")
    at.text_input(key="ag_vals").set_value("3")
    at.text_input(key="ag_req").set_value("x")
    rerun(at)
    assert list(table(at, "torch.autograd.grad")["torch.autograd.grad"]) == [7.0]
    at.text_input(key="ag_expr").set_value("__import__('os')")
    rerun(at)
    assert errors(at) and at.session_state["ag_vals"] == "3"
