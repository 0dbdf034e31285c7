"""Dropout, computed by torch: nn.Dropout's random mask in train mode, the identity in eval mode, and why the
survivors are scaled by 1/(1-p)."""

from collections.abc import Callable

import torch
from torch import nn

INPUTS = ("0, 1, 2, ...", "ones", "random normal")


def make_input(kind: str, rows: int, cols: int, seed: int) -> torch.Tensor:
    """The (rows, cols) input the lesson drops values from. Example: make_input("ones", 2, 3, 0).sum() -> 6"""
    if kind == "ones":
        return torch.ones(rows, cols)
    if kind == "random normal":
        return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed + 10_000)).round(decimals=2)
    return torch.arange(rows * cols, dtype=torch.float32).view(rows, cols)


def _input_code(kind: str, rows: int, cols: int, seed: int) -> str:
    if kind == "ones":
        return f"x = torch.ones({rows}, {cols})"
    if kind == "random normal":
        return (f"x = torch.randn({rows}, {cols}, generator=torch.Generator().manual_seed({seed + 10_000}))"
                ".round(decimals=2)")
    return f"x = torch.arange({rows * cols}, dtype=torch.float32).view({rows}, {cols})"


def dropout(x: torch.Tensor, p: float, *, seed: int, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.Dropout(p) on x, with its random mask reproducible from `seed`: returns (output, mask of kept cells).

    torch's dropout draws from the global generator, so it runs inside torch.random.fork_rng: seeded for this
    call, and the global state is restored afterwards. The mask comes from a second draw on ones with the same seed.
    Example: dropout(torch.ones(4), 0.5, seed=0)[0] -> values in {0, 2}
    """
    if not 0 <= p < 1:
        raise ValueError("p must be in [0, 1): with p = 1 every value is dropped and 1/(1-p) is undefined.")
    layer = nn.Dropout(p).train(train)
    with torch.no_grad():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = layer(x)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            mask = layer(torch.ones_like(x)) != 0
    return out, mask


def dropout_means(x: torch.Tensor, p: float, *, seed: int, trials: int,
                  progress: Callable[[float], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Running average over `trials` dropout draws of out.mean(), with the 1/(1-p) scaling and without it.

    With scaling the average tends to x.mean() (E[mask / (1-p)] = 1); without it, to (1-p) * x.mean().
    `progress(fraction done)` is called every 50 draws, when given.
    """
    scaled = []
    for t in range(trials):
        if progress is not None and t % 50 == 0:
            progress(t / trials)
        out, _ = dropout(x, p, seed=seed + t)
        scaled.append(out.mean())
    scaled = torch.stack(scaled)
    counts = torch.arange(1, trials + 1, dtype=torch.float32)
    running = scaled.cumsum(0) / counts
    return running, running * (1 - p)


def means_seconds(trials: int) -> float:
    """About how long `dropout_means` takes on 2 cores (measured: 2,000 draws of a 16 x 16 input ~3.9 s)."""
    return trials * 2e-3


def dropout_code(kind: str, x: torch.Tensor, out: torch.Tensor, mask: torch.Tensor, p: float, *, seed: int,
                 train: bool) -> str:
    """The nn.Dropout call behind `dropout` on the lesson's input, printing what the page shows."""
    rows, cols = x.shape
    if train:
        exact = torch.equal(out, x * mask * (1 / (1 - p)))
        check = f"print(torch.equal(out, x * mask * (1 / (1 - {p:g}))))  # {exact}"
    else:
        check = ("# eval: the mask is all True and the output is the input\n"
                 f"print(torch.equal(out, x))  # {torch.equal(out, x)}")
    return f"""import torch
from torch import nn

{_input_code(kind, rows, cols, seed)}  # ({rows}, {cols})
drop = nn.Dropout(p={p:g})
drop.{'train' if train else 'eval'}()
with torch.random.fork_rng():                 # dropout draws from the global generator: seed it privately
    torch.manual_seed({seed})
    out = drop(x)
with torch.random.fork_rng():                 # the same seed on ones reveals the mask
    torch.manual_seed({seed})
    mask = drop(torch.ones_like(x)) != 0
{check}
print(int(mask.sum()), mask.numel())  # {int(mask.sum())} {mask.numel()}
print(x.mean().item(), out.mean().item())  # {float(x.mean())} {float(out.mean())}
"""


def means_code(kind: str, x: torch.Tensor, p: float, *, seed: int, scaled: torch.Tensor) -> str:
    """The loop behind dropout_means, printing the average it ends at next to the input's mean."""
    rows, cols = x.shape
    trials = len(scaled)
    return f"""import torch
from torch import nn

{_input_code(kind, rows, cols, seed)}  # ({rows}, {cols})
drop = nn.Dropout(p={p:g})                     # in train mode
means = []
for t in range({trials}):
    with torch.random.fork_rng():
        torch.manual_seed({seed} + t)
        means.append(drop(x).mean())
running = torch.stack(means).cumsum(0) / torch.arange(1, {trials} + 1)
# close: dropout keeps the mean on average
print(running[-1].item(), x.mean().item())  # {float(scaled[-1])} {float(x.mean())}
# without the 1/(1-p) scaling the average tends to (1 - p) * mean(x)
print((running[-1] * (1 - {p:g})).item())  # {float(scaled[-1] * (1 - p))}
"""
