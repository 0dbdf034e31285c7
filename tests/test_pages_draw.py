"""Draw a digit: the page classifies what the canvas sends, after MNIST-style preprocessing."""

from types import SimpleNamespace

import torch
import torch.nn.functional as F

from tests.helpers import open_page

PAGE = "pages/52_draw_digit.py"


def _drawn(digit_index: int):
    """What the canvas sends for an MNIST test digit drawn 10x larger in white on the black canvas."""
    from core.datasets import load_shared

    mnist = load_shared("mnist")
    big = F.interpolate(mnist.x_test[digit_index:digit_index + 1].float(), scale_factor=10, mode="bilinear")[0, 0]
    rgba = torch.zeros(280, 280, 4, dtype=torch.uint8)
    rgba[..., :3] = big.clamp(0, 255).round().to(torch.uint8)[..., None]
    rgba[..., 3] = 255
    return SimpleNamespace(json_data={"objects": [{"type": "path"}]}, image_data=rgba.numpy()), int(mnist.y_test[digit_index])


def test_empty_canvas_asks_for_a_drawing(app):
    at = open_page(app, PAGE)
    assert any("Draw a digit on the black canvas" in i.value for i in at.info)
    assert not at.metric  # no prediction without a drawing


def test_a_drawn_digit_is_classified(app, monkeypatch):
    import streamlit_drawable_canvas

    canvas, label = _drawn(0)  # MNIST test image 0 is a 7
    monkeypatch.setattr(streamlit_drawable_canvas, "st_canvas", lambda **kwargs: canvas)
    at = open_page(app, PAGE)
    metrics = {m.label: m.value for m in at.metric}
    assert label == 7
    assert metrics["Prediction"] == "7"
    assert float(metrics["Confidence"].rstrip("%")) > 50
    code = at.expander[-1].children[0].value if at.expander else ""
    assert "softmax" in code
