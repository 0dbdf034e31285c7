"""Training studio and Datasets pages through AppTest: presets, a real run to the end, pause/resume/stop,
divergence, results views, weights upload (good, corrupt, wrong architecture), custom images from a zip."""

import io
import json
import threading
import zipfile

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import checkpoints, cifar10, datasets, evaluation, models
from core.layer_table import layer_table
from core.presets import presets
from tests.helpers import ROOT, codes, metrics, open_page, plotly_specs

STUDIO = "pages/50_training_studio.py"
DATASETS = "pages/51_datasets.py"


def figure(at, title_start: str) -> dict:
    for spec in plotly_specs(at):
        title = (spec["layout"].get("title") or {}).get("text") or ""
        if title.startswith(title_start):
            return spec
    raise AssertionError(f"no figure titled {title_start!r}")


def frame(at, column: str):
    """The first dataframe on the page with this column (AppTest does not expose dataframe keys)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no dataframe with a {column!r} column")


def studio(app, **settings):
    at = open_page(app, STUDIO)
    for key, value in settings.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def train_to_end(at, limit: int = 80):
    at.button(key="ts_start").click()
    at.run()
    for _ in range(limit):
        assert not at.exception, [e.value for e in at.exception]
        if at.button(key="ts_pause").disabled:
            break
        at.run()
    at.run()  # the full rerun after the last burst: results and history
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_defaults_show_the_mlp_and_its_layer_table(app):
    at = studio(app)
    m = metrics(at)
    assert m["Parameters"] == "199,210" and m["Input"] == "1 x 28 x 28" and m["Training images"] == "60,000"
    table = frame(at, "output shape")
    rows = layer_table(models.build_model(models.ModelConfig("mlp")), (1, 28, 28))
    assert list(table["output shape"]) == [str(r.output_shape) for r in rows]
    assert int(table["parameters"].sum()) == 199_210
    assert not at.button(key="ts_start").disabled and at.button(key="ts_pause").disabled


@pytest.mark.parametrize("name", list(presets()))
def test_preset_sets_every_knob(app, name):
    at = open_page(app, STUDIO)
    at.selectbox(key="ts_preset").set_value(name)
    at.run()
    assert not at.exception, [e.value for e in at.exception]  # every preset value is on the widgets' scales
    preset = presets()[name]
    assert at.session_state["ts_dataset"] == preset.dataset and at.session_state["ts_arch"] == preset.model.arch
    assert at.session_state["ts_lr"] == preset.train.lr and at.session_state["ts_epochs"] == preset.train.epochs
    assert at.session_state["ts_wd"] == preset.train.weight_decay
    if preset.dataset != "cifar10" or cifar10.find_cifar10() is not None:
        assert metrics(at)["Parameters"] == f"{models.count_parameters(models.build_model(preset.model)):,}"
        assert "torch.optim." + {"sgd": "SGD", "adamw": "AdamW"}[preset.train.optimizer] in codes(at)[-1]


def test_settings_come_from_the_link():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"ts_arch": "cnnnet", "ts_dropout": "0.25", "ts_opt": "adamw"})
    at.run()
    at.switch_page(STUDIO)
    at.run()
    assert not at.exception
    assert metrics(at)["Parameters"] == f"{models.count_parameters(models.build_model(models.ModelConfig('cnnnet', dropout=0.25))):,}"
    assert "torch.optim.AdamW(model.parameters()" in codes(at)[-1]


def test_start_trains_with_the_settings_its_click_carried(caplog):
    """Start's callback takes the values its click brought from the browser; the run uses those even if the page's
    run ends up holding another value (the dataset stays the run's: its data is what the page loaded)."""
    from ui import studio_settings

    values = {s.key: s.param.default for s in studio_settings.SETTINGS}
    values.update(ts_epochs=20, ts_subset=10000, ts_batch=16)
    clicked = {**values, "ts_epochs": 6, "ts_dataset": "cifar10"}
    with caplog.at_level("WARNING", logger="pytorch_lab"):
        model_cfg, train_cfg = studio_settings.start_configs(clicked, values, (1, 28, 28), 10, 60000)
    assert (train_cfg.epochs, train_cfg.train_subset, train_cfg.batch_size) == (6, 10000, 16)
    assert (model_cfg.in_channels, model_cfg.image_size) == (1, 28)
    assert "ts_epochs (20 -> 6)" in caplog.text and "ts_dataset" not in caplog.text
    same = studio_settings.start_configs(values, values, (1, 28, 28), 10, 60000)
    assert same == studio_settings.configs(values, (1, 28, 28), 10, studio_settings.log_every(values, 60000))


def test_a_short_run_to_the_end_and_its_results(app):
    at = studio(app, ts_subset=2000, ts_epochs=1)
    train_to_end(at)
    assert any("Finished 1 epoch" in s.value for s in at.success)
    run = at.session_state["ts_history"].runs[-1]
    history = run.trainer.history
    assert history.status == "finished" and len(history.epochs) == 1
    table = frame(at, "status")
    assert list(table["status"]) == ["finished"]
    assert table["test acc"][0] == pytest.approx(history.epochs[-1].test_acc)
    # the results show what the model in the session really does on the test set
    mnist = datasets.load_shared("mnist")
    acc = evaluation.evaluate(run.model, mnist.x_test, mnist.y_test, mnist).accuracy
    assert metrics(at)["Test accuracy"] == f"{acc:.2%}" and acc > 0.5
    cm = figure(at, "Confusion matrix")["data"][0]
    counts = torch.tensor(cm["text"])
    assert counts.sum() == 10_000 and counts.trace() == round(acc * 10_000)
    per_class = figure(at, "Per-class accuracy")["data"][0]["y"]
    assert per_class == pytest.approx((counts.diag() / counts.sum(1)).tolist())
    gallery = [s for s in plotly_specs(at) if s["data"] and s["data"][0]["type"] == "image"]
    assert len(gallery[0]["data"]) == 16  # the gallery of 16 test predictions
    assert figure(at, "First-layer filters")
    assert {b.label for b in at.get("download_button")} >= {"Weights (.pt)", "Config (.json)"}
    assert "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)" in codes(at)[-1]
    curves = figure(at, "Loss")
    assert [t["name"] for t in curves["data"] if t.get("showlegend", True)] == ["train", "val", "test"]


def test_a_run_waiting_for_a_training_slot_says_so_and_trains_when_it_frees(app):
    """Another learner's run holds the server's only training slot: the studio says this run waits (next in line)
    and trains nothing; once the slot is free it trains on."""
    from core.slots import SLOTS

    at = studio(app, ts_subset=2000, ts_epochs=1)
    at.button(key="ts_start").click()
    held, release = threading.Event(), threading.Event()

    def other_learner():
        with SLOTS.turn(object(), wait_s=30):
            held.set()
            release.wait(60)

    other = threading.Thread(target=other_learner)
    other.start()
    try:
        assert held.wait(30)
        at.run()
        run = at.session_state["ts_history"].runs[-1]
        assert run.trainer.step == 0 and run.ahead == 0
        assert any("Waiting for a free training slot (next in line)" in i.value for i in at.info)
    finally:
        release.set()
        other.join()
    at.run()
    assert run.trainer.step > 0 and run.ahead is None
    assert not any("Waiting for a free training slot" in i.value for i in at.info)


def test_pause_resume_and_stop_keep_finished_work(app):
    at = studio(app, ts_arch="cnnnet", ts_subset=10000, ts_epochs=4, ts_val=0.1)
    at.button(key="ts_start").click()
    at.run()
    trainer = at.session_state["ts_history"].runs[-1].trainer
    assert trainer.step > 0 and not trainer.done
    at.button(key="ts_pause").click()
    at.run()
    paused_at = trainer.step
    at.run()
    assert trainer.step == paused_at and trainer.status == "paused"
    assert not at.button(key="ts_resume").disabled
    at.button(key="ts_resume").click()
    at.run()
    assert trainer.step > paused_at
    while len(trainer.history.epochs) < 1:
        at.run()
        assert not at.exception
    at.button(key="ts_stop").click()
    at.run()
    assert trainer.status == "stopped" and len(trainer.history.epochs) >= 1
    assert at.button(key="ts_resume").disabled and at.button(key="ts_stop").disabled
    table = frame(at, "status")
    assert table["status"][0] == "stopped" and table["epochs done"][0] >= 1
    assert "Test accuracy" in metrics(at)  # results of a stopped run are shown


def test_a_run_that_does_not_learn_is_not_a_green_finish(app):
    at = studio(app, ts_subset=2000, ts_epochs=1, ts_opt="adam", ts_lr=1e6, ts_val=0.0)
    train_to_end(at)
    assert at.session_state["ts_history"].runs[-1].trainer.status == "finished"
    assert any("did not learn" in w.value and "Lower the learning rate" in w.value for w in at.warning)
    assert not any("Finished" in s.value for s in at.success)


def test_divergence_is_reported(app):
    at = studio(app, ts_subset=2000, ts_epochs=1, ts_lr=1e6)
    train_to_end(at)
    errors = [e.value for e in at.error]
    assert any("diverged" in e and "1e+06" in e for e in errors)
    assert at.session_state["ts_history"].runs[-1].trainer.status == "diverged"


def test_upload_weights_good_corrupt_and_wrong(app):
    at = studio(app, ts_subset=2000, ts_epochs=1)
    train_to_end(at)
    run = at.session_state["ts_history"].runs[-1]
    weights = checkpoints.weights_bytes(run.model)
    config = checkpoints.config_json(run.model_cfg, run.train_cfg, dataset="MNIST").encode()
    uploader = at.file_uploader(key="ts_upload")
    uploader.set_value([("mlp.pt", weights, "application/octet-stream"), ("mlp.json", config, "application/json")])
    at.run()
    assert not at.exception
    expected = run.trainer.history.epochs[-1].test_acc
    assert any(f"test accuracy {expected:.2%}" in s.value for s in at.success)
    inside = [s.value for e in at.expander for s in e.get("success")]
    assert not any("test accuracy" in s for s in inside)  # outside the expander, which closes on the rerun
    assert frame(at, "status")["status"].tolist() == ["finished", "uploaded"]

    at.file_uploader(key="ts_upload").set_value(("broken.pt", b"\x00not a checkpoint" * 50, "application/octet-stream"))
    at.run()
    assert any("not a PyTorch weights file" in e.value for e in at.error)

    at.selectbox(key="ts_arch").set_value("cnnnet")  # the page's architecture no longer matches the weights
    at.run()
    at.file_uploader(key="ts_upload").set_value(("mlp.pt", weights, "application/octet-stream"))
    at.run()
    assert any("do not fit the architecture 'cnnnet'" in e.value for e in at.error)

    cifar_cfg = json.dumps({"model": models.ModelConfig("cnnnet", 3, 32).to_dict()}).encode()
    at.file_uploader(key="ts_upload").set_value([("c.pt", weights, "application/octet-stream"),
                                                  ("c.json", cifar_cfg, "application/json")])
    at.run()
    assert any("Choose the matching dataset" in e.value for e in at.error)
    assert not at.exception and len(at.session_state["ts_history"].runs) == 2  # nothing lost


def test_missing_cifar_folder_explains_without_traceback(app):
    at = studio(app, ts_dataset="cifar10", ts_cifar_path="/nonexistent/cifar")
    warnings = [w.value for w in at.warning]
    assert any("CIFAR-10 is not in the folder you typed" in w and "ImageFolder layout" in w for w in warnings)
    assert not any("nonexistent" in w for w in warnings)  # a typed path is never echoed (Markdown, server paths)
    assert at.button(key="ts_start").disabled


def test_bad_setting_combination_is_explained(app):
    at = studio(app, ts_patience=3, ts_val=0.0)
    assert any("early stopping needs a validation split" in e.value for e in at.error)
    assert at.button(key="ts_start").disabled


def test_mlp_hidden_sizes_and_the_48px_cnn(app):
    at = studio(app, ts_hidden="512")
    assert metrics(at)["Parameters"] == "407,050"  # 784 * 512 + 512 + 512 * 10 + 10
    at = studio(app, ts_hidden="500, 300")
    cfg = models.ModelConfig("mlp", hidden=(500, 300))
    assert metrics(at)["Parameters"] == f"{models.count_parameters(models.build_model(cfg)):,}"
    at = studio(app, ts_hidden="0, 10")
    assert any("hidden layer sizes" in e.value for e in at.error) and at.button(key="ts_start").disabled
    at = studio(app, ts_hidden="a")
    assert any("hidden layer sizes" in e.value for e in at.error)
    at = studio(app, ts_hidden="a", ts_arch="lenet5")  # the box is hidden: its text does not matter
    assert not at.error and not at.button(key="ts_start").disabled
    at = studio(app, ts_arch="cnn48", ts_bn=True)
    cfg = models.ModelConfig("cnn48", 1, 28, batchnorm=True)
    assert metrics(at)["Parameters"] == f"{models.count_parameters(models.build_model(cfg)):,}"
    assert any("48 x 48" in c.value for c in at.caption)
    big = models.build_model(models.ModelConfig("cnn48", 3, 48, num_classes=7, batchnorm=True))
    assert models.count_parameters(big) == 4_714_943
    assert big(torch.zeros(2, 3, 48, 48)).shape == (2, 7)


def test_device_falls_back_to_the_cpu():
    from ui import studio_settings

    assert studio_settings.device({"ts_device": "cpu"}) == "cpu"
    if not torch.cuda.is_available():
        assert studio_settings.device({"ts_device": "cuda"}) == "cpu"  # a link from a GPU machine still trains


# --- Datasets page ---------------------------------------------------------------------------------------------

def test_datasets_page_mnist(app):
    at = open_page(app, DATASETS)
    m = metrics(at)
    assert m["Training images"] == "60,000" and m["Image shape"] == "1 x 28 x 28"
    sources = frame(at, "available")
    assert sources.set_index("dataset").loc["MNIST", "available"] == "yes"
    counts = figure(at, "Images per class")["data"][0]["y"]
    assert counts == torch.bincount(datasets.load_shared("mnist").y_train).tolist()
    grid = figure(at, "8 random train images per class")["data"][0]
    assert grid["type"] == "image"


@pytest.mark.skipif(cifar10.find_cifar10() is None, reason="no CIFAR-10 copy")
def test_datasets_page_cifar(app):
    at = open_page(app, DATASETS)
    at.segmented_control(key="dsb_dataset").set_value("cifar10")
    at.run()
    assert not at.exception
    assert metrics(at)["Image shape"] == "3 x 32 x 32" and metrics(at)["Training images"] == "50,000"
    assert figure(at, "Images per class")["data"][0]["y"] == [5000] * 10


def _zip_of_images() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for cls, color in (("cats", (200, 50, 50)), ("dogs", (50, 50, 200))):
            for i in range(6):
                img = io.BytesIO()
                Image.new("RGB", (24 + i, 20), color).save(img, format="PNG")
                z.writestr(f"pets/{cls}/{i}.png", img.getvalue())
    return buf.getvalue()


def test_custom_zip_flows_into_the_studio(app):
    at = open_page(app, DATASETS)
    at.segmented_control(key="dsb_dataset").set_value("custom")
    at.run()
    at.select_slider(key="dsb_size").set_value(16)
    at.file_uploader(key="dsb_zip").set_value(("pets.zip", _zip_of_images(), "application/zip"))
    at.run()
    at.button(key="dsb_load_zip").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("10 training and 2 test images in 2 classes" in s.value for s in at.success)
    assert metrics(at)["Image shape"] == "3 x 16 x 16" and metrics(at)["Training images"] == "10"
    at.switch_page(STUDIO)
    at.run()
    at.selectbox(key="ts_dataset").set_value("custom")
    at.selectbox(key="ts_arch").set_value("cnnnet")
    at.run()
    assert not at.exception
    assert metrics(at)["Input"] == "3 x 16 x 16"
    assert metrics(at)["Parameters"] == f"{models.count_parameters(models.build_model(models.ModelConfig('cnnnet', 3, 16, 2))):,}"


def test_bad_zip_is_refused_with_a_message(app):
    at = open_page(app, DATASETS)
    at.segmented_control(key="dsb_dataset").set_value("custom")
    at.run()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../escape.png", b"x")
    at.file_uploader(key="dsb_zip").set_value(("evil.zip", buf.getvalue(), "application/zip"))
    at.run()
    at.button(key="dsb_load_zip").click()
    at.run()
    assert not at.exception
    assert any("unsafe path" in e.value for e in at.error)
    assert any("No images loaded yet" in i.value for i in at.info)
