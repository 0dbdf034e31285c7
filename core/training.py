"""Training loops that report through callbacks, run in bursts, and reproduce exactly from a seed.

    data = load_mnist()
    model = build_model(ModelConfig("mlp"), seed=0)
    history = train(model, data, TrainConfig(epochs=1), on_epoch=print)      # run to the end
    history.epochs[-1].test_acc                                               # -> ~0.97

A page instead keeps a `Trainer` in its session and calls `trainer.run(max_seconds=1.0)` again and again: each
call trains for about a second and returns at a step boundary, so a click or a rerun between bursts never loses
finished steps. Everything random (validation split, batch order, augmentation, dropout masks) draws from
generators seeded by `TrainConfig.seed`: same seed, same curve on the CPU, whatever else the process does.

A step, in the canonical order:
    logits = model(normalize(augment(x_uint8)))   # whole batch at once, (B, classes)
    loss = cross_entropy(logits, y, label_smoothing=...)
    optimizer.zero_grad(); loss.backward(); optimizer.step(); scheduler.step()
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from core.batches import augment
from core.evaluation import Metrics, evaluate, prepare
from core.image_data import ImageData
from core.models import set_generator

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
SCHEDULES = ("constant", "step", "cosine", "onecycle")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a run (frozen: hashable, JSON-able with asdict)."""

    optimizer: str = "adamw"  # one of OPTIMIZERS
    lr: float = 1e-3  # the peak learning rate for "onecycle"
    momentum: float = 0.9  # SGD and RMSprop (Adam/AdamW keep betas=(0.9, 0.999))
    nesterov: bool = False  # SGD only (needs momentum > 0)
    weight_decay: float = 0.0  # L2 penalty (SGD, Adam, RMSprop) / decoupled decay (AdamW)
    batch_size: int = 128
    epochs: int = 2
    schedule: str = "constant"  # one of SCHEDULES, stepped after every batch
    step_every: int = 1  # "step": multiply the lr by `gamma` every this many epochs
    gamma: float = 0.1
    warmup: float = 0.25  # "onecycle": fraction of the steps spent warming up
    label_smoothing: float = 0.0
    crop_padding: int = 0  # random-crop augmentation: shift images by up to this many pixels (CIFAR: 4)
    flip: bool = False  # random horizontal flips (CIFAR yes; digits no: a mirrored 3 is not a 3)
    val_fraction: float = 0.1  # held out of the training set for validation (0 = no validation)
    early_stopping: int = 0  # stop after this many epochs without a better val loss (0 = off); best weights kept
    seed: int = 0
    train_subset: int = 0  # train on this many random training images only (0 = all)
    test_every_epoch: bool = True  # False: evaluate on the test set after the last epoch only (faster)
    tta: bool = False  # test-time augmentation: average the predictions for the image and its mirror
    precision: str = "fp32"  # "bf16": autocast to bfloat16 (fast on CPUs with AVX-512 BF16/AMX, and on GPUs)
    channels_last: bool = False  # NHWC memory layout: faster convolutions on CPUs
    log_every: int = 20  # steps between on_step reports

    def __post_init__(self):
        checks = [
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),
            (self.lr > 0 and math.isfinite(self.lr), "the learning rate must be a positive number"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (self.weight_decay >= 0, "weight decay cannot be negative"),
            (self.batch_size >= 1 and self.epochs >= 1, "batch size and epochs must be at least 1"),
            (0 <= self.label_smoothing < 1, "label smoothing must be in [0, 1)"),
            (0 <= self.val_fraction < 1, "the validation fraction must be in [0, 1)"),
            (0 <= self.warmup < 1 and self.step_every >= 1 and 0 < self.gamma <= 1, "bad schedule settings"),
            (not (self.early_stopping and self.val_fraction == 0), "early stopping needs a validation split"),
            (self.log_every >= 1 and self.crop_padding >= 0 and self.train_subset >= 0, "bad settings"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class StepLog:
    step: int  # optimizer steps so far
    epoch: float  # fractional epoch, e.g. 1.5 = halfway through the second epoch
    loss: float  # mean training loss over the batches since the previous report
    accuracy: float  # training accuracy over those batches
    lr: float
    samples_per_s: float  # training throughput over those batches
    grad_norms: tuple[float, ...]  # gradient norm of each layer's weight (History.layers), last batch


@dataclass(frozen=True)
class EpochLog:
    epoch: int  # 1-based
    train_loss: float  # mean over the epoch's batches (train mode: dropout on, augmentation on)
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    test_loss: float | None
    test_acc: float | None
    seconds: float  # training + evaluation time since the start of the run (pauses excluded)
    samples_per_s: float  # training throughput of this epoch


@dataclass
class History:
    layers: list[str]  # names of the weights whose gradient norms the StepLogs carry
    steps: list[StepLog] = field(default_factory=list)
    epochs: list[EpochLog] = field(default_factory=list)
    status: str = "ready"  # ready | paused | finished | stopped_early | diverged | stopped
    reason: str = ""  # why the run ended, in words
    best_epoch: int | None = None  # early stopping: the epoch whose weights were kept
    warning: str = ""  # a run that ended but did not learn (accuracy at chance, exploded loss), in words


DONE = ("finished", "stopped_early", "diverged", "stopped")


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Example: make_optimizer(model.parameters(), TrainConfig("sgd", lr=0.1, nesterov=True)) -> torch.optim.SGD"""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               nesterov=cfg.nesterov and cfg.momentum > 0)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def make_scheduler(optimizer, cfg: TrainConfig, steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The lr schedule, stepped once per batch (the "step" schedule still drops every `step_every` epochs)."""
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total,
                                                   pct_start=max(cfg.warmup, 1 / total), cycle_momentum=False)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if cfg.schedule == "step":
        every = cfg.step_every * steps_per_epoch
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cfg.gamma ** (step // every))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def lr_curve(cfg: TrainConfig, steps_per_epoch: int) -> list[float]:
    """The learning rate at every step of a run with `cfg`: what the schedule will do, before training."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.lr)
    sched = make_scheduler(opt, cfg, steps_per_epoch)
    out = []
    for _ in range(cfg.epochs * steps_per_epoch):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def _epochs(n: int) -> str:
    """ "1 epoch", "3 epochs" """
    return f"{n} epoch{'' if n == 1 else 's'}"


class Trainer:
    """One training run that can be advanced in bursts: `run(max_seconds=...)` until `done`.

    The model, optimizer, scheduler, generators, history and position inside the epoch live in this object,
    so keeping it (e.g. in st.session_state) keeps the whole run.
    """

    def __init__(self, model: nn.Module, data: ImageData, cfg: TrainConfig, *, device: str = "cpu",
                 on_step: Callable[[StepLog], None] | None = None,
                 on_epoch: Callable[[EpochLog], None] | None = None):
        self.model, self.data, self.cfg, self.device = model.to(device), data, cfg, device
        self.on_step, self.on_epoch = on_step, on_epoch
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.generator = torch.Generator().manual_seed(cfg.seed)  # split, batch order, augmentation
        dropout_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
        set_generator(self.model, dropout_gen)
        n = len(data.y_train)
        pool = torch.randperm(n, generator=self.generator)
        if cfg.train_subset:
            pool = pool[:cfg.train_subset]
        n_val = int(len(pool) * cfg.val_fraction)
        self.val_idx, self.train_idx = pool[:n_val].sort().values, pool[n_val:].sort().values
        if len(self.train_idx) == 0:
            raise ValueError("no training examples left after the validation split")
        self.batch_size = min(cfg.batch_size, len(self.train_idx))
        self.steps_per_epoch = len(self.train_idx) // self.batch_size  # the last partial batch is dropped
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.optimizer = make_optimizer(self.model.parameters(), cfg)
        self.scheduler = make_scheduler(self.optimizer, cfg, self.steps_per_epoch)
        self.weights = [(name, p) for name, p in self.model.named_parameters()
                        if name.endswith("weight") and p.dim() > 1]  # conv and linear weights
        self.history = History(layers=[name for name, _ in self.weights])
        self.step = 0
        self.epoch = 0  # epochs completed
        self.train_seconds = 0.0
        self._order: torch.Tensor | None = None
        self._pos = 0
        self._epoch_sums = [0.0, 0, 0, 0.0]  # loss * n, correct, n, seconds
        self._window = [0.0, 0, 0, 0.0]
        self._best: tuple[float, int, dict] | None = None  # (val loss, epoch, state_dict)
        self._bad_epochs = 0
        self.first_loss: float | None = None  # the loss of the first batch, and the largest since
        self.peak_loss = 0.0
        self.recorder = None  # optional: `.after_step(lr)` is called after every optimizer step (core.recorder)

    @property
    def status(self) -> str:
        return self.history.status

    @property
    def done(self) -> bool:
        return self.history.status in DONE

    @property
    def progress(self) -> float:
        """Fraction of the planned steps done, in [0, 1]."""
        return min(1.0, self.step / max(1, self.total_steps))

    def eta_seconds(self) -> float | None:
        """Remaining time at the speed so far (None before the first steps)."""
        if self.step == 0:
            return None
        return (self.total_steps - self.step) * self.train_seconds / self.step

    def samples_per_s(self) -> float:
        return self.step * self.batch_size / self.train_seconds if self.train_seconds else 0.0

    def stop(self, reason: str = "Stopped by the user.") -> None:
        """End the run now; the finished epochs (and the weights) are kept."""
        if not self.done:
            self.history.status, self.history.reason = "stopped", reason

    def release(self) -> None:
        """Free what only further training needs (optimizer state, gradients, the early-stopping snapshot), and
        bring the model back to the CPU, where the results, the downloads and the inspection read it."""
        self.optimizer.state.clear()
        self.model.zero_grad(set_to_none=True)
        self._best = None
        if self.device != "cpu":
            self.model.to("cpu")
            self.device = "cpu"

    def run(self, *, max_steps: int | None = None, max_seconds: float | None = None,
            keep_going: Callable[[], bool] | None = None) -> str:
        """Train until done, or for at most `max_steps` steps / about `max_seconds`, or until `keep_going()` is
        false (checked before every step: a pause from another thread takes effect at once); returns the status."""
        if self.done:
            return self.history.status
        self.history.status = "running"
        deadline = time.perf_counter() + max_seconds if max_seconds is not None else math.inf
        taken = 0
        self.model.train()
        while not self.done:
            if self._order is None:
                self._order = self.train_idx[torch.randperm(len(self.train_idx), generator=self.generator)]
                self._pos = 0
            if self._pos + self.batch_size > len(self._order):
                self._end_epoch()
                continue
            if keep_going is not None and not keep_going():
                break
            self._train_step(self._order[self._pos:self._pos + self.batch_size])
            self._pos += self.batch_size
            taken += 1
            if (max_steps is not None and taken >= max_steps) or time.perf_counter() >= deadline:
                break
        if self.history.status == "running":
            self.history.status = "paused"
        return self.history.status

    def _train_step(self, idx: torch.Tensor) -> None:
        cfg, t0 = self.cfg, time.perf_counter()
        x = self.data.x_train[idx]  # (B, C, H, W) uint8
        if cfg.crop_padding or cfg.flip:
            x = augment(x, self.generator, crop_padding=cfg.crop_padding, flip=cfg.flip)
        x = prepare(x, self.data, self.device, cfg.channels_last)
        y = self.data.y_train[idx].to(self.device, non_blocking=True)  # (B,)
        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
            logits = self.model(x)  # (B, classes)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        loss_value = loss.item()
        if self.first_loss is None:
            self.first_loss = loss_value
        self.peak_loss = max(self.peak_loss, loss_value)
        if not math.isfinite(loss_value):
            self.history.status = "diverged"
            self.history.reason = (f"The loss became {loss_value} at step {self.step + 1} (epoch {self.epoch + 1}): "
                                   f"training diverged. Lower the learning rate (now {cfg.lr:g}) or use a better "
                                   "initialisation.")
            return
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        lr = self.optimizer.param_groups[0]["lr"]
        if self.recorder is not None:
            self.recorder.after_step(lr)
        self.scheduler.step()
        self.step += 1
        correct = (logits.argmax(1) == y).sum().item()
        seconds = time.perf_counter() - t0
        self.train_seconds += seconds
        n = len(idx)
        for acc in (self._epoch_sums, self._window):
            acc[0] += loss_value * n
            acc[1] += correct
            acc[2] += n
            acc[3] += seconds
        if self.step % self.cfg.log_every == 0 or self._pos + 2 * self.batch_size > len(self._order):
            self._report(lr)

    def _report(self, lr: float) -> None:
        loss_sum, correct, n, seconds = self._window
        if n == 0:
            return
        norms = tuple(p.grad.norm().item() if p.grad is not None else 0.0 for _, p in self.weights)
        log = StepLog(self.step, self.epoch + (self._pos + self.batch_size) / (self.steps_per_epoch * self.batch_size),
                      loss_sum / n, correct / n, lr, n / seconds if seconds else 0.0, norms)
        self.history.steps.append(log)
        self._window = [0.0, 0, 0, 0.0]
        if self.on_step:
            self.on_step(log)

    def _end_epoch(self) -> None:
        cfg, t0 = self.cfg, time.perf_counter()
        self.epoch += 1
        self._order = None
        loss_sum, correct, n, seconds = self._epoch_sums
        self._epoch_sums = [0.0, 0, 0, 0.0]
        kw = dict(device=self.device, tta=cfg.tta, precision=cfg.precision, channels_last=cfg.channels_last)
        val = evaluate(self.model, self.data.x_train[self.val_idx], self.data.y_train[self.val_idx], self.data,
                       **kw) if len(self.val_idx) else None
        last = self.epoch >= cfg.epochs
        stop_early = False
        if cfg.early_stopping and val is not None:
            if self._best is None or val.loss < self._best[0]:
                self._best = (val.loss, self.epoch, copy.deepcopy(self.model.state_dict()))
                self._bad_epochs = 0
            else:
                self._bad_epochs += 1
                stop_early = self._bad_epochs >= cfg.early_stopping and not last
        if stop_early or (last and self._best is not None and self._best[1] != self.epoch):
            self.model.load_state_dict(self._best[2])  # keep the weights of the best validation epoch
            self.history.best_epoch = self._best[1]
        test = None
        if cfg.test_every_epoch or last or stop_early:
            test = evaluate(self.model, self.data.x_test, self.data.y_test, self.data, **kw)
        self.train_seconds += time.perf_counter() - t0
        log = EpochLog(self.epoch, loss_sum / max(n, 1), correct / max(n, 1), val.loss if val else None,
                       val.accuracy if val else None, test.loss if test else None, test.accuracy if test else None,
                       self.train_seconds, n / seconds if seconds else 0.0)
        self.history.epochs.append(log)
        if self.on_epoch:
            self.on_epoch(log)
        if stop_early:
            self.history.status = "stopped_early"
            self.history.reason = (f"Early stopping: the validation loss has not improved for "
                                   f"{_epochs(cfg.early_stopping)}; the weights of epoch {self._best[1]} were kept.")
        elif last:
            self.history.status = "finished"
            self.history.reason = f"Finished {_epochs(cfg.epochs)} in {self.train_seconds:.1f} s."
        if self.done:
            self.history.warning = self._did_not_learn(test or val)
        self.model.train()

    def _did_not_learn(self, final: Metrics | None) -> str:
        """Why a run that ended did not learn, in words ("" when it did): accuracy at chance, exploded loss."""
        chance = 1 / self.data.num_classes
        problems = []
        if final is not None and final.accuracy <= chance + 0.05:
            problems.append(f"its accuracy ({final.accuracy:.1%}) is no better than guessing ({chance:.0%} for "
                            f"{self.data.num_classes} classes)")
        if self.first_loss and self.peak_loss > max(100 * self.first_loss, 10):
            problems.append(f"the loss exploded to {self.peak_loss:.3g} (it started at {self.first_loss:.3g})")
        if not problems:
            return ""
        return (f"This run did not learn: {' and '.join(problems)}. Lower the learning rate (now {self.cfg.lr:g}), "
                "or try another optimizer or initialisation.")


def train(model: nn.Module, data: ImageData, cfg: TrainConfig, *, device: str = "cpu",
          on_step: Callable[[StepLog], None] | None = None,
          on_epoch: Callable[[EpochLog], None] | None = None) -> History:
    """Train to the end (or divergence / early stop) and return the history; the model is trained in place."""
    trainer = Trainer(model, data, cfg, device=device, on_step=on_step, on_epoch=on_epoch)
    trainer.run()
    return trainer.history
