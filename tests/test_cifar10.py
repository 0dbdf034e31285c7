"""CIFAR-10: the real copy read pixel-exact, both layouts, hostile pickles refused, missing data explained."""

import pickle

import numpy as np
import pytest
import torch

from core.cifar10 import CIFAR10_CLASSES, Found, find_cifar10, load_cifar10
from core.image_data import DataError, DataUnavailable
from tests.helpers import SHARED_CIFAR10

# --- CIFAR-10 -------------------------------------------------------------------------------------------------

needs_cifar = pytest.mark.skipif(not SHARED_CIFAR10.is_dir(), reason="shared CIFAR-10 copy not present")


def _small_cifar(tmp_path, per_class=(6, 3)):
    """A small ImageFolder copy of the shared CIFAR-10 (links to the real JPEGs)."""
    root = tmp_path / "cifar-small"
    for split, n in zip(("train", "test"), per_class, strict=True):
        for cls in CIFAR10_CLASSES:
            folder = root / split / cls
            folder.mkdir(parents=True)
            for f in sorted((SHARED_CIFAR10 / split / cls).iterdir())[:n]:
                (folder / f.name).symlink_to(f)
    return root


@needs_cifar
def test_cifar_loader_reads_the_shared_copy_pixel_exact(tmp_path, tmp_cache):
    from PIL import Image

    root = _small_cifar(tmp_path)
    cifar = load_cifar10(root)
    assert cifar.x_train.shape == (60, 3, 32, 32) and cifar.x_test.shape == (30, 3, 32, 32)
    assert cifar.classes == CIFAR10_CLASSES
    assert torch.bincount(cifar.y_train).tolist() == [6] * 10
    # the same pixels as PIL's decoder gives (libjpeg in both)
    first_cat = sorted((root / "train" / "cat").iterdir())[0]
    expected = torch.from_numpy(np.array(Image.open(first_cat).convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(cifar.x_train[cifar.y_train == 3][0], expected)
    assert len(list(tmp_cache.glob("cifar10-*.pt"))) == 1
    again = load_cifar10(root)  # from the cache
    assert torch.equal(again.x_test, cifar.x_test) and again.mean == cifar.mean


@needs_cifar
def test_cifar_full_shared_copy():
    found = find_cifar10()
    assert found is not None and found.layout == "imagefolder"
    cifar = load_cifar10()
    assert cifar.x_train.shape == (50000, 3, 32, 32) and cifar.x_test.shape == (10000, 3, 32, 32)
    assert torch.bincount(cifar.y_test).tolist() == [1000] * 10
    assert cifar.mean == pytest.approx((0.4914, 0.4822, 0.4465), abs=2e-3)  # the well-known CIFAR-10 means


@needs_cifar
def test_cifar_batches_layout_and_env_var(tmp_path, tmp_cache, monkeypatch):
    """A cifar-10-batches-py folder (the official pickles) is read with a restricted unpickler."""
    small = load_cifar10(_small_cifar(tmp_path))
    batches = tmp_path / "dl" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    parts = torch.arange(60).chunk(5)
    for i, idx in enumerate(parts, start=1):
        _write_batch(batches / f"data_batch_{i}", small.x_train[idx], small.y_train[idx])
    _write_batch(batches / "test_batch", small.x_test, small.y_test)
    monkeypatch.setenv("PYLAB_CIFAR10_DIR", str(tmp_path / "dl"))
    found = find_cifar10()
    assert found == Found(batches, "batches")
    from_batches = load_cifar10()
    assert torch.equal(from_batches.x_train, small.x_train) and torch.equal(from_batches.y_test, small.y_test)


def _write_batch(path, x, y):
    d = {b"data": x.reshape(len(x), -1).numpy(), b"labels": y.tolist()}
    path.write_bytes(pickle.dumps(d, protocol=2))


def test_hostile_cifar_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}))
    with pytest.raises(DataError, match="not a CIFAR-10 batch file"):
        load_cifar10(tmp_path)


def test_missing_cifar_says_how_to_get_it(tmp_path):
    with pytest.raises(DataUnavailable, match="ImageFolder layout"):
        load_cifar10(tmp_path / "nowhere")


def test_a_cifar_folder_with_empty_train_and_test_says_so(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    assert find_cifar10(tmp_path) is not None  # it looks like CIFAR-10 ...
    with pytest.raises(DataUnavailable, match="has no images in train"):  # ... until it is read
        load_cifar10(tmp_path)
