"""Turn a hand-drawn digit into an MNIST-style 28x28 image, the way MNIST itself was made.

MNIST digits were size-normalised to fit a 20x20 box (keeping the aspect ratio, with anti-aliasing) and then
centred in a 28x28 image by their centre of mass. A drawing gets the same treatment before a model sees it.
"""

import torch
import torch.nn.functional as F


def to_gray(rgba: torch.Tensor) -> torch.Tensor:
    """A canvas image (H, W, 4) uint8, white ink on a dark or transparent background -> ink intensity (H, W) in [0, 1].

    Ink is whatever differs from the background: alpha times brightness, so both a transparent canvas with white
    strokes and an opaque black canvas with white strokes give the same result.
    """
    img = rgba.float() / 255  # (H, W, 4)
    rgb, alpha = img[..., :3], img[..., 3]
    return (rgb.mean(-1) * alpha).clamp(0, 1)  # (H, W)


def center_of_mass(img: torch.Tensor) -> tuple[float, float]:
    """Example: a single bright pixel at (row 3, col 5) -> (3.0, 5.0)."""
    total = img.sum()
    rows = torch.arange(img.shape[0], dtype=img.dtype)
    cols = torch.arange(img.shape[1], dtype=img.dtype)
    return float((img.sum(1) * rows).sum() / total), float((img.sum(0) * cols).sum() / total)


def mnist_style(ink: torch.Tensor, *, box: int = 20, size: int = 28) -> torch.Tensor | None:
    """Ink intensity (H, W) in [0, 1] -> (size, size) image like an MNIST digit, or None if nothing is drawn."""
    mask = ink > 0.05
    if int(mask.sum()) < 5:  # a few stray pixels are not a digit
        return None
    rows, cols = torch.nonzero(mask, as_tuple=True)
    crop = ink[int(rows.min()): int(rows.max()) + 1, int(cols.min()): int(cols.max()) + 1]  # (h, w)
    h, w = crop.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = F.interpolate(crop[None, None], size=(new_h, new_w), mode="bilinear", antialias=True,
                          align_corners=False)[0, 0].clamp(0, 1)  # (new_h, new_w)
    out = torch.zeros(size, size)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top: top + new_h, left: left + new_w] = small
    # Shift so the centre of mass sits at the image centre, as in MNIST.
    cy, cx = center_of_mass(out)
    dy, dx = round((size - 1) / 2 - cy), round((size - 1) / 2 - cx)
    dy = max(-top, min(size - top - new_h, dy))  # never push ink off the image
    dx = max(-left, min(size - left - new_w, dx))
    return torch.roll(out, shifts=(dy, dx), dims=(0, 1))


def prepare(rgba: torch.Tensor) -> torch.Tensor | None:
    """A canvas image (H, W, 4) uint8 -> a (1, 1, 28, 28) uint8 batch like MNIST's test images, or None if empty."""
    img = mnist_style(to_gray(rgba))
    if img is None:
        return None
    return (img * 255).round().to(torch.uint8)[None, None]


# MNIST's digits cover 2.4% to 33% of their 28x28 image with ink brighter than half (all 10,000 test digits).
INK_RANGE = (0.02, 0.35)


def unlike_a_digit(x: torch.Tensor) -> str | None:
    """Why a prepared (1, 1, 28, 28) uint8 drawing is unlike any MNIST digit, in words; None when it is not."""
    ink = float((x > 127).float().mean())
    if ink > INK_RANGE[1]:
        return (f"This is mostly ink ({ink:.0%} of the 28x28 image; MNIST's digits cover at most 33%): it looks "
                "like no digit the model has seen. It still answers, because it always picks one of the ten "
                "classes, but the answer means little.")
    if ink < INK_RANGE[0]:
        return (f"There is very little ink ({ink:.1%} of the 28x28 image; MNIST's digits cover at least 2%): "
                "draw the digit larger or with a thicker pen.")
    return None


def stand_in(image: torch.Tensor, scale: int = 10) -> torch.Tensor:
    """An MNIST image (28, 28) uint8 drawn large as a canvas would hand it over: (28*scale, 28*scale, 4) uint8."""
    ink = image.repeat_interleave(scale, 0).repeat_interleave(scale, 1)  # (280, 280)
    return torch.stack([ink, ink, ink, torch.full_like(ink, 255)], dim=-1)


def digit_code(x: torch.Tensor | None, mean: float, std: float, pred: int, *, run: tuple[str, dict] | None = None)\
        -> str:
    """The Draw-a-digit lesson as a script: the prepared drawing (or, before one, MNIST test image 0 drawn large),
    the same preprocessing, the model, its prediction. `run`: (weights file name, ModelConfig dict) of a Training
    studio run, else the shared small CNN."""
    if x is None:
        drawing = ["mnist = load_mnist()",
                   "rgba = stand_in(mnist.x_test[0, 0])  # no drawing yet: MNIST test image 0, drawn large on the canvas",
                   "x = prepare(rgba)  # crop to the ink, fit a 20x20 box, centre by mass in 28x28: (1, 1, 28, 28)"]
        imports = "from core.digits import prepare, stand_in\n"
    else:
        drawing = ["mnist = load_mnist()",
                   "# your drawing after core.digits.prepare (crop, fit a 20x20 box, centre by mass), as 784 bytes",
                   f'x = torch.frombuffer(bytearray.fromhex("{bytes(x.flatten().tolist()).hex()}"), '
                   "dtype=torch.uint8).reshape(1, 1, 28, 28)"]
        imports = ""
    if run is None:
        model = ["model, accuracy = train_quick_cnn(mnist)  # the page's small shared CNN (seeded: a few seconds)"]
        imports += "from core.inspection import train_quick_cnn\n"
    else:
        file, cfg = run
        model = [f"model = build_model(ModelConfig(**{cfg!r}), seed=None)",
                 f"model.load_state_dict(torch.load({file!r}, weights_only=True))  # the run's Weights (.pt) download"]
        imports += "from core.models import ModelConfig, build_model\n"
    lines = ["import torch", "", imports + "from core.mnist import load_mnist", "", *drawing, *model,
             f"x = (x.float() / 255 - {mean:.4f}) / {std:.4f}  # the training set's mean and std",
             "model.eval()", "with torch.inference_mode():",
             "    probs = model(x).softmax(dim=1)[0]  # (10,)",
             f"print(probs.argmax().item())  # {pred}"]
    return "\n".join(lines) + "\n"
