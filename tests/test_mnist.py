"""MNIST and Fashion-MNIST: the embedded copy is the real MNIST, the cache round-trips, IDX files are read."""

import gzip

import pytest
import torch

import core.mnist
from core.batches import channel_stats
from core.image_data import DataError, DataUnavailable
from core.mnist import (
    _IDX_FILES,
    fashion_mnist_folder,
    load_fashion_mnist,
    load_mnist,
    mnist_archive,
    read_idx,
    read_mnist_archive,
)
from tests.helpers import idx_bytes

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_embedded_mnist_is_the_real_mnist(mnist):
    assert mnist.x_train.shape == (60000, 1, 28, 28) and mnist.x_train.dtype == torch.uint8
    assert mnist.x_test.shape == (10000, 1, 28, 28) and mnist.y_test.dtype == torch.int64
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the first digits every MNIST tutorial shows
    assert mnist.y_test[0].item() == 7
    assert torch.bincount(mnist.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert torch.bincount(mnist.y_test).tolist() == MNIST_TEST_COUNTS
    assert mnist.classes == tuple("0123456789") and mnist.image_shape == (1, 28, 28)
    # the textbook normalisation constants are this set's statistics
    (mean,), (std,) = channel_stats(mnist.x_train)
    assert round(mean, 4) == 0.1307 and round(std, 4) == 0.3081
    assert mnist.mean == (pytest.approx(mean, abs=1e-5),)
    # digits are white on black, with the classic 20x20 box centred in 28x28: the border is empty
    assert mnist.x_train[:, :, :2, :].float().mean() < 0.5
    assert mnist.x_train.max() == 255


def test_mnist_cache_round_trip(tmp_cache):
    first = load_mnist()
    files = list(tmp_cache.glob("mnist-*.pt"))
    assert len(files) == 1
    second = load_mnist()  # from the cache file
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)
    archive = read_mnist_archive(mnist_archive())
    assert torch.equal(archive["x_test"], second.x_test)


def test_torchvision_mnist_without_download_says_so(tmp_path):
    with pytest.raises(DataUnavailable, match="download"):
        load_mnist("torchvision", root=tmp_path, download=False)


def test_torchvision_mnist_folder_is_read(tmp_path, mnist):
    """A torchvision MNIST folder (raw IDX files, as its download leaves them) gives the same arrays."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for key, stem in _IDX_FILES.items():
        arr = getattr(mnist, key)
        arr = arr[:, 0] if arr.dim() == 4 else arr
        (raw / stem).write_bytes(idx_bytes(arr.to(torch.uint8)))
    tv = load_mnist("torchvision", root=tmp_path)
    assert torch.equal(tv.x_train, mnist.x_train) and torch.equal(tv.y_test, mnist.y_test)


def test_read_idx_plain_gzip_and_truncated():
    t = torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4)
    raw = idx_bytes(t)
    assert torch.equal(read_idx(raw), t)
    assert torch.equal(read_idx(gzip.compress(raw)), t)
    with pytest.raises(DataError, match="truncated"):
        read_idx(raw[:-1])
    with pytest.raises(DataError):
        read_idx(b"PK\x03\x04 not idx")


@pytest.mark.skipif(fashion_mnist_folder() is None, reason="Fashion-MNIST not installed")
def test_fashion_mnist():
    fm = load_fashion_mnist()
    assert fm.x_train.shape == (60000, 1, 28, 28) and fm.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(fm.y_train).tolist() == [6000] * 10  # perfectly balanced, unlike MNIST
    assert torch.bincount(fm.y_test).tolist() == [1000] * 10
    assert fm.classes[9] == "Ankle boot" and fm.y_train[0].item() == 9  # the first image is an ankle boot


def test_missing_fashion_mnist_explains(monkeypatch, tmp_path):
    monkeypatch.setattr(core.mnist, "DEBIAN_FASHION_MNIST", tmp_path / "nothing")
    monkeypatch.setenv("PYLAB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataUnavailable, match="dataset-fashion-mnist"):
        load_fashion_mnist()
