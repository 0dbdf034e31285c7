"""The models the app trains: an MLP, the classic CNNs, LeNet-5, a small ResNet and a fast CIFAR/MNIST net.

    cfg = ModelConfig("cnnnet", in_channels=3, image_size=32)     # frozen: hashable, JSON-able (asdict)
    model = build_model(cfg, seed=0)                              # same seed, same initial weights
    count_parameters(model)                                       # -> 76922
    layer_table(model, (3, 32, 32))                               # core.layer_table: one row per layer

Architectures (ARCHS): "mlp" (784-200-200-10), "mnist_cnn" (conv 64 / conv 128 / dropout / 1024 dense),
"cnnnet" (the classic small CIFAR CNN: 76,922 parameters), "lenet5", "resnet" (ResNet-8 for 32x32 images),
"fastnet" (conv-pool-BN blocks with a global max pool: the app's fast presets). Every one takes any input size
and channel count, a dropout probability and a BatchNorm toggle. Weights are initialised from a seed through
a torch.Generator (never the process-wide RNG), with a choice of scheme to show why initialisation matters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

ARCHS = ("mlp", "mnist_cnn", "cnnnet", "lenet5", "resnet", "fastnet")
ARCH_NAMES = {
    "mlp": "MLP 784-200-200-10",
    "mnist_cnn": "MNIST CNN (conv 64/128 + dropout)",
    "cnnnet": "CNNNet (classic CIFAR CNN)",
    "lenet5": "LeNet-5",
    "resnet": "ResNet-8 (small ResNet)",
    "fastnet": "FastNet (conv-pool-BN blocks)",
}
ARCH_SHORT = {"mlp": "MLP", "mnist_cnn": "MNIST CNN", "cnnnet": "CNNNet", "lenet5": "LeNet-5", "resnet": "ResNet-8",
              "fastnet": "FastNet"}  # in run labels
BASE_WIDTHS = {"resnet": (16, 32, 64), "fastnet": (16, 32, 64, 128)}  # channels per stage at width x1
SEQUENTIAL_ARCHS = ("mlp", "mnist_cnn", "cnnnet", "lenet5", "fastnet")  # their layers run one after another
INITS = ("default", "kaiming", "xavier", "bad")  # "bad": every weight ~ normal(0, 1), the classic mistake
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
MAX_HIDDEN_LAYERS = 16  # an MLP deeper than this is not something a config file from this app describes
MAX_WIDTHS = 4  # resnet has 3 stages, fastnet a stem and 3 blocks


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model (and so to load its state_dict): saved as JSON with the weights."""

    arch: str = "mlp"  # one of ARCHS
    in_channels: int = 1  # 1 for MNIST, 3 for CIFAR-10
    image_size: int = 28  # square inputs: 28 for MNIST, 32 for CIFAR-10
    num_classes: int = 10
    dropout: float = 0.0  # probability of the dropout layers; 0 = no dropout layer at all
    batchnorm: bool = False  # BatchNorm after each conv / hidden linear layer (resnet and fastnet: on by design)
    init: str = "default"  # one of INITS
    activation: str = "relu"  # hidden activation of the MLP (the CNNs use ReLU, fastnet GELU)
    hidden: tuple[int, ...] = (200, 200)  # MLP hidden sizes
    widths: tuple[int, ...] = ()  # channel widths of resnet (3 stages) / fastnet (stem + 3 blocks); () = default

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHS)}")
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if self.in_channels not in (1, 3) or not 8 <= self.image_size <= 256 or not 2 <= self.num_classes <= 1000:
            raise ValueError("inputs must have 1 or 3 channels, a size in [8, 256] and 2 to 1000 classes")
        if len(self.hidden) > MAX_HIDDEN_LAYERS or len(self.widths) > MAX_WIDTHS:
            raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers and {MAX_WIDTHS} stage widths")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.image_size, self.image_size)

    def to_dict(self) -> dict:
        """JSON-ready: tuples become lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """The inverse of to_dict; unknown keys are an error, so a foreign JSON file is refused clearly."""
        if not isinstance(d, dict):
            raise ValueError("a model config must be a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        kwargs = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            value = d[f.name]
            if f.name in ("hidden", "widths"):
                limit = MAX_HIDDEN_LAYERS if f.name == "hidden" else MAX_WIDTHS
                if isinstance(value, list | tuple) and len(value) > limit:  # checked first: the list may be huge
                    raise ValueError(f"{f.name} has {len(value):,} entries; a model here has at most {limit} "
                                     f"{'hidden layers' if f.name == 'hidden' else 'stage widths'}")
                if not isinstance(value, list | tuple) or not all(isinstance(v, int) and 0 < v <= 4096 for v in value):
                    raise ValueError(f"{f.name} must be a list of positive integers")
                value = tuple(value)
            elif f.name in ("in_channels", "image_size", "num_classes"):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"{f.name} must be an integer")
            elif f.name == "dropout":
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise ValueError("dropout must be a number")
                value = float(value)
            elif f.name == "batchnorm":
                if not isinstance(value, bool):
                    raise ValueError("batchnorm must be true or false")
            elif not isinstance(value, str):
                raise ValueError(f"{f.name} must be a string")
            kwargs[f.name] = value
        return cls(**kwargs)


class Dropout(nn.Dropout):
    """nn.Dropout that draws its masks from its own torch.Generator when one is set (see `set_generator`).

    With a generator, training is reproducible without torch.manual_seed (which is shared by every user
    of the process); without one it is exactly nn.Dropout.
    """

    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or self.generator is None:
            return super().forward(x)
        keep = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)  # survivors are scaled by 1/(1-p): the expected value is unchanged


def set_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    """Let every `Dropout` of the model draw from `generator` (None: back to the global RNG)."""
    for m in model.modules():
        if isinstance(m, Dropout):
            m.generator = generator


def _act(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}[name]()


def _conv_block(c_in: int, c_out: int, k: int, padding: int, bn: bool) -> list[nn.Module]:
    """conv (no bias when BatchNorm follows: BN's shift replaces it) -> [BN] -> ReLU"""
    return [nn.Conv2d(c_in, c_out, k, padding=padding, bias=not bn), *([nn.BatchNorm2d(c_out)] if bn else []),
            nn.ReLU()]


class MLP(nn.Module):
    """Flatten -> [Linear -> (BN) -> act -> (Dropout)] per hidden layer -> Linear. Default: 784-200-200-10."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        sizes = [math.prod(cfg.input_shape), *cfg.hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes, sizes[1:], strict=False):
            layers.append(nn.Linear(a, b, bias=not cfg.batchnorm))
            if cfg.batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(_act(cfg.activation))
            if cfg.dropout > 0:
                layers.append(Dropout(cfg.dropout))
        layers.append(nn.Linear(sizes[-1], cfg.num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)  # (B, C, H, W) -> (B, num_classes)


class MnistCNN(nn.Module):
    """The classic MNIST CNN: conv 64 -> conv 128 -> max pool -> dense 1024 -> dropout -> 10 (25.8 M parameters).

    Big and slow on a CPU (the dense layer holds almost all the weights): the lesson is that it still
    reaches ~99% where an MLP tops out near 98%.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        bn = cfg.batchnorm
        self.features = nn.Sequential(*_conv_block(cfg.in_channels, 64, 3, 1, bn), *_conv_block(64, 128, 3, 1, bn),
                                      nn.MaxPool2d(2))
        flat = 128 * (cfg.image_size // 2) ** 2
        layers = [nn.Flatten(), nn.Linear(flat, 1024), nn.ReLU()]
        if cfg.dropout > 0:
            layers.append(Dropout(cfg.dropout))
        self.classifier = nn.Sequential(*layers, nn.Linear(1024, cfg.num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class CNNNet(nn.Module):
    """The classic small CIFAR CNN: conv5x5(8) -> pool -> conv3x3(16) -> pool -> fc 128 -> fc 10.

    On 3 x 32 x 32 inputs it has 76,922 parameters: 608 + 1,168 (convs) + 73,856 + 1,290 (dense).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        bn = cfg.batchnorm
        self.features = nn.Sequential(*_conv_block(cfg.in_channels, 8, 5, 0, bn), nn.MaxPool2d(2),
                                      *_conv_block(8, 16, 3, 0, bn), nn.MaxPool2d(2))
        side = ((cfg.image_size - 4) // 2 - 2) // 2
        layers = [nn.Flatten(), nn.Linear(16 * side * side, 128), nn.ReLU()]
        if cfg.dropout > 0:
            layers.append(Dropout(cfg.dropout))
        self.classifier = nn.Sequential(*layers, nn.Linear(128, cfg.num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling: conv 6 -> pool -> conv 16 -> pool -> 120 -> 84 -> 10.

    28 x 28 inputs are padded by 2, so the first conv sees the 32 x 32 of the original paper.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        bn = cfg.batchnorm
        pad = 2 if cfg.image_size == 28 else 0
        self.features = nn.Sequential(*_conv_block(cfg.in_channels, 6, 5, pad, bn), nn.MaxPool2d(2),
                                      *_conv_block(6, 16, 5, 0, bn), nn.MaxPool2d(2))
        side = ((cfg.image_size + 2 * pad - 4) // 2 - 4) // 2
        layers = [nn.Flatten(), nn.Linear(16 * side * side, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU()]
        if cfg.dropout > 0:
            layers.append(Dropout(cfg.dropout))
        self.classifier = nn.Sequential(*layers, nn.Linear(84, cfg.num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """ResNet's basic block: conv-BN-ReLU-conv-BN, plus the input (a 1x1 conv when the shape changes), ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int, bn: bool):
        super().__init__()
        norm = nn.BatchNorm2d if bn else (lambda c: nn.Identity())
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=not bn)
        self.bn1 = norm(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=not bn)
        self.bn2 = norm(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=not bn), norm(c_out))
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))  # the skip connection: gradients flow straight through the +


class ResNet(nn.Module):
    """ResNet-8 for 32 x 32 images (He et al. 2016, CIFAR variant): stem, 3 stages of one basic block, GAP, fc."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.widths or BASE_WIDTHS["resnet"]
        bn = cfg.batchnorm
        self.stem = nn.Sequential(*_conv_block(cfg.in_channels, w[0], 3, 1, bn))
        self.layer1 = BasicBlock(w[0], w[0], 1, bn)
        self.layer2 = BasicBlock(w[0], w[1], 2, bn)
        self.layer3 = BasicBlock(w[1], w[2], 2, bn)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.fc = nn.Linear(w[2], cfg.num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))  # (B, w2, H/4, W/4)
        return self.fc(self.dropout(self.flatten(self.pool(x))))


class FastBlock(nn.Module):
    """conv -> max pool -> BN -> GELU -> conv -> BN -> GELU: pooling right after the first conv halves the cost."""

    def __init__(self, c_in: int, c_out: int, bn: bool):
        super().__init__()
        norm = nn.BatchNorm2d if bn else (lambda c: nn.Identity())
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=not bn)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = norm(c_out)
        self.act1 = nn.GELU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=not bn)
        self.norm2 = norm(c_out)
        self.act2 = nn.GELU()

    def forward(self, x):
        x = self.act1(self.norm1(self.pool(self.conv1(x))))
        return self.act2(self.norm2(self.conv2(x)))


class FastNet(nn.Module):
    """A compact net for fast CPU training (after the "94% on CIFAR-10 in seconds" family of designs):
    2x2 stem conv -> 3 FastBlocks -> global max pool -> linear. widths = (stem, block1, block2, block3).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.widths or BASE_WIDTHS["fastnet"]
        bn = cfg.batchnorm
        self.stem = nn.Sequential(nn.Conv2d(cfg.in_channels, w[0], 2, bias=not bn),
                                  *([nn.BatchNorm2d(w[0])] if bn else []), nn.GELU())
        self.block1 = FastBlock(w[0], w[1], bn)
        self.block2 = FastBlock(w[1], w[2], bn)
        self.block3 = FastBlock(w[2], w[3], bn)
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.fc = nn.Linear(w[3], cfg.num_classes, bias=False)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.stem(x))))  # (B, w3, ~H/8, ~W/8)
        return self.fc(self.dropout(self.flatten(self.pool(x))))


_CLASSES = {"mlp": MLP, "mnist_cnn": MnistCNN, "cnnnet": CNNNet, "lenet5": LeNet5, "resnet": ResNet,
            "fastnet": FastNet}



def scaled_widths(arch: str, multiplier: float) -> tuple[int, ...]:
    """Channel widths of resnet/fastnet scaled by `multiplier` (() for the other architectures).

    Example: scaled_widths("fastnet", 0.5) -> (8, 16, 32, 64)
    """
    if arch not in BASE_WIDTHS:
        return ()
    return tuple(max(4, int(round(w * multiplier))) for w in BASE_WIDTHS[arch])


def default_config(arch: str, in_channels: int = 1, image_size: int = 28, **overrides) -> ModelConfig:
    """The usual settings of an architecture: BatchNorm on for resnet and fastnet (their designs assume it),
    dropout 0.5 in the MNIST CNN's dense layer."""
    usual = {"batchnorm": arch in ("resnet", "fastnet"), "dropout": 0.5 if arch == "mnist_cnn" else 0.0}
    return ModelConfig(arch, in_channels, image_size, **{**usual, **overrides})


def init_weights(model: nn.Module, scheme: str = "default", generator: torch.Generator | None = None) -> None:
    """(Re-)initialise every conv and linear layer from `generator`; BatchNorm to weight 1, bias 0.

    "default": PyTorch's own (kaiming_uniform_(a=sqrt(5)), bias ~ U(+-1/sqrt(fan_in))), drawn from the generator.
    "kaiming": He normal for ReLU nets (std = sqrt(2 / fan_in)), zero bias.  "xavier": Glorot normal, zero bias.
    "bad": weights ~ normal(0, 1), zero bias: activations and gradients explode (ReLU) or vanish (sigmoid/tanh).
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                if scheme == "default":
                    nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                    if m.bias is not None:
                        fan_in = m.weight[0].numel()
                        nn.init.uniform_(m.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=generator)
                    continue
                if scheme == "kaiming":
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu", generator=generator)
                elif scheme == "xavier":
                    nn.init.xavier_normal_(m.weight, generator=generator)
                elif scheme == "bad":
                    nn.init.normal_(m.weight, 0.0, 1.0, generator=generator)
                else:
                    raise ValueError(f"unknown init scheme {scheme!r}")
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                m.reset_parameters()


def build_model(cfg: ModelConfig, *, seed: int | None = 0) -> nn.Module:
    """A fresh model for `cfg`, its weights drawn from torch.Generator().manual_seed(seed) (None: global RNG).

    Example: count_parameters(build_model(ModelConfig("cnnnet", in_channels=3, image_size=32))) -> 76922
    """
    model = _CLASSES[cfg.arch](cfg)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    init_weights(model, cfg.init, generator)
    return model


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Example: count_parameters(nn.Linear(784, 200)) -> 157000 (784 * 200 weights + 200 biases)"""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def first_layer(model: nn.Module) -> nn.Conv2d | nn.Linear | None:
    """The first conv or linear layer: what the network looks at directly (drawn as its filters)."""
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)), None)


def first_layer_filters(model: nn.Module, input_shape: tuple[int, int, int]) -> torch.Tensor:
    """The first layer's weights as images: (K, C, kh, kw) for a conv; (K, C, H, W) for an MLP's first Linear.

    Example: first_layer_filters(mlp, (1, 28, 28)).shape -> (200, 1, 28, 28): each hidden unit's "template".
    """
    layer = first_layer(model)
    if layer is None:
        raise ValueError("the model has no conv or linear layer")
    w = layer.weight.detach().cpu().float()
    if isinstance(layer, nn.Conv2d):
        return w  # (K, C, kh, kw)
    return w.reshape(w.shape[0], *input_shape)  # (K, C, H, W)
