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
