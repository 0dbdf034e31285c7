"""The Data pipeline lesson through AppTest: the dataset, transform and loader numbers shown are torchvision's;
every part's code panel prints them; a missing CIFAR-10 is a message, not a crash."""

import math

from core import pipeline
from core.datasets import load_shared
from tests.helpers import (
    errors,
    metrics,
    open_page,
    panels,
    rerun,
    run_panel,
    same_output,
    set_widgets,
    table,
)

PIPELINE = "pages/53_data_pipeline.py"


def part(at, name: str):
    at.session_state["dp_part"] = name
    return rerun(at)


def panel_ok(at) -> None:
    for code in panels(at):
        results = run_panel(code)
        assert results and all(same_output(p, e) for _, p, e in results), (results, code)


def test_dataset_part_shows_torchvisions_mnist(app):
    at = open_page(app, PIPELINE)
    set_widgets(at, dp_index=7)
    m = metrics(at)
    assert m["len(ds)"] == "60,000" and m["label"] == str(int(load_shared("mnist").y_train[7]))
    set_widgets(at, dp_source="folder")
    assert metrics(at)["len(ds)"] == str(10 * pipeline.FOLDER_PER_CLASS)
    panel_ok(at)


def test_transforms_part_pixel_numbers(app):
    at = open_page(app, PIPELINE)
    part(at, "transforms")
    set_widgets(at, dp_row=10, dp_col=12, dp_aug=[])
    raw = int(load_shared("mnist").x_train[0, 0, 10, 12])
    text = " ".join(md.value for md in at.markdown)
    assert f"**{raw}** (uint8)" in text and f"**{raw / 255:.4f}**" in text
    t = table(at, "tensor")
    assert list(t["shape"]) == ["(1, 28, 28)", "(1, 28, 28)"]
    mean, std = (s[0] for s in pipeline.stats("mnist"))
    assert float(t["min"][1]) == round(-mean / std, 4)  # a black pixel, normalised
    set_widgets(at, dp_aug=["resize"])
    assert list(table(at, "tensor")["shape"])[1] == "(1, 48, 48)"
    panel_ok(at)


def test_loader_part_counts(app):
    at = open_page(app, PIPELINE)
    part(at, "loader")
    set_widgets(at, dp_batch=100, dp_drop=True)
    m = metrics(at)
    assert m["len(loader)"] == "600" and m["last batch"] == "100" and m["images.shape"] == "(100,1,28,28)"
    set_widgets(at, dp_batch=128, dp_drop=False)
    assert metrics(at)["len(loader)"] == f"{math.ceil(60_000 / 128):,}" and metrics(at)["last batch"] == str(60_000 % 128)
    panel_ok(at)
    at.button(key="dp_measure").click()
    rerun(at)
    timing = table(at, "images/s")
    assert len(timing) == 2 and all(timing["seconds"] > 0)


def test_custom_part_agrees_with_image_folder(app):
    at = open_page(app, PIPELINE)
    part(at, "custom")
    set_widgets(at, dp_item=95)
    m = metrics(at)
    assert m["same as ImageFolder"] == "True" and m["label"] == "3" and m["image.shape"] == "(1,28,28)"
    panel_ok(at)


def test_unavailable_cifar_is_a_message(app, monkeypatch):
    monkeypatch.setattr(pipeline, "available_sources", lambda: ["mnist", "folder"])
    at = open_page(app, PIPELINE)
    set_widgets(at, dp_index=3, dp_source="cifar")
    assert "not on this machine" in errors(at)[0]
    set_widgets(at, dp_source="mnist")
    assert metrics(at)["label"] == str(int(load_shared("mnist").y_train[3]))  # the index was kept
