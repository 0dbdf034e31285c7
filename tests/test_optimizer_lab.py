"""core.optimizer_lab against plain torch.optim loops: the same paths bit for bit, the seeds' results,
divergence, the summary table and the code panel."""

import numpy as np
import pytest
import torch

from core import landscapes, optim_config, optimizer_lab
from core.optim_config import RunConfig, Schedule
from core.parsing import InputError
from tests.helpers import panel_variables, run_panel, same_output

HIMMELBLAU = landscapes.LANDSCAPES["Himmelblau"]


def plain_loop(f, start, config, steps, schedule=Schedule()):
    """The loop a learner writes: one optimizer, one (2,) tensor, zero_grad/backward/step."""
    p = torch.tensor([float(start[0]), float(start[1])], requires_grad=True)
    optimizer = getattr(torch.optim, config.kind.cls)([p], **config.kwargs())
    scheduler = optim_config.make_scheduler(schedule, optimizer, steps)
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


@pytest.mark.parametrize("name", list(landscapes.LANDSCAPES))
def test_all_optimizers_together_equal_plain_loops_step_for_step(name):
    land = landscapes.LANDSCAPES[name]
    configs = [optim_config.default_config(opt, land) for opt in optim_config.OPTIMIZERS]
    for t in optimizer_lab.run(land.f, land.start, configs, 150, bound=land.bound):
        reference = plain_loop(land.f, land.start, t.config, 150)
        assert np.array_equal(t.points, reference[: len(t.points)]), t.config


@pytest.mark.parametrize("text", ["x", "y**2", "x + 0.5*y", "exp(-x**2) * sin(3*y) + 0.05*x**2"])
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "autograd.grad"])
def test_formulas_using_one_variable_or_none_at_a_point_equal_plain_loops(text, engine, monkeypatch):
    if not engine:
        monkeypatch.setattr(optimizer_lab, "_ENGINE", None)  # the documented path: torch.autograd.grad
    f = landscapes.formula(text)
    configs = [RunConfig("SGD", lr=0.01), RunConfig("Adam", lr=0.05)]
    for t in optimizer_lab.run(f, (0.3, -0.7), configs, 40):
        assert np.array_equal(t.points, plain_loop(f, (0.3, -0.7), t.config, 40)), t.config


@pytest.mark.parametrize("schedule", [Schedule("step", step_size=40, gamma=0.3), Schedule("cosine")])
def test_schedules_equal_plain_loops_and_record_the_lr(schedule):
    configs = [RunConfig("SGD+momentum", lr=2e-3, momentum=0.78), RunConfig("Adam", lr=0.1),
               RunConfig("RMSprop", lr=0.02, momentum=0.5)]
    trajectories = optimizer_lab.run(HIMMELBLAU.f, (0.5, -1.0), configs, 120, schedule=schedule)
    for t in trajectories:
        assert np.array_equal(t.points, plain_loop(HIMMELBLAU.f, (0.5, -1.0), t.config, 120, schedule))
    lrs = trajectories[1].lrs
    if schedule.kind == "step":
        assert lrs[0] == 0.1 and lrs[39] == 0.1 and lrs[40] == pytest.approx(0.03) and lrs[80] == pytest.approx(0.009)
    else:
        assert lrs[0] == 0.1 and lrs[60] == pytest.approx(0.05) and lrs[-1] < 1e-4


def test_non_default_settings_reach_torch():
    configs = [RunConfig("SGD", lr=3e-3, momentum=0.5, nesterov=True), RunConfig("Adam", lr=0.05, beta1=0.5),
               RunConfig("AdamW", lr=0.05, weight_decay=0.3), RunConfig("Adagrad", lr=0.7)]
    assert configs[1].kwargs() == {"lr": 0.05, "betas": (0.5, 0.999)}
    assert configs[2].constructor() == "torch.optim.AdamW(params, lr=0.05, weight_decay=0.3)"
    for t in optimizer_lab.run(HIMMELBLAU.f, (1.0, 1.0), configs, 80):
        assert np.array_equal(t.points, plain_loop(HIMMELBLAU.f, (1.0, 1.0), t.config, 80))


def test_the_code_panel_code_produces_the_same_paths():
    land = landscapes.LANDSCAPES["Rastrigin"]
    configs = [RunConfig("SGD", lr=1e-3), RunConfig("Nesterov", lr=1e-3, momentum=0.78, nesterov=True),
               RunConfig("Adam", lr=0.05, beta1=0.8)]
    schedule = Schedule("step", step_size=30, gamma=0.5)
    trajectories = optimizer_lab.run(land.f, (2.2, 2.6), configs, 100, schedule=schedule, bound=land.bound)
    code = optimizer_lab.lab_code(land, (2.2, 2.6), trajectories, 100, schedule)
    namespace = panel_variables(code)
    for t in trajectories:
        assert np.array_equal(t.points, namespace["paths"][t.config.optimizer].double().numpy())
    printed = run_panel(code)  # where each path ended
    assert len(printed) == 3 and all(same_output(p, e) for _, p, e in printed), printed


def test_the_code_panel_stops_a_diverged_path_where_the_lab_does():
    configs = [RunConfig("SGD", lr=1.0), RunConfig("Adam", lr=0.1)]
    trajectories = optimizer_lab.run(HIMMELBLAU.f, (0.0, 0.0), configs, 300, bound=HIMMELBLAU.bound)
    assert trajectories[0].diverged_at is not None
    code = optimizer_lab.lab_code(HIMMELBLAU, (0.0, 0.0), trajectories, 300)
    namespace = panel_variables(code)
    for t in trajectories:
        assert np.array_equal(t.points, namespace["paths"][t.config.optimizer].double().numpy())
    printed = run_panel(code)
    assert len(printed) == 2 and all(same_output(p, e) for _, p, e in printed), printed


def test_sgd_from_the_origin_finds_3_2_as_in_the_seeds():
    # The seeds' experiment: x = torch.tensor([0., 0.], requires_grad=True), lr = 0.001 on Himmelblau.
    (t,) = optimizer_lab.run(HIMMELBLAU.f, (0.0, 0.0), [RunConfig("SGD", lr=1e-3)], 500)
    assert np.linalg.norm(t.final - (3, 2)) < 1e-3
    settle = optimizer_lab.steps_to_settle(t.points, (3, 2))
    assert 200 < settle < 400  # measured: 282 steps to stay within 1e-3
    row = optimizer_lab.summary([t], HIMMELBLAU)[0]
    assert row["minimum reached"] == "(3, 2)" and row["steps to within 1e-3"] == settle
    assert row["final loss"] < 1e-8


@pytest.mark.parametrize("start, minimum", [((-2.0, 2.0), 1), ((-3.0, -3.0), 2), ((3.0, -1.5), 3)])
def test_a_start_in_each_other_basin_ends_at_its_minimum(start, minimum):
    (t,) = optimizer_lab.run(HIMMELBLAU.f, start, [RunConfig("SGD", lr=1e-3)], 500)
    assert np.linalg.norm(t.final - HIMMELBLAU.minima[minimum]) < 1e-3
    label = landscapes.point_label(HIMMELBLAU.minima[minimum])
    assert optimizer_lab.summary([t], HIMMELBLAU)[0]["minimum reached"] == label


def test_a_huge_learning_rate_diverges_and_stops_with_finite_points():
    configs = [RunConfig("SGD", lr=1.0), RunConfig("SGD", lr=1e-3)]
    bad, good = optimizer_lab.run(HIMMELBLAU.f, (0.0, 0.0), configs, 500, bound=HIMMELBLAU.bound)
    assert bad.diverged_at is not None and 1 <= bad.diverged_at < 10
    assert "left the landscape" in bad.reason or "overflowed" in bad.reason
    assert np.isfinite(bad.points).all() and np.isfinite(bad.losses).all()
    assert len(bad.points) == bad.diverged_at  # the start plus every finite step before it
    assert good.diverged_at is None and good.steps == 500
    row = optimizer_lab.summary([bad], HIMMELBLAU)[0]
    assert row["minimum reached"] == "none (diverged)" and row["status"] == f"diverged at step {bad.diverged_at}"


def test_overflow_to_inf_is_caught():
    land = landscapes.custom_landscape("exp(x**2) + y**2")
    (t,) = optimizer_lab.run(land.f, (2.0, 1.0), [RunConfig("SGD", lr=0.5)], 50, bound=land.bound)
    assert t.diverged_at is not None and np.isfinite(t.points).all() and np.isfinite(t.losses).all()


def test_leaving_the_domain_of_log_is_caught():
    land = landscapes.custom_landscape("log(x) + y**2")  # decreases towards x -> 0+, then jumps past 0
    (t,) = optimizer_lab.run(land.f, (1.0, 0.5), [RunConfig("SGD", lr=0.9)], 50, bound=land.bound)
    assert t.diverged_at is not None and "not defined" in t.reason


def test_a_start_where_f_is_undefined_is_refused():
    with pytest.raises(InputError, match="not defined at the start"):
        optimizer_lab.run(landscapes.formula("log(x) + y"), (-1.0, 0.0), [RunConfig()], 10)


def test_nesterov_without_momentum_is_refused_by_torch_with_a_clear_message():
    with pytest.raises(InputError, match="Nesterov"):
        optimizer_lab.run(HIMMELBLAU.f, (0, 0), [RunConfig("Nesterov", lr=1e-3, momentum=0.0, nesterov=True)], 10)


def test_summary_labels_unknown_and_stationary_points():
    saddle = landscapes.LANDSCAPES["Saddle"]
    (t,) = optimizer_lab.run(saddle.f, (1.0, 0.0), [RunConfig("SGD", lr=0.1)], 200, bound=saddle.bound)
    assert optimizer_lab.summary([t], saddle)[0]["minimum reached"] == "none (a stationary point)"  # stuck on the saddle
    custom = landscapes.custom_landscape("(x - 1)**2 + (y + 2)**2")
    (t,) = optimizer_lab.run(custom.f, (0.0, 0.0), [RunConfig("SGD", lr=0.1)], 200, bound=custom.bound)
    row = optimizer_lab.summary([t], custom)[0]
    assert row["minimum reached"] == "unknown"
    assert row["final x"] == pytest.approx(1, abs=1e-5) and row["final y"] == pytest.approx(-2, abs=1e-5)


def test_steps_to_settle():
    path = np.array([[0, 0], [1, 1], [3, 2.0005], [3.5, 2], [3, 2.0001], [3, 2]])
    assert optimizer_lab.steps_to_settle(path, (3, 2)) == 4
    assert optimizer_lab.steps_to_settle(path[:4], (3, 2)) is None
