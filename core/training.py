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
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from core.data import ImageData, augment, normalize
from core.models import ModelConfig, build_model, set_generator

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
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


@dataclass(frozen=True)
class Metrics:
    loss: float
    accuracy: float
    n: int


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


def _prepare(x_uint8: torch.Tensor, data: ImageData, device, channels_last: bool) -> torch.Tensor:
    x = normalize(x_uint8, data.mean, data.std)  # (B, C, H, W) float32
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.to(device, non_blocking=True)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, data: ImageData, *, batch_size: int = 1000, device="cpu",
            tta: bool = False, precision: str = "fp32", channels_last: bool = False) -> torch.Tensor:
    """Class probabilities (N, classes) for uint8 images x (N, C, H, W), in eval mode (then restored).

    tta: average the softmax of each image and its mirror (test-time augmentation).
    """
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(x), batch_size):
            xb = _prepare(x[start:start + batch_size], data, device, channels_last)
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                probs = model(xb).float().softmax(dim=1)  # (B, classes)
                if tta:
                    probs = (probs + model(xb.flip(3)).float().softmax(dim=1)) / 2
            out.append(probs.cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, data.num_classes)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, data: ImageData, **kwargs) -> Metrics:
    """Mean cross-entropy (no label smoothing) and accuracy of the model on uint8 images x and labels y."""
    if len(y) == 0:
        return Metrics(float("nan"), float("nan"), 0)
    probs = predict(model, x, data, **kwargs)
    loss = F.nll_loss(probs.clamp_min(1e-12).log(), y).item()
    return Metrics(loss, (probs.argmax(1) == y).float().mean().item(), len(y))


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
        """Free what only further training needs (optimizer state, gradients, the early-stopping snapshot)."""
        self.optimizer.state.clear()
        self.model.zero_grad(set_to_none=True)
        self._best = None

    def run(self, *, max_steps: int | None = None, max_seconds: float | None = None) -> str:
        """Train until done, or for at most `max_steps` steps / about `max_seconds`; returns the status."""
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
        x = _prepare(x, self.data, self.device, cfg.channels_last)
        y = self.data.y_train[idx].to(self.device, non_blocking=True)  # (B,)
        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
            logits = self.model(x)  # (B, classes)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        loss_value = loss.item()
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
        self.model.train()


def train(model: nn.Module, data: ImageData, cfg: TrainConfig, *, device: str = "cpu",
          on_step: Callable[[StepLog], None] | None = None,
          on_epoch: Callable[[EpochLog], None] | None = None) -> History:
    """Train to the end (or divergence / early stop) and return the history; the model is trained in place."""
    trainer = Trainer(model, data, cfg, device=device, on_step=on_step, on_epoch=on_epoch)
    trainer.run()
    return trainer.history


# ---------------------------------------------------------------------------------------------------------------
# After training: what the model gets right and wrong
# ---------------------------------------------------------------------------------------------------------------

def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(classes, classes) counts: row = true class, column = predicted class.

    Example: confusion_matrix(tensor([0, 1, 1]), tensor([0, 0, 1]), 2).tolist() -> [[1, 0], [1, 1]]
    """
    return torch.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Diagonal over row sums: the fraction of each true class classified correctly (nan for an empty class)."""
    return cm.diag().double() / cm.sum(1).double()


def confident_mistakes(probs: torch.Tensor, y: torch.Tensor, n: int = 12) -> torch.Tensor:
    """Indices of the `n` wrong predictions made with the highest confidence, most confident first."""
    conf, pred = probs.max(1)
    wrong = (pred != y).nonzero().flatten()
    return wrong[conf[wrong].argsort(descending=True)[:n]]


# ---------------------------------------------------------------------------------------------------------------
# Checkpoints: a plain state_dict (.pt) and its config (.json)
# ---------------------------------------------------------------------------------------------------------------

class CheckpointError(ValueError):
    """An uploaded checkpoint that cannot be used; str(error) says why, for the learner."""


def weights_bytes(model: nn.Module) -> bytes:
    """The model's state_dict as a .pt file: load it with model.load_state_dict(torch.load(f, weights_only=True))."""
    buffer = io.BytesIO()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, buffer)
    return buffer.getvalue()


def config_json(model_cfg: ModelConfig, train_cfg: TrainConfig | None = None, *, dataset: str = "",
                metrics: dict | None = None) -> str:
    """The JSON that goes with the weights: what to build before load_state_dict, and how it was trained."""
    return json.dumps({"format": "pytorch-lab/1", "dataset": dataset, "model": model_cfg.to_dict(),
                       "train": train_cfg.to_dict() if train_cfg else None, "metrics": metrics or {}}, indent=2)


def read_config_json(data: bytes | str) -> tuple[ModelConfig, dict]:
    """ModelConfig and the whole document from a config .json; CheckpointError with a reason otherwise."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError("The config file is not valid JSON.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("model"), dict):
        raise CheckpointError("The config file has no \"model\" section: use the .json saved with the weights.")
    try:
        return ModelConfig.from_dict(doc["model"]), doc
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"The config file describes no model this app can build: {exc}.") from None


def load_weights(data: bytes, model_cfg: ModelConfig) -> nn.Module:
    """Build `model_cfg` and load the state_dict in `data` (torch.load(weights_only=True), strict).

    Raises CheckpointError saying what is wrong: not a PyTorch file, not a state_dict, or weights that do not
    fit this architecture (missing / unexpected layers, shape mismatches).
    """
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # pickle, zip and torch errors all mean the same to a learner
        raise CheckpointError("This file is not a PyTorch weights file (.pt saved with torch.save) or it is "
                              "damaged.") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError("The file holds no state_dict (a dict of parameter names to tensors).")
    with torch.device("meta"):  # names and shapes only: a foreign config cannot make us allocate a huge model
        expected = build_model(model_cfg, seed=None).state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s), e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unknown tensor(s), e.g. {', '.join(unexpected[:3])}")
        if wrong:
            parts.append(f"{len(wrong)} shape mismatch(es), e.g. {'; '.join(wrong[:2])}")
        raise CheckpointError(f"These weights do not fit the architecture {model_cfg.arch!r} "
                              f"({'; '.join(parts)}). Choose the architecture they were trained with, or "
                              "upload the matching config .json.")
    n = sum(v.numel() for v in expected.values())
    if 4 * n > 2 * len(data) + 2**20:  # tensors that share one storage: small on disk, huge as a model
        raise CheckpointError(f"This file ({len(data):,} bytes) is far smaller than the {n:,} numbers these "
                              "weights need: it is not a plain state_dict.")
    model = build_model(model_cfg, seed=None)
    model.load_state_dict(state, strict=True)
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise CheckpointError("The weights contain NaN or infinite values (a diverged run?).")
    return model.eval()


# ---------------------------------------------------------------------------------------------------------------
# Presets: tuned settings behind the app's one-click choices and the benchmarks
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preset:
    dataset: str  # "mnist", "fashion-mnist" or "cifar10"
    model: ModelConfig
    train: TrainConfig
    note: str


def fast_bf16() -> bool:
    """Whether bfloat16 autocast is fast here: a GPU, or a CPU with native BF16 (AVX-512 BF16 / AMX)."""
    if torch.cuda.is_available():
        return True
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def presets() -> dict[str, Preset]:
    """The app's presets by name (see BENCHMARKS.md for what each reaches, and how fast, on 2 CPU cores).

    They use bfloat16 and channels-last where this machine runs them fast, float32 otherwise.
    """
    fast = fast_bf16()
    speed = {"precision": "bf16" if fast else "fp32", "channels_last": True}
    mnist_fast = ModelConfig("fastnet", 1, 28, batchnorm=True, widths=(8, 16, 32, 64))
    cifar = ModelConfig("fastnet", 3, 32, batchnorm=True, widths=(16, 32, 64, 128))
    cifar_sgd = dict(lr=0.2, momentum=0.9, nesterov=True, weight_decay=5e-4, batch_size=256, schedule="onecycle",
                     warmup=0.2, label_smoothing=0.2, crop_padding=2, flip=True, val_fraction=0.0, tta=True,
                     log_every=10, **speed)
    return {
        "mnist-fast": Preset("mnist", mnist_fast, TrainConfig(
            "adamw", lr=5e-3, weight_decay=5e-4, batch_size=256, epochs=1, schedule="onecycle", warmup=0.2,
            label_smoothing=0.1, val_fraction=0.0, test_every_epoch=False, log_every=20, **speed),
            "FastNet (x0.5) on MNIST, one epoch: ~99.2% test accuracy in ~15 s on 2 CPU cores."),
        "mnist-mlp": Preset("mnist", ModelConfig("mlp"), TrainConfig(
            "sgd", lr=0.1, momentum=0.9, batch_size=128, epochs=3, schedule="cosine"),
            "The textbook MLP 784-200-200-10 with SGD + momentum: ~98%."),
        "cifar-default": Preset("cifar10", cifar, TrainConfig("sgd", epochs=2, test_every_epoch=True, **cifar_sgd),
                                "FastNet on CIFAR-10, crops and flips, 2 epochs: ~77% in ~1 minute on 2 CPU cores."),
        "cifar-80": Preset("cifar10", cifar, TrainConfig("sgd", epochs=8, test_every_epoch=False, **cifar_sgd),
                           "The same FastNet for 8 epochs: ~85% on CIFAR-10 in ~3.5 minutes on 2 CPU cores."),
    }


# ---------------------------------------------------------------------------------------------------------------
# The code that runs: a standalone loop equivalent to Trainer, written from the same values
# ---------------------------------------------------------------------------------------------------------------

_LOADERS = {"mnist": "load_mnist()", "fashion-mnist": "load_fashion_mnist()", "cifar10": "load_cifar10()"}


def _optimizer_code(cfg: TrainConfig) -> str:
    wd = f", weight_decay={cfg.weight_decay:g}" if cfg.weight_decay else ""
    if cfg.optimizer == "sgd":
        nesterov = ", nesterov=True" if cfg.nesterov and cfg.momentum > 0 else ""
        return f"torch.optim.SGD(model.parameters(), lr={cfg.lr:g}, momentum={cfg.momentum:g}{nesterov}{wd})"
    if cfg.optimizer == "rmsprop":
        return f"torch.optim.RMSprop(model.parameters(), lr={cfg.lr:g}, momentum={cfg.momentum:g}{wd})"
    name = "Adam" if cfg.optimizer == "adam" else "AdamW"
    return f"torch.optim.{name}(model.parameters(), lr={cfg.lr:g}{wd})"


def _scheduler_code(cfg: TrainConfig) -> str:
    total = f"{cfg.epochs} * steps_per_epoch"
    if cfg.schedule == "onecycle":
        return (f"torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr={cfg.lr:g}, total_steps={total}, "
                f"pct_start={cfg.warmup:g}, cycle_momentum=False)")
    if cfg.schedule == "cosine":
        return f"torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max={total})"
    if cfg.schedule == "step":
        return (f"torch.optim.lr_scheduler.StepLR(optimizer, step_size={cfg.step_every} * steps_per_epoch, "
                f"gamma={cfg.gamma:g})")
    return "torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)  # constant lr"


def training_code(dataset: str, model_cfg: ModelConfig, cfg: TrainConfig, model_code: str | None = None) -> str:
    """A standalone script doing what Trainer does with these settings (same order of operations).

    `model_code`: the model as nn.Sequential code (core.models.sequential_code); otherwise it is built by name.
    """
    loader = _LOADERS.get(dataset, "load_image_folder('path/to/folder')")
    loader_name = loader.split("(")[0]
    if model_code is None:
        model_code = (f"from core.models import ModelConfig, build_model\n"
                      f"model = build_model(ModelConfig(**{model_cfg.to_dict()!r}), seed={cfg.seed})")
    device = "cpu"
    bf16 = cfg.precision == "bf16"
    lines = [
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        f"from core.data import {loader_name}, augment, normalize  # images as uint8 tensors in memory",
        "",
        f"data = {loader}  # x_train: {'(N, C, H, W)'} uint8, y_train: (N,) int64",
        f"torch.manual_seed({cfg.seed})  # the initial weights and dropout masks (fine in a script of your own)",
        model_code,
    ]
    if cfg.channels_last:
        lines.append("model = model.to(memory_format=torch.channels_last)  # NHWC: faster convolutions on CPUs")
    lines += [
        f"g = torch.Generator().manual_seed({cfg.seed})  # split, batch order and augmentation",
        "pool = torch.randperm(len(data.y_train), generator=g)",
    ]
    if cfg.train_subset:
        lines.append(f"pool = pool[:{cfg.train_subset}]  # a subset, for a quick run")
    lines += [
        f"n_val = int(len(pool) * {cfg.val_fraction:g})",
        "val_idx, train_idx = pool[:n_val].sort().values, pool[n_val:].sort().values",
        f"batch_size = {cfg.batch_size}",
        "steps_per_epoch = len(train_idx) // batch_size",
        f"optimizer = {_optimizer_code(cfg)}",
        f"scheduler = {_scheduler_code(cfg)}",
        "",
        f"for epoch in range({cfg.epochs}):",
        "    model.train()",
        "    order = train_idx[torch.randperm(len(train_idx), generator=g)]",
        "    for step in range(steps_per_epoch):",
        "        idx = order[step * batch_size:(step + 1) * batch_size]",
        "        x = data.x_train[idx]  # (B, C, H, W) uint8",
    ]
    if cfg.crop_padding or cfg.flip:
        lines.append(f"        x = augment(x, g, crop_padding={cfg.crop_padding}, flip={cfg.flip})  # whole batch at once")
    lines.append("        x = normalize(x, data.mean, data.std)  # float32, mean 0 and std 1 per channel")
    if cfg.channels_last:
        lines.append("        x = x.contiguous(memory_format=torch.channels_last)")
    smoothing = f", label_smoothing={cfg.label_smoothing:g}" if cfg.label_smoothing else ""
    if bf16:
        lines += [f"        with torch.autocast({device!r}, dtype=torch.bfloat16):  # bfloat16 matmuls and convs",
                  "            logits = model(x)  # (B, classes)"]
    else:
        lines.append("        logits = model(x)  # (B, classes)")
    lines += [
        f"        loss = F.cross_entropy(logits.float(), data.y_train[idx]{smoothing})",
        "        if not torch.isfinite(loss):",
        "            raise RuntimeError(f'diverged at epoch {epoch}, step {step}: lower the learning rate')",
        "        optimizer.zero_grad()",
        "        loss.backward()",
        "        optimizer.step()",
        "        scheduler.step()",
        "    model.eval()",
        "    with torch.inference_mode():",
        "        x_test = normalize(data.x_test, data.mean, data.std)",
    ]
    if bf16:
        lines += ["        with torch.autocast('cpu', dtype=torch.bfloat16):",
                  "            probs = model(x_test).float().softmax(1)"]
    else:
        lines.append("        probs = model(x_test).softmax(1)")
    if cfg.tta:
        lines.append("        probs = (probs + model(x_test.flip(3)).float().softmax(1)) / 2  # + the mirrored images")
    lines.append("    print(epoch + 1, 'test accuracy', (probs.argmax(1) == data.y_test).float().mean().item())")
    return "\n".join(lines)
