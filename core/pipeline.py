"""The data pipeline every training script starts with: a torchvision dataset read from disk, and the transforms
that turn each PIL image into a normalised (and augmented) tensor.

The app needs no network, so the datasets are written in torchvision's own on-disk layout from the copies it has:
MNIST as the four IDX files `torchvision.datasets.MNIST` reads from `root/MNIST/raw/`, and a small image folder
(PNG files of MNIST test digits, `class/name.png`) for `ImageFolder`. CIFAR-10 joins as an ImageFolder when its JPEG
copy is on this machine (torchvision's CIFAR10 class md5-checks the original pickles, so it reads no other copy).

    ds = mnist_dataset()                    # torchvision.datasets.MNIST(root, train=True, download=False)
    image, label = ds[0]                    # a PIL image (mode "L", 28 x 28) and 5
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core import system
from core.cifar10 import find_cifar10
from core.image_data import cache_dir
from core.mnist import MNIST_STATS
from core.parsing import InputError
from core.shared_server import shared

IDX = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
       "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
FOLDER_PER_CLASS = 30  # images per class in the small folder for ImageFolder
CIFAR_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
_writing = threading.Lock()


def torchvision_root() -> Path:
    return cache_dir() / "torchvision"


def idx_bytes(t: torch.Tensor) -> bytes:
    """A uint8 tensor in IDX format: magic (0, 0, 0x08 = uint8, number of dims), the sizes big-endian, the data."""
    header = bytes([0, 0, 0x08, t.dim()]) + b"".join(int(s).to_bytes(4, "big") for s in t.shape)
    return header + t.contiguous().numpy().tobytes()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_mnist_raw(root: Path | None = None) -> Path:
    """The embedded MNIST as torchvision's four raw IDX files under root/MNIST/raw (written once)."""
    from core.datasets import load_shared

    root = root or torchvision_root()
    raw = root / "MNIST" / "raw"
    with _writing:
        if all((raw / name).is_file() for name in IDX.values()):
            return root
        data = load_shared("mnist")
        for key, name in IDX.items():
            t = getattr(data, key)
            _write_atomic(raw / name, idx_bytes((t.squeeze(1) if t.dim() == 4 else t).to(torch.uint8)))
    return root


def write_digit_folder(root: Path | None = None) -> Path:
    """A small folder of PNG digits, `<digit>/<n>.png`, the first FOLDER_PER_CLASS test images of each class."""
    from PIL import Image

    from core.datasets import load_shared

    folder = (root or cache_dir()) / "folders" / "mnist-digits"
    with _writing:
        if (folder / "9" / f"{FOLDER_PER_CLASS - 1:03d}.png").is_file():
            return folder
        data = load_shared("mnist")
        for c in range(10):
            picks = (data.y_test == c).nonzero().flatten()[:FOLDER_PER_CLASS]
            for n, i in enumerate(picks.tolist()):
                png = io.BytesIO()
                Image.fromarray(data.x_test[i, 0].numpy(), mode="L").save(png, format="PNG")
                _write_atomic(folder / str(c) / f"{n:03d}.png", png.getvalue())  # whole files only, for readers
    return folder


SOURCES = {"mnist": "MNIST (torchvision.datasets.MNIST)", "folder": "a folder of digits (ImageFolder)",
           "cifar": "CIFAR-10 JPEGs (ImageFolder)"}


def available_sources() -> list[str]:
    """MNIST and the digit folder always (written from the embedded copy); CIFAR-10 where its JPEGs are."""
    found = find_cifar10()
    return ["mnist", "folder"] + (["cifar"] if found is not None and found.layout == "imagefolder" else [])


def dataset(source: str, train: bool = True, transform=None):
    """The torchvision dataset object for a source (see SOURCES)."""
    tv = system.torchvision()
    if source == "mnist":
        return tv.datasets.MNIST(str(write_mnist_raw()), train=train, download=False, transform=transform)
    if source == "folder":
        return tv.datasets.ImageFolder(str(write_digit_folder()), transform=transform)
    if source == "cifar":
        found = find_cifar10()
        if found is None or found.layout != "imagefolder":
            raise InputError("CIFAR-10's JPEG copy is not on this machine.")
        return tv.datasets.ImageFolder(str(found.path / ("train" if train else "test")), transform=transform)
    raise InputError(f"Unknown dataset {source!r}.")


def dataset_call(source: str) -> str:
    """How a script makes the dataset: with this machine's folders, or (on a shared server, whose folders are not
    shown) with the folder names a learner would use on their own machine."""
    if shared():
        return {"mnist": 'torchvision.datasets.MNIST("data", train=True, download=True)',
                "folder": 'torchvision.datasets.ImageFolder("digits")  # a folder of <class>/<image> files',
                "cifar": 'torchvision.datasets.ImageFolder("cifar10/train")'}[source]
    if source == "mnist":
        return f'torchvision.datasets.MNIST("{torchvision_root()}", train=True, download=False)'
    if source == "folder":
        return f'torchvision.datasets.ImageFolder("{write_digit_folder()}")'
    return f'torchvision.datasets.ImageFolder("{find_cifar10().path / "train"}")'


def folder_name(folder: Path) -> str:
    """The digit folder as the custom Dataset's code names it (not the server's path on a shared server)."""
    return "digits" if shared() else str(folder)


def stats(source: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The mean and std per channel that Normalize uses (of the training images)."""
    return CIFAR_STATS if source == "cifar" else tuple(tuple(round(v, 4) for v in s) for s in MNIST_STATS)


# --- transforms --------------------------------------------------------------------------------------------------

AUGMENTS = {"crop": "RandomCrop(size, padding=4)", "flip": "RandomHorizontalFlip()",
            "rotate": "RandomRotation(degrees)", "jitter": "ColorJitter(brightness, contrast, saturation)",
            "resize": "Resize(48)"}


@dataclass(frozen=True)
class Spec:
    """Which transforms run, in torchvision's order: augmentations on the PIL image, then ToTensor, Normalize."""

    augments: tuple[str, ...] = ()
    degrees: float = 15.0
    jitter: float = 0.4
    normalize: bool = True


def compose(spec: Spec, source: str, size: int):
    """The transforms.Compose for a spec (what a training script would write)."""
    t = system.torchvision().transforms
    steps = []
    for name in spec.augments:
        if name == "crop":
            steps.append(t.RandomCrop(size, padding=4))
        elif name == "flip":
            steps.append(t.RandomHorizontalFlip())
        elif name == "rotate":
            steps.append(t.RandomRotation(spec.degrees))
        elif name == "jitter":
            steps.append(t.ColorJitter(brightness=spec.jitter, contrast=spec.jitter, saturation=spec.jitter))
        elif name == "resize":
            steps.append(t.Resize(48))
        else:
            raise InputError(f"Unknown augmentation {name!r}.")
    steps.append(t.ToTensor())
    if spec.normalize:
        mean, std = stats(source)
        steps.append(t.Normalize(mean, std))
    return t.Compose(steps)


def compose_code(spec: Spec, source: str, size: int) -> list[str]:
    """The lines inside transforms.Compose([...]) for the code panel, each ending in its comma."""
    lines = []
    for name in spec.augments:
        lines.append({"crop": f"transforms.RandomCrop({size}, padding=4),", "flip": "transforms.RandomHorizontalFlip(),",
                      "rotate": f"transforms.RandomRotation({spec.degrees:g}),",
                      "jitter": f"transforms.ColorJitter(brightness={spec.jitter:g}, contrast={spec.jitter:g}, "
                                f"saturation={spec.jitter:g}),", "resize": "transforms.Resize(48),"}[name])
    lines.append("transforms.ToTensor(),  # HWC uint8 in 0..255 -> CHW float in [0, 1]")
    if spec.normalize:
        mean, std = stats(source)
        lines.append(f"transforms.Normalize({mean}, {std}),  # (x - mean) / std, per channel")
    return lines


def seeded(fn, seed: int):
    """Run fn with torch's global generator seeded (torchvision's random transforms draw from it), then restore it:
    the same seed gives the same augmented picture, and no other computation's random numbers change."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn()


def augmented(ds, index: int, spec: Spec, source: str, size: int, seed: int, copies: int) -> list[torch.Tensor]:
    """`copies` draws of the transform on one image (each seeded with seed + k)."""
    image, _ = ds[index]
    transform = compose(spec, source, size)
    return [seeded(lambda: transform(image), seed + k) for k in range(copies)]


def denormalize(x: torch.Tensor, source: str) -> torch.Tensor:
    """Undo Normalize for display: x * std + mean, clipped to [0, 1]."""
    mean, std = (torch.tensor(v).view(-1, 1, 1) for v in stats(source))
    return (x * std + mean).clamp(0, 1)


@dataclass(frozen=True)
class Pixel:
    raw: int  # the PIL image's value (0..255), first channel
    to_tensor: float  # after ToTensor: raw / 255
    normalized: float  # after Normalize: (to_tensor - mean) / std
    mean: float
    std: float


def pixel_path(image, source: str, row: int, col: int) -> Pixel:
    """One pixel through ToTensor and Normalize, with the numbers of each step."""
    arr = np.asarray(image)
    if not (0 <= row < arr.shape[0] and 0 <= col < arr.shape[1]):
        raise InputError(f"Pixel ({row}, {col}) is outside the {arr.shape[0]} x {arr.shape[1]} image.")
    raw = int(arr[row, col] if arr.ndim == 2 else arr[row, col, 0])
    mean, std = (s[0] for s in stats(source))
    x = raw / 255
    return Pixel(raw, x, (x - mean) / std, mean, std)


def finite_summary(x: torch.Tensor) -> dict[str, str]:
    return {"shape": str(tuple(x.shape)), "dtype": str(x.dtype).removeprefix("torch."),
            "min": f"{x.min().item():.4f}", "max": f"{x.max().item():.4f}", "mean": f"{x.mean().item():.4f}"}


def grid_size(n: int) -> int:
    return max(1, math.ceil(math.sqrt(n)))
