"""Batches on whole uint8 tensors: seeded index batches, augmentation, normalisation, and previews.

    g = torch.Generator().manual_seed(0)
    for idx in batches(len(data.y_train), 128, g):                 # (128,) indices
        x = normalize(data.x_train[idx], data.mean, data.std)      # (128, 1, 28, 28) float32
        y = data.y_train[idx]                                      # (128,) int64

No per-sample PIL work, no DataLoader workers: a training step indexes a batch and works on it at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def batches(n: int, batch_size: int, generator: torch.Generator | None = None, *, shuffle: bool = True,
            drop_last: bool = False) -> Iterator[torch.Tensor]:
    """Index batches over range(n), shuffled by `generator` (a new order on every call).

    Example: [b.tolist() for b in batches(5, 2, shuffle=False)] -> [[0, 1], [2, 3], [4]]
    """
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 images -> float32 with per-channel mean 0 and std 1: (x / 255 - mean) / std in one fused pass."""
    c = x.shape[1]
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=torch.float32).view(1, c, 1, 1)
    shift = torch.tensor([m / s for m, s in zip(mean, std, strict=True)], dtype=torch.float32).view(1, c, 1, 1)
    return torch.addcmul(-shift, x.float(), scale)  # (B, C, H, W)


def augment(x: torch.Tensor, generator: torch.Generator | None = None, *, crop_padding: int = 4,
            flip: bool = True) -> torch.Tensor:
    """Random crop (zero padding, like transforms.RandomCrop(size, padding)) and horizontal flip of a whole batch.

    Works on uint8 or float batches (B, C, H, W); every image gets its own random shift and flip.
    """
    b, _, h, w = x.shape
    if crop_padding > 0:
        p = crop_padding
        padded = torch.nn.functional.pad(x, (p, p, p, p))  # (B, C, H + 2p, W + 2p), zeros = black
        dy = torch.randint(0, 2 * p + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * p + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, :, None]  # (B, H, 1)
        cols = (dx[:, None] + torch.arange(w))[:, None, :]  # (B, 1, W)
        batch = torch.arange(b)[:, None, None]  # (B, 1, 1)
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (B, C, H, W)
    if flip:
        mirrored = torch.rand(b, generator=generator) < 0.5
        x = torch.where(mirrored[:, None, None, None], x.flip(3), x)
    return x.contiguous()


def channel_stats(x: torch.Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images scaled to [0, 1], computed in chunks (no full float copy)."""
    c = x.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    total_sq = torch.zeros(c, dtype=torch.float64)
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk].float().div_(255.0)  # float32 sums of one chunk, float64 across chunks
        total += part.sum(dim=(0, 2, 3)).double()
        total_sq += part.square().sum(dim=(0, 2, 3)).double()
    count = max(1, len(x) * x.shape[2] * x.shape[3])
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(1e-12).sqrt()
    return tuple(round(v, 6) for v in mean.tolist()), tuple(round(v, 6) for v in std.tolist())


def class_examples(y: torch.Tensor, num_classes: int, per_class: int, *, seed: int = 0) -> torch.Tensor:
    """Indices of `per_class` random examples of every class: (num_classes, per_class), -1 where a class is short."""
    g = torch.Generator().manual_seed(seed)
    out = torch.full((num_classes, per_class), -1, dtype=torch.long)
    for k in range(num_classes):
        idx = (y == k).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)[:per_class]]
        out[k, :len(idx)] = idx
    return out


def tile(images: torch.Tensor, nrow: int, *, pad: int = 2, fill: int = 255) -> np.ndarray:
    """Lay (N, C, H, W) uint8 images out in a grid with `nrow` images per row -> (H', W', C) uint8 array."""
    n, c, h, w = images.shape
    rows = max(1, -(-n // nrow))
    grid = torch.full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), fill, dtype=torch.uint8)
    for i in range(n):
        r, k = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[:, top:top + h, left:left + w] = images[i]
    return grid.permute(1, 2, 0).numpy()
