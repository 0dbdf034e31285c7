"""topk, kthvalue, max, min, argmax, argmin along a dim (or over x.flatten()), and which cells each one picks."""

import math
from dataclasses import dataclass

import torch

from core.parsing import InputError
from core.tensor_common import check_numel, fmt_shape, generator, printed

SELECT_OPS = ("topk", "kthvalue", "max", "min", "argmax", "argmin")


@dataclass(frozen=True, eq=False)
class Selection:
    op: str
    x: torch.Tensor
    dim: int | None  # None: over the flattened tensor
    values: torch.Tensor | None  # None for argmax/argmin
    indices: torch.Tensor | None  # None for max/min without dim
    mask: torch.Tensor  # bool, x's shape: the cells that were selected
    rank: torch.Tensor  # long, x's shape: 1 for the first selected cell along dim, 2 for the next, ... 0 if not
    flat_index: int | None = None  # argmax/argmin without dim: the index into x.flatten()
    unravelled: tuple[int, ...] | None = None  # ... and the same cell as coordinates
    call: str = ""  # the call as the learner wrote it, e.g. "x.topk(2, dim=1)"


def select(x: torch.Tensor, op: str, *, k: int = 1, dim: int | None = -1, largest: bool = True,
           keepdim: bool = False) -> Selection:
    """Run topk / kthvalue / max / min / argmax / argmin and mark which cells of x were picked.

    Example: select(tensor([[1, 5, 3]]), "topk", k=2).indices -> tensor([[1, 2]])
    """
    if op not in SELECT_OPS:
        raise InputError(f"Unknown operation {op!r}.")
    call = select_call(op, k=k, dim=dim, largest=largest, keepdim=keepdim)
    nd = x.dim()
    if dim is not None:
        if not -max(nd, 1) <= dim < max(nd, 1):
            raise InputError(f"dim={dim} does not exist for a tensor with {nd} dimensions.")
        dim %= max(nd, 1)
    elif op in ("topk", "kthvalue"):
        raise InputError(f"{op} needs a dim.")
    if op in ("topk", "kthvalue"):
        size = x.shape[dim] if nd else 1
        if not 1 <= k <= size:
            raise InputError(f"k={k} is out of range: dim {dim} has size {size}, so k must be in 1..{size}.")
    rank = torch.zeros(x.shape, dtype=torch.long)
    values = indices = None
    flat = unravelled = None
    if op == "topk":
        values, indices = torch.topk(x, k, dim=dim, largest=largest)  # no keepdim: the dim holds the k winners
        order = torch.arange(1, k + 1).reshape([k if d == dim else 1 for d in range(nd)]).expand(indices.shape)
        rank.scatter_(dim, indices, order)
    elif op == "kthvalue":
        values, indices = torch.kthvalue(x, k, dim=dim, keepdim=keepdim)
        idx = indices if keepdim else indices.unsqueeze(dim)
        rank.scatter_(dim, idx, torch.ones_like(idx))
    elif dim is None:
        fn = {"max": torch.max, "min": torch.min, "argmax": torch.argmax, "argmin": torch.argmin}[op]
        result = fn(x)
        if op in ("max", "min"):
            values = result
            flat = int((x.flatten() == result).nonzero()[0])  # the first cell holding the extreme value
        else:
            indices = result
            flat = int(result)
        unravelled = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), x.shape))
        rank.view(-1)[flat] = 1
    else:
        if op in ("max", "min"):
            values, indices = (torch.max if op == "max" else torch.min)(x, dim=dim, keepdim=keepdim)
        else:
            indices = (torch.argmax if op == "argmax" else torch.argmin)(x, dim=dim, keepdim=keepdim)
        idx = indices if keepdim else indices.unsqueeze(dim)
        rank.scatter_(dim, idx, torch.ones_like(idx))
    return Selection(op, x, dim, values, indices, rank > 0, rank, flat, unravelled, call)


def distinct_values(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """0, 1, ..., n-1 shuffled into `shape`: no ties, so every max/topk has one clear answer."""
    check_numel(shape)
    return torch.randperm(math.prod(shape), generator=generator(seed)).reshape(shape)



def select_call(op: str, *, k: int = 1, dim: int | None = -1, largest: bool = True, keepdim: bool = False) -> str:
    """The call as code, with only the arguments that matter for `op`. Example: 'x.topk(2, dim=1)'."""
    args = [str(k)] if op in ("topk", "kthvalue") else []
    if dim is not None:
        args.append(f"dim={dim}")
    if op == "topk" and not largest:
        args.append("largest=False")
    if op != "topk" and keepdim and dim is not None:  # topk keeps the dim anyway; without dim there is none
        args.append("keepdim=True")
    return f"x.{op}({', '.join(args)})"


def select_code(sel: Selection, seed: int, flat: Selection, per_dim: Selection) -> str:
    """The lesson's selection on the same shuffled x, then argmax without dim (`flat`) and along a dim."""
    x = sel.x
    n = x.numel()
    lines = [
        "import torch",
        "",
        f"g = torch.Generator().manual_seed({seed})",
        f"x = torch.randperm({n}, generator=g).reshape{fmt_shape(x.shape)}  # 0..{n - 1} shuffled: no ties",
        f"result = {sel.call}",
    ]
    if sel.values is not None and sel.indices is not None:
        shapes = f"{fmt_shape(sel.values.shape)} and {fmt_shape(sel.indices.shape)}"
        lines += [f"values, indices = result  # shapes {shapes}",
                  f"print(values.tolist())  # {sel.values.tolist()}",
                  f"print(indices.tolist())  # {sel.indices.tolist()}"]
    else:  # one tensor: the values (max/min without dim) or the indices (argmax/argmin)
        only = sel.values if sel.values is not None else sel.indices
        lines.append(f"print(result.tolist())  # {only.tolist()}")
    lines += [
        "",
        "# argmax without dim: an index into x.flatten()",
        "i = x.argmax()",
        f"print(i)  # tensor({flat.flat_index})",
        f"print(tuple(int(c) for c in torch.unravel_index(i, x.shape)))  # {flat.unravelled}",
        f"print({per_dim.call})  # {printed(per_dim.indices)}",
    ]
    return "\n".join(lines) + "\n"
