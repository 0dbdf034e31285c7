"""The model's map of the data: the features a model computes just before its last Linear layer (its "penultimate
layer"), for ~2,000 test images, projected to 2-D or 3-D with PCA. A trained model pulls the classes apart there.

    m = feature_map(model, data, n=2000, dims=2)
    m.coords, m.labels, m.explained      # (2000, 2), (2000,), e.g. (0.21, 0.14): the share of variance each axis keeps

PCA uses torch.pca_lowrank on the centred features (a randomised SVD, accurate for the few leading components; it
draws its random projection from torch's global RNG, which it only reads from, never seeds). Each axis's sign is
fixed so that its largest loading is positive: the same model gives the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.batches import normalize
from core.image_data import ImageData
from core.models import ModelConfig
from core.quick_train import QuickConfig, quick_train_code
from core.saliency import eval_mode
from core.training import TrainConfig

OVERSAMPLE = 30  # pca_lowrank looks for k + this many directions (all of them when D is smaller)


@dataclass(frozen=True, eq=False)
class PCA:
    coords: torch.Tensor  # (N, k) the centred features projected on the components
    components: torch.Tensor  # (D, k) unit vectors, one column per axis
    mean: torch.Tensor  # (D,) the features' mean (subtracted first)
    explained: torch.Tensor  # (k,) the share of the total variance along each axis
    singular_values: torch.Tensor  # (k,)


@dataclass(frozen=True, eq=False)
class FeatureMap:
    coords: torch.Tensor  # (N, dims)
    labels: torch.Tensor  # (N,) the true classes (to colour the points)
    predictions: torch.Tensor  # (N,) the model's classes
    explained: tuple[float, ...]  # (dims,) share of variance per axis
    layer: str  # the last Linear, whose input the features are, e.g. "net.5"
    dim: int  # feature size D
    indices: torch.Tensor  # (N,) the test images used


def last_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    """The model's last nn.Linear (in module order): its input is the penultimate layer's output."""
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError("the model has no Linear layer")
    return found[-1]


@torch.inference_mode()
def penultimate_features(model: nn.Module, x: torch.Tensor, *, batch_size: int = 500) -> tuple[torch.Tensor,
                                                                                               torch.Tensor]:
    """(features (N, D), logits (N, classes)) for normalised images x, in eval mode: a forward pre-hook on the last
    Linear keeps what it receives."""
    _, head = last_linear(model)
    kept: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda module, inputs: kept.append(inputs[0].flatten(1).float()))
    try:
        with eval_mode(model):
            logits = torch.cat([model(x[i:i + batch_size]).float() for i in range(0, len(x), batch_size)])
    finally:
        handle.remove()
    return torch.cat(kept), logits


def pca(features: torch.Tensor, k: int = 2, *, oversample: int = OVERSAMPLE, niter: int = 6) -> PCA:
    """The top-k principal components of features (N, D) with torch.pca_lowrank (centred), signs fixed."""
    x = features.double()
    mean = x.mean(0)  # (D,)
    xc = x - mean  # (N, D)
    q = min(k + oversample, *x.shape)  # extra directions: the randomised SVD separates close leading ones
    _, s, v = torch.pca_lowrank(xc, q=q, center=False, niter=niter)  # v: (D, q)
    v, s = v[:, :k], s[:k]
    flip = torch.sign(v.gather(0, v.abs().argmax(0, keepdim=True)))  # (1, k) largest loading positive
    v = v * torch.where(flip == 0, 1.0, flip)
    total = xc.square().sum()
    explained = s.square() / total if total > 0 else torch.zeros_like(s)
    return PCA((xc @ v).float(), v.float(), mean.float(), explained.float(), s.float())


def feature_map(model: nn.Module, data: ImageData, *, n: int = 2000, dims: int = 2) -> FeatureMap:
    """The first `n` test images' penultimate features, projected to `dims` (2 or 3) axes with PCA."""
    if dims not in (2, 3):
        raise ValueError("dims must be 2 or 3")
    idx = torch.arange(min(n, len(data.y_test)))
    x = normalize(data.x_test[idx], data.mean, data.std)  # (N, C, H, W)
    features, logits = penultimate_features(model, x)
    p = pca(features, dims)
    return FeatureMap(p.coords, data.y_test[idx], logits.argmax(1), tuple(p.explained.tolist()),
                      last_linear(model)[0], features.shape[1], idx)


def feature_pca_code(dataset: str, model_cfg: ModelConfig, train_cfg: TrainConfig, quick: QuickConfig,
                     result: FeatureMap) -> str:
    """A script: `quick_train`, the penultimate features of the first test images through a forward pre-hook,
    torch.pca_lowrank, and the share of variance each axis explains."""
    n, k = len(result.indices), len(result.explained)
    return f"""{quick_train_code(dataset, model_cfg, train_cfg, quick)}
model.eval()
kept = []
head = model.get_submodule({result.layer!r})  # the last Linear: its input is the penultimate layer's output
hook = head.register_forward_pre_hook(lambda module, inputs: kept.append(inputs[0].flatten(1)))
with torch.inference_mode():
    x = normalize(data.x_test[:{n}], data.mean, data.std)  # (N, C, H, W)
    for i in range(0, len(x), 500):
        model(x[i:i + 500])
hook.remove()
features = torch.cat(kept).double()  # (N, D)
print(tuple(features.shape))  # {(n, result.dim)}
centred = features - features.mean(0)
U, S, V = torch.pca_lowrank(centred, q={min(k + OVERSAMPLE, n, result.dim)}, center=False, niter=6)
coords = centred @ V[:, :{k}]  # (N, {k}): the picture (each axis up to its sign)
explained = S[:{k}] ** 2 / centred.square().sum()  # the share of the variance each axis keeps
print([round(v, 3) for v in explained.tolist()])  # {[round(v, 3) for v in result.explained]}
"""
