"""Distributions inside a training run, per layer, every k steps: weights, activations and gradients (histograms and
percentiles), the update-to-weight ratio, dead ReLU units (core.diagnosis reads them: findings in plain words).

    recorder = Recorder(model, RecorderConfig(every=10))
    trainer.recorder = recorder            # Trainer calls recorder.after_step(lr) after every optimizer.step()
    trainer.run(max_steps=300)
    recorder.close()                       # removes every hook
    diagnose(recorder.records)             # core.diagnosis: ["40% of layer 2 (net.3)'s units never fire ...", ...]

In a loop of your own, call `recorder.after_step(lr)` right after `optimizer.step()`.

A record is taken at steps 1, 1 + k, 1 + 2k, ...: forward hooks are registered before that step (and removed after
it). Each Linear/Conv2d layer's hook copies its weight (w before the step); the hook on the activation module after
it (ReLU, tanh, GELU ...; the layer itself when none follows) keeps its output for the batch. After
optimizer.step(), `after_step` reads each weight's gradient (still in .grad) and the new weight. Forward passes in
eval mode or without grad (validation, test) are ignored.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.image_data import ImageData
from core.models import ModelConfig
from core.quick_train import QuickConfig, quick_train, quick_train_code
from core.training import TrainConfig

PERCENTILES = (5, 25, 50, 75, 95)
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid)
KINDS = ("weights", "grads", "activations")


@dataclass(frozen=True)
class RecorderConfig:
    """What to record and how often."""

    every: int = 10  # record at steps 1, 1 + every, 1 + 2 * every, ...
    bins: int = 40  # histogram bins, spread over each record's own min..max (stored as lo, hi)
    max_sample: int = 8192  # distributions use at most this many values per tensor (a fixed random sample)
    seed: int = 0  # of the samples

    def __post_init__(self):
        if min(self.every, self.bins, self.max_sample) < 1:
            raise ValueError("every, bins and max_sample must be at least 1")


@dataclass(frozen=True, eq=False)
class Distribution:
    """The values of one tensor (a random sample of a big one): a histogram over [lo, hi], percentiles, mean, std."""

    counts: torch.Tensor  # (bins,) float32: torch.histc(values, bins, lo, hi) (computed by `histc`)
    lo: float  # min
    hi: float  # max
    percentiles: tuple[float, ...]  # at PERCENTILES, torch.quantile's linear interpolation
    mean: float
    std: float  # population std (correction=0)
    norm: float  # L2 norm of every value (the Frobenius norm of the tensor)
    numel: int  # values in the tensor; all but `norm` are over at most RecorderConfig.max_sample of them
    nonfinite: int  # NaN or inf values among those (left out of everything else)

    @property
    def edges(self) -> torch.Tensor:
        """(bins + 1,) bin edges."""
        return torch.linspace(self.lo, self.hi, len(self.counts) + 1, dtype=torch.float64)


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """One Linear/Conv2d layer at one recorded step."""

    name: str  # the layer's module name, e.g. "net.1"
    kind: str  # "Linear" or "Conv2d"
    activation: str  # the module whose output is recorded, e.g. "net.2 (ReLU)"
    weights: Distribution  # the weight before the step (the one that produced the activations and gradients)
    grads: Distribution  # the weight's gradient on the batch
    activations: Distribution  # the activation module's output on the batch
    weight_norm: float  # |w| (Frobenius) before the step
    grad_norm: float  # |grad|
    grad_rms: float  # |grad| / sqrt(numel): comparable between layers of different sizes
    update_ratio: float  # |w_after - w_before| / |w_before|: the step the optimizer actually took
    lr_ratio: float  # lr * |grad| / |w|: the step plain SGD would take
    dead_fraction: float | None  # ReLU only: fraction of units (features / channels) never positive on the batch


@dataclass(frozen=True, eq=False)
class Record:
    step: int  # 1-based optimizer step
    lr: float
    layers: tuple[LayerRecord, ...]

    def layer(self, name: str) -> LayerRecord:
        """The record of the layer with this module name."""
        return next(r for r in self.layers if r.name == name)


def tracked_layers(model: nn.Module) -> list[tuple[str, nn.Module, str, nn.Module]]:
    """(layer name, layer, activation name, activation module) for every Linear/Conv2d, in module order.

    The activation is the first ACTIVATIONS module after the layer and before the next Linear/Conv2d (BatchNorm,
    pooling, dropout in between are skipped); the layer itself when there is none (e.g. the output layer).
    """
    leaves = [(n, m) for n, m in model.named_modules() if next(m.children(), None) is None]
    out = []
    for i, (name, m) in enumerate(leaves):
        if not isinstance(m, nn.Linear | nn.Conv2d):
            continue
        act_name, act = name, m
        for later_name, later in leaves[i + 1:]:
            if isinstance(later, nn.Linear | nn.Conv2d):
                break
            if isinstance(later, ACTIVATIONS):
                act_name, act = later_name, later
                break
        out.append((name, m, act_name, act))
    return out


def distribution(values: torch.Tensor, bins: int, *, max_sample: int = 8192,
                 sample: torch.Tensor | None = None) -> Distribution:
    """Histogram (torch.histc's bins over the values' own min..max), percentiles, mean and std of a tensor's
    values, and its norm.

    The norm uses every value; everything else uses at most `max_sample` of them, the values at `sample` (random
    indices into the flattened tensor, from `sample_indices`) when there are more: exact for small tensors, and
    cheap enough to record a big layer every few steps (in numpy, whose sort is ~10x faster than torch's here).
    """
    x = values.detach().reshape(-1).float()  # (n,)
    n = x.numel()
    norm = x.norm().item() if n else math.nan
    v = x.cpu().numpy()  # a view: no copy for a float32 CPU tensor
    if n > max_sample:
        v = v[(sample if sample is not None else sample_indices(n, max_sample)).numpy()]  # (max_sample,)
    a = np.sort(v)  # NaN sorts last, -inf first
    if len(a) and not (np.isfinite(a[0]) and np.isfinite(a[-1])):
        a = a[np.isfinite(a)]
    nonfinite = len(v) - len(a)
    if len(a) == 0:
        nan = math.nan
        return Distribution(torch.zeros(bins), nan, nan, (nan,) * len(PERCENTILES), nan, nan, norm, n, nonfinite)
    lo, hi = float(a[0]), float(a[-1])
    if hi <= lo:  # every value equal: one bin in the middle of a unit-wide range
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.from_numpy(histc(a, bins, lo, hi))  # (bins,)
    centred = a.astype(np.float64)
    mean = float(centred.sum()) / len(a)
    centred -= mean
    std = math.sqrt(float(np.dot(centred, centred)) / len(a))
    return Distribution(counts, lo, hi, _quantiles(a, PERCENTILES), mean, std, norm, n, nonfinite)


def histc(a: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    """torch.histc(torch.from_numpy(a), bins, lo, hi) for float32 values, ~4x faster on small arrays: the same
    formula, bin = int((x - lo) * bins / (hi - lo)) in float32, x == hi in the last bin (tested against torch.histc).
    """
    a = np.asarray(a, dtype=np.float32)
    lo32, hi32 = np.float32(lo), np.float32(hi)
    a = a[(a >= lo32) & (a <= hi32)]
    index = ((a - lo32) * np.float32(bins) / (hi32 - lo32)).astype(np.int64)
    return np.bincount(np.minimum(index, bins - 1), minlength=bins).astype(np.float32)


def _quantiles(a: np.ndarray, percents) -> tuple[float, ...]:
    """torch.quantile's linear interpolation on an already sorted array."""
    pos = np.asarray(percents, dtype=np.float64) / 100 * (len(a) - 1)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, len(a) - 1)
    low, high = a[below].astype(np.float64), a[above].astype(np.float64)
    return tuple((low + (high - low) * (pos - below)).tolist())


def sample_indices(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """k random indices into range(n) (with replacement), from torch.Generator().manual_seed(seed)."""
    return torch.randint(0, n, (k,), generator=torch.Generator().manual_seed(seed))


def dead_fraction(a: torch.Tensor) -> float:
    """Fraction of units (dim 1: features or channels) never positive anywhere in the batch a (B, units, ...)."""
    alive = a.detach().amax(dim=[0, *range(2, a.dim())]) > 0  # (units,) positive for some example, somewhere
    return 1.0 - alive.float().mean().item()


class Recorder:
    """Records every Linear/Conv2d layer of `model` every `cfg.every` steps; call `after_step(lr)` after each
    optimizer.step() and `close()` at the end (or use it as a context manager)."""

    def __init__(self, model: nn.Module, cfg: RecorderConfig = RecorderConfig()):
        self.model, self.cfg = model, cfg
        self.layers = tracked_layers(model)
        self.records: list[Record] = []
        self.step = 0  # optimizer steps seen
        self.closed = False
        self._handles: list = []
        self._before: dict[str, torch.Tensor] = {}
        self._acts: dict[str, torch.Tensor] = {}
        self._samples: dict[int, torch.Tensor] = {}  # numel -> the sample's indices, the same at every record
        self._arm()  # the first step is recorded

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Remove every hook and stop recording (the records are kept)."""
        self._disarm()
        self._before.clear()
        self._acts.clear()
        self.closed = True

    def after_step(self, lr: float = math.nan) -> Record | None:
        """Call right after optimizer.step(); returns the record taken at this step, if it was a recorded one."""
        if self.closed:
            return None
        self.step += 1
        record = None
        if self._handles:
            self._disarm()
            if self._before and self._acts:  # a training forward ran since the hooks went in
                record = self._record(lr)
                self.records.append(record)
        if self.step % self.cfg.every == 0:
            self._arm()
        return record

    def _arm(self) -> None:
        for name, layer, _, act in self.layers:
            self._handles.append(layer.register_forward_hook(functools.partial(self._keep_weight, name)))
            self._handles.append(act.register_forward_hook(functools.partial(self._keep_output, name)))

    def _disarm(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _distribution(self, t: torch.Tensor) -> Distribution:
        n, k = t.numel(), self.cfg.max_sample
        if n > k and n not in self._samples:
            self._samples[n] = sample_indices(n, k, self.cfg.seed + len(self._samples))
        return distribution(t, self.cfg.bins, max_sample=k, sample=self._samples.get(n))

    def _keep_weight(self, name, module, inputs, output) -> None:
        if module.training and torch.is_grad_enabled():
            self._before[name] = module.weight.detach().clone()

    def _keep_output(self, name, module, inputs, output) -> None:
        if module.training and torch.is_grad_enabled():
            self._acts[name] = output.detach()  # not a copy: nothing after it modifies it in place in these nets

    def _record(self, lr: float) -> Record:
        out = []
        for name, layer, act_name, act in self.layers:
            before, a, grad = self._before.get(name), self._acts.get(name), layer.weight.grad
            if before is None or a is None or grad is None:
                continue  # the layer did not run, or is frozen
            weights, grads, acts = (self._distribution(t) for t in (before, grad, a))
            step_norm = torch.dist(layer.weight.detach().float(), before.float()).item()  # |w_after - w_before|
            dead = dead_fraction(a) if isinstance(act, nn.ReLU | nn.ReLU6) else None
            out.append(LayerRecord(
                name, type(layer).__name__, f"{act_name} ({type(act).__name__})", weights, grads, acts,
                weights.norm, grads.norm, grads.norm / math.sqrt(grad.numel()), safe_ratio(step_norm, weights.norm),
                safe_ratio(lr * grads.norm, weights.norm), dead))
        self._before.clear()
        self._acts.clear()
        return Record(self.step, float(lr), tuple(out))


def safe_ratio(a: float, b: float) -> float:
    """a / b, with 0 / 0 = 0 and a / 0 = inf."""
    return a / b if b > 0 else (0.0 if a == 0 else math.inf)


# --- a recorded run and its script ------------------------------------------------------------------------------

def record_training(model: nn.Module, optimizer: torch.optim.Optimizer, data: ImageData, quick: QuickConfig,
                    cfg: RecorderConfig = RecorderConfig()) -> list[Record]:
    """Train with `quick_train` while a Recorder records; the hooks are removed afterwards."""
    with Recorder(model, cfg) as recorder:
        quick_train(model, optimizer, data, quick,
                    after_step=lambda step, loss: recorder.after_step(optimizer.param_groups[0]["lr"]))
    return recorder.records


def recorder_code(dataset: str, model_cfg: ModelConfig, train_cfg: TrainConfig, quick: QuickConfig,
                  record: Record, cfg: RecorderConfig = RecorderConfig()) -> str:
    """A script that replays `record_training` up to `record.step` and computes the first layer's numbers there
    with hooks of its own: its activations' norm (and mean, std, histogram and percentiles where the record holds
    every value), dead fraction and update-to-weight ratio."""
    layer = record.layers[0]
    act_name = layer.activation.split(" ")[0]
    a_numel = layer.activations.numel
    lines = [quick_train_code(dataset, model_cfg, train_cfg, quick, steps=record.step - 1),
             f"# step {record.step}: a recorded step",
             f"layer = model.get_submodule({layer.name!r})  # the first {layer.kind}",
             f"act = model.get_submodule({act_name!r})  # the module whose output is recorded",
             "kept = {}",
             "hook = act.register_forward_hook(lambda module, inputs, output: kept.update(a=output.detach()))",
             "w_before = layer.weight.detach().clone()",
             "x, y = batch()",
             "loss = F.cross_entropy(model(x), y)",
             "optimizer.zero_grad()",
             "loss.backward()",
             "optimizer.step()",
             "hook.remove()  # hooks cost time: take them out when done",
             "a = kept['a']  # (B, units, ...) the activations on this batch",
             f"print(f'{{a.norm().item():.4g}}')  # {layer.activations.norm:.4g}"]
    if a_numel <= cfg.max_sample:  # the recorder's statistics are exact (bigger tensors: a random sample's)
        lines += ["print(f'{a.mean().item():.4g} {a.std(correction=0).item():.4g}')  # "
                  f"{layer.activations.mean:.4g} {layer.activations.std:.4g}",
                  f"counts = torch.histc(a, bins={cfg.bins}, min=a.min().item(), max=a.max().item())",
                  "print(int(counts.argmax()), int(counts.max()))  # "
                  f"{int(layer.activations.counts.argmax())} {int(layer.activations.counts.max())}",
                  "q = torch.quantile(a.flatten(), torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95]))",
                  f"print([round(v, 4) for v in q.tolist()])  # {[round(v, 4) for v in layer.activations.percentiles]}"]
    if layer.dead_fraction is not None:
        lines += ["alive = a.transpose(0, 1).reshape(a.shape[1], -1).amax(1) > 0  # (units,) positive somewhere",
                  f"print(round(1 - alive.float().mean().item(), 4))  # {round(layer.dead_fraction, 4)}"]
    lines += ["ratio = (layer.weight.detach() - w_before).norm() / w_before.norm()  # |w_after - w_before| / |w|",
              f"print(f'{{ratio.item():.4g}}')  # {layer.update_ratio:.4g}"]
    return "\n".join(lines) + "\n"
