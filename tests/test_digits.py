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


def test_prepare_gives_an_mnist_like_uint8_batch():
    x = digits.prepare(_canvas_with_bar())
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.uint8
    assert int(x.max()) == 255 and int(x[0, 0, 0, 0]) == 0


def test_upscaled_mnist_digits_survive_the_round_trip_and_are_recognised():
    """Real MNIST test digits drawn 10x larger on a canvas, prepared again, are still classified correctly."""
    import torch.nn.functional as F

    from core import evaluation, inspection
    from core.datasets import load_shared

    mnist = load_shared("mnist")
    model, _ = inspection.train_quick_cnn(mnist)
    picks = torch.arange(0, 10_000, 50)  # 200 test digits
    correct_direct = correct_drawn = 0
    for i in picks.tolist():
        big = F.interpolate(mnist.x_test[i:i + 1].float(), scale_factor=10, mode="bilinear")[0, 0]  # (280, 280)
        rgba = torch.zeros(280, 280, 4, dtype=torch.uint8)
        rgba[..., :3] = big.clamp(0, 255).round().to(torch.uint8)[..., None]
        rgba[..., 3] = 255  # an opaque black canvas with white ink, as the page's canvas sends it
        label = int(mnist.y_test[i])
        drawn = digits.prepare(rgba)
        correct_drawn += int(evaluation.predict(model, drawn, mnist).argmax()) == label
        correct_direct += int(evaluation.predict(model, mnist.x_test[i:i + 1], mnist).argmax()) == label
    assert correct_direct / len(picks) > 0.9
    assert correct_drawn / len(picks) > 0.9  # the preprocessing keeps digits MNIST-like


def test_a_drawing_unlike_any_digit_is_named():
    full = torch.full((1, 1, 28, 28), 255, dtype=torch.uint8)  # a fully inked canvas, prepared
    assert "mostly ink" in digits.unlike_a_digit(digits.prepare(torch.full((280, 280, 4), 255, dtype=torch.uint8)))
    assert "mostly ink" in digits.unlike_a_digit(full)
    dot = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    dot[0, 0, 14, 14] = 255
    assert "very little ink" in digits.unlike_a_digit(dot)


def test_every_mnist_test_digit_looks_like_a_digit(mnist):

    inked = (mnist.x_test > 127).float().mean((1, 2, 3))
    low, high = digits.INK_RANGE
    assert bool(((inked >= low) & (inked <= high)).all())  # the thresholds never flag a real digit
