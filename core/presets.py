"""Presets: tuned settings behind the Training studio's one-click choices and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.models import ModelConfig
from core.training import TrainConfig


@dataclass(frozen=True)
class Preset:
    dataset: str  # "mnist", "fashion-mnist" or "cifar10"
    model: ModelConfig
    train: TrainConfig
    note: str


def fast_bf16() -> bool:
    """Whether bfloat16 autocast is fast here: a GPU, or a CPU with native BF16 (AVX-512 BF16 / AMX)."""
    if torch.cuda.is_available():
        return True
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def presets() -> dict[str, Preset]:
    """The app's presets by name (see BENCHMARKS.md for what each reaches, and how fast, on 2 CPU cores).

    They use bfloat16 and channels-last where this machine runs them fast, float32 otherwise.
    """
    fast = fast_bf16()
    speed = {"precision": "bf16" if fast else "fp32", "channels_last": True}
    mnist_fast = ModelConfig("fastnet", 1, 28, batchnorm=True, widths=(8, 16, 32, 64))
    cifar = ModelConfig("fastnet", 3, 32, batchnorm=True, widths=(16, 32, 64, 128))
    cifar_sgd = dict(lr=0.2, momentum=0.9, nesterov=True, weight_decay=5e-4, batch_size=256, schedule="onecycle",
                     warmup=0.2, label_smoothing=0.2, crop_padding=2, flip=True, val_fraction=0.0, tta=True,
                     log_every=10, **speed)
    return {
        "mnist-fast": Preset("mnist", mnist_fast, TrainConfig(
            "adamw", lr=5e-3, weight_decay=5e-4, batch_size=256, epochs=1, schedule="onecycle", warmup=0.2,
            label_smoothing=0.1, val_fraction=0.0, test_every_epoch=False, log_every=20, **speed),
            "FastNet (x0.5) on MNIST, one epoch: ~99.2% test accuracy in ~15 s on 2 CPU cores."),
        "mnist-mlp": Preset("mnist", ModelConfig("mlp"), TrainConfig(
            "sgd", lr=0.1, momentum=0.9, batch_size=128, epochs=3, schedule="cosine"),
            "The textbook MLP 784-200-200-10 with SGD + momentum: ~98%."),
        "cifar-default": Preset("cifar10", cifar, TrainConfig("sgd", epochs=2, test_every_epoch=True, **cifar_sgd),
                                "FastNet on CIFAR-10, crops and flips, 2 epochs: ~77% in ~1 minute on 2 CPU cores."),
        "cifar-80": Preset("cifar10", cifar, TrainConfig("sgd", epochs=8, test_every_epoch=False, **cifar_sgd),
                           "The same FastNet for 8 epochs: ~85% on CIFAR-10 in ~3.5 minutes on 2 CPU cores."),
    }
