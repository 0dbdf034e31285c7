"""core.optim2d against plain torch.optim loops: same paths bit for bit, the seeds' results, basins, divergence."""

import math

import numpy as np
import pytest
import torch

from core import optim2d as o
from core.parsing import InputError

HIMMELBLAU = o.LANDSCAPES["Himmelblau"]


def plain_loop(f, start, config, steps, schedule=o.Schedule()):
    """The loop a learner writes: one optimizer, one (2,) tensor, zero_grad/backward/step."""
    p = torch.tensor([float(start[0]), float(start[1])], requires_grad=True)
    optimizer = getattr(torch.optim, config.kind.cls)([p], **config.kwargs())
    scheduler = o.make_scheduler(schedule, optimizer, steps)
    path = [p.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = f(p[0], p[1])
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        path.append(p.detach().clone())
    return torch.stack(path).double().numpy()  # (steps + 1, 2)


@pytest.mark.parametrize("name", list(o.LANDSCAPES))
def test_all_optimizers_together_equal_plain_loops_step_for_step(name):
    land = o.LANDSCAPES[name]
    configs = [o.default_config(opt, land) for opt in o.OPTIMIZERS]
    for t in o.run(land.f, land.start, configs, 150, bound=land.bound):
        reference = plain_loop(land.f, land.start, t.config, 150)
        assert np.array_equal(t.points, reference[: len(t.points)]), t.config


@pytest.mark.parametrize("text", ["x", "y**2", "x + 0.5*y", "exp(-x**2) * sin(3*y) + 0.05*x**2"])
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "autograd.grad"])
def test_formulas_using_one_variable_or_none_at_a_point_equal_plain_loops(text, engine, monkeypatch):
    if not engine:
        monkeypatch.setattr(o, "_ENGINE", None)  # the documented path: torch.autograd.grad
    f = o.formula(text)
    configs = [o.RunConfig("SGD", lr=0.01), o.RunConfig("Adam", lr=0.05)]
    for t in o.run(f, (0.3, -0.7), configs, 40):
        assert np.array_equal(t.points, plain_loop(f, (0.3, -0.7), t.config, 40)), t.config


@pytest.mark.parametrize("schedule", [o.Schedule("step", step_size=40, gamma=0.3), o.Schedule("cosine")])
def test_schedules_equal_plain_loops_and_record_the_lr(schedule):
    configs = [o.RunConfig("SGD+momentum", lr=2e-3, momentum=0.78), o.RunConfig("Adam", lr=0.1),
               o.RunConfig("RMSprop", lr=0.02, momentum=0.5)]
    trajectories = o.run(HIMMELBLAU.f, (0.5, -1.0), configs, 120, schedule=schedule)
    for t in trajectories:
        assert np.array_equal(t.points, plain_loop(HIMMELBLAU.f, (0.5, -1.0), t.config, 120, schedule))
    lrs = trajectories[1].lrs
    if schedule.kind == "step":
        assert lrs[0] == 0.1 and lrs[39] == 0.1 and lrs[40] == pytest.approx(0.03) and lrs[80] == pytest.approx(0.009)
    else:
        assert lrs[0] == 0.1 and lrs[60] == pytest.approx(0.05) and lrs[-1] < 1e-4


def test_non_default_settings_reach_torch():
    configs = [o.RunConfig("SGD", lr=3e-3, momentum=0.5, nesterov=True), o.RunConfig("Adam", lr=0.05, beta1=0.5),
               o.RunConfig("AdamW", lr=0.05, weight_decay=0.3), o.RunConfig("Adagrad", lr=0.7)]
    assert configs[1].kwargs() == {"lr": 0.05, "betas": (0.5, 0.999)}
    assert configs[2].constructor() == "torch.optim.AdamW(params, lr=0.05, weight_decay=0.3)"
    for t in o.run(HIMMELBLAU.f, (1.0, 1.0), configs, 80):
        assert np.array_equal(t.points, plain_loop(HIMMELBLAU.f, (1.0, 1.0), t.config, 80))


def test_the_code_panel_code_produces_the_same_paths():
    land = o.LANDSCAPES["Rastrigin"]
    configs = [o.RunConfig("SGD", lr=1e-3), o.RunConfig("Nesterov", lr=1e-3, momentum=0.78, nesterov=True),
               o.RunConfig("Adam", lr=0.05, beta1=0.8)]
    schedule = o.Schedule("step", step_size=30, gamma=0.5)
    code = o.lab_code(land, (2.2, 2.6), configs, 100, schedule)
    namespace: dict = {}
    exec(compile(code, "<lab_code>", "exec"), namespace)  # our own generated code, in a test only
    for t in o.run(land.f, (2.2, 2.6), configs, 100, schedule=schedule, bound=land.bound):
        assert np.array_equal(t.points, namespace["paths"][t.config.optimizer].double().numpy())


def test_sgd_from_the_origin_finds_3_2_as_in_the_seeds():
    # The seeds' experiment: x = torch.tensor([0., 0.], requires_grad=True), lr = 0.001 on Himmelblau.
    (t,) = o.run(HIMMELBLAU.f, (0.0, 0.0), [o.RunConfig("SGD", lr=1e-3)], 500)
    assert np.linalg.norm(t.final - (3, 2)) < 1e-3
    settle = o.steps_to_settle(t.points, (3, 2))
    assert 200 < settle < 400  # measured: 282 steps to stay within 1e-3
    row = o.summary([t], HIMMELBLAU)[0]
    assert row["minimum reached"] == "(3, 2)" and row["steps to within 1e-3"] == settle
    assert row["final loss"] < 1e-8


@pytest.mark.parametrize("start, minimum", [((-2.0, 2.0), 1), ((-3.0, -3.0), 2), ((3.0, -1.5), 3)])
def test_a_start_in_each_other_basin_ends_at_its_minimum(start, minimum):
    (t,) = o.run(HIMMELBLAU.f, start, [o.RunConfig("SGD", lr=1e-3)], 500)
    assert np.linalg.norm(t.final - HIMMELBLAU.minima[minimum]) < 1e-3
    assert o.summary([t], HIMMELBLAU)[0]["minimum reached"] == o.point_label(HIMMELBLAU.minima[minimum])


def test_himmelblau_minima_are_minima():
    m = torch.tensor(HIMMELBLAU.minima, dtype=torch.float64, requires_grad=True)
    f = HIMMELBLAU.f(m[:, 0], m[:, 1])
    (g,) = torch.autograd.grad(f.sum(), m)
    assert f.max() < 1e-10 and g.abs().max() < 1e-4


@pytest.mark.parametrize("config", [o.RunConfig("SGD", lr=0.01), o.RunConfig("SGD", lr=5e-3, momentum=0.78,
                                                                                  nesterov=True),
                                    o.RunConfig("Adagrad", lr=0.5), o.RunConfig("RMSprop", lr=0.02, momentum=0.3),
                                    o.RunConfig("Adam", lr=0.1), o.RunConfig("AdamW", lr=0.1, weight_decay=0.2)],
                         ids=lambda c: c.optimizer)
@pytest.mark.parametrize("name", ["Himmelblau", "Rastrigin"])
def test_one_batched_parameter_equals_separate_runs(config, name):
    """The basin map's trick: one (N, 2) parameter with a summed loss = N separate optimizers, bit for bit."""
    land = o.LANDSCAPES[name]
    result = o.basin_map(land.f, config, (-4.0, 4.0), (-4.0, 4.0), 4, 60, bound=land.bound, block=5)  # 4 blocks
    for i, y in enumerate(result.ys):
        for j, x in enumerate(result.xs):
            alone = plain_loop(land.f, (x, y), config, 60)[-1]
            assert np.array_equal(result.finals[i, j], alone), (x, y)


def test_the_basins_code_panel_code_produces_the_same_map():
    config = o.RunConfig("Adam", lr=0.1, beta1=0.8)
    code = o.basins_code(HIMMELBLAU, config, 36, 40)  # 1296 starts: two blocks
    assert "starts.split(1024)" in code and "torch.optim.Adam(params, lr=0.1, betas=(0.8, 0.999))" in code
    namespace: dict = {}
    exec(compile(code, "<basins_code>", "exec"), namespace)  # our own generated code, in a test only
    result = o.basin_map(HIMMELBLAU.f, config, HIMMELBLAU.xlim, HIMMELBLAU.ylim, 36, 40, bound=HIMMELBLAU.bound)
    assert np.array_equal(result.finals.reshape(-1, 2), namespace["p"].double().numpy())
    cats = o.basin_categories(result, HIMMELBLAU.minima)
    reached = namespace["reached"].numpy()
    assert np.array_equal(np.where(cats >= 0, cats, -1), reached)


def test_basin_map_of_himmelblau_colours_the_whole_plane():
    result = o.basin_map(HIMMELBLAU.f, o.RunConfig("SGD", lr=1e-3), (-5, 5), (-5, 5), 40, 500, bound=HIMMELBLAU.bound)
    cats = o.basin_categories(result, HIMMELBLAU.minima)
    assert cats.shape == (40, 40)
    counts = {c: int((cats == c).sum()) for c in np.unique(cats)}
    assert set(counts) <= {0, 1, 2, 3, o.STATIONARY, o.WANDERING}
    assert all(counts.get(i, 0) > 150 for i in range(4))  # every minimum owns a large basin
    assert sum(counts.get(i, 0) for i in range(4)) > 0.95 * 1600
    # the start nearest each minimum ends there
    for index, (mx, my) in enumerate(HIMMELBLAU.minima):
        j, i = np.abs(result.xs - mx).argmin(), np.abs(result.ys - my).argmin()
        assert cats[i, j] == index


def test_basin_map_marks_divergence():
    result = o.basin_map(HIMMELBLAU.f, o.RunConfig("SGD", lr=0.05), (-5, 5), (-5, 5), 10, 50, bound=HIMMELBLAU.bound)
    cats = o.basin_categories(result, HIMMELBLAU.minima)
    assert result.diverged.any() and (cats[result.diverged] == o.DIVERGED).all()
    assert np.isnan(result.finals[result.diverged]).all()
    assert np.isfinite(result.finals[~result.diverged]).all()


def test_a_huge_learning_rate_diverges_and_stops_with_finite_points():
    configs = [o.RunConfig("SGD", lr=1.0), o.RunConfig("SGD", lr=1e-3)]
    bad, good = o.run(HIMMELBLAU.f, (0.0, 0.0), configs, 500, bound=HIMMELBLAU.bound)
    assert bad.diverged_at is not None and 1 <= bad.diverged_at < 10
    assert "left the landscape" in bad.reason or "overflowed" in bad.reason
    assert np.isfinite(bad.points).all() and np.isfinite(bad.losses).all()
    assert len(bad.points) == bad.diverged_at  # the start plus every finite step before it
    assert good.diverged_at is None and good.steps == 500
    row = o.summary([bad], HIMMELBLAU)[0]
    assert row["minimum reached"] == "none (diverged)" and row["status"] == f"diverged at step {bad.diverged_at}"


def test_overflow_to_inf_is_caught():
    land = o.custom_landscape("exp(x**2) + y**2")
    (t,) = o.run(land.f, (2.0, 1.0), [o.RunConfig("SGD", lr=0.5)], 50, bound=land.bound)
    assert t.diverged_at is not None and np.isfinite(t.points).all() and np.isfinite(t.losses).all()


def test_leaving_the_domain_of_log_is_caught():
    land = o.custom_landscape("log(x) + y**2")  # decreases towards x -> 0+, then jumps past 0
    (t,) = o.run(land.f, (1.0, 0.5), [o.RunConfig("SGD", lr=0.9)], 50, bound=land.bound)
    assert t.diverged_at is not None and "not defined" in t.reason


def test_a_start_where_f_is_undefined_is_refused():
    with pytest.raises(InputError, match="not defined at the start"):
        o.run(o.formula("log(x) + y"), (-1.0, 0.0), [o.RunConfig()], 10)


def test_nesterov_without_momentum_is_refused_by_torch_with_a_clear_message():
    with pytest.raises(InputError, match="Nesterov"):
        o.run(HIMMELBLAU.f, (0, 0), [o.RunConfig("Nesterov", lr=1e-3, momentum=0.0, nesterov=True)], 10)


def test_summary_labels_unknown_and_stationary_points():
    saddle = o.LANDSCAPES["Saddle"]
    (t,) = o.run(saddle.f, (1.0, 0.0), [o.RunConfig("SGD", lr=0.1)], 200, bound=saddle.bound)
    assert o.summary([t], saddle)[0]["minimum reached"] == "none (a stationary point)"  # stuck on the saddle
    custom = o.custom_landscape("(x - 1)**2 + (y + 2)**2")
    (t,) = o.run(custom.f, (0.0, 0.0), [o.RunConfig("SGD", lr=0.1)], 200, bound=custom.bound)
    row = o.summary([t], custom)[0]
    assert row["minimum reached"] == "unknown"
    assert row["final x"] == pytest.approx(1, abs=1e-5) and row["final y"] == pytest.approx(-2, abs=1e-5)


def test_helpers():
    assert o.nearest_minimum(np.array([[3.001, 2.0], [0.0, 0.0], [np.nan, 1.0]]), HIMMELBLAU.minima).tolist() == [
        0, -1, -1]
    path = np.array([[0, 0], [1, 1], [3, 2.0005], [3.5, 2], [3, 2.0001], [3, 2]])
    assert o.steps_to_settle(path, (3, 2)) == 4
    assert o.steps_to_settle(path[:4], (3, 2)) is None
    assert o.point_label((3.0, -1.848126)) == "(3, -1.848)" and o.point_label((-0.0001, 0)) == "(0, 0)"
    xs, ys, z = o.grid_values(HIMMELBLAU.f, (-5, 5), (-4, 4), 9)
    assert z.shape == (9, 9) and z[np.abs(ys - 2).argmin(), np.abs(xs - 3).argmin()] < 20
    assert z[4, 4] == HIMMELBLAU.f(torch.tensor(0.0), torch.tensor(0.0)).item()  # xs[4] = ys[4] = 0


def test_default_configs_and_landscapes_are_consistent():
    for land in o.LANDSCAPES.values():
        assert land.xlim[0] <= land.start[0] <= land.xlim[1] and land.ylim[0] <= land.start[1] <= land.ylim[1]
        assert {name for name, _ in land.lrs} == set(o.OPTIMIZERS)
        assert math.isfinite(float(land.f(torch.tensor(land.start[0]), torch.tensor(land.start[1]))))
    for name in o.OPTIMIZERS:
        assert o.default_config(name).optimizer == name
    assert o.default_config("Nesterov").kwargs() == {"lr": 1e-3, "momentum": 0.78, "nesterov": True}
