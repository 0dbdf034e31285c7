"""The in-memory dataset type every loader returns, the errors they raise, and the disk cache they share.

An `ImageData` holds a classification dataset as uint8 tensors `(N, C, H, W)` plus int64 labels and the channel
statistics `normalize` needs. Loaders decode images once and keep the tensors in `cache_dir()`, so the next load
is a single file read.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from core.batches import channel_stats

Progress = Callable[[float, str], None]  # progress(fraction done in [0, 1], what is happening)


class DataUnavailable(RuntimeError):
    """A dataset is not on this machine (or cannot be read); str(error) says how to get it."""


class DataError(ValueError):
    """Bad user-provided data (a broken zip, an empty folder); str(error) is a message for the learner."""


@dataclass(frozen=True, eq=False)
class ImageData:
    """A classification dataset held in memory as uint8 tensors (read-only: never modify them in place)."""

    name: str
    classes: tuple[str, ...]
    x_train: torch.Tensor  # (N, C, H, W) uint8
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor  # (M, C, H, W) uint8
    y_test: torch.Tensor  # (M,) int64
    mean: tuple[float, ...]  # per channel, of the training images scaled to [0, 1]
    std: tuple[float, ...]
    source: str = ""  # where the images came from, in words

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Example: load_mnist().image_shape -> (1, 28, 28)"""
        return tuple(self.x_train.shape[1:])

    def subset(self, n_train: int | None = None, n_test: int | None = None, *, seed: int = 0) -> ImageData:
        """A random subset (same seed, same subset): for quick runs and tests."""
        g = torch.Generator().manual_seed(seed)
        pick_train = _pick(len(self.y_train), n_train, g)
        pick_test = _pick(len(self.y_test), n_test, g)
        return replace(self, x_train=self.x_train[pick_train], y_train=self.y_train[pick_train],
                       x_test=self.x_test[pick_test], y_test=self.y_test[pick_test])


def _pick(n: int, k: int | None, g: torch.Generator) -> slice | torch.Tensor:
    if k is None or k >= n:
        return slice(None)
    return torch.randperm(n, generator=g)[:k].sort().values


def cache_dir() -> Path:
    """Where decoded datasets are kept: $PYLAB_CACHE_DIR/data, else ~/.cache/pytorch-lab/data."""
    base = os.environ.get("PYLAB_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "pytorch-lab")
    return Path(base) / "data"


def cache_load(name: str) -> dict | None:
    path = cache_dir() / name
    if not path.is_file():
        return None
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # a truncated or foreign file: decode again
        return None


def cache_save(name: str, arrays: dict) -> None:
    """Write atomically; a read-only home only costs the next load its decoding time."""
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        torch.save(arrays, tmp)
        os.replace(tmp, folder / name)
    except OSError:
        pass


def with_stats(arrays: dict) -> dict:
    """Add the training images' channel mean and std (kept in the cache file: computing them takes seconds)."""
    mean, std = channel_stats(arrays["x_train"])
    return {**arrays, "mean": torch.tensor(mean, dtype=torch.float64), "std": torch.tensor(std, dtype=torch.float64)}


def make_data(name, classes, arrays: dict, source: str, stats=None) -> ImageData:
    if stats is None:
        if "mean" not in arrays:
            arrays = with_stats(arrays)
        stats = (tuple(arrays["mean"].tolist()), tuple(arrays["std"].tolist()))
    mean, std = stats
    return ImageData(name, tuple(classes), arrays["x_train"], arrays["y_train"].long(), arrays["x_test"],
                     arrays["y_test"].long(), mean, std, source)


def user_path(path: str | Path) -> Path:
    """A typed path with `~` expanded; "~nosuchuser" stays as typed instead of raising."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)

def online(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """A quick reachability check, so that an offline machine says so at once instead of hanging."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
