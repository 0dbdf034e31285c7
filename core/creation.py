"""torch's creation functions (rand, arange, linspace, full, eye, ...): the exact call, its tensor, its code."""

import math
import re
from dataclasses import dataclass

import torch

from core.parsing import InputError
from core.tensor_common import check_numel, fmt_shape, generator, torch_message

CREATORS = ("rand", "randn", "randint", "arange", "linspace", "logspace", "full", "eye", "randperm")


@dataclass(frozen=True, eq=False)
class Created:
    kind: str
    call: str  # the exact torch call, e.g. "torch.randint(0, 10, (3, 4), generator=g)"
    tensor: torch.Tensor
    random: bool  # True when the call used the generator `g`


def as_written(v: float) -> int | float:
    """A number as the shown call writes it (`:g`): whole numbers become ints, as Python reads `7`. 7.0 -> 7."""
    text = f"{v:g}"
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def create(kind: str, *, shape: tuple[int, ...] = (3, 4), start: float = 0.0, end: float = 10.0, step: float = 1.0,
           steps: int = 5, base: float = 10.0, low: int = 0, high: int = 10, fill: float = 7.0, n: int = 4,
           m: int | None = None, seed: int = 0) -> Created:
    """One of torch's creation functions with the given arguments; also the exact call as text.

    Numbers are used as the call writes them (`:g`), so the tensor is exactly the one the shown call gives:
    whole numbers stay ints, as torch reads them (arange(0, 5, 2) and full(shape, 7) hold int64).
    Example: create("arange", start=0, end=5, step=2).tensor -> tensor([0, 2, 4])
    """
    start, end, step, base, fill = (as_written(v) for v in (start, end, step, base, fill))
    g = generator(seed)
    s = fmt_shape(shape)
    if kind in ("rand", "randn", "randint", "full"):
        check_numel(shape)
    try:
        if kind == "rand":
            return Created(kind, f"torch.rand({s}, generator=g)", torch.rand(shape, generator=g), True)
        if kind == "randn":
            return Created(kind, f"torch.randn({s}, generator=g)", torch.randn(shape, generator=g), True)
        if kind == "randint":
            if low >= high:
                raise InputError(f"randint needs low < high (high is excluded); got low={low}, high={high}.")
            return Created(kind, f"torch.randint({low}, {high}, {s}, generator=g)",
                           torch.randint(low, high, shape, generator=g), True)
        if kind == "arange":
            if step == 0:
                raise InputError("arange needs a step other than 0.")
            count = math.ceil((end - start) / step)
            if count < 0:
                raise InputError(f"arange({start:g}, {end:g}, {step:g}) goes the wrong way: with step {step:g} "
                                 f"it never reaches {end:g} (torch: upper bound and lower bound inconsistent "
                                 "with step sign).")
            check_numel((count,), "arange")
            return Created(kind, f"torch.arange({start:g}, {end:g}, {step:g})",
                           torch.arange(start, end, step), False)
        if kind in ("linspace", "logspace"):
            if steps < 0:
                raise InputError(f"steps={steps}: the number of points cannot be negative.")
            check_numel((steps,), kind)
            if kind == "linspace":
                return Created(kind, f"torch.linspace({start:g}, {end:g}, steps={steps})",
                               torch.linspace(start, end, steps), False)
            return Created(kind, f"torch.logspace({start:g}, {end:g}, steps={steps}, base={base:g})",
                           torch.logspace(start, end, steps, base=base), False)
        if kind == "full":
            return Created(kind, f"torch.full({s}, {fill:g})", torch.full(shape, fill), False)
        if kind == "eye":
            cols = n if m is None else m
            if n < 0 or cols < 0:
                raise InputError("eye needs sizes of at least 0.")
            check_numel((n, cols), "eye")
            call = f"torch.eye({n})" if m is None else f"torch.eye({n}, {m})"
            return Created(kind, call, torch.eye(n, cols), False)
        if kind == "randperm":
            if n < 0:
                raise InputError("randperm needs n of at least 0.")
            check_numel((n,), "randperm")
            return Created(kind, f"torch.randperm({n}, generator=g)", torch.randperm(n, generator=g), True)
    except (RuntimeError, ValueError, OverflowError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"torch refused this: {torch_message(exc)}") from None
    raise InputError(f"Unknown creation function {kind!r}; choose one of {', '.join(CREATORS)}.")



def value_histogram(t: torch.Tensor, bins: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """(counts, edges) of all values: cheap even for a million of them."""
    v = t.double()
    top = v.max().item() + 1e-9  # the largest value falls inside the last bin
    return torch.histc(v, bins=bins, min=v.min().item(), max=top), torch.linspace(v.min().item(), top, bins + 1)


def create_code(made: Created, seed: int) -> str:
    """The call that made the tensor (with its private generator when it is random), and what it holds."""
    t = made.tensor
    seed_line = [f"g = torch.Generator().manual_seed({seed})  # a private generator, not the global seed"]
    return "\n".join(["import torch", "", *(seed_line if made.random else []), f"x = {made.call}",
                      f"print(x.shape, x.dtype)  # {t.shape} {t.dtype}"]) + "\n"
