"""Picking parts of a tensor: slicing (a view), index_select, masked_select and take (copies)."""

from dataclasses import dataclass

import torch

from core.parsing import InputError
from core.tensor_common import compare, fmt_shape, source_ids, torch_message


@dataclass(frozen=True, eq=False)
class Picked:
    result: torch.Tensor
    ids: torch.Tensor  # the same op applied to source_ids(x.shape): which source cell each result cell is
    mask: torch.Tensor  # bool over x: cells that appear in the result
    shares: bool  # the result is a view sharing x's storage (basic slicing) rather than a copy
    expr: str  # the operation as code on a tensor named x, e.g. "x[1:3, ::2]"


def _picked(x: torch.Tensor, result: torch.Tensor, ids: torch.Tensor, expr: str) -> Picked:
    mask = torch.zeros(x.numel(), dtype=torch.bool)
    mask[ids.reshape(-1)] = True
    shares = result.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    return Picked(result, ids, mask.reshape(x.shape), shares, expr)


def index_text(items: tuple) -> str:
    """Index items written back as Python, for the code panel. Example: (slice(1, 3), Ellipsis) -> '1:3, ...'."""
    def one(item) -> str:
        if item is Ellipsis:
            return "..."
        if isinstance(item, slice):
            text = f"{'' if item.start is None else item.start}:{'' if item.stop is None else item.stop}"
            return text + (f":{item.step}" if item.step is not None else "")
        return str(item)

    return ", ".join(one(item) for item in items)


def index(x: torch.Tensor, items: tuple) -> Picked:
    """x[items] for ints, start:end:step slices, ... and None (parsed by core.parsing.parse_index).

    Example: index(torch.arange(6).reshape(2, 3), (slice(None), slice(0, 3, 2))).result -> tensor([[0, 2], [3, 5]])
    """
    ids = source_ids(x.shape)
    try:
        return _picked(x, x[items], ids[items], f"x[{index_text(items)}]")
    except (IndexError, ValueError, RuntimeError) as exc:
        raise InputError(f"torch refused this index: {torch_message(exc)}.") from None


def index_select(x: torch.Tensor, dim: int, indices: list[int]) -> Picked:
    """x.index_select(dim, indices): whole slices along `dim`, in the order (and as often) as listed."""
    if not -x.dim() <= dim < x.dim():
        raise InputError(f"dim={dim} does not exist for a tensor with {x.dim()} dimensions.")
    size = x.shape[dim]
    bad = [i for i in indices if not 0 <= i < size]
    if bad:
        raise InputError(f"index {bad[0]} is out of range for dim {dim % x.dim()} of size {size}: index_select "
                         f"takes indices in 0..{size - 1} (no negative indices).")
    idx = torch.tensor(indices, dtype=torch.long)
    return _picked(x, x.index_select(dim, idx), source_ids(x.shape).index_select(dim, idx),
                   f"x.index_select({dim}, torch.tensor({indices}))")


def masked_select(x: torch.Tensor, op: str, value: float) -> Picked:
    """torch.masked_select(x, x <op> value): always 1-D, in row-major order."""
    mask = compare(x, op, value)
    return _picked(x, torch.masked_select(x, mask), torch.masked_select(source_ids(x.shape), mask),
                   f"torch.masked_select(x, x {op} {value:g})")


def take(x: torch.Tensor, indices: list[int]) -> Picked:
    """torch.take(x, indices): indices into x.flatten(); negative ones count from the end."""
    n = x.numel()
    bad = [i for i in indices if not -n <= i < n]
    if bad:
        raise InputError(f"index {bad[0]} is out of range: take indexes x.flatten(), which has {n} elements "
                         f"(valid: {-n}..{n - 1}).")
    idx = torch.tensor(indices, dtype=torch.long)
    return _picked(x, torch.take(x, idx), torch.take(source_ids(x.shape), idx),
                   f"torch.take(x, torch.tensor({indices}))")



def index_code(x: torch.Tensor, picked: Picked) -> str:
    """x = 0, 1, 2, ... in x's shape, the pick, its shape, and whether it shares x's memory."""
    where = "a view: it shares x's storage" if picked.shares else "a copy: it has a storage of its own"
    return "\n".join([
        "import torch",
        "",
        f"x = torch.arange({x.numel()}).reshape{fmt_shape(x.shape)}",
        f"y = {picked.expr}",
        f"print(y.shape)  # torch.Size({list(picked.result.shape)})",
        f"# {where}",
        f"print(y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())  # {picked.shares}",
    ]) + "\n"
