"""Filters on an image: hand-made 3x3 kernels (edges, blur, sharpen) and random ones, run as one nn.Conv2d."""

import math
from dataclasses import dataclass
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

FILTERS: dict[str, list[list[float]]] = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge: vertical (Sobel x)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "edge: horizontal (Sobel y)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "edge: all directions (Laplacian)": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    "blur: box": [[1 / 9] * 3] * 3,
    "blur: Gaussian": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}
RANDOM_FILTER = "random"
SHORT = {"edge: vertical (Sobel x)": "Sobel x", "edge: horizontal (Sobel y)": "Sobel y",
         "edge: all directions (Laplacian)": "Laplacian", "blur: box": "box blur", "blur: Gaussian": "Gaussian blur"}


@dataclass
class FilterRun:
    names: tuple[str, ...]
    weight: torch.Tensor  # (K, C, 3, 3): the nn.Conv2d weight, one output channel per filter
    maps: torch.Tensor  # (K, H, W): the feature maps


def filter_bank(names: tuple[str, ...], channels: int, seed: int = 0) -> torch.Tensor:
    """Stack the named 3x3 kernels into a conv weight (K, C, 3, 3).

    A hand-made kernel is shared by every input channel and divided by C, so on a colour image it filters the
    grey level; each "random" filter draws its own N(0, 1/(9C)) weights (PyTorch's default scale, roughly).
    """
    g = torch.Generator().manual_seed(seed)
    kernels = []
    for name in names:
        if name == RANDOM_FILTER:
            kernels.append(torch.randn(channels, 3, 3, generator=g) / math.sqrt(9 * channels))
        elif name in FILTERS:
            kernels.append(torch.tensor(FILTERS[name]).expand(channels, 3, 3) / channels)
        else:
            raise ValueError(f"Unknown filter {name!r}; choose from {[*FILTERS, RANDOM_FILTER]}.")
    return torch.stack(kernels)


def apply_filters(image: torch.Tensor, names: tuple[str, ...], *, seed: int = 0, relu: bool = False) -> FilterRun:
    """One nn.Conv2d(C, K, 3, padding=1) whose K output channels are the chosen filters.

    Example: apply_filters(torch.rand(1, 28, 28), ("identity",)).maps.shape -> (1, 28, 28)
    """
    if image.dim() != 3:
        raise ValueError("image must be (C, H, W)")
    if not names:
        raise ValueError("Choose at least one filter.")
    channels = image.shape[0]
    conv = nn.Conv2d(channels, len(names), 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(filter_bank(names, channels, seed))
        maps = conv(image.unsqueeze(0))  # (1, K, H, W)
        if relu:
            maps = F.relu(maps)
    return FilterRun(tuple(names), conv.weight.detach().clone(), maps[0])


def titles(names: tuple[str, ...]) -> list[str]:
    """Short panel titles: "Sobel x", ..., and "random #1", "random #2" ... for the random filters."""
    out, r = [], 0
    for name in names:
        r += name == RANDOM_FILTER
        out.append(f"random #{r}" if name == RANDOM_FILTER else SHORT.get(name, name))
    return out


def _weight_code(value: float) -> str:
    """A kernel weight as written by hand: 2, -1, 1 / 9 (the same float as the table's 1/9)."""
    frac = Fraction(value).limit_denominator(16)
    return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator} / {frac.denominator}"


def filters_code(run: FilterRun, image_code: tuple[str, str], *, seed: int, relu: bool) -> str:
    """The nn.Conv2d behind apply_filters, on the image that `image_code` (core.images.image_code) loads, printing
    what the page shows."""
    names = titles(run.names)
    kernel_lines = "\n".join(
        f"    {t!r}: [{', '.join('[' + ', '.join(_weight_code(v) for v in row) + ']' for row in FILTERS[n])}],"
        for t, n in zip(names, run.names, strict=True) if n != RANDOM_FILTER)
    k, h, w = run.maps.shape
    relu_line = "\n    maps = maps.relu()" if relu else ""
    return f"""import math

import torch
from torch import nn

{image_code[0]}

{image_code[1]}

FILTERS = {{
{kernel_lines}
}}
names = {names}
C = image.shape[0]                           # input channels of the image
g = torch.Generator().manual_seed({seed})
kernels = []
for name in names:
    if name.startswith("random"):          # like an untrained layer: small random weights
        kernels.append(torch.randn(C, 3, 3, generator=g) / math.sqrt(9 * C))
    else:                                  # a hand-made kernel, shared by every input channel
        kernels.append(torch.tensor(FILTERS[name], dtype=torch.float32).expand(C, 3, 3) / C)
conv = nn.Conv2d(C, len(names), kernel_size=3, padding=1, bias=False)
with torch.no_grad():
    conv.weight.copy_(torch.stack(kernels))  # (K, C, 3, 3)
    maps = conv(image.unsqueeze(0))[0]       # (K, H, W): one feature map per kernel{relu_line}
print(tuple(maps.shape))  # {(k, h, w)}
print(conv.weight.numel())  # {run.weight.numel()}
print(maps.abs().max().item())  # {float(run.maps.abs().max())}
"""
