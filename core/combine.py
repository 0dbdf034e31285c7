"""Combining and splitting: cat (an existing dim) vs stack (a new dim), split and chunk (views)."""

import math
from dataclasses import dataclass

import torch

from core.parsing import InputError
from core.tensor_common import check_numel, fmt_shape, torch_message


@dataclass(frozen=True, eq=False)
class Joined:
    op: str  # "cat" or "stack"
    shape: tuple[int, ...] | None
    result: torch.Tensor | None
    owner: torch.Tensor | None  # same shape as result: which input each cell came from
    error: str | None  # torch's message
    reason: str | None  # our explanation of the rule that failed
    algebra: str  # e.g. "(2, 3) + (4, 3) along dim 0 -> (6, 3)"


def make_inputs(shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """Small integer tensors: tensor k holds k*scale + 0, 1, 2, ... so every cell shows where it came from."""
    for k, s in enumerate(shapes):
        check_numel(s, f"Tensor {k}")
    check_numel((sum(math.prod(s) for s in shapes),), "All tensors together")
    scale = input_scale(shapes)
    return [torch.arange(math.prod(s)).reshape(s) + k * scale for k, s in enumerate(shapes)]


def input_scale(shapes: list[tuple[int, ...]]) -> int:
    """The power of ten above every tensor's size: tensor k starts at k * input_scale(shapes)."""
    return 10 ** len(str(max(max((math.prod(s) for s in shapes), default=1) - 1, 0)))


def cat(shapes: list[tuple[int, ...]], dim: int) -> Joined:
    """torch.cat: sizes add up along `dim`; every other size must match."""
    tensors = make_inputs(shapes)
    nd = len(shapes[0])
    reason = None
    if any(len(s) != nd for s in shapes):
        k = next(k for k, s in enumerate(shapes) if len(s) != nd)
        reason = (f"Tensor {k} has {len(shapes[k])} dims but tensor 0 has {nd}: cat joins tensors with the same "
                  "number of dimensions.")
    elif not -nd <= dim < nd:
        reason = f"cat joins along an existing dim: for {nd}-D tensors dim must be in {-nd}..{nd - 1}."
    else:
        d = dim % nd
        for k, s in enumerate(shapes[1:], 1):
            bad = [i for i in range(nd) if i != d and s[i] != shapes[0][i]]
            if bad:
                i = bad[0]
                reason = (f"Tensor {k} has size {s[i]} in dim {i} but tensor 0 has {shapes[0][i]}: cat along dim {d} "
                          f"needs every other dim to match (only dim {d} may differ).")
                break
    algebra = " + ".join(fmt_shape(s) for s in shapes) + f" along dim {dim}"
    try:
        result = torch.cat(tensors, dim)
        owner = torch.cat([torch.full(t.shape, k) for k, t in enumerate(tensors)], dim)
    except (RuntimeError, IndexError) as exc:
        return Joined("cat", None, None, None, torch_message(exc), reason or torch_message(exc), algebra + " -> error")
    return Joined("cat", tuple(result.shape), result, owner, None, None, algebra + f" -> {fmt_shape(result.shape)}")


def stack(shapes: list[tuple[int, ...]], dim: int) -> Joined:
    """torch.stack: all shapes equal; a new dim of size len(tensors) is inserted at `dim`."""
    tensors = make_inputs(shapes)
    nd = len(shapes[0])
    reason = None
    diff = next((k for k, s in enumerate(shapes) if s != shapes[0]), None)
    if diff is not None:
        reason = (f"Tensor {diff} has shape {fmt_shape(shapes[diff])} but tensor 0 has {fmt_shape(shapes[0])}: "
                  "stack puts equal tensors side by side along a new dim, so every shape must be the same.")
    elif not -(nd + 1) <= dim <= nd:
        reason = f"stack inserts a new dim: for {nd}-D tensors dim must be in {-(nd + 1)}..{nd}."
    algebra = f"{len(shapes)} x {fmt_shape(shapes[0])}, new dim at {dim}"
    try:
        result = torch.stack(tensors, dim)
        owner = torch.stack([torch.full(t.shape, k) for k, t in enumerate(tensors)], dim)
    except (RuntimeError, IndexError) as exc:
        return Joined("stack", None, None, None, torch_message(exc), reason or torch_message(exc),
                      algebra + " -> error")
    return Joined("stack", tuple(result.shape), result, owner, None, None, algebra + f" -> {fmt_shape(result.shape)}")


@dataclass(frozen=True, eq=False)
class Split:
    call: str  # e.g. "x.split(2, dim=0)"
    pieces: tuple[torch.Tensor, ...]
    owner: torch.Tensor  # x's shape: which piece each cell went to
    shares: bool  # every piece is a view of x (no copy)


def split(shape: tuple[int, ...], dim: int, *, size: int | None = None, sizes: list[int] | None = None,
          chunks: int | None = None) -> Split:
    """x.split(size) / x.split([sizes]) / x.chunk(chunks) along `dim`, with which piece each cell went to.

    Example: [p.shape[0] for p in split((5, 2), 0, chunks=4).pieces] -> [2, 2, 1]
    """
    check_numel(shape)
    nd = len(shape)
    if not -nd <= dim < nd:
        raise InputError(f"dim={dim} does not exist for a tensor with {nd} dimensions ({-nd}..{nd - 1}).")
    n = shape[dim]
    x = torch.arange(math.prod(shape)).reshape(shape)
    if size is not None:
        if size < 1:
            raise InputError("split_size must be at least 1.")
        pieces, call = x.split(size, dim=dim), f"x.split({size}, dim={dim})"
    elif sizes is not None:
        if any(s < 0 for s in sizes):
            raise InputError("Section sizes cannot be negative.")
        if sum(sizes) != n:
            raise InputError(f"The sizes {sizes} add up to {sum(sizes)}, but dim {dim % nd} has size {n}: split with a "
                             f"list must cover the dim exactly (torch: split_with_sizes expects split_sizes to sum "
                             f"exactly to {n}).")
        pieces, call = x.split(sizes, dim=dim), f"x.split({sizes}, dim={dim})"
    elif chunks is not None:
        if chunks < 1:
            raise InputError("chunk needs at least 1 chunk.")
        pieces, call = x.chunk(chunks, dim=dim), f"x.chunk({chunks}, dim={dim})"
    else:
        raise InputError("Give a size, a list of sizes, or a number of chunks.")
    owner = torch.cat([torch.full(p.shape, k) for k, p in enumerate(pieces)], dim) if pieces else torch.zeros(shape)
    shares = all(p.untyped_storage().data_ptr() == x.untyped_storage().data_ptr() for p in pieces)
    return Split(call, tuple(pieces), owner.long(), shares)



def join_code(shapes: list[tuple[int, ...]], dim: int, joined: list[Joined]) -> str:
    """The numbered inputs t0, t1, ... and each join's shape, or the error torch raises."""
    scale = input_scale(shapes)
    names = ", ".join(f"t{k}" for k in range(len(shapes)))
    lines = ["import torch", ""]
    lines += [f"t{k} = torch.arange({math.prod(s)}).reshape{fmt_shape(s)}" + (f" + {k * scale}" if k else "")
              for k, s in enumerate(shapes)]
    for j in joined:
        call = f"torch.{j.op}([{names}], dim={dim})"
        lines.append(f"print({call}.shape)  # torch.Size({list(j.shape)})" if j.shape is not None
                     else f"# {call} raises: {j.error}")
    return "\n".join(lines) + "\n"


def split_code(shape: tuple[int, ...], res: Split) -> str:
    """x = 0, 1, 2, ... and the shapes of its pieces."""
    return "\n".join([
        "import torch",
        "",
        f"x = torch.arange({math.prod(shape)}).reshape{fmt_shape(shape)}",
        f"pieces = {res.call}",
        f"print([p.shape for p in pieces])  # {[p.shape for p in res.pieces]}",
    ]) + "\n"
