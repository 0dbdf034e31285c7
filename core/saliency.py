"""Why did it say 7? Three maps of one image, each the size of the image: which pixels the prediction depends on.

    image, label = pick_image(data, 0)                  # (C, H, W) normalised, as the model sees it
    saliency(model, image).map                          # |d logit_c / d x|, max over the colour channels
    grad_cam(model, image).map                          # Grad-CAM on the last conv feature map (CNNs only)
    occlusion(model, image, patch=6, stride=2).map      # how much the class probability drops under a grey patch

Every map runs the model in eval mode (then restores its mode) and never touches its parameters or their .grad:
gradients are taken with torch.autograd.grad with respect to the input or a feature map only.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.batches import normalize
from core.image_data import ImageData
from core.models import ModelConfig
from core.quick_train import QuickConfig, quick_train_code
from core.training import TrainConfig

POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d)
NO_CONV = ("This model has no convolutional layer, so there is no feature map for Grad-CAM to weigh: an MLP "
           "flattens the image at once. The saliency and occlusion maps work for any model.")


@dataclass(frozen=True, eq=False)
class Saliency:
    target: int  # the class explained
    probs: torch.Tensor  # (classes,) softmax of the model on the image
    grad: torch.Tensor  # (C, H, W) d logit_target / d x
    map: torch.Tensor  # (H, W) |grad| max over channels


@dataclass(frozen=True, eq=False)
class GradCAM:
    available: bool  # False for a model without conv layers (see `reason`)
    reason: str  # why there is no map, in words ("" when there is one)
    layer: str  # the feature map's module, e.g. "features.4 (ReLU)"
    target: int
    weights: torch.Tensor  # (K,) alpha_k: the mean gradient of each channel of the feature map
    cam: torch.Tensor  # (h, w) relu(sum_k alpha_k A_k) at the feature map's resolution
    map: torch.Tensor  # (H, W) cam upsampled (bilinear) to the image and scaled to [0, 1]


@dataclass(frozen=True, eq=False)
class Occlusion:
    target: int
    prob: float  # the target's probability on the intact image
    drops: torch.Tensor  # (ny, nx) prob - prob with the patch at each position (positive: the patch hurt)
    map: torch.Tensor  # (H, W) the mean drop over the patch positions that cover each pixel
    patch: int
    stride: int
    fill: float  # the patch's value in the normalised input (0: the dataset's mean colour)


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """model.eval() inside the block; every module's own mode restored after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            m.training = mode


def pick_image(data: ImageData, index: int) -> tuple[torch.Tensor, int]:
    """Test image `index` normalised as the model sees it, (C, H, W) float32, and its label."""
    return normalize(data.x_test[index:index + 1], data.mean, data.std)[0], int(data.y_test[index])


def saliency(model: nn.Module, image: torch.Tensor, target: int | None = None) -> Saliency:
    """Input-gradient saliency (Simonyan et al. 2013) of the target class (default: the predicted one)."""
    with eval_mode(model):
        x = image[None].detach().clone().requires_grad_(True)  # (1, C, H, W)
        logits = model(x)[0]  # (classes,)
        target = int(logits.argmax()) if target is None else int(target)
        grad = torch.autograd.grad(logits[target], x)[0][0]  # (C, H, W)
    return Saliency(target, logits.detach().softmax(0), grad, grad.abs().amax(0))


def _feature_maps(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[tuple[str, nn.Module, torch.Tensor]]]:
    """(logits, [(name, leaf module, 4-D output)] in the order they ran), with hooks removed after."""
    ran: list[tuple[str, nn.Module, torch.Tensor]] = []
    handles = [m.register_forward_hook(lambda mod, inp, out, name=name: ran.append((name, mod, out)))
               for name, m in model.named_modules() if next(m.children(), None) is None]
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    return logits, [(n, m, out) for n, m, out in ran if isinstance(out, torch.Tensor) and out.dim() == 4]


def cam_layer(maps: list[tuple[str, nn.Module, torch.Tensor]]) -> int | None:
    """Which feature map Grad-CAM weighs: the last one (in running order) at or after the last conv layer to run,
    pooling layers and 1x1 maps left out: the last conv's output after its activation (in a ResNet, after the skip
    is added). None when no conv layer ran."""
    convs = [i for i, (_, m, _) in enumerate(maps) if isinstance(m, nn.Conv2d)]
    if not convs:
        return None
    usable = [i for i in range(convs[-1], len(maps))
              if not isinstance(maps[i][1], POOLS) and maps[i][2].shape[-1] * maps[i][2].shape[-2] > 1]
    return usable[-1] if usable else convs[-1]


def grad_cam(model: nn.Module, image: torch.Tensor, target: int | None = None, layer: str | None = None) -> GradCAM:
    """Grad-CAM (Selvaraju et al. 2017) of the target class on the last conv feature map, or on the module `layer`."""
    empty = torch.zeros(0)
    with eval_mode(model):
        x = image[None].detach().clone().requires_grad_(True)  # (1, C, H, W): a graph even with frozen weights
        logits, maps = _feature_maps(model, x)
        target = int(logits[0].argmax()) if target is None else int(target)
        if layer is not None:
            found = [i for i, (n, _, _) in enumerate(maps) if n == layer]
            if not found:
                raise ValueError(f"no module named {layer!r} produced a feature map")
            index = found[-1]
        else:
            index = cam_layer(maps)
        if index is None:
            return GradCAM(False, NO_CONV, "", target, empty, empty, torch.zeros(image.shape[-2:]))
        name, module, a = maps[index]
        grad = torch.autograd.grad(logits[0, target], a)[0][0]  # (K, h, w) d score / d A
    a = a.detach()[0]  # (K, h, w)
    weights = grad.mean(dim=(1, 2))  # (K,) alpha_k: global-average-pooled gradients
    cam = F.relu((weights[:, None, None] * a).sum(0))  # (h, w)
    up = F.interpolate(cam[None, None], size=image.shape[-2:], mode="bilinear", align_corners=False)[0, 0]  # (H, W)
    top = up.max()
    return GradCAM(True, "", f"{name} ({type(module).__name__})", target, weights, cam, up / top if top > 0 else up)


def positions(size: int, patch: int, stride: int) -> list[int]:
    """Patch starts along one side, the last one flush with the edge.

    Example: positions(28, 6, 4) -> [0, 4, 8, 12, 16, 20, 22]
    """
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def occlusion(model: nn.Module, image: torch.Tensor, target: int | None = None, *, patch: int = 6,
              stride: int = 2, fill: float = 0.0, batch_size: int = 256) -> Occlusion:
    """Occlusion sensitivity (Zeiler & Fergus 2014): slide a `patch` x `patch` square of value `fill` over the image
    with `stride`, and record how much the target class's probability drops at each position."""
    c, h, w = image.shape
    if not (1 <= patch <= min(h, w) and stride >= 1):
        raise ValueError(f"the patch must fit the {h} x {w} image and the stride be at least 1")
    ys, xs = positions(h, patch, stride), positions(w, patch, stride)
    with eval_mode(model), torch.inference_mode():
        probs = model(image[None]).softmax(1)[0]  # (classes,)
        target = int(probs.argmax()) if target is None else int(target)
        images = image.expand(len(ys) * len(xs), c, h, w).clone()  # (N, C, H, W), one per patch position
        for k, (y0, x0) in enumerate((y0, x0) for y0 in ys for x0 in xs):
            images[k, :, y0:y0 + patch, x0:x0 + patch] = fill
        occluded = torch.cat([model(images[i:i + batch_size]).softmax(1)[:, target]
                              for i in range(0, len(images), batch_size)])  # (N,)
    drops = (probs[target] - occluded).reshape(len(ys), len(xs))  # (ny, nx)
    total, count = torch.zeros(h, w), torch.zeros(h, w)
    for i, y0 in enumerate(ys):
        for j, x0 in enumerate(xs):
            total[y0:y0 + patch, x0:x0 + patch] += drops[i, j]
            count[y0:y0 + patch, x0:x0 + patch] += 1
    return Occlusion(target, probs[target].item(), drops, total / count, patch, stride, fill)


def saliency_code(dataset: str, model_cfg: ModelConfig, train_cfg: TrainConfig, quick: QuickConfig, index: int,
                  sal: Saliency, cam: GradCAM, occ: Occlusion) -> str:
    """A script: `quick_train`, then the three maps of test image `index`, printing their key numbers."""
    lines = [quick_train_code(dataset, model_cfg, train_cfg, quick),
             "model.eval()",
             f"x = normalize(data.x_test[{index}:{index + 1}], data.mean, data.std)  # (1, C, H, W)",
             "x.requires_grad_(True)  # d logit / d x",
             "logits = model(x)[0]  # (classes,)",
             "target = int(logits.argmax())",
             "print(target, f'{logits.softmax(0)[target].item():.4f}')  # "
             f"{sal.target} {sal.probs[sal.target].item():.4f}",
             "grad = torch.autograd.grad(logits[target], x)[0][0]  # (C, H, W) d logit / d pixel",
             "saliency = grad.abs().amax(0)  # (H, W)",
             f"print(f'{{saliency.max().item():.4g}}')  # {sal.map.max().item():.4g}"]
    if cam.available:
        name = cam.layer.split(" ")[0]
        lines += ["",
                  "# Grad-CAM: keep the feature map with a forward hook, weigh its channels by their mean gradient",
                  "kept = {}",
                  f"hook = model.get_submodule({name!r}).register_forward_hook(lambda m, i, out: kept.update(a=out))",
                  "logits = model(x)[0]",
                  "hook.remove()",
                  "a = kept['a']  # (1, K, h, w)",
                  "alpha = torch.autograd.grad(logits[target], a)[0][0].mean(dim=(1, 2))  # (K,)",
                  "cam = F.relu((alpha[:, None, None] * a.detach()[0]).sum(0))  # (h, w)",
                  "print(tuple(cam.shape), f'{cam.max().item():.4g}')  # "
                  f"{tuple(cam.cam.shape)} {cam.cam.max().item():.4g}"]
    lines += ["",
              f"# occlusion: a {occ.patch} x {occ.patch} patch of {occ.fill:g} (the mean colour) every {occ.stride} "
              "pixels",
              "size = x.shape[-1]",
              f"starts = list(range(0, size - {occ.patch} + 1, {occ.stride}))",
              f"starts += [] if starts[-1] == size - {occ.patch} else [size - {occ.patch}]  # the last one at the edge",
              "with torch.inference_mode():",
              "    prob = model(x).softmax(1)[0, target]",
              "    images = x.detach().repeat(len(starts) ** 2, 1, 1, 1)  # (N, C, H, W)",
              "    for k, (r, c) in enumerate((r, c) for r in starts for c in starts):",
              f"        images[k, :, r:r + {occ.patch}, c:c + {occ.patch}] = {occ.fill!r}",
              "    drops = prob - model(images).softmax(1)[:, target]  # (N,)",
              f"print(f'{{drops.max().item():.4g}}')  # {occ.drops.max().item():.4g}"]
    return "\n".join(lines) + "\n"
