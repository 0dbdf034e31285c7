"""CIFAR-10: from a folder in ImageFolder layout (`train/<class>/*.jpg`, `test/<class>/*.jpg`), the original
`cifar-10-batches-py` folder, or the official download (163 MB), as `ImageData`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.image_data import (
    DataError,
    DataUnavailable,
    ImageData,
    Progress,
    cache_dir,
    cache_load,
    cache_save,
    make_data,
    online,
    user_path,
    with_stats,
)
from core.image_folders import decode_files, list_images
from core.shared_server import allowed_folder, shown

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"


@dataclass(frozen=True)
class Found:
    """Where a dataset was found and in which layout."""

    path: Path
    layout: str  # "imagefolder" (train/<class>/*.jpg, test/<class>/*.jpg) or "batches" (cifar-10-batches-py)



def cifar10_candidates(path: str | Path | None = None) -> list[Path]:
    """Where CIFAR-10 is looked for: the given path only; else $PYLAB_CIFAR10_DIR, then the cache."""
    if path:
        return [allowed_folder(path)]  # on a shared server: only inside its data folders (DataError otherwise)
    out = [user_path(os.environ["PYLAB_CIFAR10_DIR"])] if os.environ.get("PYLAB_CIFAR10_DIR") else []
    return out + [cache_dir() / "cifar10"]


def find_cifar10(path: str | Path | None = None) -> Found | None:
    """The first readable CIFAR-10 among `cifar10_candidates(path)`, or None."""
    for base in cifar10_candidates(path):
        try:
            for folder in (base, base / "cifar-10-batches-py"):
                if (folder / "data_batch_1").is_file() and (folder / "test_batch").is_file():
                    return Found(folder, "batches")
            if (base / "train").is_dir() and (base / "test").is_dir():
                return Found(base, "imagefolder")
        except OSError:  # a name too long, a folder we may not read: not CIFAR-10
            continue
    return None


def load_cifar10(path: str | Path | None = None, *, download: bool = False,
                 progress: Progress | None = None) -> ImageData:
    """CIFAR-10, 50,000 + 10,000 colour images (3, 32, 32) in 10 classes.

    Read from `path`, $PYLAB_CIFAR10_DIR or the cache (see `find_cifar10`), decoded once
    and cached as one uint8 tensor file (~180 MB). With `download`, fetches the official archive (163 MB)
    into the cache when nothing is found.
    """
    found = find_cifar10(path)
    if found is None and path and not download:
        raise DataUnavailable("No CIFAR-10 in that folder: expected `train/<class>/*.jpg` and `test/<class>/*.jpg` "
                              "(ImageFolder layout) or the `cifar-10-batches-py` folder.")
    if found is None and download:
        found = download_cifar10(progress=progress)
    if found is None:
        raise DataUnavailable("CIFAR-10 is not on this machine. Tick the download (163 MB, needs internet), "
                              "or point to a folder in ImageFolder layout (`train/<class>/*.jpg`, "
                              "`test/<class>/*.jpg`) or a `cifar-10-batches-py` folder, or set $PYLAB_CIFAR10_DIR.")
    if found.layout == "batches":
        key = _folder_key("cifar10-batches", found.path, ["data_batch_1", "test_batch"])
        arrays = cache_load(key)
        if arrays is None:
            arrays = with_stats(read_cifar_batches(found.path))
            cache_save(key, arrays)
        return make_data("CIFAR-10", CIFAR10_CLASSES, arrays, f"cifar-10-batches-py in {shown(found.path)}")
    train_files = list_images(found.path / "train")
    test_files = list_images(found.path / "test")
    classes = tuple(sorted(train_files))
    if len(classes) < 2 or not test_files:
        raise DataUnavailable("The CIFAR-10 folder has no images in train/<class>/ and test/<class>/ (it holds "
                              f"{len(classes)} class folder(s) with training images and {len(test_files)} with test "
                              "images). Point to a complete copy, or download it (163 MB, needs internet).")
    names = [f"{c}/{f.name}" for c in classes for f in train_files[c]] + \
            [f"{c}/{f.name}" for c in sorted(test_files) for f in test_files[c]]
    key = "cifar10-" + hashlib.sha1(("\n".join([str(found.path.resolve()), *names])).encode()).hexdigest()[:16] + ".pt"
    arrays = cache_load(key)
    if arrays is None:
        x_train, y_train = decode_files(train_files, classes, 32, 3, progress, 0.0, 0.83)
        x_test, y_test = decode_files(test_files, classes, 32, 3, progress, 0.83, 1.0)
        arrays = with_stats({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test})
        cache_save(key, arrays)
    return make_data("CIFAR-10", classes, arrays, f"JPEG/PNG images in {shown(found.path)}")


def _folder_key(prefix: str, folder: Path, files: list[str]) -> str:
    parts = [str(folder.resolve())] + [f"{f}:{(folder / f).stat().st_size}" for f in files]
    return f"{prefix}-{hashlib.sha1('|'.join(parts).encode()).hexdigest()[:16]}.pt"


class _ArrayUnpickler(pickle.Unpickler):
    """Reads the official CIFAR pickles (dicts of numpy arrays and lists) and nothing that could run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch file")


def read_cifar_batches(folder: Path) -> dict[str, torch.Tensor]:
    """The five training batches and the test batch of `cifar-10-batches-py` -> uint8 (N, 3, 32, 32) + labels."""

    def read(name):
        try:
            with open(folder / name, "rb") as f:
                d = _ArrayUnpickler(f, encoding="bytes").load()
            x = torch.from_numpy(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).copy())
            return x, torch.tensor(d[b"labels"], dtype=torch.long)
        except (pickle.UnpicklingError, KeyError, ValueError, TypeError, EOFError, OSError) as exc:
            raise DataError(f"{folder / name} is not a CIFAR-10 batch file: {exc}") from None

    train = [read(f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = read("test_batch")
    return {"x_train": torch.cat([x for x, _ in train]), "y_train": torch.cat([y for _, y in train]),
            "x_test": x_test, "y_test": y_test}


def download_cifar10(progress: Progress | None = None, timeout: float = 15.0) -> Found:
    """Fetch the official archive into the cache (with progress), check its md5, unpack the batch folder."""
    target = cache_dir() / "cifar10"
    if not online("www.cs.toronto.edu"):
        raise DataUnavailable("Cannot download CIFAR-10: this machine is offline (www.cs.toronto.edu is "
                              "unreachable). Point to a local copy instead.")
    target.mkdir(parents=True, exist_ok=True)
    archive = target / "cifar-10-python.tar.gz"
    md5 = hashlib.md5()
    try:
        with urllib.request.urlopen(CIFAR10_URL, timeout=timeout) as response, open(archive, "wb") as out:
            total = int(response.headers.get("Content-Length") or 170_498_071)
            done = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                md5.update(chunk)
                done += len(chunk)
                if progress:
                    progress(min(done / total, 1.0) * 0.9, f"Downloading CIFAR-10: {done / 1e6:.0f} of {total / 1e6:.0f} MB")
    except OSError as exc:
        raise DataUnavailable(f"Downloading CIFAR-10 failed: {exc}") from None
    if md5.hexdigest() != CIFAR10_MD5:
        archive.unlink(missing_ok=True)
        raise DataUnavailable("The downloaded CIFAR-10 archive is corrupt (md5 mismatch); try again.")
    if progress:
        progress(0.95, "Unpacking CIFAR-10")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    archive.unlink(missing_ok=True)
    return Found(target / "cifar-10-batches-py", "batches")
