"""Key-block diagrams of the classic architectures (Graphviz DOT, drawn by st.graphviz_chart), labelled with the
output shapes a forward pass on the meta device really produces."""

from torch import nn

from core.architectures import ARCHITECTURES, build, input_shape_of
from core.layer_table import LayerRow, layer_table, module_detail

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
        return f"{'max' if isinstance(module, nn.MaxPool2d) else 'avg'}-pool {module_detail(module).split(',')[0]}"
    return row.kind


def _graph(lines: list[str], rankdir: str = "TB") -> str:
    head = [f"digraph G {{\n  rankdir={rankdir}; nodesep=0.25; ranksep=0.3;",
            '  node [fontname="Helvetica", fontsize=11, height=0.3]; edge [color="#555555", arrowsize=0.6];']
    return "\n".join(head + lines + ["}"])


def block_diagram(name: str) -> str:
    """A DOT graph of the architecture's key block, labelled with the real output shapes."""
    model = build(name)
    rows = layer_table(model, input_shape_of(name), depth=None)
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
    return rows[first - 1].output_shape


def _chain_dot(rows: list[LayerRow], modules: dict, input_shape: tuple[int, ...]) -> str:
    """Main layers in a line; activations and dropout fold into the layer before them."""
    lines, nodes = [], []
    for row in rows:
        if row.kind in ("ReLU", "Tanh", "Sigmoid", "Dropout", "BatchNorm2d", "Flatten") and nodes:
            nodes[-1][1] += " + flatten" if row.kind == "Flatten" else f" + {row.kind}"
            nodes[-1][3] = row.output_shape
            continue
        nodes.append([row.name, _short(row, modules[row.name]), row.kind, row.output_shape])
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
                     f"\\nmax-pool 2x2 -> {_dims(row.output_shape)}")
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
        lines += [_node(node_id, f"{_short(r, modules[r.name])}\\n{_dims(r.output_shape)}", r.kind),
                  f'  "{prev}" -> "{node_id}";']
        prev = node_id
    lines.append(_node("add", "+", "op"))
    lines.append(f'  "{prev}" -> "add" [label=" F(x)"];')
    if skip:
        sprev = "x"
        for r in skip:
            lines += [_node(r.name, f"{_short(r, modules[r.name])}\\n{_dims(r.output_shape)}", r.kind),
                      f'  "{sprev}" -> "{r.name}" [style=dashed];']
            sprev = r.name
        lines.append(f'  "{sprev}" -> "add" [style=dashed, label=" shortcut"];')
    else:
        lines.append('  "x" -> "add" [style=dashed, label=" identity x"];')
    lines += [_node("out", f"ReLU\\n{_dims(relus[-1].output_shape)}", "ReLU"), '  "add" -> "out";']
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
            lines += [_node(r.name, f"{label}\\n{_dims(r.output_shape)}", r.kind),
                      f'  "{prev}" -> "{r.name}";']
            prev = r.name
        lines.append(f'  "{prev}" -> "cat";')
        out_channels += branch[-1].output_shape[0]
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
