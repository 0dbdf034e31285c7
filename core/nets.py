"""The architectures of core/models.py as nn.Modules, each built from a ModelConfig (see core.models)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from core.models import ModelConfig

BASE_WIDTHS = {"resnet": (16, 32, 64), "fastnet": (16, 32, 64, 128)}  # channels per stage at width x1


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




class CNN48(nn.Module):
    """The classic 48 x 48 colour CNN (e.g. seven-class expression folders): conv 3->16 and 16->32, 3x3 with padding
    1, BatchNorm2d after each (its default; the convs then drop their bias), 2x2 max pooling, then
    4608 -> 1000 -> 100 -> classes: 4,714,943 parameters for 7 classes.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        bn = cfg.batchnorm
        self.features = nn.Sequential(*_conv_block(cfg.in_channels, 16, 3, 1, bn), nn.MaxPool2d(2),
                                      *_conv_block(16, 32, 3, 1, bn), nn.MaxPool2d(2))
        flat = 32 * (cfg.image_size // 4) ** 2  # 32 x 12 x 12 = 4608 for 48 x 48 inputs
        layers = [nn.Flatten(), nn.Linear(flat, 1000), nn.ReLU()]
        if cfg.dropout > 0:
            layers.append(Dropout(cfg.dropout))
        self.classifier = nn.Sequential(*layers, nn.Linear(1000, 100), nn.ReLU(), nn.Linear(100, cfg.num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


_CLASSES = {"mlp": MLP, "mnist_cnn": MnistCNN, "cnnnet": CNNNet, "lenet5": LeNet5, "resnet": ResNet,
            "fastnet": FastNet, "cnn48": CNN48}
