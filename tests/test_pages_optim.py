"""AppTest of the Optimization pages: values in the table and figures, hostile formulas, divergence, links."""


import numpy as np
import pytest

from core import basins, landscapes, optimizer_lab
from core.optim_config import OPTIMIZERS, RunConfig, Schedule
from tests.helpers import decode, numbers, open_page, panels, plotly_specs, rerun, table, trace
from ui import figures_optim as figures
from ui import plots

LAB, BASINS = "pages/30_optimizer_lab.py", "pages/31_basins.py"


# --------------------------------------------------------------------------------------------- optimizer lab


def test_lab_sgd_from_the_origin_ends_at_3_2(app):
    at = open_page(app, LAB)
    rows = table(at, "minimum reached").set_index("optimizer")
    assert list(rows.index) == ["SGD", "SGD+momentum", "Adam"]
    assert rows.loc["SGD", "settings"] == "lr=0.001"
    assert rows.loc["SGD", "final x"] == pytest.approx(3.0, abs=1e-3)
    assert rows.loc["SGD", "final y"] == pytest.approx(2.0, abs=1e-3)
    assert rows.loc["SGD", "minimum reached"] == "(3, 2)"
    assert rows.loc["SGD", "steps to within 1e-3"] == 282
    assert rows.loc["SGD+momentum", "settings"] == "lr=0.001, momentum=0.78"
    assert rows.loc["SGD+momentum", "steps to within 1e-3"] < rows.loc["SGD", "steps to within 1e-3"]
    contour = plotly_specs(at)[0]
    stars = trace([contour], "minima")
    assert sorted(zip(stars["x"], stars["y"], strict=True)) == sorted(landscapes.HIMMELBLAU_MINIMA)
    sgd = trace([contour], "SGD")
    assert (sgd["x"][0], sgd["y"][0]) == (0.0, 0.0)
    assert sgd["x"][-1] == pytest.approx(3.0, abs=1e-3) and sgd["y"][-1] == pytest.approx(2.0, abs=1e-3)
    assert "torch.optim.SGD(params, lr=0.001)" in panels(at)[0]
    assert "torch.optim.SGD(params, lr=0.001, momentum=0.78)" in panels(at)[0]
    loss = trace(plotly_specs(at)[1:2], "SGD")  # the open tab: loss vs step
    assert len(loss["y"]) == 501 and loss["y"][0] == 170.0 and loss["y"][-1] < 1e-8


def test_lab_other_start_and_settings(app):
    at = open_page(app, LAB)
    at.slider(key="ol_x0").set_value(-2.0)
    at.slider(key="ol_y0").set_value(2.0)
    at.multiselect(key="ol_opts").set_value(["SGD", "Nesterov", "RMSprop"])
    rerun(at)
    at.slider(key="ol_mom_nesterov").set_value(0.5)
    rerun(at)
    rows = table(at, "minimum reached").set_index("optimizer")
    assert (rows["minimum reached"] == "(-2.805, 3.131)").all()
    assert rows.loc["Nesterov", "settings"] == "lr=0.001, momentum=0.5, nesterov=True"
    assert "start=(-2.0, 2.0)" in panels(at)[0]


def test_lab_hostile_formula_is_an_error_not_an_exception(app):
    at = open_page(app, LAB)
    at.selectbox(key="ol_fn").set_value(landscapes.CUSTOM)
    rerun(at)
    for text, reason in [("__import__('os')", "not an allowed function"), ("().__class__", "Attribute access"),
                         ("x**9**9", "exponent"), ("lambda: 1", "lambda")]:
        at.text_input(key="ol_expr").set_value(text)
        rerun(at)
        assert at.error and reason in at.error[0].value
        assert not plotly_specs(at)


def test_lab_custom_formula_reaches_its_minimum(app):
    at = open_page(app, LAB)
    at.selectbox(key="ol_fn").set_value(landscapes.CUSTOM)
    rerun(at)
    at.text_input(key="ol_expr").set_value("(x - 1)^2 + 2*(y + 2)^2")
    at.multiselect(key="ol_opts").set_value(["SGD"])
    rerun(at)
    at.select_slider(key="ol_lr_sgd").set_value(0.05)
    rerun(at)
    rows = table(at, "minimum reached")
    assert rows.loc[0, "final x"] == pytest.approx(1.0, abs=1e-4)
    assert rows.loc[0, "final y"] == pytest.approx(-2.0, abs=1e-4)
    assert rows.loc[0, "minimum reached"] == "unknown"
    assert "return (x - 1) ** 2 + 2 * (y + 2) ** 2" in panels(at)[0]


def test_lab_huge_learning_rate_diverges_with_a_message_and_no_nan(app):
    at = open_page(app, LAB)
    at.select_slider(key="ol_lr_sgd").set_value(10.0)
    rerun(at)
    assert any("SGD" in w.value and "diverged at step" in w.value for w in at.warning)
    rows = table(at, "status").set_index("optimizer")
    assert rows.loc["SGD", "status"].startswith("diverged at step")
    assert rows.loc["SGD", "minimum reached"] == "none (diverged)"
    assert rows.loc["SGD+momentum", "minimum reached"] == "(3, 2)"
    at.session_state["ol_view"] = "3D surface"  # the surface tab draws only when it is open
    rerun(at)
    specs = plotly_specs(at)
    assert [spec["data"][0]["type"] for spec in specs] == ["contour", "surface"]
    for spec in specs:
        assert all(np.isfinite(v) for v in numbers(spec["data"]))
    sgd = trace(specs[:1], "SGD")
    assert np.isfinite(sgd["x"]).all() and len(sgd["x"]) >= 1


def test_lab_function_switch_loads_its_start_and_learning_rates(app):
    at = open_page(app, LAB)
    at.selectbox(key="ol_fn").set_value("Narrow valley")
    rerun(at)
    assert (at.slider(key="ol_x0").value, at.slider(key="ol_y0").value) == landscapes.LANDSCAPES["Narrow valley"].start
    assert at.select_slider(key="ol_lr_sgd").value == 0.15
    rows = table(at, "minimum reached").set_index("optimizer")
    assert rows.loc["SGD+momentum", "minimum reached"] == "(0, 0)"
    assert rows.loc["SGD+momentum", "steps to within 1e-3"] < 150


def test_lab_schedule_appears_in_the_code(app):
    at = open_page(app, LAB)
    at.selectbox(key="ol_sched").set_value("StepLR")
    rerun(at)
    at.number_input(key="ol_sched_every").set_value(50)
    rerun(at)
    assert "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)" in panels(at)[0]
    rows = table(at, "minimum reached").set_index("optimizer")
    (t,) = optimizer_lab.run(landscapes.LANDSCAPES["Himmelblau"].f, (0, 0), [RunConfig("SGD", lr=1e-3)], 500,
                       schedule=Schedule("step", 50, 0.5))
    assert (rows.loc["SGD", "final x"], rows.loc["SGD", "final y"]) == tuple(t.final)
    assert rows.loc["SGD", "minimum reached"] == "none yet (still moving)"  # the lr halves every 50 steps: SGD stalls


def test_lab_settings_come_from_the_link(app):
    app.query_params.update({"ol_fn": "Booth", "ol_x0": "-8", "ol_y0": "-8", "ol_opts": "Adam,Nesterov",
                             "ol_lr_adam": "5e-1", "ol_steps": "300"})
    at = open_page(app, LAB)
    assert at.selectbox(key="ol_fn").value == "Booth"
    rows = table(at, "minimum reached").set_index("optimizer")
    assert list(rows.index) == ["Nesterov", "Adam"]
    assert rows.loc["Adam", "settings"] == "lr=0.5"
    assert "steps=300, start=(-8.0, -8.0)" in panels(at)[0]


def test_learning_rates_in_links_and_suggestions_are_on_the_slider():
    param = figures.LearningRate(1e-3, options=figures.LR_CHOICES)
    assert param.parse("1e-3") == param.parse("0.001") == 0.001 and param.parse("10") == 10.0
    assert param.dump(0.0015) == "0.0015" and param.parse(param.dump(1e-5)) == 1e-5
    with pytest.raises(ValueError):
        param.parse("0.0011")
    suggested = [lr for land in landscapes.LANDSCAPES.values() for _, lr in land.lrs]
    suggested += [lr for _, lr in landscapes.CUSTOM_LRS] + [kind.lr for kind in OPTIMIZERS.values()]
    assert set(suggested) <= set(figures.LR_CHOICES)


def test_click_on_the_map_becomes_the_start():
    box = ((-5.0, 5.0), (-5.0, 5.0))
    event = {"selection": {"points": [{"x": 1.25, "y": -2.5, "curve_number": 1, "point_index": 7}],
                           "point_indices": [7], "box": [], "lasso": []}}
    assert figures.start_from_selection(event, *box) == (1.25, -2.5)
    far = {"selection": {"points": [{"x": 12.0, "y": -9.0}]}}
    assert figures.start_from_selection(far, *box) == (5.0, -5.0)
    assert figures.start_from_selection({"selection": {"points": []}}, *box) is None
    assert figures.start_from_selection(None, *box) is None
    assert figures.start_from_selection({"selection": {"points": [{"x": "a", "y": None}]}}, *box) is None


def test_the_click_grid_covers_the_map_with_round_numbers(app):
    at = open_page(app, LAB)
    grid = trace(plotly_specs(at)[:1], "click to start here")
    assert grid["x"].min() == -5 and grid["x"].max() == 5 and len(grid["x"]) == 41 * 41
    assert np.allclose(grid["x"] * 4, np.round(grid["x"] * 4))  # spacing 0.25
    x, y = figures.click_grid(landscapes.LANDSCAPES["Beale"])
    assert x.min() >= -4.5 and x.max() <= 4.5 and np.allclose(x * 4, np.round(x * 4))


def test_unvalidated_figures_are_the_validated_figures(monkeypatch):
    """The app skips plotly's validation for speed; the JSON it sends must be what validation would give."""
    import json

    import plotly.io as pio

    land = landscapes.LANDSCAPES["Himmelblau"]
    configs = [RunConfig("SGD", lr=1e-3), RunConfig("Adam", lr=0.1), RunConfig("SGD", lr=1.0)]
    paths = optimizer_lab.run(land.f, (0.0, 0.0), configs, 300, bound=land.bound)
    assert paths[2].diverged_at is not None
    grid = landscapes.grid_values(land.f, land.xlim, land.ylim, 31)
    odd = landscapes.custom_landscape("log(x) + y**2")  # undefined for x <= 0: gaps in the grid
    odd_paths = optimizer_lab.run(odd.f, (1.0, 1.0), [RunConfig("SGD", lr=0.1)], 50, bound=odd.bound)
    odd_grid = landscapes.grid_values(odd.f, odd.xlim, odd.ylim, 21)
    result = basins.basin_map(land.f, RunConfig("SGD", lr=1e-2), land.xlim, land.ylim, 12, 100)
    found = [(0.5, 0.5)]
    cats = basins.basin_categories(result, (*land.minima, *found))
    builders = [
        lambda: figures.contour(land, grid, paths, (0.0, 0.0)),
        lambda: figures.contour(odd, odd_grid, odd_paths, (1.0, 1.0)),
        lambda: figures.surface(land, grid, paths),
        lambda: figures.surface(odd, odd_grid, odd_paths),
        lambda: figures.loss_curves(paths)[0],
        lambda: figures.basins(result, cats, land, found, grid),
    ]
    for build in builders:
        monkeypatch.setattr(plots, "VALIDATE", True)
        validated = json.loads(pio.to_json(build(), validate=False))
        monkeypatch.setattr(plots, "VALIDATE", False)
        fast = json.loads(pio.to_json(build(), validate=False))
        assert fast == validated
        assert fast["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
        assert all(np.isfinite(v) for v in numbers(fast["data"]))


# -------------------------------------------------------------------------------------------------- basins


def test_basins_himmelblau_splits_into_four_basins(app):
    at = open_page(app, BASINS)
    rows = table(at, "starts").set_index("ends at")
    assert rows["starts"].sum() == 40 * 40
    for m in landscapes.HIMMELBLAU_MINIMA:
        assert rows.loc[landscapes.point_label(m), "starts"] > 300
    spec = plotly_specs(at)[0]
    heat = next(t for t in spec["data"] if t["type"] == "heatmap")
    assert len(decode(heat["x"])) == 40 and len(decode(heat["y"])) == 40
    assert any(t.get("name", "").startswith("(3, 2): ") for t in spec["data"])
    assert all(np.isfinite(v) for v in numbers(spec["data"]))
    assert "starts = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)  # (1600, 2)" in panels(at)[0]
    assert "optimizer = torch.optim.SGD(params, lr=0.001)" in panels(at)[0]


def test_basins_grid_size_and_divergence(app):
    at = open_page(app, BASINS)
    at.slider(key="bs_n").set_value(20)
    at.select_slider(key="bs_lr").set_value(0.05)
    rerun(at)
    rows = table(at, "starts").set_index("ends at")
    assert rows["starts"].sum() == 400
    assert rows.loc["diverged", "starts"] > 0
    assert any("diverged" in w.value for w in at.warning)
    assert all(np.isfinite(v) for v in numbers(plotly_specs(at)[0]["data"]))


def test_basins_find_the_local_minima_of_rastrigin(app):
    at = open_page(app, BASINS)
    at.selectbox(key="bs_fn").set_value("Rastrigin")
    rerun(at)
    at.slider(key="bs_n").set_value(20)
    rerun(at)
    rows = table(at, "starts").set_index("ends at")
    assert "(0, 0)" in rows.index
    (line,) = [label for label in rows.index if "other points found" in label]
    assert int(line.split()[0]) >= 50  # plain SGD stops in the local dip next to each start
    assert rows["starts"].sum() == 400
    spec = plotly_specs(at)[0]
    dots = trace([spec], "found points (·)")
    assert len(dots["x"]) >= 50 and np.abs(dots["x"] - np.round(dots["x"])).max() < 0.05  # near whole numbers


def test_basins_hostile_formula_is_an_error(app):
    at = open_page(app, BASINS)
    at.selectbox(key="bs_fn").set_value(landscapes.CUSTOM)
    rerun(at)
    at.text_input(key="bs_expr").set_value("__import__('os').system('ls')")
    rerun(at)
    assert at.error and "Attribute access" in at.error[0].value


# ------------------------------------------------------------------------------------------ in a real browser


@pytest.mark.browser
def test_clicking_the_map_moves_the_start(streamlit_server, page):
    from tests.browser_support import open_lesson, wait_idle

    open_lesson(page, streamlit_server, "optimizer_lab")
    page.locator(".st-key-ol_contour .nsewdrag").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # plotly attaches its click handlers after drawing
    box = page.locator(".st-key-ol_contour .nsewdrag").first.bounding_box()
    # the plot shows x, y in [-5, 5]: 20% from the left and 80% from the top is (-3, -3)
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.8 * box["height"])
    page.mouse.click(box["x"] + 0.2 * box["width"], box["y"] + 0.8 * box["height"])
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stSliderThumbValue\"]')]"
        ".slice(0, 2).map(e => e.innerText).join(',') === '-3.00,-3.00'", timeout=60_000)
    wait_idle(page)
    assert "ol_x0=-3&ol_y0=-3" in page.url  # the shareable link follows
    end = page.wait_for_function(
        """() => { const plot = document.querySelector('.st-key-ol_contour .js-plotly-plot');
                   const sgd = plot && plot._fullData && plot._fullData.find(t => t.name === 'SGD');
                   return sgd && sgd.x[0] === -3 && [sgd.x[sgd.x.length - 1], sgd.y[sgd.y.length - 1]]; }""",
        timeout=60_000).json_value()
    assert end == pytest.approx([-3.779310, -3.283186], abs=1e-3)  # SGD from the click ends in that basin


def test_update_rules_written_out_match_torch_optim(app):
    from core import update_rules
    from core.landscapes import LANDSCAPES
    from core.optim_config import RunConfig

    at = open_page(app, "pages/30_optimizer_lab.py")
    tables = [df.value for df in at.dataframe if "quantity" in getattr(df.value, "columns", [])]
    assert len(tables) == 3  # SGD, SGD+momentum, Adam by default
    adam = tables[-1]
    hand = adam[adam["quantity"] == "θ by the formula"][["x", "y"]].to_numpy()
    torch_rows = adam[adam["quantity"] == "θ from optimizer.step()"][["x", "y"]].to_numpy()
    assert abs(hand - torch_rows).max() < 1e-12
    land = LANDSCAPES["Himmelblau"]
    x0, y0 = at.session_state["ol_x0"], at.session_state["ol_y0"]
    expected = update_rules.by_hand(RunConfig("Adam", lr=at.session_state["ol_lr_adam"]), land.f, (x0, y0))
    assert tuple(torch_rows[0]) == expected[0].torch
    bias = adam[adam["quantity"] == "m̂ = m / (1 − β₁ᵗ)"][["x", "y"]].to_numpy()[0]
    g = adam[adam["quantity"] == "g"][["x", "y"]].to_numpy()[0]
    assert abs(bias - g).max() < 1e-12  # at step 1 the bias-corrected first moment is the gradient itself
