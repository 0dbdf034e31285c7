"""DataLoader: batches from a dataset (its size arithmetic, shuffling with a seed, the first batch), a custom Dataset
for a folder of images, and a measured comparison with batches cut from an in-memory uint8 tensor, which is how
the Training studio feeds its models (core/batches.py)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from core.parsing import InputError


@dataclass(frozen=True)
class LoaderFacts:
    samples: int
    batches: int  # len(loader)
    last_batch: int  # size of the last batch
    images_shape: tuple[int, ...]  # the first batch's images, (b, c, h, w)
    labels: list[int]  # the first batch's labels
    labels_dtype: str


def loader(ds, batch_size: int, shuffle: bool, drop_last: bool, seed: int) -> DataLoader:
    """A DataLoader whose shuffling draws from its own seeded generator (num_workers=0: batches are made in this
    process; see `measure` for what worker processes change)."""
    if not 1 <= batch_size <= 1024:
        raise InputError("batch_size must be between 1 and 1024.")
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, num_workers=0,
                      generator=torch.Generator().manual_seed(seed))


def facts(ds, batch_size: int, shuffle: bool, drop_last: bool, seed: int) -> tuple[LoaderFacts, torch.Tensor]:
    """len(loader), the last batch's size, and the first batch (next(iter(loader)))."""
    n = len(ds)
    batches = n // batch_size if drop_last else math.ceil(n / batch_size)
    last = batch_size if drop_last or n % batch_size == 0 else n % batch_size
    dl = loader(ds, batch_size, shuffle, drop_last, seed)
    assert len(dl) == batches
    images, labels = next(iter(dl))
    return LoaderFacts(n, batches, last, tuple(images.shape), labels.tolist(),
                       str(labels.dtype).removeprefix("torch.")), images


# --- a custom Dataset ----------------------------------------------------------------------------------------------

class FolderDataset(Dataset):
    """Images in `root/<class>/<file>.png`, read one at a time: what ImageFolder does, written out."""

    def __init__(self, root: str | Path, transform=None):
        self.root = Path(root)
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        self.samples = [(path, label) for label, c in enumerate(self.classes)
                        for path in sorted((self.root / c).glob("*.png"))]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        from PIL import Image

        path, label = self.samples[index]
        image = Image.open(path).convert("L")  # one channel: the digits are grey
        return (self.transform(image) if self.transform else image), label


def custom_code(root: str, index: int, image_shape: tuple[int, ...], label: int, length: int) -> str:
    return f'''from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class FolderDataset(Dataset):
    """Images in root/<class>/<file>.png, read one at a time."""

    def __init__(self, root, transform=None):
        self.root = Path(root)
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        self.samples = [(path, label) for label, c in enumerate(self.classes)
                        for path in sorted((self.root / c).glob("*.png"))]
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        image = Image.open(path).convert("L")
        return (self.transform(image) if self.transform else image), label


ds = FolderDataset("{root}", transform=transforms.ToTensor())
print(len(ds))  # {length}
image, label = ds[{index}]
print(image.shape, label)  # {torch.Size(image_shape)} {label}
images, labels = next(iter(DataLoader(ds, batch_size=8, shuffle=True)))
print(images.shape)  # torch.Size([8, {image_shape[0]}, {image_shape[1]}, {image_shape[2]}])
'''


# --- DataLoader vs in-memory batches -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    how: str
    seconds: float
    images: int

    @property
    def per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("inf")


def measure(ds, x_uint8: torch.Tensor, mean: float, std: float, batch_size: int = 64, batches: int = 30,
            seed: int = 0) -> list[Timing]:
    """Time `batches` batches two ways: the DataLoader over a transformed torchvision dataset (PIL image ->
    ToTensor -> Normalize, one sample at a time, then collated), and a random slice of an in-memory uint8 tensor
    converted to float and normalised in one operation."""
    dl = loader(ds, batch_size, True, True, seed)
    start = time.perf_counter()
    n = 0
    for i, (images, _) in enumerate(dl):
        n += len(images)
        if i + 1 == batches:
            break
    loader_s = time.perf_counter() - start
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    m = 0
    order = torch.randperm(len(x_uint8), generator=g)
    for i in range(batches):
        pick = order[i * batch_size:(i + 1) * batch_size]
        images = (x_uint8[pick].float() / 255 - mean) / std
        m += len(images)
    memory_s = time.perf_counter() - start
    return [Timing("DataLoader(dataset with ToTensor + Normalize), num_workers=0", loader_s, n),
            Timing("x_uint8[indices].float() / 255, normalised (the Training studio's way)", memory_s, m)]
