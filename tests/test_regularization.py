"""core.regularization against torch: closed-form fits, weight_decay, early stopping, K-fold."""

import numpy as np
import pytest
import torch

from core import regularization
from core.regularization import GDConfig, PolyData
from tests.helpers import run_panel, same_output


@pytest.fixture(scope="module")
def points():
    return regularization.make_points(PolyData(n_train=15, n_val=50, noise=0.3, seed=0))


def test_points_are_seeded_and_spread(points):
    again = regularization.make_points(PolyData(n_train=15, n_val=50, noise=0.3, seed=0))
    assert torch.equal(points.x_train, again.x_train) and torch.equal(points.y_val, again.y_val)
    assert points.x_train.shape == (15,) and points.x_val.shape == (50,)
    # one training point in each of 15 equal cells of [-1, 1]
    assert torch.equal(((points.x_train + 1) / (2 / 15)).floor().long(), torch.arange(15))
    noiseless = regularization.make_points(PolyData(noise=0.0))
    assert torch.allclose(noiseless.y_train, regularization.target(noiseless.x_train))
    with pytest.raises(ValueError):
        regularization.make_points(PolyData(n_train=1))


def test_closed_form_fit_equals_numpy_polyfit(points):
    coef = regularization.fit(points.x_train, points.y_train, 5)
    expected = np.polyfit(points.x_train.numpy(), points.y_train.numpy(), 5)[::-1]
    assert np.allclose(coef.numpy(), expected, atol=1e-8)
    # a degree-(n-1) polynomial goes through all n training points
    assert regularization.mse(points.x_train, points.y_train, regularization.fit(points.x_train, points.y_train, 14)) < 1e-12


def test_weight_decay_fit_is_where_sgd_with_weight_decay_converges(points):
    degree, wd = 3, 0.05
    X = regularization.features(points.x_train, degree)
    y = points.y_train.unsqueeze(-1)
    w = torch.zeros(degree + 1, 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.5, weight_decay=wd)
    for _ in range(20_000):
        opt.zero_grad()
        ((X @ w - y) ** 2).mean().backward()
        opt.step()
    closed = regularization.fit(points.x_train, points.y_train, degree, weight_decay=wd)
    assert torch.allclose(w.detach().squeeze(-1), closed, atol=1e-6)
    assert closed.norm() < regularization.fit(points.x_train, points.y_train, degree).norm()  # shrinkage


def test_degree_curve_train_error_falls_and_validation_error_turns_up(points):
    curve = regularization.degree_curve(points, 15)
    assert curve.degrees == list(range(16))
    assert all(b <= a + 1e-12 for a, b in zip(curve.train_mse, curve.train_mse[1:], strict=False))
    best = int(np.argmin(curve.val_mse))
    assert 2 <= best <= 8
    assert curve.val_mse[15] > 100 * curve.val_mse[best]  # overfitting
    assert curve.val_mse[0] > 2 * curve.val_mse[best]  # underfitting
    ridge = regularization.degree_curve(points, 15, weight_decay=1e-3)
    assert ridge.val_mse[15] < curve.val_mse[15] / 100


def test_gradient_training_and_early_stopping(points):
    run = regularization.train_gd(points, GDConfig(degree=12, lr=0.05, steps=600, patience=50))
    assert len(run.train_loss) == len(run.val_loss) == 600
    assert run.train_loss[-1] < run.train_loss[0] / 5
    assert run.stop_step is not None and run.stop_step - run.early_step == 50
    assert run.early_step == int(np.argmin(run.val_loss[:run.stop_step + 1]))
    assert run.val_loss[run.best_step] == min(run.val_loss)
    # the kept weights score the validation loss recorded at their step
    assert regularization.mse(points.x_val, points.y_val, run.early_coef.double()) == pytest.approx(
        run.val_loss[run.early_step], rel=1e-4)
    seen = []
    regularization.train_gd(points, GDConfig(steps=5), on_step=lambda step, train, val: seen.append(step))
    assert seen == [0, 1, 2, 3, 4]


def test_penalties_shrink_the_coefficients(points):
    plain = regularization.train_gd(points, GDConfig(degree=12, steps=400))
    l2 = regularization.train_gd(points, GDConfig(degree=12, steps=400, weight_decay=0.05))
    l1 = regularization.train_gd(points, GDConfig(degree=12, steps=400, l1=0.02))
    assert l2.coef.norm() < plain.coef.norm()
    assert l1.coef.abs().sum() < plain.coef.abs().sum()


def test_kfold_assignment_and_errors(points):
    folds = regularization.kfold_assignment(15, 4, seed=1)
    assert sorted(folds.bincount().tolist()) == [3, 4, 4, 4]
    assert not torch.equal(folds, regularization.kfold_assignment(15, 4, seed=2))
    errors = regularization.kfold_errors(points.x_train, points.y_train, 3, folds)
    held = folds == 2
    coef = regularization.fit(points.x_train[~held], points.y_train[~held], 3)
    assert errors[2] == pytest.approx(regularization.mse(points.x_train[held], points.y_train[held], coef))
    assert len(errors) == 4
    with pytest.raises(ValueError, match="K must be"):
        regularization.kfold_assignment(5, 6)


def test_ridge_path_and_kfold_curve(points):
    decays = [0.0, 1e-3, 1e-1]
    path = regularization.ridge_path(points.x_train, points.y_train, 6, decays)
    assert path.shape == (3, 7)
    assert torch.allclose(path[1], regularization.fit(points.x_train, points.y_train, 6, weight_decay=1e-3))
    norms = path.norm(dim=1)
    assert norms[0] > norms[1] > norms[2]
    folds = regularization.kfold_assignment(15, 5, seed=0)
    curve = regularization.kfold_curve(points.x_train, points.y_train, folds, 8)
    assert len(curve) == 9
    assert curve[3] == pytest.approx(sum(regularization.kfold_errors(points.x_train, points.y_train, 3, folds)) / 5)


def _checked(code: str) -> int:
    results = run_panel(code)
    assert results and all(same_output(printed, expected) for _, printed, expected in results), results
    return len(results)


def test_every_panel_prints_what_the_functions_computed():
    cfg = PolyData(n_train=12, n_val=30, noise=0.2, seed=3)
    pts = regularization.make_points(cfg)
    curve = regularization.degree_curve(pts, 15)
    assert _checked(regularization.degree_code(cfg, 5, curve.train_mse[5], curve.val_mse[5])) == 1
    ridge = regularization.fit(pts.x_train, pts.y_train, 9, weight_decay=1e-4)
    assert _checked(regularization.l2_code(cfg, 9, 1e-4, ridge, regularization.mse(pts.x_val, pts.y_val, ridge))) == 3
    l1 = GDConfig(degree=6, lr=0.05, steps=300, l1=0.01, patience=10**9)
    coef = regularization.train_gd(pts, l1).coef.double()
    assert _checked(regularization.l1_code(cfg, l1, regularization.mse(pts.x_val, pts.y_val, coef))) == 1
    for gd in (GDConfig(degree=10, lr=0.1, steps=400, patience=30), GDConfig(degree=2, lr=0.01, steps=100)):
        assert _checked(regularization.early_code(cfg, gd, regularization.train_gd(pts, gd))) == 1
    folds = regularization.kfold_assignment(12, 4, seed=3)
    errors = regularization.kfold_errors(pts.x_train, pts.y_train, 4, folds)
    assert _checked(regularization.kfold_code(cfg, 4, 4, errors)) == 1


def test_verdict_compares_with_the_best_degree():
    curve = regularization.DegreeCurve([0, 1, 2, 3], [4.0, 2.0, 1.0, 0.5], [4.0, 1.0, 1.1, 3.0])
    assert [regularization.verdict(curve, d) for d in range(4)] == ["underfitting", "about right", "about right",
                                                                    "overfitting"]
