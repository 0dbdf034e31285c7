"""Classic architectures from torchvision (layer tables, parameter counts, multiply-accumulates, key blocks) and
the anatomy of an nn.Module (one small model built three ways).

Models are built on the `meta` device: shapes and parameter counts without allocating a single weight, so even
VGG-16's 138 million parameters cost no memory here.
"""

import io
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core import system

# ----------------------------------------------------------------------------------------------------------------
# Layer tables by forward hooks


@dataclass(frozen=True)
class LayerRow:
    name: str  # qualified module name, e.g. "layer2.0.conv1"
    kind: str  # module class, e.g. "Conv2d"
    shape: tuple[int, ...]  # output shape without the batch dimension
    params: int  # parameters of this module (0 when the module was already counted at an earlier call)
    macs: int  # multiply-accumulates of its Conv2d / Linear layers for one input
    detail: str  # the module's main settings


def _detail(module: nn.Module) -> str:
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


def trace(model: nn.Module, input_shape: tuple[int, ...], *, depth: int | None = None) -> list[LayerRow]:
    """Run `model` on a (1, *input_shape) tensor of its own device and list what each module produced.

    depth=None lists every leaf module; depth=k lists the modules k levels deep (and shallower leaves), each with
    the parameters and multiply-accumulates of everything inside it. Works on the meta device.
    Example: trace(nn.Sequential(nn.Linear(4, 3)), (4,)) -> [LayerRow("0", "Linear", (3,), 15, 12, "4->3")]
    """
    device = next(model.parameters()).device
    names = dict(model.named_modules())
    leaves = {n for n, m in names.items() if n and not list(m.children())}
    if depth is None:
        shown = leaves
    else:
        shown = {n for n in names if n and (n.count(".") == depth - 1 or (n in leaves and n.count(".") < depth))}
    counter = [0]
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
                                 _detail(module)))
        return hook

    try:
        for name in leaves:
            hooks.append(names[name].register_forward_hook(leaf_hook))
        for name in shown:
            hooks.append(names[name].register_forward_pre_hook(pre_hook(name)))
            hooks.append(names[name].register_forward_hook(post_hook(name)))
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
        model.train(was_training)
    finally:
        for h in hooks:
            h.remove()
    return rows


# ----------------------------------------------------------------------------------------------------------------
# The classic architectures


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
    rows = trace(model, shape, depth=depth)
    ref_params, ref_gflops = reference(name)
    return ArchSummary(name, sum(p.numel() for p in model.parameters()), sum(r.macs for r in rows), shape,
                       rows[-1].shape, tuple(rows), ref_params, ref_gflops)


# ----------------------------------------------------------------------------------------------------------------
# Key-block diagrams (Graphviz DOT, drawn by st.graphviz_chart)

_FILL = {"Conv2d": "#FBD3C9", "Linear": "#FBD3C9", "BatchNorm2d": "#D6E6F5", "ReLU": "#D5EFD5",
         "MaxPool2d": "#E6DDF2", "AvgPool2d": "#E6DDF2", "AdaptiveAvgPool2d": "#E6DDF2", "op": "#EEEEEE",
         "io": "#FFFFFF"}


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def _node(node_id: str, label: str, kind: str) -> str:
    fill = _FILL.get(kind, "#F5F5F5")
    shape = "ellipse" if kind in ("op", "io") else "box"
    return f'  "{node_id}" [label="{label}", shape={shape}, style="rounded,filled", fillcolor="{fill}"];'


def _short(row: LayerRow, module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        k, s = module.kernel_size[0], module.stride[0]
        return f"conv {k}x{k}{f' /{s}' if s > 1 else ''}, {module.out_channels}"
    if isinstance(module, nn.Linear):
        return f"linear {module.in_features}->{module.out_features}"
    if isinstance(module, nn.BatchNorm2d):
        return "BatchNorm"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        return f"{'max' if isinstance(module, nn.MaxPool2d) else 'avg'}-pool {_detail(module).split(',')[0]}"
    return row.kind


def _graph(lines: list[str], rankdir: str = "TB") -> str:
    head = [f"digraph G {{\n  rankdir={rankdir}; nodesep=0.25; ranksep=0.3;",
            '  node [fontname="Helvetica", fontsize=11, height=0.3]; edge [color="#555555", arrowsize=0.6];']
    return "\n".join(head + lines + ["}"])


def block_diagram(name: str) -> str:
    """A DOT graph of the architecture's key block, labelled with the real output shapes."""
    model = build(name)
    rows = trace(model, input_shape_of(name), depth=None)
    modules = dict(model.named_modules())
    builder = ARCHITECTURES[name].builder
    if builder.startswith("resnet"):
        return _residual_dot(rows, modules, "layer2.0")
    if builder == "googlenet":
        return _inception_dot(rows, modules, "inception3a")
    if builder.startswith("densenet"):
        return _dense_dot(rows, modules, "features.denseblock1", layers=3)
    if builder.startswith("vgg"):
        return _stages_dot(rows, modules)
    return _chain_dot(rows, modules, input_shape_of(name))


def _input_shape_before(rows: list[LayerRow], prefix: str) -> tuple[int, ...]:
    first = next(i for i, r in enumerate(rows) if r.name.startswith(prefix + "."))
    return rows[first - 1].shape


def _chain_dot(rows: list[LayerRow], modules: dict, input_shape: tuple[int, ...]) -> str:
    """Main layers in a line; activations and dropout fold into the layer before them."""
    lines, nodes = [], []
    for row in rows:
        if row.kind in ("ReLU", "Tanh", "Sigmoid", "Dropout", "BatchNorm2d", "Flatten") and nodes:
            nodes[-1][1] += " + flatten" if row.kind == "Flatten" else f" + {row.kind}"
            nodes[-1][3] = row.shape
            continue
        nodes.append([row.name, _short(row, modules[row.name]), row.kind, row.shape])
    lines.append(_node("in", f"input\\n{_dims(input_shape)}", "io"))
    prev = "in"
    for node_id, label, kind, shape in nodes:
        lines.append(_node(node_id, f"{label}\\n{_dims(shape)}", kind))
        lines.append(f'  "{prev}" -> "{node_id}";')
        prev = node_id
    return _graph(lines, rankdir="LR")


def _stages_dot(rows: list[LayerRow], modules: dict) -> str:
    """VGG: n x (3x3 conv + ReLU) then a 2x2 max-pool, stage after stage; then the classifier."""
    lines, prev, stage, convs = [_node("in", "input 3x224x224", "io")], "in", 0, []
    for row in rows:
        if row.kind == "Conv2d":
            convs.append(modules[row.name])
        elif row.kind == "MaxPool2d":
            stage += 1
            label = (f"stage {stage}: {len(convs)} x (conv 3x3, {convs[-1].out_channels} + ReLU)"
                     f"\\nmax-pool 2x2 -> {_dims(row.shape)}")
            lines += [_node(f"s{stage}", label, "Conv2d"), f'  "{prev}" -> "s{stage}";']
            prev, convs = f"s{stage}", []
    linears = [modules[r.name] for r in rows if r.kind == "Linear"]
    label = "classifier: " + " -> ".join(str(m.out_features) for m in linears) + " (linear + ReLU + dropout)"
    lines += [_node("fc", label, "Linear"), f'  "{prev}" -> "fc";']
    return _graph(lines)


def _residual_dot(rows: list[LayerRow], modules: dict, prefix: str) -> str:
    block = [r for r in rows if r.name.startswith(prefix + ".")]
    x_shape = _input_shape_before(rows, prefix)
    lines = [_node("x", f"x\\n{_dims(x_shape)}", "io")]
    main = [r for r in block if ".downsample." not in r.name]
    skip = [r for r in block if ".downsample." in r.name]
    relus = [r for r in main if r.kind == "ReLU"]
    prev = "x"
    for r in main:
        if r is relus[-1]:
            continue  # the last ReLU comes after the addition
        node_id = f"{r.name}#{main.index(r)}"
        lines += [_node(node_id, f"{_short(r, modules[r.name])}\\n{_dims(r.shape)}", r.kind),
                  f'  "{prev}" -> "{node_id}";']
        prev = node_id
    lines.append(_node("add", "+", "op"))
    lines.append(f'  "{prev}" -> "add" [label=" F(x)"];')
    if skip:
        sprev = "x"
        for r in skip:
            lines += [_node(r.name, f"{_short(r, modules[r.name])}\\n{_dims(r.shape)}", r.kind),
                      f'  "{sprev}" -> "{r.name}" [style=dashed];']
            sprev = r.name
        lines.append(f'  "{sprev}" -> "add" [style=dashed, label=" shortcut"];')
    else:
        lines.append('  "x" -> "add" [style=dashed, label=" identity x"];')
    lines += [_node("out", f"ReLU\\n{_dims(relus[-1].shape)}", "ReLU"), '  "add" -> "out";']
    return _graph(lines, rankdir="LR")


def _inception_dot(rows: list[LayerRow], modules: dict, prefix: str) -> str:
    block = [r for r in rows if r.name.startswith(prefix + ".") and r.kind != "BatchNorm2d"]
    x_shape = _input_shape_before(rows, prefix)
    lines = [_node("x", f"x\\n{_dims(x_shape)}", "io"), _node("cat", "concatenate channels", "op")]
    out_channels = 0
    for b in range(1, 5):
        prev = "x"
        branch = [r for r in block if r.name.startswith(f"{prefix}.branch{b}.")]
        for r in branch:
            label = _short(r, modules[r.name]) + (" + BN + ReLU" if r.kind == "Conv2d" else "")
            lines += [_node(r.name, f"{label}\\n{_dims(r.shape)}", r.kind),
                      f'  "{prev}" -> "{r.name}";']
            prev = r.name
        lines.append(f'  "{prev}" -> "cat";')
        out_channels += branch[-1].shape[0]
    lines += [_node("out", f"output\\n{out_channels}x{_dims(x_shape[1:])}", "io"), '  "cat" -> "out";']
    return _graph(lines)


def _dense_dot(rows: list[LayerRow], modules: dict, prefix: str, layers: int) -> str:
    x_shape = _input_shape_before(rows, prefix)
    lines = [_node("x0", f"x0\\n{_dims(x_shape)}", "io")]
    growth = None
    for i in range(1, layers + 1):
        name = f"{prefix}.denselayer{i}"
        conv1, conv2 = modules[f"{name}.conv1"], modules[f"{name}.conv2"]
        growth = conv2.out_channels
        label = (f"dense layer {i}: in {conv1.in_channels} ch\\nBN-ReLU-conv 1x1, {conv1.out_channels}"
                 f"\\nBN-ReLU-conv 3x3, {conv2.out_channels}")
        lines.append(_node(f"L{i}", label, "Conv2d"))
        for j in range(i):
            lines.append(f'  "x{j}" -> "L{i}"' + (";" if j == i - 1 else ' [style=dashed, color="#999999"];'))
        lines.append(_node(f"x{i}", f"x{i}\\n{growth}x{_dims(x_shape[1:])}", "io"))
        lines.append(f'  "L{i}" -> "x{i}";')
    total = x_shape[0] + layers * growth
    lines += [_node("cat", f"concatenate x0..x{layers}\\n{total}x{_dims(x_shape[1:])} (and on, to the next layer)",
                    "op")]
    lines += [f'  "x{j}" -> "cat" [style=dashed, color="#999999"];' for j in range(layers + 1)]
    return _graph(lines)


# ----------------------------------------------------------------------------------------------------------------
# nn.Module anatomy: one small model built three ways


@dataclass(frozen=True)
class AnatomyConfig:
    in_channels: int = 1
    hidden: int = 20  # channels after conv1
    out_channels: int = 64  # channels after conv2
    kernel: int = 5
    dropout: float = 0.0  # > 0 adds nn.Dropout after relu1, so train() and eval() differ


class SubclassNet(nn.Module):
    """The model as a subclass: layers are attributes, forward says how they connect."""

    def __init__(self, cfg: AnatomyConfig):
        super().__init__()
        self.conv1 = nn.Conv2d(cfg.in_channels, cfg.hidden, cfg.kernel)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else None
        self.conv2 = nn.Conv2d(cfg.hidden, cfg.out_channels, cfg.kernel)

    def forward(self, x):
        x = F.relu(self.conv1(x))  # F.relu: a function, not a submodule, so it is not among children()
        if self.drop is not None:
            x = self.drop(x)
        return F.relu(self.conv2(x))


def build_sequential(cfg: AnatomyConfig) -> nn.Sequential:
    layers = [nn.Conv2d(cfg.in_channels, cfg.hidden, cfg.kernel), nn.ReLU()]
    if cfg.dropout > 0:
        layers.append(nn.Dropout(cfg.dropout))
    return nn.Sequential(*layers, nn.Conv2d(cfg.hidden, cfg.out_channels, cfg.kernel), nn.ReLU())


def build_named(cfg: AnatomyConfig) -> nn.Sequential:
    layers = [("conv1", nn.Conv2d(cfg.in_channels, cfg.hidden, cfg.kernel)), ("relu1", nn.ReLU())]
    if cfg.dropout > 0:
        layers.append(("drop", nn.Dropout(cfg.dropout)))
    layers += [("conv2", nn.Conv2d(cfg.hidden, cfg.out_channels, cfg.kernel)), ("relu2", nn.ReLU())]
    return nn.Sequential(OrderedDict(layers))


BUILDS = {"subclass": SubclassNet, "Sequential": build_sequential, "Sequential(OrderedDict)": build_named}


def seeded_init(model: nn.Module, seed: int) -> nn.Module:
    """Fill every parameter with U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from a private generator (torch's default range)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                fan_in = module.weight[0].numel()
                bound = fan_in ** -0.5
                module.weight.copy_(torch.rand(module.weight.shape, generator=g) * 2 * bound - bound)
                if module.bias is not None:
                    module.bias.copy_(torch.rand(module.bias.shape, generator=g) * 2 * bound - bound)
    return model


def build_three(cfg: AnatomyConfig, seed: int = 0) -> dict[str, nn.Module]:
    """The same model three ways; the subclass gets seeded weights and the other two load its state_dict."""
    models = {name: build(cfg) for name, build in BUILDS.items()}
    source = seeded_init(models["subclass"], seed)
    for name in ("Sequential", "Sequential(OrderedDict)"):
        transfer(source, models[name])
    return models


def key_mapping(src: nn.Module, dst: nn.Module) -> list[tuple[str, str, tuple[int, ...]]]:
    """Pair the state_dict keys of two builds of one model, in order: ('conv1.weight', '0.weight', shape)."""
    a, b = src.state_dict(), dst.state_dict()
    if len(a) != len(b):
        raise ValueError(f"The models have {len(a)} and {len(b)} tensors in their state_dict: not the same model.")
    pairs = []
    for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True):
        if va.shape != vb.shape:
            raise ValueError(f"{ka} {tuple(va.shape)} does not fit {kb} {tuple(vb.shape)}.")
        pairs.append((ka, kb, tuple(va.shape)))
    return pairs


def transfer(src: nn.Module, dst: nn.Module) -> nn.Module:
    """Load src's weights into dst under dst's key names (load_state_dict is strict: every key must match)."""
    state = src.state_dict()
    dst.load_state_dict({kb: state[ka] for ka, kb, _ in key_mapping(src, dst)})
    return dst


def save_load_round_trip(model: nn.Module, fresh: nn.Module) -> tuple[int, nn.Module]:
    """torch.save the state_dict to bytes, torch.load it back (weights_only=True) into `fresh`; returns (bytes, fresh)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    size = buffer.tell()
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    return size, fresh


def parameter_table(model: nn.Module) -> list[tuple[str, tuple[int, ...], int, bool]]:
    """(name, shape, numel, requires_grad) for each of model.named_parameters()."""
    return [(n, tuple(p.shape), p.numel(), p.requires_grad) for n, p in model.named_parameters()]


# ----------------------------------------------------------------------------------------------------------------
# Inside a trained network


@dataclass
class Inspection:
    probs: torch.Tensor  # (classes,) softmax of the logits
    layers: list[tuple[str, torch.Tensor]]  # (name, output (C, H, W)) of every Conv2d, in call order


def inspect(model: nn.Module, x: torch.Tensor) -> Inspection:
    """Run one input (1, C, H, W) through the model in eval mode under inference_mode; keep each conv's output.

    The model's mode is restored afterwards and no hook is left behind. Use a private copy of a model that other
    threads may run at the same time (hooks are per module, not per call).
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError("inspect takes one input of shape (1, C, H, W)")
    outputs: list[tuple[str, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out, n=name: outputs.append((n, out[0].detach().cpu())))
             for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    device = next(model.parameters()).device
    try:
        model.eval()
        with torch.inference_mode():
            logits = model(x.to(device))  # (1, classes)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return Inspection(logits[0].float().softmax(0).cpu(), outputs)


QUICK_STEPS_NOTE = "2 epochs of Adam on 6,000 MNIST training images"


def train_quick_cnn(data, *, progress=None, burst_s: float = 0.25) -> tuple[nn.Module, float]:
    """Train the small CNN of the Training section (conv 5x5 x8 -> pool -> conv 3x3 x16 -> pool -> 128 -> 10) on
    an MNIST subset, in bursts, reporting `progress(fraction)`; returns (model in eval mode, test accuracy)."""
    from core import models, training

    model_cfg = models.ModelConfig("cnnnet", in_channels=1, image_size=28)
    train_cfg = training.TrainConfig("adam", lr=2e-3, batch_size=64, epochs=2, train_subset=6000, val_fraction=0.0,
                                     test_every_epoch=False, seed=0)
    trainer = training.Trainer(models.build_model(model_cfg, seed=0), data, train_cfg)
    while not trainer.done:
        trainer.run(max_seconds=burst_s)
        if progress is not None:
            progress(trainer.progress)
    if trainer.status != "finished":
        raise RuntimeError(f"training did not finish: {trainer.history.reason}")
    trainer.release()
    return trainer.model.eval(), float(trainer.history.epochs[-1].test_acc)
