"""The layers a network is made of, computed by torch: convolution, filters, pooling, BatchNorm, dropout.

Every function builds the real `torch.nn` layer, runs it, and returns what a lesson draws, so a picture and the
numbers beside it always come from torch itself.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------------------------------------------
# Convolution arithmetic


@dataclass(frozen=True)
class ConvConfig:
    size: int = 7  # input height = width
    in_channels: int = 1
    out_channels: int = 1
    kernel: int = 3
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = True


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((n + 2p - d(k-1) - 1) / s) + 1, the formula in the nn.Conv2d docs.

    Example: conv_output_size(32, 5) -> 28; conv_output_size(28, 2, stride=2) -> 14
    """
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """How many input cells a dilated kernel spans. Example: effective_kernel(3, dilation=2) -> 5"""
    return dilation * (kernel - 1) + 1


def conv_problem(cfg: ConvConfig) -> str | None:
    """Why nn.Conv2d would refuse this configuration, in words; None when it is valid."""
    for name, value, low in [("input size", cfg.size, 1), ("in_channels", cfg.in_channels, 1),
                             ("out_channels", cfg.out_channels, 1), ("kernel_size", cfg.kernel, 1),
                             ("stride", cfg.stride, 1), ("dilation", cfg.dilation, 1), ("groups", cfg.groups, 1),
                             ("padding", cfg.padding, 0)]:
        if value < low:
            return f"{name} must be at least {low} (got {value})."
    if cfg.in_channels % cfg.groups:
        return (f"in_channels ({cfg.in_channels}) is not divisible by groups ({cfg.groups}): each group must get "
                f"the same number of input channels. Try groups in {_divisors(cfg.in_channels, cfg.out_channels)}.")
    if cfg.out_channels % cfg.groups:
        return (f"out_channels ({cfg.out_channels}) is not divisible by groups ({cfg.groups}): each group must "
                f"produce the same number of output channels. Try groups in "
                f"{_divisors(cfg.in_channels, cfg.out_channels)}.")
    span = effective_kernel(cfg.kernel, cfg.dilation)
    padded = cfg.size + 2 * cfg.padding
    if span > padded:
        out = conv_output_size(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation)
        return (f"The output would have size {out} <= 0: the kernel spans d(k-1)+1 = {cfg.dilation}*({cfg.kernel}-1)+1 "
                f"= {span} cells but the padded input has only n+2p = {cfg.size}+2*{cfg.padding} = {padded}. "
                "Use a smaller kernel or dilation, or more padding.")
    return None


def _divisors(a: int, b: int) -> list[int]:
    return [g for g in range(1, min(a, b) + 1) if a % g == 0 and b % g == 0]


def conv_param_count(cfg: ConvConfig) -> int:
    """out_channels * (in_channels / groups) * k * k weights, plus one bias per output channel.

    Example: conv_param_count(ConvConfig(in_channels=3, out_channels=8, kernel=5)) -> 608
    """
    weights = cfg.out_channels * (cfg.in_channels // cfg.groups) * cfg.kernel * cfg.kernel
    return weights + (cfg.out_channels if cfg.bias else 0)


def build_conv(cfg: ConvConfig) -> nn.Conv2d:
    return nn.Conv2d(cfg.in_channels, cfg.out_channels, cfg.kernel, stride=cfg.stride, padding=cfg.padding,
                     dilation=cfg.dilation, groups=cfg.groups, bias=cfg.bias)


@dataclass
class ConvRun:
    config: ConvConfig
    x: torch.Tensor  # (1, C_in, n, n)
    weight: torch.Tensor  # (C_out, C_in / groups, k, k)
    bias: torch.Tensor | None  # (C_out,)
    y: torch.Tensor  # (1, C_out, n_out, n_out), computed by nn.Conv2d
    formula_size: int
    params: int  # counted by torch: sum(p.numel() for p in conv.parameters())


def run_conv(cfg: ConvConfig, seed: int = 0) -> ConvRun:
    """nn.Conv2d on a small input of whole numbers 0..4 with kernel weights in -1..1, so dot products read easily."""
    problem = conv_problem(cfg)
    if problem:
        raise ValueError(problem)
    g = torch.Generator().manual_seed(seed)
    conv = build_conv(cfg)
    x = torch.randint(0, 5, (1, cfg.in_channels, cfg.size, cfg.size), generator=g).float()
    with torch.no_grad():
        conv.weight.copy_(torch.randint(-1, 2, conv.weight.shape, generator=g).float())
        if conv.bias is not None:
            conv.bias.copy_(torch.randint(-1, 2, conv.bias.shape, generator=g).float())
        y = conv(x)
    return ConvRun(cfg, x, conv.weight.detach().clone(), None if conv.bias is None else conv.bias.detach().clone(),
                   y, conv_output_size(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation),
                   sum(p.numel() for p in conv.parameters()))


@dataclass(frozen=True)
class Term:
    in_channel: int
    ki: int  # kernel row
    kj: int  # kernel column
    row: int  # input row (may lie in the zero padding: < 0 or >= n)
    col: int
    x: float
    w: float


@dataclass(frozen=True)
class ConvStep:
    out_channel: int
    i: int
    j: int
    terms: tuple[Term, ...]
    bias: float
    total: float  # sum(x * w) + bias, computed term by term
    torch_value: float  # y[0, out_channel, i, j] from nn.Conv2d


def conv_step(run: ConvRun, out_channel: int, i: int, j: int) -> ConvStep:
    """The dot product behind one output cell: which input cells meet which kernel weights."""
    cfg = run.config
    per_group_out = cfg.out_channels // cfg.groups
    per_group_in = cfg.in_channels // cfg.groups
    group = out_channel // per_group_out  # the input channels this output channel sees
    terms = []
    for c in range(per_group_in):
        in_c = group * per_group_in + c
        for ki in range(cfg.kernel):
            for kj in range(cfg.kernel):
                row = i * cfg.stride - cfg.padding + ki * cfg.dilation
                col = j * cfg.stride - cfg.padding + kj * cfg.dilation
                inside = 0 <= row < cfg.size and 0 <= col < cfg.size
                x = float(run.x[0, in_c, row, col]) if inside else 0.0  # zero padding
                terms.append(Term(in_c, ki, kj, row, col, x, float(run.weight[out_channel, c, ki, kj])))
    bias = 0.0 if run.bias is None else float(run.bias[out_channel])
    total = sum(t.x * t.w for t in terms) + bias
    return ConvStep(out_channel, i, j, tuple(terms), bias, total, float(run.y[0, out_channel, i, j]))


def input_channels_of(cfg: ConvConfig, out_channel: int) -> list[int]:
    """The input channels one output channel is connected to (all of them unless groups > 1)."""
    per_in = cfg.in_channels // cfg.groups
    group = out_channel // (cfg.out_channels // cfg.groups)
    return list(range(group * per_in, (group + 1) * per_in))


def padded_input(run: ConvRun, channel: int) -> torch.Tensor:
    """One input channel with its zero padding, as nn.Conv2d sees it: (n + 2p, n + 2p)."""
    p = run.config.padding
    return F.pad(run.x[0, channel], (p, p, p, p))


def receptive_mask(cfg: ConvConfig, i: int, j: int) -> torch.Tensor:
    """Boolean (n + 2p, n + 2p) mask of the padded-input cells that output cell (i, j) reads."""
    size = cfg.size + 2 * cfg.padding
    mask = torch.zeros(size, size, dtype=torch.bool)
    rows = [i * cfg.stride + ki * cfg.dilation for ki in range(cfg.kernel)]
    cols = [j * cfg.stride + kj * cfg.dilation for kj in range(cfg.kernel)]
    for r in rows:
        for c in cols:
            mask[r, c] = True
    return mask


# ----------------------------------------------------------------------------------------------------------------
# Real images to filter and pool

SAMPLE_SETS = ("MNIST", "CIFAR-10")


def sample_images(dataset: str, count: int = 40) -> tuple[torch.Tensor, list[str]]:
    """`count` test images of MNIST or CIFAR-10 as floats in [0, 1], (N, C, H, W), with their class names.

    CIFAR-10 images are decoded one by one from an ImageFolder copy (no need to load all 60,000); raises
    core.data.DataUnavailable when the dataset is not on this machine.
    Example: sample_images("MNIST", 2)[0].shape -> (2, 1, 28, 28)
    """
    from core import data

    if dataset == "MNIST":
        mnist = data.load_shared("mnist")  # the process-wide copy the Training pages use too
        return mnist.x_test[:count].float() / 255, [mnist.classes[int(y)] for y in mnist.y_test[:count]]
    if dataset != "CIFAR-10":
        raise ValueError(f"dataset must be one of {SAMPLE_SETS}")
    found = data.find_cifar10()
    if found is None:
        raise data.DataUnavailable("CIFAR-10 is not on this machine: pick MNIST or upload an image.")
    if found.layout == "batches":
        cifar = data.load_cifar10()
        return cifar.x_test[:count].float() / 255, [cifar.classes[int(y)] for y in cifar.y_test[:count]]
    classes = sorted(p.name for p in (found.path / "test").iterdir() if p.is_dir())
    files = {c: sorted((found.path / "test" / c).iterdir()) for c in classes}
    images, labels = [], []
    for i in range(count):  # round robin over the classes: a varied sample
        c = classes[i % len(classes)]
        path = files[c][i // len(classes)]
        images.append(data.decode_image(path.read_bytes(), 32, 3))
        labels.append(c)
    return torch.stack(images).float() / 255, labels


MAX_UPLOAD_SIDE = 96  # uploaded images are shrunk to at most this many pixels a side: the maps stay readable


def decode_upload(raw: bytes, *, grey: bool = False, max_side: int = MAX_UPLOAD_SIDE) -> torch.Tensor:
    """An uploaded image file -> (C, H, W) floats in [0, 1], shrunk (keeping its aspect) to `max_side`.

    Raises ValueError with a message for the learner when the bytes are not an image.
    """
    from core import data

    if not raw:
        raise ValueError("The file is empty.")
    try:
        img = data.decode_image(raw, None, 1 if grey else 3)  # (C, H, W) uint8
    except Exception as exc:  # torchvision and Pillow raise several kinds on bad bytes
        raise ValueError("This file could not be read as an image (JPEG, PNG, GIF, WebP or BMP).") from exc
    h, w = img.shape[1:]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        img = F.interpolate(img[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False)[0]
    return img.float().clamp(0, 255) / 255


# ----------------------------------------------------------------------------------------------------------------
# Filters on an image

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


# ----------------------------------------------------------------------------------------------------------------
# Pooling and upsampling

POOLS = ("max", "avg", "adaptive max", "adaptive avg")
UPSAMPLE_MODES = ("nearest", "bilinear")


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


# ----------------------------------------------------------------------------------------------------------------
# BatchNorm


@dataclass(frozen=True)
class BatchNormConfig:
    features: int = 3
    batch: int = 16
    steps: int = 10
    momentum: float | None = 0.1  # None: cumulative average, as nn.BatchNorm1d(momentum=None)
    mean: float = 5.0  # feature j of the data ~ N(mean + j, std^2)
    std: float = 2.0
    seed: int = 0


@dataclass
class BatchNormRun:
    config: BatchNormConfig
    batch_mean: torch.Tensor  # (steps, F): mean of each training batch
    batch_var: torch.Tensor  # (steps, F): biased variance, the one used to normalise in train mode
    running_mean: torch.Tensor  # (steps + 1, F): bn.running_mean before the first and after each step
    running_var: torch.Tensor  # (steps + 1, F): bn.running_var (updated with the unbiased variance)
    expected_running_mean: torch.Tensor  # (steps + 1, F): the same, computed by the update rule by hand
    expected_running_var: torch.Tensor
    last_batch: torch.Tensor  # (B, F)
    train_out: torch.Tensor  # (B, F): bn(last_batch) in train mode
    eval_out: torch.Tensor  # (B, F): bn(last_batch) in eval mode (running statistics)
    train_manual: torch.Tensor  # (x - batch mean) / sqrt(batch var + eps) * weight + bias
    eval_manual: torch.Tensor  # (x - running mean) / sqrt(running var + eps) * weight + bias
    num_batches_tracked: int


def batchnorm_run(cfg: BatchNormConfig) -> BatchNormRun:
    """Feed `steps` batches through nn.BatchNorm1d in train mode, then compare train- and eval-mode outputs."""
    if cfg.batch < 2:
        raise ValueError("BatchNorm needs at least 2 samples per batch in train mode: the variance of one "
                         "value is undefined.")
    if cfg.steps < 1:
        raise ValueError("Feed at least one batch.")
    g = torch.Generator().manual_seed(cfg.seed)
    bn = nn.BatchNorm1d(cfg.features, momentum=cfg.momentum)
    shift = cfg.mean + torch.arange(cfg.features, dtype=torch.float32)  # (F,)
    rm, rv = [bn.running_mean.clone()], [bn.running_var.clone()]
    erm, erv = [torch.zeros(cfg.features)], [torch.ones(cfg.features)]
    means, variances = [], []
    bn.train()
    with torch.no_grad():
        for step in range(cfg.steps):
            x = shift + cfg.std * torch.randn(cfg.batch, cfg.features, generator=g)  # (B, F)
            train_out = bn(x)  # train mode: normalised by this batch's own statistics
            means.append(x.mean(0))
            variances.append(x.var(0, unbiased=False))
            # The update rule: new = (1 - momentum) * old + momentum * batch statistic (unbiased variance);
            # momentum=None means a cumulative average, i.e. momentum = 1 / (number of batches seen).
            m = 1.0 / (step + 1) if cfg.momentum is None else cfg.momentum
            erm.append((1 - m) * erm[-1] + m * x.mean(0))
            erv.append((1 - m) * erv[-1] + m * x.var(0, unbiased=True))
            rm.append(bn.running_mean.clone())
            rv.append(bn.running_var.clone())
        last = x
        bn.eval()
        eval_out = bn(last)  # eval mode: the same batch, normalised by the running statistics
        w, b = bn.weight, bn.bias
        train_manual = (last - means[-1]) / torch.sqrt(variances[-1] + bn.eps) * w + b
        eval_manual = (last - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * w + b
    return BatchNormRun(cfg, torch.stack(means), torch.stack(variances), torch.stack(rm), torch.stack(rv),
                        torch.stack(erm), torch.stack(erv), last, train_out, eval_out, train_manual, eval_manual,
                        int(bn.num_batches_tracked))


@dataclass(frozen=True)
class DeepMLPConfig:
    depth: int = 10  # hidden layers
    width: int = 256
    activation: str = "tanh"  # "tanh", "relu" or "sigmoid"
    init_std: float = 0.1  # weights ~ N(0, init_std^2); "Kaiming" scale for width 256 is sqrt(2/256) ~ 0.088
    batch: int = 512
    seed: int = 0


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def deep_mlp(cfg: DeepMLPConfig, batchnorm: bool) -> nn.Sequential:
    """Linear -> [BatchNorm1d] -> activation, `depth` times, with seeded N(0, init_std^2) weights."""
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}")
    g = torch.Generator().manual_seed(cfg.seed)
    layers: list[nn.Module] = []
    for _ in range(cfg.depth):
        linear = nn.Linear(cfg.width, cfg.width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(cfg.width, cfg.width, generator=g) * cfg.init_std)
            linear.bias.zero_()
        layers.append(linear)
        if batchnorm:
            layers.append(nn.BatchNorm1d(cfg.width))
        layers.append(ACTIVATIONS[cfg.activation]())
    return nn.Sequential(*layers)


def layer_activations(cfg: DeepMLPConfig, batchnorm: bool) -> torch.Tensor:
    """(depth, batch * width): the output of every activation of the deep MLP on one N(0, 1) batch, in train mode."""
    model = deep_mlp(cfg, batchnorm)
    x = torch.randn(cfg.batch, cfg.width, generator=torch.Generator().manual_seed(cfg.seed + 1))
    acts = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            if isinstance(layer, tuple(ACTIVATIONS.values())):
                acts.append(x.flatten())
    return torch.stack(acts)


ACTIVATION_RANGE = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, 3.0)}


@dataclass
class ActivationStats:
    edges: torch.Tensor  # (bins + 1,) histogram bin edges (values outside are counted in the end bins)
    counts: torch.Tensor  # (depth, bins): units per bin, layer by layer
    mean: torch.Tensor  # (depth,)
    std: torch.Tensor  # (depth,)
    saturated: torch.Tensor  # (depth,) share of units within 2% of the activation's bounds (tanh, sigmoid), or 0


def activation_stats(cfg: DeepMLPConfig, batchnorm: bool, bins: int = 60) -> ActivationStats:
    """Histograms and statistics of every layer's activations in the deep MLP (small to keep and to cache)."""
    acts = layer_activations(cfg, batchnorm)  # (depth, batch * width)
    lo, hi = ACTIVATION_RANGE[cfg.activation]
    edges = torch.linspace(lo, hi, bins + 1)
    counts = torch.stack([torch.histc(a.clamp(lo, hi), bins=bins, min=lo, max=hi) for a in acts])
    if cfg.activation == "relu":
        saturated = torch.zeros(cfg.depth)
    else:
        margin = 0.02 * (hi - lo)
        saturated = ((acts <= lo + margin) | (acts >= hi - margin)).float().mean(1)
    return ActivationStats(edges, counts, acts.mean(1), acts.std(1), saturated)


# ----------------------------------------------------------------------------------------------------------------
# Dropout


def dropout(x: torch.Tensor, p: float, *, seed: int, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.Dropout(p) on x, with its random mask reproducible from `seed`: returns (output, mask of kept cells).

    torch's dropout draws from the global generator, so it runs inside torch.random.fork_rng: seeded for this
    call, and the global state is restored afterwards. The mask comes from a second draw on ones with the same seed.
    Example: dropout(torch.ones(4), 0.5, seed=0)[0] -> values in {0, 2}
    """
    if not 0 <= p < 1:
        raise ValueError("p must be in [0, 1): with p = 1 every value is dropped and 1/(1-p) is undefined.")
    layer = nn.Dropout(p).train(train)
    with torch.no_grad():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = layer(x)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            mask = layer(torch.ones_like(x)) != 0
    return out, mask


def dropout_means(x: torch.Tensor, p: float, *, seed: int, trials: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Running average over `trials` dropout draws of out.mean(), with the 1/(1-p) scaling and without it.

    With scaling the average tends to x.mean() (E[mask / (1-p)] = 1); without it, to (1-p) * x.mean().
    """
    scaled = []
    for t in range(trials):
        out, _ = dropout(x, p, seed=seed + t)
        scaled.append(out.mean())
    scaled = torch.stack(scaled)
    counts = torch.arange(1, trials + 1, dtype=torch.float32)
    running = scaled.cumsum(0) / counts
    return running, running * (1 - p)
