"""The learning-rate range test (L. Smith 2015; fastai's lr_find): train a copy of the model for ~100 batches while
the lr grows exponentially from 1e-7 to 10, and read a good lr off the loss curve.

    result = find_lr(model, optimizer, data, FinderConfig())     # 3 seeds; the model and optimizer are untouched
    result.suggested, result.untouched                           # -> 0.0021, True

The test runs on `copy.deepcopy((model, optimizer))` (one copy of both, so the copied optimizer steps the copied
parameters and keeps its state: Adam's moments, SGD's momentum), and a sha256 checksum of every tensor of both
state_dicts before and after proves the learner's own model and optimizer did not change. Marks on the curve:
the minimum of the smoothed loss, the steepest descent (the most negative slope of the smoothed loss against
log10 lr) and a "valley" after fastai's (the suggestion). Like fastai, the marks skip the first 10% of the steps and the
last 5, where the EMA is still warming up or the loss is already exploding.
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.image_data import ImageData
from core.models import ModelConfig, set_generator
from core.quick_train import QuickConfig, quick_train_code, random_batch
from core.training import TrainConfig


@dataclass(frozen=True)
class FinderConfig:
    start_lr: float = 1e-7
    end_lr: float = 10.0
    steps: int = 100  # batches, the lr growing by the same factor at each
    batch_size: int = 128
    beta: float = 0.98  # EMA smoothing of the loss (debiased), as fastai
    diverge: float = 4.0  # stop once the smoothed loss exceeds this many times the best so far
    seeds: tuple[int, ...] = (0, 1, 2)  # one test per seed (batch order, dropout masks): the band

    def __post_init__(self):
        if not (0 < self.start_lr < self.end_lr and math.isfinite(self.end_lr)):
            raise ValueError("the lr range must satisfy 0 < start_lr < end_lr")
        if self.steps < 10 or self.batch_size < 1 or not 0 <= self.beta < 1 or self.diverge <= 1 or not self.seeds:
            raise ValueError("at least 10 steps, a batch size >= 1, beta in [0, 1), diverge > 1 and one seed")

    def lr(self, i: int) -> float:
        """The lr of step i (0-based). Example: FinderConfig().lr(99) -> 10.0"""
        return self.start_lr * (self.end_lr / self.start_lr) ** (i / (self.steps - 1))


@dataclass(frozen=True, eq=False)
class RangeTest:
    """One range test (one seed)."""

    seed: int
    lrs: torch.Tensor  # (T,) float64, T <= steps: it stops when the loss explodes
    losses: torch.Tensor  # (T,) the batch losses
    smoothed: torch.Tensor  # (T,) their debiased EMA
    minimum: float  # the lr at the lowest smoothed loss
    steepest: float  # the lr where the smoothed loss falls fastest against log10 lr
    valley: float  # fastai's valley: the suggestion
    stopped: str  # why it stopped, in words


@dataclass(frozen=True, eq=False)
class FinderResult:
    tests: tuple[RangeTest, ...]
    lrs: torch.Tensor  # (T,) the longest test's lrs (every test uses the same schedule)
    band: torch.Tensor  # (3, T) min, median, max of the smoothed losses of the tests that reached each step
    suggested: float  # the median of the tests' valleys
    minimum: float  # medians of the tests' marks
    steepest: float
    checksum_before: str  # sha256 of the model's and the optimizer's state_dict tensors
    checksum_after: str
    seconds: float

    @property
    def untouched(self) -> bool:
        """Whether the learner's model and optimizer are bit for bit as they were."""
        return self.checksum_before == self.checksum_after


def checksum(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> str:
    """sha256 over every tensor (name, dtype, shape, bytes) of model.state_dict() and optimizer.state_dict()."""
    h = hashlib.sha256()
    _feed(h, model.state_dict())
    if optimizer is not None:
        _feed(h, optimizer.state_dict())
    return h.hexdigest()


def _feed(h, obj) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous().reshape(-1)
        h.update(f"{t.dtype}{tuple(obj.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        for key in sorted(obj, key=repr):
            h.update(repr(key).encode())
            _feed(h, obj[key])
    elif isinstance(obj, list | tuple):
        for item in obj:
            _feed(h, item)
    else:
        h.update(repr(obj).encode())


def valley(losses: list[float]) -> int:
    """After fastai's valley: the index half way down (a third plus a sixth) the longest decreasing subsequence.

    Example: valley([5, 4, 3, 2, 1, 9]) -> 1
    """
    n = len(losses)
    run = [1] * n  # run[i]: the longest decreasing subsequence ending at i
    start = end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
        if run[end] < run[i]:
            end, start = i, i - run[i] + 1
    sections = (end - start) / 3
    return start + int(sections) + int(sections / 2)


def _marks(lrs: list[float], smoothed: list[float]) -> tuple[float, float, float]:
    """(minimum, steepest, valley) lrs, on the steps left after skipping the first 10% and the last 5."""
    skip_end = 5 if len(lrs) > 20 else 0
    lo, hi = len(lrs) // 10, len(lrs) - skip_end
    if hi - lo < 3:
        lo, hi = 0, len(lrs)
    lrs, smoothed = lrs[lo:hi], smoothed[lo:hi]
    loss = torch.tensor(smoothed, dtype=torch.float64)
    slope = torch.gradient(loss, spacing=(torch.tensor(lrs, dtype=torch.float64).log10(),))[0]  # d loss / d log10 lr
    finite = torch.isfinite(loss)
    minimum = lrs[int(torch.where(finite, loss, math.inf).argmin())]
    steepest = lrs[int(torch.where(torch.isfinite(slope), slope, math.inf).argmin())]
    return minimum, steepest, lrs[valley(smoothed)]


def range_test(model: nn.Module, optimizer: torch.optim.Optimizer, data: ImageData, cfg: FinderConfig,
               seed: int) -> RangeTest:
    """One range test on a deep copy of (model, optimizer): batches and dropout masks drawn from `seed`."""
    model, optimizer = copy.deepcopy((model, optimizer))  # one memo: the copied optimizer steps the copied weights
    set_generator(model, torch.Generator().manual_seed(seed + 1))  # dropout masks, if the model has dropout
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    model.train()
    lrs, losses, smoothed = [], [], []
    avg, best, stopped = 0.0, math.inf, f"reached lr {cfg.end_lr:g}"
    for i in range(cfg.steps):
        lr = cfg.lr(i)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = random_batch(data, cfg.batch_size, g)
        loss = F.cross_entropy(model(x.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        avg = cfg.beta * avg + (1 - cfg.beta) * value
        smooth = avg / (1 - cfg.beta ** (i + 1))  # debiased: the average starts at 0
        lrs.append(lr)
        losses.append(value)
        smoothed.append(smooth)
        if not math.isfinite(smooth) or smooth > cfg.diverge * best:
            stopped = f"the loss exploded at lr {lr:.3g} (more than {cfg.diverge:g}x the best)"
            break
        best = min(best, smooth)
    minimum, steepest, suggestion = _marks(lrs, smoothed)
    as_tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return RangeTest(seed, as_tensor(lrs), as_tensor(losses), as_tensor(smoothed), minimum, steepest, suggestion,
                     stopped)


def find_lr(model: nn.Module, optimizer: torch.optim.Optimizer, data: ImageData,
            cfg: FinderConfig = FinderConfig()) -> FinderResult:
    """The range test over every seed of `cfg`, the band of their curves, and the proof that the learner's model
    and optimizer are untouched (checksums before and after)."""
    t0 = time.perf_counter()
    before = checksum(model, optimizer)
    tests = tuple(range_test(model, optimizer, data, cfg, seed) for seed in cfg.seeds)
    after = checksum(model, optimizer)
    longest = max(tests, key=lambda t: len(t.lrs))
    curves = torch.full((len(tests), len(longest.lrs)), math.nan, dtype=torch.float64)
    for row, test in zip(curves, tests, strict=True):
        row[:len(test.smoothed)] = test.smoothed
    band = torch.stack([curves.nan_to_num(math.inf).amin(0), curves.nanmedian(0).values,
                        curves.nan_to_num(-math.inf).amax(0)])  # (3, T)
    median = lambda values: float(torch.tensor(values, dtype=torch.float64).log().median().exp())  # noqa: E731
    return FinderResult(tests, longest.lrs, band, median([t.valley for t in tests]),
                        median([t.minimum for t in tests]), median([t.steepest for t in tests]), before, after,
                        time.perf_counter() - t0)


def lr_finder_code(dataset: str, model_cfg: ModelConfig, train_cfg: TrainConfig, cfg: FinderConfig,
                   test: RangeTest, init_seed: int = 0) -> str:
    """A script running the range test of `test.seed` on a fresh model (build_model(model_cfg, seed=init_seed))
    and printing its valley lr, the suggestion; it reproduces `range_test` on that model exactly."""
    quick = QuickConfig(steps=0, batch_size=cfg.batch_size, seed=init_seed)
    head = quick_train_code(dataset, model_cfg, train_cfg, quick).replace(
        f"g = torch.Generator().manual_seed({init_seed})  # the batch draws",
        f"g = torch.Generator().manual_seed({test.seed})  # the batch draws of this test")
    own_dropout = f"set_generator(model, torch.Generator().manual_seed({init_seed + 1}))  # dropout masks (if any)\n"
    head = head.replace(own_dropout, "")  # the learner's model never trains here
    return f"""import copy
{head}before = [t.clone() for t in model.state_dict().values()]
# the test trains a copy: deepcopy both at once, so the copied optimizer steps the copied weights
model_copy, opt_copy = copy.deepcopy((model, optimizer))
set_generator(model_copy, torch.Generator().manual_seed({test.seed + 1}))  # dropout masks (if any)
model_copy.train()
lrs, smoothed, avg, best = [], [], 0.0, float('inf')
for i in range({cfg.steps}):
    lr = {cfg.start_lr!r} * ({cfg.end_lr!r} / {cfg.start_lr!r}) ** (i / {cfg.steps - 1})  # exponential growth
    for group in opt_copy.param_groups:
        group['lr'] = lr
    x, y = batch()
    loss = F.cross_entropy(model_copy(x), y)
    opt_copy.zero_grad()
    loss.backward()
    opt_copy.step()
    avg = {cfg.beta!r} * avg + (1 - {cfg.beta!r}) * loss.item()
    smooth = avg / (1 - {cfg.beta!r} ** (i + 1))  # the EMA, debiased
    lrs.append(lr)
    smoothed.append(smooth)
    if smooth != smooth or smooth > {cfg.diverge!r} * best:  # NaN, or {cfg.diverge:g}x the best: stop
        break
    best = min(best, smooth)
print(len(lrs))  # {len(test.lrs)}

# the valley (after fastai's), on the curve without its first 10% and last 5 steps
lo, hi = len(lrs) // 10, len(lrs) - (5 if len(lrs) > 20 else 0)
if hi - lo < 3:
    lo, hi = 0, len(lrs)
lrs, smoothed = lrs[lo:hi], smoothed[lo:hi]
run, start, end = [1] * len(smoothed), 0, 0  # run[i]: the longest decreasing stretch ending at i
for i in range(1, len(smoothed)):
    for j in range(i):
        if smoothed[i] < smoothed[j] and run[i] < run[j] + 1:
            run[i] = run[j] + 1
    if run[end] < run[i]:
        end, start = i, i - run[i] + 1
third = (end - start) / 3
print(f'{{lrs[start + int(third) + int(third / 2)]:.4g}}')  # {test.valley:.4g}
print(all(torch.equal(a, b) for a, b in zip(before, model.state_dict().values())))  # True
"""
