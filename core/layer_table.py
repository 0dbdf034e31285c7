"""One layer table for every lesson: what each module of a model outputs, found by forward hooks.

    rows = layer_table(model, (3, 32, 32))           # every leaf layer, in call order
    rows = layer_table(model, (3, 224, 224), depth=2)  # the modules two levels deep, with what is inside them

Works on the `meta` device too (shapes and counts without a single weight allocated).
"""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerRow:
    name: str  # qualified module name, e.g. "layer2.0.conv1"
    kind: str  # module class, e.g. "Conv2d"
    output_shape: tuple[int, ...]  # without the batch dimension
    params: int  # parameters of this module (0 when the module was already counted at an earlier call)
    macs: int  # multiply-accumulates of its Conv2d / Linear layers for one input
    detail: str  # the module's main settings, e.g. "3->8, 5x5, stride 1, pad 0"
    depth: int  # how deep the module sits in the model: 1 for a child of the model, 2 for a grandchild ...


def module_detail(module: nn.Module) -> str:
    """A module's main settings in words. Example: module_detail(nn.Linear(4, 3)) -> "4->3" """
    if isinstance(module, nn.Conv2d):
        k, s, p = module.kernel_size[0], module.stride[0], module.padding[0]
        groups = f", groups {module.groups}" if module.groups > 1 else ""
        return f"{module.in_channels}->{module.out_channels}, {k}x{k}, stride {s}, pad {p}{groups}"
    if isinstance(module, nn.Linear):
        return f"{module.in_features}->{module.out_features}"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        s = module.stride if isinstance(module.stride, int) else module.stride[0]
        return f"{k}x{k}, stride {s}"
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return f"to {module.output_size}"
    if isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        return f"{module.num_features} features"
    if isinstance(module, nn.Dropout):
        return f"p={module.p}"
    children = len(list(module.children()))
    return f"{children} submodules" if children else ""


def _macs(module: nn.Module, out: torch.Tensor) -> int:
    """Multiply-accumulates for one sample: each output value of a conv/linear layer is one dot product."""
    if isinstance(module, nn.Conv2d):
        per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        return out[0].numel() * per_output
    if isinstance(module, nn.Linear):
        return out[0].numel() * module.in_features
    return 0


def _shape(out) -> tuple[int, ...]:
    return tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else ()


def layer_table(model: nn.Module, input_shape: tuple[int, ...], *, depth: int | None = None) -> list[LayerRow]:
    """Run `model` on one (1, *input_shape) zero input of its own device and list what each module produced.

    depth=None lists every leaf module; depth=k lists the modules k levels deep (and shallower leaves), each with
    the parameters and multiply-accumulates of everything inside it. The pass runs in eval mode without
    autograd; the model's mode is restored afterwards and no hook is left behind.
    Example: layer_table(nn.Sequential(nn.Linear(4, 3)), (4,)) -> [LayerRow("0", "Linear", (3,), 15, 12, "4->3", 1)]
    """
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    names = dict(model.named_modules())
    leaves = {n for n, m in names.items() if n and not list(m.children())}
    if depth is None:
        shown = leaves
    else:
        shown = {n for n in names if n and (n.count(".") == depth - 1 or (n in leaves and n.count(".") < depth))}
    counter = [0]  # multiply-accumulates so far in this pass
    starts: dict[str, list[int]] = {}
    rows: list[LayerRow] = []
    counted: set[str] = set()
    hooks = []

    def leaf_hook(module, _inputs, out):
        counter[0] += _macs(module, out)

    def pre_hook(name):
        def hook(_module, _inputs):
            starts.setdefault(name, []).append(counter[0])
        return hook

    def post_hook(name):
        def hook(module, _inputs, out):
            start = starts[name].pop()
            params = 0 if name in counted else sum(p.numel() for p in module.parameters())
            counted.add(name)
            rows.append(LayerRow(name, type(module).__name__, _shape(out), params, counter[0] - start,
                                 module_detail(module), name.count(".") + 1))
        return hook

    was_training = model.training
    try:
        for name in leaves:  # registered first: a module's MACs are counted before its own row is written
            hooks.append(names[name].register_forward_hook(leaf_hook))
        for name in shown:
            hooks.append(names[name].register_forward_pre_hook(pre_hook(name)))
            hooks.append(names[name].register_forward_hook(post_hook(name)))
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return rows
