"""Pooling and upsampling, computed by torch: max / average / adaptive pooling and F.interpolate."""

import torch
import torch.nn.functional as F
from torch import nn

from core.convolution import conv_output_size

POOLS = ("max", "avg", "adaptive max", "adaptive avg")
UPSAMPLE_MODES = ("nearest", "bilinear")
MODULES = {"max": "nn.MaxPool2d", "avg": "nn.AvgPool2d", "adaptive max": "nn.AdaptiveMaxPool2d",
           "adaptive avg": "nn.AdaptiveAvgPool2d"}


def pool_problem(size: int, kernel: int, stride: int, padding: int) -> str | None:
    """Why nn.MaxPool2d / nn.AvgPool2d would refuse these settings; None when they are valid."""
    if kernel < 1 or stride < 1 or padding < 0:
        return "kernel and stride must be at least 1, padding at least 0."
    if padding > kernel // 2:
        return (f"padding ({padding}) must be at most half the kernel ({kernel} // 2 = {kernel // 2}): "
                "otherwise some windows would see only padding.")
    out = conv_output_size(size, kernel, stride, padding)
    if out <= 0:
        return f"The output would have size {out} <= 0: a {kernel}x{kernel} window does not fit in {size}+2*{padding}."
    return None


def pool(image: torch.Tensor, kind: str, *, kernel: int = 2, stride: int = 2, padding: int = 0,
         output_size: int = 7) -> torch.Tensor:
    """Pool a (C, H, W) image with the real nn module. Example: pool(torch.rand(1, 28, 28), "max").shape -> (1, 14, 14)"""
    if kind not in POOLS:
        raise ValueError(f"kind must be one of {POOLS}")
    if kind in ("max", "avg"):
        problem = pool_problem(min(image.shape[-2:]), kernel, stride, padding)
        if problem:
            raise ValueError(problem)
    layer = {
        "max": lambda: nn.MaxPool2d(kernel, stride, padding),
        "avg": lambda: nn.AvgPool2d(kernel, stride, padding),
        "adaptive max": lambda: nn.AdaptiveMaxPool2d(output_size),
        "adaptive avg": lambda: nn.AdaptiveAvgPool2d(output_size),
    }[kind]()
    with torch.no_grad():
        return layer(image.unsqueeze(0))[0]


def adaptive_windows(size: int, output_size: int) -> list[tuple[int, int]]:
    """The [start, end) input rows that each adaptive-pooling output row reads: floor(i*n/m) .. ceil((i+1)*n/m).

    Example: adaptive_windows(5, 3) -> [(0, 2), (1, 4), (3, 5)]: windows may overlap and differ in size.
    """
    return [(i * size // output_size, -(-(i + 1) * size // output_size)) for i in range(output_size)]


def max_pool_indices(grid: torch.Tensor, kernel: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Max pooling of a (H, W) grid with return_indices=True: the maxima and the flat input index of each winner."""
    out, idx = F.max_pool2d(grid[None, None], kernel, stride, return_indices=True)
    return out[0, 0], idx[0, 0]


def upsample(image: torch.Tensor, scale: float, mode: str) -> torch.Tensor:
    """F.interpolate a (C, H, W) image. Example: upsample(torch.rand(1, 7, 7), 2, "nearest").shape -> (1, 14, 14)"""
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"mode must be one of {UPSAMPLE_MODES}")
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    with torch.no_grad():
        return F.interpolate(image.unsqueeze(0), scale_factor=scale, mode=mode, **kwargs)[0]


def reconstruction_error(image: torch.Tensor, upsampled: torch.Tensor) -> float:
    """Mean squared difference between an image and its pooled-then-upsampled copy of the same size."""
    return float(((upsampled - image) ** 2).mean())


def small_grid(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A seeded 6x6 grid of whole numbers 0..9 and its 2x2 pools: (grid, maxima, winner indices, averages)."""
    grid = torch.randint(0, 10, (6, 6), generator=torch.Generator().manual_seed(seed)).float()
    values, idx = max_pool_indices(grid, 2, 2)
    avg = pool(grid[None], "avg", kernel=2, stride=2)[0]
    return grid, values, idx, avg


def _printed(t: torch.Tensor) -> str:
    """How print(t) shows a tensor, on one line (a panel's expected output)."""
    return " ".join(str(t).split())


def pooling_code(seed: int, image_code: tuple[str, str], image: torch.Tensor, pooled: torch.Tensor, near: torch.Tensor,
                 bil: torch.Tensor, kind: str, *, kernel: int, stride: int, padding: int, output_size: int,
                 scale: float) -> str:
    """The grid's pools (small_grid), then the pooled and upsampled image (pool, upsample) as plain torch code,
    printing what the page shows; `image_code` (core.images.image_code) loads the image."""
    _, values, idx, avg = small_grid(seed)
    module = MODULES[kind]
    call = f"{module}({output_size})" if kind.startswith("adaptive") else \
        f"{module}(kernel_size={kernel}, stride={stride}, padding={padding})"
    errors = ""
    if near.shape == image.shape:
        errors = ("\n# back at the original size: what pooling threw away does not come back\n"
                  "print(((near[0] - image) ** 2).mean().item(), ((bil[0] - image) ** 2).mean().item())  # "
                  f"{reconstruction_error(image, near)} {reconstruction_error(image, bil)}\n")
    return f"""import torch
import torch.nn.functional as F
from torch import nn

{image_code[0]}

# the 6x6 grid: which cell wins each window
grid = torch.randint(0, 10, (6, 6), generator=torch.Generator().manual_seed({seed})).float()
values, indices = F.max_pool2d(grid[None, None], 2, 2, return_indices=True)
# the maxima, 3x3
print(values[0, 0])  # {_printed(values)}
# their flat positions in the 6x6 input
print(indices[0, 0])  # {_printed(idx)}
print(F.avg_pool2d(grid[None, None], 2)[0, 0])  # {_printed(avg)}

{image_code[1]}
pool = {call}
pooled = pool(image.unsqueeze(0))
print(tuple(pooled.shape))  # {(1, *pooled.shape)}
near = F.interpolate(pooled, scale_factor={scale:g}, mode="nearest")
bil = F.interpolate(pooled, scale_factor={scale:g}, mode="bilinear", align_corners=False)
print(tuple(near.shape), tuple(bil.shape))  # {(1, *near.shape)} {(1, *bil.shape)}
{errors}"""
