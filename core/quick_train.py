"""A short, seeded training loop shared by the "See inside training" views and the scripts their code panels show.

    cfg = QuickConfig(steps=200)
    model = build_model(ModelConfig("mlp"), seed=cfg.seed)
    optimizer = make_optimizer(model.parameters(), TrainConfig("adam", lr=1e-3))
    quick_train(model, optimizer, data, cfg)          # 200 random batches of 64: ~97% of the way to a useful model

Batches are drawn with replacement (`torch.randint` from the run's generator), so the loop needs no epochs and a
script can replay it exactly: `quick_train_code()` writes these very lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.batches import normalize
from core.image_data import ImageData
from core.models import ModelConfig, set_generator
from core.training import TrainConfig
from core.training_code import _LOADERS


@dataclass(frozen=True)
class QuickConfig:
    """A short training run: `steps` random mini-batches, drawn from torch.Generator().manual_seed(seed)."""

    steps: int = 200  # optimizer steps (0: the freshly initialised model)
    batch_size: int = 64
    seed: int = 0  # initial weights (build_model), batch draws (seed), dropout masks (seed + 1)

    def __post_init__(self):
        if self.steps < 0 or self.batch_size < 1:
            raise ValueError("steps must be >= 0 and the batch size >= 1")


def random_batch(data: ImageData, batch_size: int, generator: torch.Generator,
                 train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """A random normalised batch (x (B, C, H, W) float32, y (B,) int64), drawn with replacement."""
    x_all, y_all = (data.x_train, data.y_train) if train else (data.x_test, data.y_test)
    idx = torch.randint(0, len(y_all), (batch_size,), generator=generator)  # (B,)
    return normalize(x_all[idx], data.mean, data.std), y_all[idx]


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    """One textbook step (forward, cross-entropy, zero_grad, backward, step); returns the loss."""
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def quick_train(model: nn.Module, optimizer: torch.optim.Optimizer, data: ImageData, cfg: QuickConfig, *,
                generator: torch.Generator | None = None,
                after_step: Callable[[int, float], None] | None = None) -> torch.Generator:
    """Train `cfg.steps` steps in place on random batches; returns the batch generator (to draw the next batch).

    `after_step(step, loss)` is called after every optimizer step (1-based step).
    """
    g = generator if generator is not None else torch.Generator().manual_seed(cfg.seed)
    set_generator(model, torch.Generator().manual_seed(cfg.seed + 1))  # dropout masks, if the model has dropout
    model.train()
    for step in range(1, cfg.steps + 1):
        x, y = random_batch(data, cfg.batch_size, g)
        loss = train_step(model, optimizer, x, y)
        if after_step is not None:
            after_step(step, loss)
    return g


def optimizer_code(cfg: TrainConfig) -> str:
    """The torch.optim constructor `make_optimizer(model.parameters(), cfg)` calls, every setting written out
    (AdamW's weight_decay too: torch's default there is 0.01, TrainConfig's 0).

    Example: optimizer_code(TrainConfig("sgd", lr=0.1)) -> 'torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
    weight_decay=0.0)'
    """
    head = f"model.parameters(), lr={cfg.lr!r}"
    if cfg.optimizer == "sgd":
        nesterov = ", nesterov=True" if cfg.nesterov and cfg.momentum > 0 else ""
        return f"torch.optim.SGD({head}, momentum={cfg.momentum!r}, weight_decay={cfg.weight_decay!r}{nesterov})"
    if cfg.optimizer == "rmsprop":
        return f"torch.optim.RMSprop({head}, momentum={cfg.momentum!r}, weight_decay={cfg.weight_decay!r})"
    name = "Adam" if cfg.optimizer == "adam" else "AdamW"
    return f"torch.optim.{name}({head}, weight_decay={cfg.weight_decay!r})"


def quick_train_code(dataset: str, model_cfg: ModelConfig, train_cfg: TrainConfig, cfg: QuickConfig,
                     steps: int | None = None) -> str:
    """The script lines that load `dataset`, build the model and optimizer and replay `quick_train` (`steps`
    overrides cfg.steps). Example: quick_train_code("mnist", ModelConfig("mlp"), TrainConfig(), QuickConfig())"""
    steps = cfg.steps if steps is None else steps
    module, loader = _LOADERS.get(dataset, _LOADERS["mnist"])
    lines = [
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "",
        "from core.batches import normalize",
        f"from {module} import {loader.split('(')[0]}",
        "from core.models import ModelConfig, build_model, set_generator",
        "",
        f"data = {loader}  # uint8 images in memory",
        f"model = build_model(ModelConfig(**{model_cfg.to_dict()!r}), seed={cfg.seed})",
        f"set_generator(model, torch.Generator().manual_seed({cfg.seed + 1}))  # dropout masks (if any)",
        f"optimizer = {optimizer_code(train_cfg)}",
        f"g = torch.Generator().manual_seed({cfg.seed})  # the batch draws",
        "",
        "",
        f"def batch(size={cfg.batch_size}):",
        "    idx = torch.randint(0, len(data.y_train), (size,), generator=g)  # with replacement",
        "    return normalize(data.x_train[idx], data.mean, data.std), data.y_train[idx]  # (B, C, H, W), (B,)",
        "",
        "",
        "model.train()",
    ]
    if steps:
        lines += [
            f"for step in range({steps}):  # a short training run",
            "    x, y = batch()",
            "    loss = F.cross_entropy(model(x), y)",
            "    optimizer.zero_grad()",
            "    loss.backward()",
            "    optimizer.step()",
        ]
    return "\n".join(lines) + "\n"
