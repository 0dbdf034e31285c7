"""Classic architectures from torchvision: parameter counts, multiply-accumulates and layer tables.

Models are built on the `meta` device: shapes and parameter counts without allocating a single weight, so even
VGG-16's 138 million parameters cost no memory here. Their key blocks are drawn by core.block_diagrams.
"""

from dataclasses import dataclass

import torch
from torch import nn

from core import system
from core.layer_table import LayerRow, layer_table


@dataclass(frozen=True)
class Arch:
    name: str
    builder: str  # a torchvision.models function, or "lenet5" (core.models)
    kwargs: tuple  # keyword arguments as pairs, so the record stays hashable
    weights: str | None  # torchvision's weights enum, whose metadata documents the parameter count
    year: int
    block: str  # its key idea
    about: str


ARCHITECTURES: dict[str, Arch] = {a.name: a for a in [
    Arch("LeNet-5", "lenet5", (), None, 1998, "conv -> pool -> conv -> pool -> 3 fully connected",
         "LeCun's digit reader: two small convolutions with pooling, then three linear layers."),
    Arch("AlexNet", "alexnet", (), "AlexNet_Weights", 2012, "large strided convolutions + ReLU + dropout",
         "Won ImageNet 2012 on GPUs: ReLU, dropout and big first kernels (11x11, stride 4)."),
    Arch("VGG-11", "vgg11", (), "VGG11_Weights", 2014, "stages of 3x3 convolutions, then 2x2 max-pool",
         "Only 3x3 convolutions stacked in stages; the channel count doubles after each pool."),
    Arch("VGG-16", "vgg16", (), "VGG16_Weights", 2014, "stages of 3x3 convolutions, then 2x2 max-pool",
         "VGG with 13 convolutions; 124M of its 138M parameters are in the three linear layers."),
    Arch("GoogLeNet", "googlenet", (("aux_logits", False), ("init_weights", False)), "GoogLeNet_Weights", 2014,
         "the Inception block: parallel 1x1 / 3x3 / 3x3 / pool branches, concatenated",
         "Inception blocks run several kernel sizes side by side; 1x1 convolutions keep them cheap."),
    Arch("ResNet-18", "resnet18", (), "ResNet18_Weights", 2015, "the residual block: output = F(x) + x",
         "Skip connections add the input back, so very deep networks still train."),
    Arch("DenseNet-121", "densenet121", (), "DenseNet121_Weights", 2017,
         "the dense block: every layer sees the concatenation of all earlier outputs",
         "Each layer adds 32 new channels to everything before it: few parameters, much reuse."),
]}


LENET_INPUT = (1, 32, 32)  # the paper's 32x32 grey digits (MNIST's 28x28 padded by 2)


def input_shape_of(name: str) -> tuple[int, ...]:
    """(C, H, W) the architecture expects: ImageNet's 3x224x224, or LeNet-5's 1x32x32."""
    return LENET_INPUT if ARCHITECTURES[name].builder == "lenet5" else (3, 224, 224)


def _lenet5() -> nn.Module:
    from core import models  # the Training section's model zoo holds LeNet-5

    c, size, _ = LENET_INPUT
    return models.LeNet5(models.ModelConfig("lenet5", in_channels=c, image_size=size))


def build(name: str, *, device: str = "meta") -> nn.Module:
    """The architecture with random (or, on meta, no) weights. Example: build("ResNet-18").fc.out_features -> 1000"""
    arch = ARCHITECTURES[name]
    with torch.device(device):
        if arch.builder == "lenet5":
            return _lenet5()
        return getattr(system.torchvision().models, arch.builder)(weights=None, **dict(arch.kwargs))


def reference(name: str) -> tuple[int | None, float | None]:
    """torchvision's own documented (parameter count, GFLOPS) from its weights metadata; no download."""
    arch = ARCHITECTURES[name]
    if arch.weights is None:
        return None, None
    meta = getattr(system.torchvision().models, arch.weights).IMAGENET1K_V1.meta
    return meta["num_params"], meta.get("_ops")


@dataclass(frozen=True)
class ArchSummary:
    name: str
    params: int
    macs: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    rows: tuple[LayerRow, ...]
    reference_params: int | None
    reference_gflops: float | None


def summarize(name: str, *, depth: int | None = 2) -> ArchSummary:
    """Parameter count, multiply-accumulates and the layer table of one architecture, traced on the meta device."""
    model = build(name)
    shape = input_shape_of(name)
    rows = layer_table(model, shape, depth=depth)
    ref_params, ref_gflops = reference(name)
    return ArchSummary(name, sum(p.numel() for p in model.parameters()), sum(r.macs for r in rows), shape,
                       rows[-1].output_shape, tuple(rows), ref_params, ref_gflops)


def architecture_code(summary: ArchSummary) -> str:
    """The meta-device build and the counting hooks behind summarize, printing the page's counts."""
    arch = ARCHITECTURES[summary.name]
    if arch.builder == "lenet5":
        builder = ('from core.models import LeNet5, ModelConfig\n\nwith torch.device("meta"):\n'
                   '    model = LeNet5(ModelConfig("lenet5", in_channels=1, image_size=32))')
    else:
        builder = ('import torchvision\n\nwith torch.device("meta"):                        # shapes only, no memory\n'
                   f"    model = torchvision.models.{arch.builder}(weights=None"
                   + "".join(f", {k}={v}" for k, v in arch.kwargs) + ")")
    return f"""import torch
from torch import nn
{builder}
print(sum(p.numel() for p in model.parameters()))  # {summary.params}

macs, shapes = 0, []
def count(module, inputs, out):
    global macs
    shapes.append((type(module).__name__, tuple(out.shape[1:])))
    if isinstance(module, nn.Conv2d):   # each output value: a dot product over (C_in / groups) * kh * kw inputs
        macs += out[0].numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
    elif isinstance(module, nn.Linear):
        macs += out[0].numel() * module.in_features

leaves = [m for m in model.modules() if not list(m.children())]
hooks = [m.register_forward_hook(count) for m in leaves]
model.eval()
out = model(torch.zeros(1, {", ".join(map(str, summary.input_shape))}, device="meta"))
for h in hooks:
    h.remove()
print(tuple(out.shape))  # {(1, *summary.output_shape)}
print(macs)  # {summary.macs}
"""
