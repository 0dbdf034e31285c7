"""Which torch.optim optimizer, with which settings and learning-rate schedule: what both Optimization lessons
run, and the torch code that builds it."""

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch

from core.landscapes import Landscape
from core.parsing import InputError

MAX_STEPS = 20_000


@dataclass(frozen=True)
class OptimizerKind:
    name: str  # as the page lists it
    cls: str  # the torch.optim class
    settings: tuple[str, ...]  # which RunConfig fields it takes
    lr: float  # default learning rate
    momentum: float = 0.0
    nesterov: bool = False


OPTIMIZERS: dict[str, OptimizerKind] = {k.name: k for k in (
    OptimizerKind("SGD", "SGD", ("lr", "momentum", "nesterov"), 1e-3),
    OptimizerKind("SGD+momentum", "SGD", ("lr", "momentum", "nesterov"), 1e-3, momentum=0.78),
    OptimizerKind("Nesterov", "SGD", ("lr", "momentum", "nesterov"), 1e-3, momentum=0.78, nesterov=True),
    OptimizerKind("Adagrad", "Adagrad", ("lr",), 0.5),
    OptimizerKind("RMSprop", "RMSprop", ("lr", "momentum"), 0.02),
    OptimizerKind("Adam", "Adam", ("lr", "beta1"), 0.1),
    OptimizerKind("AdamW", "AdamW", ("lr", "beta1", "weight_decay"), 0.1),
)}


@dataclass(frozen=True)
class RunConfig:
    """One optimizer with its settings. Example: RunConfig("SGD+momentum", lr=1e-3, momentum=0.78)."""

    optimizer: str = "SGD"  # a key of OPTIMIZERS
    lr: float = 1e-3
    momentum: float = 0.0  # SGD kinds and RMSprop
    nesterov: bool = False  # SGD kinds: look ahead along the momentum before taking the gradient
    beta1: float = 0.9  # Adam, AdamW: the momentum of the gradient average (beta2 stays at 0.999)
    weight_decay: float = 0.01  # AdamW: decoupled weight decay (torch's default)

    @property
    def kind(self) -> OptimizerKind:
        return OPTIMIZERS[self.optimizer]

    def kwargs(self) -> dict:
        """The keyword arguments of the torch.optim class; torch's defaults are left out."""
        kw: dict = {"lr": self.lr}
        takes = self.kind.settings
        if "momentum" in takes and self.momentum:
            kw["momentum"] = self.momentum
        if "nesterov" in takes and self.nesterov:
            kw["nesterov"] = True
        if "beta1" in takes and self.beta1 != 0.9:
            kw["betas"] = (self.beta1, 0.999)
        if "weight_decay" in takes and self.weight_decay != 0.01:
            kw["weight_decay"] = self.weight_decay
        return kw

    def describe(self) -> str:
        """Example: 'lr=0.001, momentum=0.78'."""
        return ", ".join(f"{k}={fmt(v)}" for k, v in self.kwargs().items())

    def constructor(self, params: str = "params") -> str:
        """The torch code that builds this optimizer. Example: 'torch.optim.SGD(params, lr=0.001)'."""
        args = "".join(f", {k}={fmt(v)}" for k, v in self.kwargs().items())
        return f"torch.optim.{self.kind.cls}({params}{args})"


def default_config(name: str, landscape: Landscape | None = None) -> RunConfig:
    """An optimizer's default settings, with the learning rate suited to `landscape` when it has one."""
    kind = OPTIMIZERS[name]
    lr = dict(landscape.lrs).get(name, kind.lr) if landscape else kind.lr
    return RunConfig(name, lr=lr, momentum=kind.momentum, nesterov=kind.nesterov)


@dataclass(frozen=True)
class Schedule:
    """An optional learning-rate schedule, the same for every optimizer of a run."""

    kind: str = "none"  # "none", "step" (StepLR) or "cosine" (CosineAnnealingLR over all steps)
    step_size: int = 100  # StepLR: multiply the lr by gamma every step_size steps
    gamma: float = 0.5

    def constructor(self, steps: int, optimizer: str = "optimizer") -> str | None:
        if self.kind == "step":
            return f"torch.optim.lr_scheduler.StepLR({optimizer}, step_size={self.step_size}, gamma={fmt(self.gamma)})"
        if self.kind == "cosine":
            return f"torch.optim.lr_scheduler.CosineAnnealingLR({optimizer}, T_max={steps})"
        return None


def make_optimizer(config: RunConfig, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """Build the torch.optim optimizer; torch's own ValueError (e.g. Nesterov without momentum) becomes an
    InputError naming the optimizer."""
    try:
        return getattr(torch.optim, config.kind.cls)(params, **config.kwargs())
    except ValueError as exc:
        raise InputError(f"{config.optimizer} ({config.describe()}): torch.optim refuses these settings: {exc}") from None


def make_scheduler(schedule: Schedule, optimizer: torch.optim.Optimizer, steps: int):
    if schedule.kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=schedule.step_size, gamma=schedule.gamma)
    if schedule.kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return None


def bare_step(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
    """optimizer.step without the profiler/hook wrapper torch puts around it (call it under torch.no_grad()).

    It runs the class's own step code, so the arithmetic is the same bit for bit (tested), and it saves
    ~35% of the time a step takes on a 2-element tensor, where that wrapper costs more than the maths.
    `foreach` is fixed to False, the implementation torch picks for CPU tensors, so that torch does not
    pick it again at every step.
    """
    for group in optimizer.param_groups:
        if group.get("foreach") is None:
            group["foreach"] = False
    return functools.partial(inspect.unwrap(type(optimizer).step), optimizer)


def fmt(value) -> str:
    """A setting as the generated code writes it. Example: fmt(0.001) -> '0.001'."""
    if isinstance(value, bool | int | tuple):
        return repr(value)
    return f"{value:g}" if isinstance(value, float) and value == float(f"{value:g}") else repr(value)

