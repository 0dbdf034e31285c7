"""Reading a Recorder's records: one layer's percentiles, numbers or histograms over time, and `diagnose`, which
turns the records into findings in plain words, each with the number behind it.

    diagnose(recorder.records)
    # -> [Finding("vanishing", "net.1", 3e-08, "Layer 1 (net.1)'s gradients are 3e-8 times layer 13 (net.25)'s: ..."),
    #     Finding("dead", "net.3", 0.4, "40% of layer 2 (net.3)'s units never fire ...")]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from core.recorder import KINDS, PERCENTILES, Record, safe_ratio

# diagnose(): the thresholds, applied to the median over the last RECENT records
RECENT = 5
VANISHING = 1e-3  # the first layer's gradient RMS below this times the last layer's: gradients vanish on the way back
EXPLODING = 1e3  # ... above this times the last layer's: gradients explode on the way back
DEAD = 0.4  # this fraction or more of a ReLU layer's units never positive on the recorded batch: dead units
#              (healthy MNIST runs stay below ~0.3; a batch of 64 leaves some rarely-firing units silent)
LR_HIGH = 1e-1  # an update/weight ratio above this in some layer: the lr is too high (healthy runs: 1e-3 .. 3e-2)
LR_LOW = 1e-5  # below this in every layer (and no layer dead): the lr is too low, the weights barely move


@dataclass(frozen=True)
class Finding:
    kind: str  # "vanishing" | "exploding" | "dead" | "lr_high" | "lr_low" | "nonfinite" | "ok"
    layer: str | None  # the module name it is about (None: the whole model)
    value: float  # the number behind it (a ratio, a fraction)
    text: str  # the finding in plain words


def percentile_bands(records: list[Record], layer: str, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(steps (T,), percentiles (T, 5)) of one layer's "weights", "grads" or "activations" over time."""
    steps = torch.tensor([r.step for r in records])
    values = torch.tensor([getattr(r.layer(layer), kind).percentiles for r in records], dtype=torch.float64)
    return steps, values.reshape(len(records), len(PERCENTILES))


def layer_series(records: list[Record], layer: str, field: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(steps (T,), values (T,)) of one LayerRecord number over time, e.g. "update_ratio", "dead_fraction"."""
    values = [getattr(r.layer(layer), field) for r in records]
    return torch.tensor([r.step for r in records]), torch.tensor([math.nan if v is None else v for v in values],
                                                                 dtype=torch.float64)


def heatmap(records: list[Record], layer: str, kind: str, bins: int = 40) -> tuple[torch.Tensor, torch.Tensor,
                                                                                   torch.Tensor]:
    """(edges (bins + 1,), steps (T,), counts (T, bins)): every record's histogram re-binned onto one common range.

    Each record's counts are spread evenly inside its own bins (a piecewise-linear cumulative count), so a column
    keeps its total; the common range is the smallest lo to the largest hi over the records.
    """
    dists = [getattr(r.layer(layer), kind) for r in records]
    finite = [d for d in dists if math.isfinite(d.lo)]
    lo, hi = (min(d.lo for d in finite), max(d.hi for d in finite)) if finite else (0.0, 1.0)
    edges = np.linspace(lo, hi, bins + 1)
    rows = []
    for d in dists:
        if not math.isfinite(d.lo):
            rows.append(np.zeros(bins))
            continue
        cdf = np.concatenate([[0.0], d.counts.double().cumsum(0).numpy()])
        rows.append(np.diff(np.interp(edges, d.edges.numpy(), cdf)))
    return torch.from_numpy(edges), torch.tensor([r.step for r in records]), torch.from_numpy(np.stack(rows))


def _sci(x: float) -> str:
    """Example: _sci(1.2e-07) -> '1e-7'"""
    return re.sub(r"e([+-])0*(\d)", lambda m: f"e{'-' if m[1] == '-' else ''}{m[2]}", f"{x:.0e}")


def diagnose(records: list[Record]) -> list[Finding]:
    """Plain-words findings from the records (thresholds: VANISHING, EXPLODING, DEAD, LR_HIGH, LR_LOW, over the
    median of the last RECENT records); one "ok" finding when nothing is wrong."""
    if not records or not records[-1].layers:
        return [Finding("ok", None, math.nan, "Nothing recorded yet.")]
    recent = records[-RECENT:]
    names = [r.name for r in recent[-1].layers]

    def median(name: str, field: str) -> float:
        values = [getattr(r.layer(name), field) for r in recent if any(x.name == name for x in r.layers)]
        values = [v for v in values if v is not None]
        return float(np.median(values)) if values else math.nan

    def label(name: str, upper: bool = False) -> str:
        return f"{'L' if upper else 'l'}ayer {names.index(name) + 1} ({name})"

    findings = []
    last = recent[-1]
    broken = [layer.name for layer in last.layers if any(getattr(layer, k).nonfinite for k in KINDS)]
    if broken:  # everything else would only be a consequence
        return [Finding("nonfinite", broken[0], float(len(broken)), (
            f"NaN or infinite values in {', '.join(label(n) for n in broken)} at step {last.step}: training has "
            "diverged. Lower the learning rate."))]
    if len(names) >= 2:
        first, final = median(names[0], "grad_rms"), median(names[-1], "grad_rms")
        ratio = safe_ratio(first, final)
        if ratio < VANISHING:
            findings.append(Finding("vanishing", names[0], ratio, (
                f"{label(names[0], upper=True)}'s gradients are {_sci(ratio)} times {label(names[-1])}'s: vanishing "
                "gradients, the first layers barely learn. Try ReLU instead of sigmoid/tanh, Kaiming initialisation, "
                "BatchNorm, or skip connections.")))
        elif ratio > EXPLODING:
            findings.append(Finding("exploding", names[0], ratio, (
                f"{label(names[0], upper=True)}'s gradients are {_sci(ratio)} times {label(names[-1])}'s: exploding "
                "gradients. Try a smaller initialisation (Xavier/Kaiming), BatchNorm, or gradient clipping.")))
    for name in names:
        dead = median(name, "dead_fraction")
        if dead >= DEAD:
            findings.append(Finding("dead", name, dead, (
                f"{dead:.0%} of {label(name)}'s units never fire (never positive on a whole batch): dead ReLUs. "
                "A lower learning rate, Kaiming initialisation or LeakyReLU keeps them alive.")))
    ratios = {name: median(name, "update_ratio") for name in names}
    finite = {k: v for k, v in ratios.items() if math.isfinite(v)}
    if finite:
        top = max(finite, key=finite.get)
        if finite[top] > LR_HIGH:
            findings.append(Finding("lr_high", top, finite[top], (
                f"Updates are {_sci(finite[top])} of the weights in {label(top)} (a typical step is 1e-3 to 1e-2 of "
                "them): the learning rate is too high.")))
        elif finite[top] < LR_LOW and not any(f.kind == "dead" for f in findings):  # a dead net does not move either
            findings.append(Finding("lr_low", top, finite[top], (
                f"Updates are at most {_sci(finite[top])} of the weights (in {label(top)}; a typical step is 1e-3 to "
                "1e-2 of them): the learning rate is too low, the weights barely move.")))
    if not findings:
        findings.append(Finding("ok", None, math.nan, (
            f"No problem found at step {last.step}: gradients reach every layer, no layer has many dead units, and "
            "the updates are a healthy fraction of the weights.")))
    return findings


