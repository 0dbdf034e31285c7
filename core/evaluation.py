"""A trained model on a test set: class probabilities, loss and accuracy, the confusion matrix, its mistakes.

    probs = predict(model, data.x_test, data)                    # (N, classes), eval mode, then restored
    cm = confusion_matrix(data.y_test, probs.argmax(1), data.num_classes)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.batches import normalize
from core.image_data import ImageData


@dataclass(frozen=True)
class Metrics:
    loss: float
    accuracy: float
    n: int


def prepare(x_uint8: torch.Tensor, data: ImageData, device, channels_last: bool) -> torch.Tensor:
    x = normalize(x_uint8, data.mean, data.std)  # (B, C, H, W) float32
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.to(device, non_blocking=True)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, data: ImageData, *, batch_size: int = 1000, device="cpu",
            tta: bool = False, precision: str = "fp32", channels_last: bool = False) -> torch.Tensor:
    """Class probabilities (N, classes) for uint8 images x (N, C, H, W), in eval mode (then restored).

    tta: average the softmax of each image and its mirror (test-time augmentation).
    """
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(x), batch_size):
            xb = prepare(x[start:start + batch_size], data, device, channels_last)
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                probs = model(xb).float().softmax(dim=1)  # (B, classes)
                if tta:
                    probs = (probs + model(xb.flip(3)).float().softmax(dim=1)) / 2
            out.append(probs.cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, data.num_classes)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, data: ImageData, **kwargs) -> Metrics:
    """Mean cross-entropy (no label smoothing) and accuracy of the model on uint8 images x and labels y."""
    if len(y) == 0:
        return Metrics(float("nan"), float("nan"), 0)
    probs = predict(model, x, data, **kwargs)
    loss = F.nll_loss(probs.clamp_min(1e-12).log(), y).item()
    return Metrics(loss, (probs.argmax(1) == y).float().mean().item(), len(y))


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(classes, classes) counts: row = true class, column = predicted class.

    Example: confusion_matrix(tensor([0, 1, 1]), tensor([0, 0, 1]), 2).tolist() -> [[1, 0], [1, 1]]
    """
    return torch.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Diagonal over row sums: the fraction of each true class classified correctly (nan for an empty class)."""
    return cm.diag().double() / cm.sum(1).double()


def confident_mistakes(probs: torch.Tensor, y: torch.Tensor, n: int = 12) -> torch.Tensor:
    """Indices of the `n` wrong predictions made with the highest confidence, most confident first."""
    conf, pred = probs.max(1)
    wrong = (pred != y).nonzero().flatten()
    return wrong[conf[wrong].argsort(descending=True)[:n]]
