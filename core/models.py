"""The models the app trains: an MLP, the classic CNNs, LeNet-5, a small ResNet and a fast CIFAR/MNIST net.

    cfg = ModelConfig("cnnnet", in_channels=3, image_size=32)     # frozen: hashable, JSON-able (asdict)
    model = build_model(cfg, seed=0)                              # same seed, same initial weights
    count_parameters(model)                                       # -> 76922
    layer_table(model, (3, 32, 32))                               # core.layer_table: one row per layer

Architectures (ARCHS, built in core/nets.py): "mlp" (784-200-200-10, hidden sizes free), "mnist_cnn" (conv 64 /
conv 128 / dropout / 1024 dense), "cnnnet" (the classic small CIFAR CNN: 76,922 parameters), "lenet5", "resnet"
(ResNet-8 for 32x32 images), "fastnet" (conv-pool-BN blocks with a global max pool: the app's fast presets),
"cnn48" (the classic 48x48 colour CNN of seven-class image folders). Every one takes any input size
and channel count, a dropout probability and a BatchNorm toggle. Weights are initialised from a seed through
a torch.Generator (never the process-wide RNG), with a choice of scheme to show why initialisation matters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from core.nets import (  # noqa: F401 (the architectures, importable from here as before)
    _CLASSES,
    BASE_WIDTHS,
    CNN48,
    MLP,
    BasicBlock,
    CNNNet,
    Dropout,
    FastBlock,
    FastNet,
    LeNet5,
    MnistCNN,
    ResNet,
    set_generator,
)

ARCHS = ("mlp", "mnist_cnn", "cnnnet", "lenet5", "resnet", "fastnet", "cnn48")
ARCH_NAMES = {
    "mlp": "MLP 784-200-200-10",
    "mnist_cnn": "MNIST CNN (conv 64/128 + dropout)",
    "cnnnet": "CNNNet (classic CIFAR CNN)",
    "lenet5": "LeNet-5",
    "resnet": "ResNet-8 (small ResNet)",
    "fastnet": "FastNet (conv-pool-BN blocks)",
    "cnn48": "CNN48 (classic 48x48 colour CNN: conv 16/32 + BN, dense 1000-100)",
}
ARCH_SHORT = {"mlp": "MLP", "mnist_cnn": "MNIST CNN", "cnnnet": "CNNNet", "lenet5": "LeNet-5", "resnet": "ResNet-8",
              "fastnet": "FastNet", "cnn48": "CNN48"}  # in run labels
SEQUENTIAL_ARCHS = ("mlp", "mnist_cnn", "cnnnet", "lenet5", "fastnet", "cnn48")  # their layers run one after another
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
    usual = {"batchnorm": arch in ("resnet", "fastnet", "cnn48"), "dropout": 0.5 if arch == "mnist_cnn" else 0.0}
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
