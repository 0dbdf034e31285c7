"""Drawing preprocessing: a drawn digit becomes an MNIST-like 28x28 image, centred by mass."""

import torch

from core import digits


def _canvas_with_bar(h=280, w=280, rows=(40, 200), cols=(120, 150)) -> torch.Tensor:
    rgba = torch.zeros(h, w, 4, dtype=torch.uint8)  # transparent canvas
    rgba[rows[0]:rows[1], cols[0]:cols[1]] = 255  # a white, opaque vertical bar: a "1"
    return rgba


def test_gray_is_ink_times_alpha():
    rgba = _canvas_with_bar()
    ink = digits.to_gray(rgba)
    assert ink.shape == (280, 280)
    assert ink[100, 130] == 1 and ink[10, 10] == 0


def test_digit_fits_20px_box_and_is_centred_by_mass():
    img = digits.mnist_style(digits.to_gray(_canvas_with_bar(cols=(20, 50))))  # drawn near the left edge
    assert img.shape == (28, 28)
    rows, cols = torch.nonzero(img > 0.05, as_tuple=True)
    assert int(rows.max() - rows.min()) + 1 <= 21  # height scaled to the 20-pixel box (+1 for anti-aliasing)
    cy, cx = digits.center_of_mass(img)
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5


def test_empty_canvas_is_not_a_digit():
    assert digits.mnist_style(torch.zeros(280, 280)) is None


def test_normalize_matches_mnist_statistics():
    x = digits.normalize(torch.zeros(28, 28))
    assert x.shape == (1, 1, 28, 28)
    assert torch.allclose(x, torch.full_like(x, -0.1307 / 0.3081))
