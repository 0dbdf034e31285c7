"""See inside training through AppTest: what each part shows equals what core (and torch) compute for the same
settings, the learner's own models are never changed, and the hand-offs work (the finder's learning rate to the
Training studio, a drawing from Draw a digit to "why did it say N?")."""

import re

import pytest
import torch

from core import diagnosis, feature_pca, init_depth, lr_finder, recorder, saliency
from core.models import ModelConfig, build_model
from core.quick_train import QuickConfig, quick_train
from core.training import TrainConfig, make_optimizer
from tests.helpers import errors, figure, metrics, open_page, plotly_specs, rerun, set_widgets
from tests.test_pages_draw import _drawn
from ui.inside_parts import nearest_lr

PAGE = "pages/54_inside_training.py"


def part(at, name: str, **settings):
    """Switch to a part, with settings given before its first run (so nothing else is computed first)."""
    for key, value in {"it_part": name, **settings}.items():
        at.session_state[key] = value
    return rerun(at)


def quick_trained(cfg: ModelConfig, steps: int, data) -> torch.nn.Module:
    """The quick models the page trains: Adam lr 1e-3, `steps` random batches of 64, seed 0."""
    model = build_model(cfg, seed=0)
    quick_train(model, make_optimizer(model.parameters(), TrainConfig("adam", lr=1e-3)), data, QuickConfig(steps))
    return model.eval()


def studio_history(model: torch.nn.Module, cfg: ModelConfig, data):
    from core.runs import RunHistory

    history = RunHistory(next_id=5)
    history.add_uploaded("MNIST", data, cfg, model, "mine.pt", 0.5)
    return history


def test_inside_training_distributions_and_the_diagnosis_are_the_recorded_runs(app, mnist):
    at = part(open_page(app, PAGE), "distributions", it_steps=100, it_hidden="64,64,64,64,64,64,64,64",
              it_act="sigmoid")
    cfg = ModelConfig("mlp", activation="sigmoid", hidden=(64,) * 8)
    model = build_model(cfg, seed=0)
    records = recorder.record_training(model, make_optimizer(model.parameters(), TrainConfig("sgd", lr=0.05)), mnist,
                                       QuickConfig(steps=100))
    m = metrics(at)
    assert m["Records"] == str(len(records)) == "10" and m["Layers recorded"] == "9"
    assert m["Update / weight, layer 1"] == f"{records[-1].layers[0].update_ratio:.2g}"
    findings = diagnosis.diagnose(records)
    assert findings[0].kind == "vanishing"  # eight sigmoid layers: the first layer's gradients are ~1e-6 of the last's
    assert [w.value for w in at.warning] == [f.text for f in findings]
    heat = [t for t in figure_traces(at) if t["type"] == "heatmap"]
    assert len(heat) == 9
    _, _, counts = diagnosis.heatmap(records, "net.1", "activations")
    shades = torch.tensor(heat[0]["z"], dtype=torch.float64).T  # (T, bins): log10 of each bin's share, from 1e-4
    assert torch.allclose(shades, (counts / counts.sum(1, keepdim=True)).clamp(min=1e-4).log10(), atol=1e-6)
    # a refused size: a message, the other settings stay
    set_widgets(at, it_hidden="a")
    assert any("Hidden layer sizes" in e for e in errors(at)) and at.session_state["it_act"] == "sigmoid"


def figure_traces(at) -> list[dict]:
    return [t for spec in plotly_specs(at) for t in spec["data"]]


def test_inside_training_a_studio_run_is_continued_on_a_copy(app, mnist):
    cfg = ModelConfig("mlp", hidden=(32,))
    mine = build_model(cfg, seed=3)
    before = lr_finder.checksum(mine)
    at = open_page(app, PAGE)
    at.session_state["ts_history"] = studio_history(mine, cfg, mnist)
    set_widgets(at, it_steps=100)
    set_widgets(at, it_source=5)
    assert any("run #5" in c.value and "copy" in c.value for c in at.caption)
    assert metrics(at)["Layers recorded"] == "2" and lr_finder.checksum(mine) == before  # the learner's model


def test_inside_training_lr_finder_shows_its_result_and_sets_the_studio_lr(app, mnist):
    at = part(open_page(app, PAGE), "lr_finder")
    assert not metrics(at) and any("Press the button" in i.value for i in at.info)  # nothing runs by itself
    at.button(key="it_lr_run").click()
    rerun(at)
    model = build_model(ModelConfig("mlp"), seed=0)
    optimizer = make_optimizer(model.parameters(), TrainConfig("adam", lr=1e-3))
    result = lr_finder.find_lr(model, optimizer, mnist)
    m = metrics(at)
    assert m["Suggested lr (valley)"] == f"{result.suggested:.3g}" and m["Steepest descent"] == f"{result.steepest:.3g}"
    assert m["Model untouched"] == "yes"
    before, after = re.findall(r"`([0-9a-f]{64})`", at.success[0].value)
    assert before == after  # the checksums shown
    band = figure(at, "Loss while the learning rate grows")["data"][2]
    assert len(band["x"]) == len(result.lrs)
    at.button(key="it_lr_use").click()
    rerun(at)
    assert at.session_state["ts_lr"] == nearest_lr(result.suggested)
    studio = open_page(at, "pages/50_training_studio.py")
    assert studio.select_slider(key="ts_lr").value == nearest_lr(result.suggested)


def test_inside_training_init_depth_symmetry_and_vanishing(app):
    at = part(open_page(app, PAGE), "init_depth")
    set_widgets(at, it_scheme="zeros", it_depth=6)
    assert metrics(at)["Layers with identical units"] == "6 of 6"
    assert any("every unit computes the same value" in w.value for w in at.warning)
    set_widgets(at, it_scheme="normal", it_fn="tanh", it_depth=20)
    set_widgets(at, it_sigma=0.01)
    probe = init_depth.depth_probe(init_depth.DepthConfig(init="normal", activation="tanh", depth=20, sigma=0.01))
    m = metrics(at)
    assert m["Activation std, last layer"] == f"{probe.act_std[-1]:.3g}" and probe.act_std[-1] < 1e-10
    assert m["|grad| of layer 1's weight"] == f"{probe.grad_norm[0]:.3g}"
    assert m["Layers with identical units"] == f"{sum(probe.symmetric)} of 20"


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_inside_training_slow_step_by_hand_equals_optimizer_step(app, mnist, optimizer):
    from core.slow_step import slow_step_after

    at = part(open_page(app, PAGE), "slow_step")
    set_widgets(at, it_ss_opt=optimizer, it_ss_before=0 if optimizer == "sgd" else 4,
                it_ss_lr=0.01 if optimizer == "sgd" else 0.001)
    train_cfg = TrainConfig(optimizer, lr=0.01 if optimizer == "sgd" else 0.001, momentum=0.9)
    quick = QuickConfig(steps=0 if optimizer == "sgd" else 4, batch_size=16)
    result = slow_step_after(mnist, ModelConfig("mlp"), train_cfg, quick)
    m = metrics(at)
    assert float(m["Max |by hand − step()|"]) < 1e-6 and result.max_diff < 1e-6
    assert m["Loss on this batch"] == f"{result.loss:.4f}"
    table = at.dataframe[1].value  # the elements of net.1.weight with the largest gradient, one column each
    state = table.set_index("element").T
    first = result.params[0]
    top = first.grad.reshape(-1).abs().argmax()
    assert state["grad"].iloc[0] == f"{first.grad.reshape(-1)[top]:.5g}"
    assert all(abs(float(a) - float(b)) < 1e-6 for a, b in zip(state["Δw by step()"], state["Δw by hand"], strict=True))
    if optimizer == "adam":
        assert m["Step number t"] == "5"
        assert {"exp_avg before", "exp_avg after", "exp_avg_sq before", "exp_avg_sq after"} <= set(state.columns)
        assert any("`step` after the step: 5." in c.value for c in at.caption)
    else:  # momentum's buffer is created at the first step
        assert (state["momentum_buffer before"] == "-").all() and state["momentum_buffer after"].iloc[0] != "-"


def test_inside_training_why_maps_and_the_mlp_message(app, mnist):
    at = part(open_page(app, PAGE), "why", it_why_arch="mlp", it_index=3)
    model = quick_trained(ModelConfig("mlp"), 200, mnist)
    image, label = saliency.pick_image(mnist, 3)
    sal = saliency.saliency(model, image)
    m = metrics(at)
    assert m["Predicted"] == str(sal.target) and m["Probability"] == f"{float(sal.probs[sal.target]):.1%}"
    assert m["True class"] == str(label) and m["Grad-CAM layer"] == "none"
    assert saliency.NO_CONV in [i.value for i in at.info]
    maps = [t for t in figure_traces(at) if t["type"] == "heatmap" and "customdata" in t]
    assert torch.allclose(torch.tensor(maps[0]["customdata"], dtype=torch.float32), sal.map, atol=1e-6)


def test_inside_training_feature_map_is_the_models_pca(app, mnist):
    at = part(open_page(app, PAGE), "feature_map", it_fm_arch="mlp", it_fm_steps=50)
    result = feature_pca.feature_map(quick_trained(ModelConfig("mlp"), 50, mnist), mnist, n=2000, dims=2)
    m = metrics(at)
    assert m["Variance kept by the axes"] == f"{sum(result.explained):.1%}" and m["Feature size"] == "200"
    assert m["Accuracy on these images"] == f"{(result.predictions == result.labels).float().mean().item():.1%}"
    set_widgets(at, it_fm_dims=3)
    assert {t["type"] for t in figure_traces(at)} == {"scatter3d"}


def test_inside_training_why_did_it_say_explains_the_drawing(app, monkeypatch):
    at = open_page(app, "pages/52_draw_digit.py")  # the canvas component registers inside a script run
    import streamlit_drawable_canvas

    canvas, _ = _drawn(0)  # MNIST test image 0, a 7, drawn large
    monkeypatch.setattr(streamlit_drawable_canvas, "st_canvas", lambda **kwargs: canvas)
    rerun(at)
    said = metrics(at)["Prediction"]
    at.button(key="dd_why").click()
    rerun(at)
    assert at.session_state["it_part"] == "why"
    m = metrics(at)
    assert m["True class"] == "your drawing" and m["Predicted"] == said
    assert any("your drawing" in i.value for i in at.info)
    at = open_page(at, PAGE)  # a browser now shows the lesson's URL (AppTest stays on the page it switched to)
    assert metrics(at)["True class"] == "your drawing"
    at.session_state["it_why_arch"] = "mlp"  # the test images with a quick model
    at.button(key="it_why_back").click()
    rerun(at)
    assert metrics(at)["True class"] == "7"  # back to test image 0


def test_inside_training_studio_runs_in_every_part_stay_untouched(app, mnist):
    """A learner's run in the finder (a new optimizer for uploaded weights), why and the map of the data: each
    shows the run, and its model is bit for bit as it was."""
    cfg = ModelConfig("mlp", hidden=(32,))
    mine = build_model(cfg, seed=4)
    before = lr_finder.checksum(mine)
    at = open_page(app, PAGE)
    at.session_state["ts_history"] = studio_history(mine, cfg, mnist)
    at = part(at, "lr_finder", it_lr_source=5)
    at.button(key="it_lr_run").click()
    rerun(at)
    assert metrics(at)["Model untouched"] == "yes" and any("run #5" in c.value for c in at.caption)
    at = part(at, "why", it_why_source=5, it_index=2)
    sal = saliency.saliency(mine, saliency.pick_image(mnist, 2)[0])
    assert metrics(at)["Predicted"] == str(sal.target) and saliency.NO_CONV in [i.value for i in at.info]
    at = part(at, "feature_map", it_fm_source=5)
    assert metrics(at)["Feature size"] == "32"
    assert lr_finder.checksum(mine) == before
