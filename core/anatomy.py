"""nn.Module anatomy: one small model built three ways (a subclass, nn.Sequential, nn.Sequential of an
OrderedDict), and what children(), modules(), state_dict(), .to(), train() and eval() do to it."""

import io
import textwrap
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


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


def sample_input(cfg: AnatomyConfig, size: int, seed: int) -> torch.Tensor:
    """The (1, in_channels, size, size) input every build runs on, from a generator seeded with seed + 1."""
    return torch.randn(1, cfg.in_channels, size, size, generator=torch.Generator().manual_seed(seed + 1))


def outputs(models: dict[str, nn.Module], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each build's output in eval mode (the builds are left in eval mode)."""
    with torch.no_grad():
        return {name: m.eval()(x) for name, m in models.items()}


def relu_module_equals_function(model: nn.Module, x: torch.Tensor) -> tuple[bool, tuple[int, ...]]:
    """Whether nn.ReLU()(h) equals F.relu(h) on conv1's output h; and h's shape."""
    h = model.conv1(x)
    return torch.equal(nn.ReLU()(h), F.relu(h)), tuple(h.shape)


def load_mismatch(dst: nn.Module, src: nn.Module) -> str:
    """What strict load_state_dict says when src's keys do not fit dst ("no error" when they do), on one line."""
    try:
        dst.load_state_dict(src.state_dict())
    except RuntimeError as exc:
        return str(exc).split("\n\t")[0] + " " + " ".join(str(exc).split("\n\t")[1:]).strip()
    return "no error"


@dataclass
class Modes:
    flags_train: dict[str, bool]  # module name -> .training after model.train()
    flags_eval: dict[str, bool]  # ... after model.eval()
    train_equal: bool  # two passes in train mode equal (without dropout: the train pass equals the eval output)
    eval_equal: bool  # two passes in eval mode equal


def modes(model: nn.Module, x: torch.Tensor, eval_out: torch.Tensor, dropout: bool) -> Modes:
    """train() and eval() on the model: every module's flag, and whether two passes agree in each mode."""
    model.train()
    flags_train = {n or "(model)": mod.training for n, mod in model.named_modules()}
    with torch.no_grad():
        a = model(x)
        b = model(x) if dropout else eval_out  # no dropout: compare with the eval output
    model.eval()
    with torch.no_grad():
        again = model(x)
    flags_eval = {n or "(model)": mod.training for n, mod in model.named_modules()}
    return Modes(flags_train, flags_eval, torch.equal(a, b), torch.equal(eval_out, again))


@dataclass
class Moved:
    before: torch.dtype  # the parameters' dtype before model.to(torch.float64)
    after: torch.dtype
    same_model: bool  # Module.to returns the module itself
    same_tensor: bool  # Tensor.to returns a new tensor: False


def to_float64(cfg: AnatomyConfig) -> Moved:
    """model.to(torch.float64) on a fresh Sequential build (in place), and Tensor.to for comparison."""
    model = build_sequential(cfg)
    before = next(model.parameters()).dtype
    returned = model.to(torch.float64)
    t = torch.zeros(3)
    return Moved(before, next(model.parameters()).dtype, returned is model, t.to(torch.float64) is t)


def build_code(cfg: AnatomyConfig) -> dict[str, str]:
    """The source of each of the three builds (BUILDS), as the lesson shows it."""
    k, drop = cfg.kernel, cfg.dropout > 0
    drop_sub = f"\n        self.drop = nn.Dropout({cfg.dropout})" if drop else ""
    drop_fwd = "\n        x = self.drop(x)" if drop else ""
    drop_seq = f"\n    nn.Dropout({cfg.dropout})," if drop else ""
    drop_od = f"\n    ('drop', nn.Dropout({cfg.dropout}))," if drop else ""
    return {
        "subclass": f"""class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {k}){drop_sub}
        self.conv2 = nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {k})

    def forward(self, x):
        x = F.relu(self.conv1(x)){drop_fwd}
        return F.relu(self.conv2(x))

model = Net()""",
        "Sequential": f"""model = nn.Sequential(
    nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {k}),
    nn.ReLU(),{drop_seq}
    nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {k}),
    nn.ReLU(),
)""",
        "Sequential(OrderedDict)": f"""model = nn.Sequential(OrderedDict([
    ('conv1', nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {k})),
    ('relu1', nn.ReLU()),{drop_od}
    ('conv2', nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {k})),
    ('relu2', nn.ReLU()),
]))""",
    }


def anatomy_code(cfg: AnatomyConfig, size: int, seed: int, model: nn.Module, out: torch.Tensor, size_bytes: int,
                 mode_check: Modes) -> str:
    """The named build end to end: renamed keys, children/modules/parameters, a state_dict round trip, modes.

    `model` is the lesson's Sequential(OrderedDict) build, `out` its eval output on sample_input, `size_bytes`
    its saved state_dict's size (save_load_round_trip) and `mode_check` what modes() found.
    """
    drop = cfg.dropout > 0
    named = build_code(cfg)["Sequential(OrderedDict)"].replace("model = ", "return ", 1)
    children = [name for name, _ in model.named_children()]
    modules = [name for name, _ in model.named_modules()]
    params = [(name, tuple(p.shape)) for name, p in model.named_parameters()]
    return f"""from collections import OrderedDict
import io
import torch
from torch import nn
import torch.nn.functional as F

def build():
{textwrap.indent(named, '    ')}

model = build()
seq = nn.Sequential(nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {cfg.kernel}), nn.ReLU(),\
{' nn.Dropout(' + str(cfg.dropout) + '),' if drop else ''}
                    nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {cfg.kernel}), nn.ReLU())
print(sum(p.numel() for p in model.parameters()))  # {sum(p.numel() for p in model.parameters())}

# the same weights under the other build's names: pair the keys in order
state = model.state_dict()
seq.load_state_dict({{k2: state[k1] for k1, k2 in zip(state, seq.state_dict())}})
x = torch.randn(1, {cfg.in_channels}, {size}, {size}, generator=torch.Generator().manual_seed({seed + 1}))
print(torch.equal(model.eval()(x), seq.eval()(x)))  # True
print(tuple(model(x).shape))  # {tuple(out.shape)}

print([name for name, _ in model.named_children()])  # {children}
# '' is the model itself
print([name for name, _ in model.named_modules()])  # {modules}
print([(name, tuple(p.shape)) for name, p in model.named_parameters()])  # {params}

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
print(buffer.tell())  # {size_bytes}
buffer.seek(0)
copy = build()                                       # the same architecture, fresh weights
copy.load_state_dict(torch.load(buffer, weights_only=True))

model.to(torch.float64)                              # in place: returns the same model
print(next(model.parameters()).dtype)  # torch.float64
x = x.double()
model.train()                                        # sets .training on every submodule
a, b = model(x), model(x)
model.eval()
# two passes in train mode, then in eval mode: {'dropout draws two masks' if drop else 'no dropout, nothing random'}
print(torch.equal(a, b), torch.equal(model(x), model(x)))  # {mode_check.train_equal} {mode_check.eval_equal}
"""


@dataclass(frozen=True)
class LinearCheck:
    weight_shape: tuple[int, ...]  # (out_features, in_features)
    out_shape: tuple[int, ...]
    gap: float  # max |layer(x) - (x @ W.T + b)|
    wrong: str  # torch's error for x @ W (the weight not transposed); "" when in == out (then it runs, wrongly)
    t_error: str  # torch's error for .t() on a 3-D tensor
    params: int


def linear_check(batch: int, d_in: int, d_out: int, seed: int = 0) -> LinearCheck:
    """nn.Linear stores its weight as (out, in) and computes x @ W.T + b; checked against its own output."""
    g = torch.Generator().manual_seed(seed)
    layer = torch.nn.utils.skip_init(nn.Linear, d_in, d_out)  # weights from the seed, not the global generator
    with torch.no_grad():
        bound = d_in ** -0.5
        layer.weight.uniform_(-bound, bound, generator=g)
        layer.bias.uniform_(-bound, bound, generator=g)
        x = torch.randn(batch, d_in, generator=g)
        y = layer(x)
        gap = (y - (x @ layer.weight.T + layer.bias)).abs().max().item()
        try:
            x @ layer.weight
            wrong = ""
        except RuntimeError as exc:
            wrong = str(exc).splitlines()[0]
    try:
        torch.zeros(2, 3, 4).t()
        t_error = ""
    except RuntimeError as exc:
        t_error = str(exc).splitlines()[0]
    return LinearCheck(tuple(layer.weight.shape), tuple(y.shape), gap, wrong, t_error,
                       sum(p.numel() for p in layer.parameters()))


def linear_code(batch: int, d_in: int, d_out: int, check: LinearCheck) -> str:
    return f"""import torch
from torch import nn

layer = nn.Linear({d_in}, {d_out})
x = torch.randn({batch}, {d_in})
print(layer.weight.shape, layer.bias.shape)  # torch.Size([{d_out}, {d_in}]) torch.Size([{d_out}])
y = layer(x)
print(y.shape)  # torch.Size([{batch}, {d_out}])
print(torch.allclose(y, x @ layer.weight.T + layer.bias, atol=1e-6))  # True
print(sum(p.numel() for p in layer.parameters()))  # {check.params}
"""
