"""What every tensor lesson shares: shapes as learners read them, size limits, torch's own words, comparisons.

Bad input raises `InputError` with a message written for the learner. Result classes that hold tensors use
`eq=False`: `==` on tensors is elementwise, so such results are compared field by field in tests.
"""

import math

import torch

from core.parsing import MAX_ELEMENTS, InputError


def fmt_shape(shape) -> str:
    """A shape as learners read it. Example: fmt_shape(torch.Size([4, 32])) -> '(4, 32)'."""
    shape = tuple(shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_numel(shape, what: str = "This tensor", limit: int = MAX_ELEMENTS) -> None:
    """Refuse sizes that would not compute or draw instantly."""
    if any(s < 0 for s in shape):
        raise InputError(f"{what} has a negative size in {fmt_shape(shape)}: sizes cannot be negative.")
    n = math.prod(shape)
    if n > limit:
        raise InputError(f"{what} would have {n:,} elements; this lesson allows at most {limit:,}.")


def torch_message(exc: BaseException) -> str:
    """The first line of torch's own error message."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def printed(value) -> str:
    """What print(value) shows, on one line: the expected output a code panel writes after `# `."""
    return " ".join(str(value).split())


def free_tensor(shape) -> torch.Tensor:
    """A tensor of any shape that takes no memory (a 0-d zero expanded: every stride is 0)."""
    return torch.zeros(()).expand(*shape)


def generator(seed: int) -> torch.Generator:
    """A private generator: lessons never touch the process-wide seed."""
    return torch.Generator().manual_seed(int(seed))


def source_ids(shape) -> torch.Tensor:
    """Each cell's flat (row-major) position: applying an op to these ids shows which cells it picks."""
    return torch.arange(math.prod(shape)).reshape(shape)


COMPARISONS = (">", ">=", "<", "<=", "==", "!=")
COMPARISON_NAMES = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}


def compare(x: torch.Tensor, op: str, value: float) -> torch.Tensor:
    """x > value and friends, from a whitelist of operators."""
    if op not in COMPARISON_NAMES:
        raise InputError(f"Unknown comparison {op!r}; choose one of {' '.join(COMPARISONS)}.")
    return getattr(torch, COMPARISON_NAMES[op])(x, value)
