"""Convolution arithmetic, computed by torch: output sizes, parameter counts, and the dot product behind each
output cell of a real nn.Conv2d; plus the shapes of a small CNN (the worked example).

Every function builds the real `torch.nn` layer and runs it, so the numbers a lesson shows come from torch.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.layer_table import LayerRow, layer_table


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


def torch_error(cfg: ConvConfig) -> str:
    """What nn.Conv2d itself says about an invalid configuration ("" when it runs)."""
    try:
        build_conv(cfg)(torch.zeros(1, cfg.in_channels, cfg.size, cfg.size))
    except (ValueError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def _conv_head_code(cfg: ConvConfig, seed: int) -> str:
    return f"""import torch
from torch import nn

conv = nn.Conv2d(in_channels={cfg.in_channels}, out_channels={cfg.out_channels}, kernel_size={cfg.kernel}, \
stride={cfg.stride},
                 padding={cfg.padding}, dilation={cfg.dilation}, groups={cfg.groups}, bias={cfg.bias})
g = torch.Generator().manual_seed({seed})
x = torch.randint(0, 5, (1, {cfg.in_channels}, {cfg.size}, {cfg.size}), generator=g).float()  # whole numbers 0..4
"""


def conv_error_code(cfg: ConvConfig, seed: int) -> str:
    """The code of an invalid configuration, ending where torch refuses it."""
    return _conv_head_code(cfg, seed) + "y = conv(x)  # " + torch_error(cfg).split("\n")[0]


def conv_code(run: ConvRun, seed: int, step: ConvStep) -> str:
    """The code behind run_conv and one output cell's dot product (conv_step), printing what the page shows."""
    cfg = run.config
    k, s, p, d, g = cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, cfg.groups
    per_in = cfg.in_channels // g
    bias_code = ("\n    conv.bias.copy_(torch.randint(-1, 2, conv.bias.shape, generator=g).float())" if cfg.bias
                 else "")
    return _conv_head_code(cfg, seed) + f"""with torch.no_grad():  # small whole-number weights, so the dot products read easily
    conv.weight.copy_(torch.randint(-1, 2, conv.weight.shape, generator=g).float()){bias_code}
y = conv(x)
print(y.shape)                                    # {run.y.shape}
print(sum(p.numel() for p in conv.parameters()))  # {run.params}

# one output cell by hand: the kernel's dot product with the (zero-padded) input under it
i, j, oc = {step.i}, {step.j}, {step.out_channel}
xp = nn.functional.pad(x, ({p}, {p}, {p}, {p}))
group = oc // ({cfg.out_channels} // {g})          # groups: this output channel sees only its group's inputs
cin = slice(group * {per_in}, (group + 1) * {per_in})
span = {d} * ({k} - 1) + 1                          # cells the dilated kernel covers
patch = xp[0, cin, i * {s} : i * {s} + span : {d}, j * {s} : j * {s} + span : {d}]
value = (patch * conv.weight[oc]).sum(){' + conv.bias[oc]' if cfg.bias else ''}
print(value.item(), y[0, oc, i, j].item())         # {step.total} {step.torch_value}
"""


# ----------------------------------------------------------------------------------------------------------------
# Worked example: shapes through a small CNN


@dataclass(frozen=True)
class PlanStep:
    name: str  # "conv1", "pool1", "conv2" or "pool2"
    kind: str  # "conv" or "pool"
    kernel: int
    channels: int  # output channels
    size_in: int
    size_out: int  # by the formula; <= 0 when the window does not fit
    formula: str


def shape_plan(size: int, k1: int, c1: int, k2: int, c2: int) -> list[PlanStep]:
    """conv k1 -> pool 2 -> conv k2 -> pool 2 on a size x size input, by the formula; stops at the first misfit.

    Example: [p.size_out for p in shape_plan(32, 5, 8, 3, 16)] -> [28, 14, 12, 6]
    """
    plan, h = [], size
    for name, kind, kk, cout in [("conv1", "conv", k1, c1), ("pool1", "pool", 2, c1), ("conv2", "conv", k2, c2),
                                 ("pool2", "pool", 2, c2)]:
        stride = 1 if kind == "conv" else 2
        out = conv_output_size(h, kk, stride)
        formula = f"floor(({h} - {kk}) / {stride}) + 1 = {out}" if kind == "pool" else f"{h} - {kk} + 1 = {out}"
        plan.append(PlanStep(name, kind, kk, cout, h, out, formula))
        if out <= 0:
            break
        h = out
    return plan


def small_cnn(cin: int, c1: int, k1: int, c2: int, k2: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, c1, k1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(c1, c2, k2), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten())


def walk(size: int, cin: int, k1: int, c1: int, k2: int, c2: int) -> list[LayerRow]:
    """The layer table of the small CNN on one cin x size x size input: conv1, relu, pool1, conv2, relu, pool2,
    flatten."""
    return layer_table(small_cnn(cin, c1, k1, c2, k2), (cin, size, size))


def walk_code(size: int, cin: int, plan: list[PlanStep], rows: list[LayerRow]) -> str:
    """The small CNN layer by layer, printing the shapes and parameter counts of the page's table."""
    conv1, pool1, conv2, pool2 = plan
    shapes = [(r.kind, (1, *r.output_shape)) for r in rows]
    h = pool2.size_out
    return f"""import torch
from torch import nn

model = nn.Sequential(
    nn.Conv2d({cin}, {conv1.channels}, {conv1.kernel}), nn.ReLU(), nn.MaxPool2d(2),   # {cin}x{size}x{size} -> \
{conv1.channels}x{conv1.size_out}x{conv1.size_out} -> {pool1.channels}x{pool1.size_out}x{pool1.size_out}
    nn.Conv2d({conv1.channels}, {conv2.channels}, {conv2.kernel}), nn.ReLU(), nn.MaxPool2d(2),   # -> \
{conv2.channels}x{conv2.size_out}x{conv2.size_out} -> {pool2.channels}x{h}x{h}
    nn.Flatten(),                                           # -> {rows[-1].output_shape[0]}
)
x = torch.zeros(1, {cin}, {size}, {size})
shapes = []
for layer in model:
    x = layer(x)
    shapes.append((type(layer).__name__, tuple(x.shape)))
print(shapes)  # {shapes}
print([sum(p.numel() for p in layer.parameters()) for layer in model])  # {[r.params for r in rows]}
# the in_features of the first nn.Linear
print(x.shape[1])  # {rows[-1].output_shape[0]}
"""


@dataclass(frozen=True)
class WhyConv:
    conv_params: int
    fc_params: int  # an nn.Linear from the flattened input to as many outputs as the convolution has
    outputs: int
    functional_gap: float  # max |F.conv2d(x, conv.weight, conv.bias) - conv(x)|


def why_conv(size: int, cin: int, k: int, cout: int, seed: int = 0) -> WhyConv:
    """Weight sharing in numbers: a conv layer's parameters vs a fully connected layer with the same input and the
    same number of outputs (its parameter count is arithmetic: such a Linear would not fit in memory here)."""
    out = size - k + 1
    g = torch.Generator().manual_seed(seed)
    conv = torch.nn.utils.skip_init(nn.Conv2d, cin, cout, k)  # weights from the seed below, not the global generator
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * 0.1)
        conv.bias.copy_(torch.randn(conv.bias.shape, generator=g) * 0.1)
        x = torch.randn(1, cin, size, size, generator=g)
        gap = (F.conv2d(x, conv.weight, conv.bias) - conv(x)).abs().max().item()
    outputs = cout * out * out
    return WhyConv(sum(p.numel() for p in conv.parameters()), cin * size * size * outputs + outputs, outputs, gap)


def why_conv_code(size: int, cin: int, k: int, cout: int, why: WhyConv) -> str:
    return f"""import torch
import torch.nn.functional as F
from torch import nn

conv = nn.Conv2d({cin}, {cout}, {k})
x = torch.randn(1, {cin}, {size}, {size})
y = conv(x)
print(y.shape, sum(p.numel() for p in conv.parameters()))  # torch.Size([1, {cout}, {size - k + 1}, {size - k + 1}]) {why.conv_params}
# the same convolution as a function: the module only holds the weight and the bias
print(torch.allclose(F.conv2d(x, conv.weight, conv.bias), y))  # True
# a fully connected layer from the same {cin * size * size} inputs to the same {why.outputs} outputs:
print({cin * size * size} * {why.outputs} + {why.outputs})  # {why.fc_params}
"""
