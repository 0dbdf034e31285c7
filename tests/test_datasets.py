"""Datasets by name: what this machine has, and MNIST from a torchvision copy when the embedded one is missing."""


import pytest
import torch

import core.mnist
from core.datasets import load_shared, sources
from core.image_data import DataUnavailable
from core.mnist import _IDX_FILES
from tests.helpers import idx_bytes


def test_sources_report():
    status = {s.dataset: s for s in sources()}
    assert status["MNIST"].available and "embedded" in status["MNIST"].where
    assert set(status) == {"MNIST", "Fashion-MNIST", "CIFAR-10"}


def test_without_the_embedded_copy_mnist_says_so_then_uses_a_torchvision_copy(tmp_path, monkeypatch, mnist):
    monkeypatch.setattr(core.mnist, "mnist_archive", lambda: None)
    monkeypatch.setenv("PYLAB_CACHE_DIR", str(tmp_path))
    load_shared.cache_clear()
    try:
        with pytest.raises(DataUnavailable, match="download"):
            load_shared("mnist")
        raw = tmp_path / "data" / "torchvision" / "MNIST" / "raw"  # where download("mnist") puts it
        raw.mkdir(parents=True)
        for key, stem in _IDX_FILES.items():
            arr = getattr(mnist, key)
            (raw / stem).write_bytes(idx_bytes((arr[:, 0] if arr.dim() == 4 else arr).to(torch.uint8)))
        assert torch.equal(load_shared("mnist").x_test, mnist.x_test)
    finally:
        load_shared.cache_clear()
