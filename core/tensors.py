"""The tensor operations learners trip over, computed by torch and explained cell by cell.

Every function takes plain shapes/tensors and returns a small result object; nothing here draws or imports
streamlit. Where a rule is explained in words (broadcasting, matmul, cat/stack, gather), the explanation is
computed by our own rule and then checked against torch itself, so the words and torch always agree.
Bad input raises `InputError` with a message written for the learner. Result classes that hold tensors use
`eq=False`: `==` on tensors is elementwise, so such results are compared field by field in tests.
"""

import math
from dataclasses import dataclass

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


def _free(shape) -> torch.Tensor:
    """A tensor of any shape that takes no memory (a 0-d zero expanded: every stride is 0)."""
    return torch.zeros(()).expand(*shape)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def source_ids(shape) -> torch.Tensor:
    """Each cell's flat (row-major) position: applying an op to these ids shows which cells it picks."""
    return torch.arange(math.prod(shape)).reshape(shape)


# ----------------------------------------------------------------------------------------------------------
# Broadcasting

KEPT, STRETCHED, INSERTED, CLASH = "kept", "stretched", "inserted", "clash"


@dataclass(frozen=True)
class AlignedDim:
    """One dimension of the result, with the sizes of A and B lined up under it (from the right)."""

    axis: int  # position in the result, from the left
    neg: int  # the same position counted from the right: -1 is the trailing dim
    a: int | None  # A's size here; None when A has fewer dims (a size-1 dim is inserted in front)
    b: int | None
    size: int | None  # the result's size; None when the sizes clash
    a_role: str  # kept / stretched / inserted / clash
    b_role: str

    @property
    def ok(self) -> bool:
        return self.size is not None


def _role(own: int | None, size: int | None) -> str:
    if size is None:
        return CLASH
    if own is None:
        return INSERTED
    return KEPT if own == size else STRETCHED


@dataclass(frozen=True)
class Broadcast:
    a: tuple[int, ...]
    b: tuple[int, ...]
    dims: tuple[AlignedDim, ...]
    shape: tuple[int, ...] | None  # the result shape by our rule; None when the shapes clash
    torch_shape: tuple[int, ...] | None  # torch.broadcast_shapes(a, b)
    torch_error: str | None  # torch's own message for `a + b` when they clash

    @property
    def ok(self) -> bool:
        return self.shape is not None

    @property
    def clashes(self) -> tuple[AlignedDim, ...]:
        """Clashing dims from the right; torch names the first of them."""
        return tuple(d for d in reversed(self.dims) if not d.ok)

    @property
    def agrees(self) -> bool:
        """Our rule and torch agree on the shape, or on the dimension that fails."""
        if self.ok:
            return self.shape == self.torch_shape and self.torch_error is None
        d = self.clashes[0]
        return self.torch_shape is None and self.torch_error == (
            f"The size of tensor a ({d.a}) must match the size of tensor b ({d.b}) at non-singleton dimension "
            f"{d.axis}")

    def reason(self) -> str:
        """Why the shapes do not broadcast, naming the failing dimension."""
        if self.ok:
            return ""
        d = self.clashes[0]
        text = (f"Dimension {d.axis} of the result (dim {d.neg} counted from the right) fails: A has size {d.a} "
                f"and B has size {d.b}. Two sizes broadcast only when they are equal or one of them is 1, so "
                f"torch cannot stretch {d.a} to {d.b} or {d.b} to {d.a}.")
        if len(self.clashes) > 1:
            more = ", ".join(f"{c.axis} ({c.a} vs {c.b})" for c in self.clashes[1:])
            text += f" Dimension{'s' if len(self.clashes) > 2 else ''} {more} would fail too."
        return text

    def steps(self) -> list[str]:
        """The rule applied dimension by dimension, from the trailing one."""
        lines = []
        for d in reversed(self.dims):
            head = f"dim {d.axis} (= {d.neg}): A {_size(d.a)}, B {_size(d.b)} -> "
            if not d.ok:
                lines.append(head + f"clash: {d.a} and {d.b} differ and neither is 1")
                continue
            parts = []
            for name, role in (("A", d.a_role), ("B", d.b_role)):
                if role == INSERTED:
                    parts.append(f"{name} gets a new size-1 dim, stretched to {d.size}"
                                 if d.size != 1 else f"{name} gets a new size-1 dim")
                elif role == STRETCHED:
                    parts.append(f"{name}'s 1 is stretched to {d.size}")
            lines.append(head + f"{d.size}" + (f" ({'; '.join(parts)})" if parts else " (equal sizes)"))
        return lines


def _size(s: int | None) -> str:
    return "-" if s is None else str(s)


def broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> Broadcast:
    """Line up two shapes from the right and apply the broadcasting rule; torch checks the answer.

    Example: broadcast((4, 32, 14, 14), (32, 1, 1)).shape -> (4, 32, 14, 14)
    """
    a, b = tuple(int(s) for s in a), tuple(int(s) for s in b)
    ndim = max(len(a), len(b))
    dims = []
    for axis in range(ndim):
        neg = axis - ndim
        sa = a[neg] if -neg <= len(a) else None
        sb = b[neg] if -neg <= len(b) else None
        ea, eb = 1 if sa is None else sa, 1 if sb is None else sb  # a missing dim counts as size 1
        size = ea if ea == eb or eb == 1 else eb if ea == 1 else None
        dims.append(AlignedDim(axis, neg, sa, sb, size, _role(sa, size), _role(sb, size)))
    shape = tuple(d.size for d in dims) if all(d.ok for d in dims) else None
    try:
        torch_shape, torch_error = tuple(torch.broadcast_shapes(a, b)), None
    except RuntimeError:
        torch_shape = None
        try:  # the message learners meet in practice; _free tensors cost no memory and a clash stops torch early
            _free(a) + _free(b)
            torch_error = None
        except RuntimeError as exc:
            torch_error = torch_message(exc)
    return Broadcast(a, b, tuple(dims), shape, torch_shape, torch_error)


def example_shapes(bc: Broadcast, cap: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Small shapes that broadcast exactly like A and B: every size above 1 is capped at `cap`.

    Example: example_shapes(broadcast((4, 32, 14, 14), (32, 1, 1)), 3) -> ((3, 3, 3, 3), (3, 1, 1))
    """
    if not bc.ok:
        raise InputError("These shapes do not broadcast, so there is no example to compute.")
    small = [min(d.size, cap) if d.size > 1 else d.size for d in bc.dims]
    a = tuple(1 if d.a == 1 else s for d, s in zip(bc.dims, small, strict=True) if d.a is not None)
    b = tuple(1 if d.b == 1 else s for d, s in zip(bc.dims, small, strict=True) if d.b is not None)
    return a, b


@dataclass(frozen=True, eq=False)
class BroadcastExample:
    a: torch.Tensor
    b: torch.Tensor
    out: torch.Tensor  # a + b
    scale: int  # b's values are multiples of `scale`, so out reads as "b's value" + "a's value"


def broadcast_example(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> BroadcastExample:
    """a + b on small integer tensors: a holds 0, 1, 2, ... and b holds scale, 2*scale, 3*scale, ...

    Example: broadcast_example((2, 1), (3,)).out -> tensor([[10, 20, 30], [11, 21, 31]])
    """
    check_numel(a_shape, "Example A")
    check_numel(b_shape, "Example B")
    na = math.prod(a_shape)
    scale = 10 ** len(str(max(na - 1, 0)))
    a = torch.arange(na).reshape(a_shape)
    b = torch.arange(1, math.prod(b_shape) + 1).reshape(b_shape) * scale
    return BroadcastExample(a, b, a + b, scale)


@dataclass(frozen=True)
class ExpandVsRepeat:
    source: tuple[int, ...]
    target: tuple[int, ...]
    repeats: tuple[int, ...]  # the counts `repeat` needs to reach the target
    source_bytes: int  # bytes of the source's storage
    expand_stride: tuple[int, ...]
    expand_bytes: int  # bytes of the storage behind the expanded view: the source's own
    expand_shares: bool  # same data_ptr as the source: no copy
    expand_sees_write: bool  # writing into the source shows through the expanded view
    repeat_stride: tuple[int, ...] | None
    repeat_bytes: int | None
    repeat_shares: bool | None
    repeat_sees_write: bool | None
    repeat_skipped: str | None  # why repeat was not run (too many elements)


def expand_vs_repeat(source: tuple[int, ...], target: tuple[int, ...], *,
                     max_elements: int = MAX_ELEMENTS) -> ExpandVsRepeat:
    """Stretch a tensor of shape `source` to `target` with expand (a view) and with repeat (a copy).

    Example: expand_vs_repeat((3, 1), (3, 4)).expand_stride -> (1, 0)
    """
    check_numel(source, "The tensor to stretch")
    if len(target) < len(source):
        raise InputError(f"Cannot expand {fmt_shape(source)} to {fmt_shape(target)}: fewer dimensions.")
    padded = (1,) * (len(target) - len(source)) + tuple(source)
    for i, (s, t) in enumerate(zip(padded, target, strict=True)):
        if s not in (1, t):
            raise InputError(f"Cannot expand {fmt_shape(source)} to {fmt_shape(target)}: dim {i} has size {s}, "
                             f"which is neither 1 nor {t}.")
    repeats = tuple(t // s if s else 1 for s, t in zip(padded, target, strict=True))
    x = torch.zeros(source)
    e = x.expand(target)  # a view: stride 0 along stretched dims
    skipped = None
    r = None
    if math.prod(target) > max_elements:
        skipped = (f"repeat would copy {math.prod(target):,} elements ({math.prod(target) * 4 / 2**20:.1f} MiB); "
                   f"this lesson runs it only up to {max_elements:,}.")
    else:
        r = x.repeat(repeats)  # a new tensor that owns a full copy
    shares_e = e.data_ptr() == x.data_ptr()
    shares_r = None if r is None else r.data_ptr() == x.data_ptr()
    x.fill_(1.0)  # writes into the source: the view sees them, the copy does not
    return ExpandVsRepeat(
        tuple(source), tuple(target), repeats, x.untyped_storage().nbytes(),
        tuple(e.stride()), e.untyped_storage().nbytes(), shares_e, bool(e.eq(1).all()),
        None if r is None else tuple(r.stride()), None if r is None else r.untyped_storage().nbytes(),
        shares_r, None if r is None else bool(r.eq(1).all()), skipped)


# ----------------------------------------------------------------------------------------------------------
# gather


@dataclass(frozen=True, eq=False)
class Gather:
    input: torch.Tensor
    dim: int  # normalised to 0..ndim-1
    index: torch.Tensor
    out: torch.Tensor  # torch.gather(input, dim, index)
    sources: torch.Tensor  # (*index.shape, ndim): the input coordinates each output cell came from

    def rule(self) -> str:
        """The gather rule for this dim, e.g. out[i][j] = input[i][index[i][j]] for dim=1."""
        names = "ijklmnop"[: self.input.dim()]
        pos = "".join(f"[{c}]" for c in names)
        src = "".join(f"[index{pos}]" if k == self.dim else f"[{c}]" for k, c in enumerate(names))
        return f"out{pos} = input{src}"

    def explain(self, cell: tuple[int, ...]) -> str:
        """The rule filled in for one output cell, e.g. out[1][0] = input[index[1][0]][0] = input[1][0] = 3."""
        pos = "".join(f"[{c}]" for c in cell)
        src = tuple(int(v) for v in self.sources[cell])
        with_index = "".join(f"[index{pos}]" if k == self.dim else f"[{c}]" for k, c in enumerate(cell))
        return (f"out{pos} = input{with_index} = input{''.join(f'[{s}]' for s in src)} = "
                f"{_num(self.out[cell].item())}")


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def check_gather(input_shape: tuple[int, ...], dim: int, index: torch.Tensor) -> int:
    """torch's rules for gather, with a message per rule; returns dim in 0..ndim-1."""
    nd = len(input_shape)
    if nd == 0:
        raise InputError("gather needs an input with at least one dimension.")
    if not -nd <= dim < nd:
        raise InputError(f"dim={dim} does not exist: the input has {nd} dimension{'s' * (nd != 1)}, "
                         f"so dim must be in {-nd}..{nd - 1}.")
    dim %= nd
    if index.dim() != nd:
        raise InputError(f"index has {index.dim()} dimension{'s' * (index.dim() != 1)} but input has {nd}: gather "
                         "needs the same number (index.unsqueeze(...) adds a missing one).")
    for d in range(nd):
        if d != dim and index.shape[d] > input_shape[d]:
            raise InputError(f"index has size {index.shape[d]} in dim {d} but input has only {input_shape[d]}: "
                             f"apart from dim {dim}, index may not be larger than input.")
    size = input_shape[dim]
    bad = (index < 0) | (index >= size)
    if bad.any():
        where = tuple(int(i) for i in bad.nonzero()[0])
        raise InputError(f"index[{', '.join(map(str, where))}] = {int(index[where])} is out of range: it picks along "
                         f"dim {dim}, where input has size {size}, so every index must be in 0..{size - 1}.")
    return dim


def gather(input: torch.Tensor, dim: int, index: torch.Tensor) -> Gather:
    """torch.gather plus, for every output cell, the input cell it came from.

    Example: gather(tensor([[1, 2], [3, 4]]), 1, tensor([[0, 0], [1, 0]])).out -> tensor([[1, 1], [4, 3]])
    """
    index = torch.as_tensor(index, dtype=torch.long)
    dim = check_gather(tuple(input.shape), dim, index)
    out = torch.gather(input, dim, index)
    grids = list(torch.meshgrid(*[torch.arange(s) for s in index.shape], indexing="ij"))
    grids[dim] = index  # along `dim` the coordinate comes from index; elsewhere it is the output's own
    return Gather(input, dim, index, out, torch.stack(grids, dim=-1))


@dataclass(frozen=True)
class GatherPreset:
    name: str
    input: list
    index: list
    dim: int
    note: str


def gather_presets(seed: int = 0) -> dict[str, GatherPreset]:
    """The worked example, the classification use (pick each sample's probability of its label), and dim=0."""
    g = _generator(seed)
    logits = torch.randn(4, 5, generator=g)
    probs = logits.softmax(dim=1).mul(100).round().div(100)  # 2 decimals, so the cells stay readable
    labels = torch.randint(0, 5, (4,), generator=g)
    return {
        "worked": GatherPreset(
            "Worked example", [[1, 2], [3, 4]], [[0, 0], [1, 0]], 1,
            "torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]])) gives [[1, 1], [4, 3]]: "
            "in row 0 take columns 0 and 0, in row 1 take columns 1 and 0."),
        "label": GatherPreset(
            "Pick the label's probability", probs.tolist(), labels.unsqueeze(1).tolist(), 1,
            "Classification: probs has one row per sample and one column per class. index = labels.unsqueeze(1) "
            "picks, in each row, the probability of that sample's true label; the loss is -log of it."),
        "dim0": GatherPreset(
            "Along dim 0", [[10, 11, 12], [20, 21, 22], [30, 31, 32]], [[2, 0, 1], [0, 0, 2]], 0,
            "With dim=0 the index chooses the row and the column stays: out[i][j] = input[index[i][j]][j]."),
    }


def random_gather(rows: int, cols: int, index_rows: int, index_cols: int, dim: int, seed: int):
    """A random input (whole numbers) and a valid random index for `dim`. Returns (input, index) tensors."""
    g = _generator(seed)
    x = torch.randint(0, 100, (rows, cols), generator=g)
    size = (rows, cols)[dim % 2]
    index = torch.randint(0, size, (index_rows, index_cols), generator=g)
    return x, index


# ----------------------------------------------------------------------------------------------------------
# topk, kthvalue, max, min, argmax

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


def select(x: torch.Tensor, op: str, *, k: int = 1, dim: int | None = -1, largest: bool = True,
           keepdim: bool = False) -> Selection:
    """Run topk / kthvalue / max / min / argmax / argmin and mark which cells of x were picked.

    Example: select(tensor([[1, 5, 3]]), "topk", k=2).indices -> tensor([[1, 2]])
    """
    if op not in SELECT_OPS:
        raise InputError(f"Unknown operation {op!r}.")
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
    return Selection(op, x, dim, values, indices, rank > 0, rank, flat, unravelled)


def distinct_values(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """0, 1, ..., n-1 shuffled into `shape`: no ties, so every max/topk has one clear answer."""
    check_numel(shape)
    return torch.randperm(math.prod(shape), generator=_generator(seed)).reshape(shape)


# ----------------------------------------------------------------------------------------------------------
# Creation

CREATORS = ("rand", "randn", "randint", "arange", "linspace", "logspace", "full", "eye", "randperm")


@dataclass(frozen=True, eq=False)
class Created:
    kind: str
    call: str  # the exact torch call, e.g. "torch.randint(0, 10, (3, 4), generator=g)"
    tensor: torch.Tensor
    random: bool  # True when the call used the generator `g`


def create(kind: str, *, shape: tuple[int, ...] = (3, 4), start: float = 0.0, end: float = 10.0, step: float = 1.0,
           steps: int = 5, base: float = 10.0, low: int = 0, high: int = 10, fill: float = 7.0, n: int = 4,
           m: int | None = None, seed: int = 0) -> Created:
    """One of torch's creation functions with the given arguments; also the exact call as text.

    Example: create("arange", start=0, end=5, step=2).tensor -> tensor([0., 2., 4.])
    """
    g = _generator(seed)
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
                           torch.arange(float(start), float(end), float(step)), False)
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
            return Created(kind, f"torch.full({s}, {fill:g})", torch.full(shape, float(fill)), False)
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


# ----------------------------------------------------------------------------------------------------------
# Indexing


@dataclass(frozen=True, eq=False)
class Picked:
    result: torch.Tensor
    ids: torch.Tensor  # the same op applied to source_ids(x.shape): which source cell each result cell is
    mask: torch.Tensor  # bool over x: cells that appear in the result
    shares: bool  # the result is a view sharing x's storage (basic slicing) rather than a copy


def _picked(x: torch.Tensor, result: torch.Tensor, ids: torch.Tensor) -> Picked:
    mask = torch.zeros(x.numel(), dtype=torch.bool)
    mask[ids.reshape(-1)] = True
    shares = result.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    return Picked(result, ids, mask.reshape(x.shape), shares)


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
        return _picked(x, x[items], ids[items])
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
    return _picked(x, x.index_select(dim, idx), source_ids(x.shape).index_select(dim, idx))


COMPARISONS = (">", ">=", "<", "<=", "==", "!=")


def compare(x: torch.Tensor, op: str, value: float) -> torch.Tensor:
    """x > value and friends, from a whitelist of operators."""
    fns = {">": torch.gt, ">=": torch.ge, "<": torch.lt, "<=": torch.le, "==": torch.eq, "!=": torch.ne}
    if op not in fns:
        raise InputError(f"Unknown comparison {op!r}; choose one of {' '.join(COMPARISONS)}.")
    return fns[op](x, value)


def masked_select(x: torch.Tensor, op: str, value: float) -> Picked:
    """torch.masked_select(x, x <op> value): always 1-D, in row-major order."""
    mask = compare(x, op, value)
    return _picked(x, torch.masked_select(x, mask), torch.masked_select(source_ids(x.shape), mask))


def take(x: torch.Tensor, indices: list[int]) -> Picked:
    """torch.take(x, indices): indices into x.flatten(); negative ones count from the end."""
    n = x.numel()
    bad = [i for i in indices if not -n <= i < n]
    if bad:
        raise InputError(f"index {bad[0]} is out of range: take indexes x.flatten(), which has {n} elements "
                         f"(valid: {-n}..{n - 1}).")
    idx = torch.tensor(indices, dtype=torch.long)
    return _picked(x, torch.take(x, idx), torch.take(source_ids(x.shape), idx))


# ----------------------------------------------------------------------------------------------------------
# Shape: view / reshape / transpose / permute, strides, contiguity


@dataclass(frozen=True, eq=False)
class Layout:
    """How a tensor sits in memory."""

    name: str
    tensor: torch.Tensor
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    contiguous: bool
    offsets: torch.Tensor  # for every element, its position in the underlying storage
    shares_base: bool  # same storage as the base tensor (a view), not a copy


def layout(name: str, t: torch.Tensor, base: torch.Tensor) -> Layout:
    offsets = torch.as_strided(torch.arange(t.untyped_storage().nbytes() // t.element_size()), t.shape,
                               t.stride(), t.storage_offset())
    shares = t.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    return Layout(name, t, tuple(t.shape), tuple(t.stride()), t.is_contiguous(), offsets.clone(), shares)


FIRST_OPS = ("none", "transpose", "permute")
SECOND_OPS = ("none", "view", "reshape", "contiguous")


@dataclass(frozen=True, eq=False)
class Reshaped:
    steps: tuple[Layout, ...]  # base, then one layout per op that ran
    error: str | None  # torch's message when the second op fails (view on a non-contiguous tensor)
    explanation: str | None


def reshape_chain(shape: tuple[int, ...], first: str = "none", *, dims: tuple[int, ...] = (0, 1),
                  second: str = "none", new_shape: tuple[int, ...] = (-1,)) -> Reshaped:
    """x = arange(n).view(shape); y = first(x); z = second(y): the strides, contiguity and sharing of each.

    Example: reshape_chain((2, 3), "transpose", second="view", new_shape=(6,)).error -> "view size is not ..."
    """
    check_numel(shape)
    x = torch.arange(math.prod(shape)).view(shape)
    nd = len(shape)
    steps = [layout("x", x, x)]
    y = x
    if first == "transpose":
        d0, d1 = dims[:2]
        for d in (d0, d1):
            if not -nd <= d < nd:
                raise InputError(f"transpose: dim {d} does not exist for {nd} dimensions ({-nd}..{nd - 1}).")
        y = x.transpose(d0, d1)
        steps.append(layout("y", y, x))
    elif first == "permute":
        if sorted(d % nd if -nd <= d < nd else d for d in dims) != list(range(nd)):
            raise InputError(f"permute needs each dim 0..{nd - 1} exactly once; got {dims}.")
        y = x.permute(*dims)
        steps.append(layout("y", y, x))
    elif first != "none":
        raise InputError(f"Unknown operation {first!r}.")
    if second == "none":
        return Reshaped(tuple(steps), None, None)
    if second in ("view", "reshape"):
        _check_new_shape(tuple(y.shape), new_shape)
    try:
        if second == "view":
            z = y.view(new_shape)
        elif second == "reshape":
            z = y.reshape(new_shape)
        elif second == "contiguous":
            z = y.contiguous()
        else:
            raise InputError(f"Unknown operation {second!r}.")
    except RuntimeError as exc:
        why = ("view never copies: it only reinterprets the same memory with new strides. After transpose/permute "
               "the elements are no longer in row-major order in memory, so no strides can describe the new "
               "shape. Use .reshape(...) (copies when it must) or .contiguous().view(...).")
        return Reshaped(tuple(steps), torch_message(exc), why)
    steps.append(layout("z", z, x))
    return Reshaped(tuple(steps), None, None)


def _check_new_shape(old: tuple[int, ...], new: tuple[int, ...]) -> None:
    n = math.prod(old)
    known = math.prod(s for s in new if s != -1)
    if -1 in new:
        if known == 0 or n % known:
            raise InputError(f"Shape {fmt_shape(new)} cannot hold {n} elements: the known sizes multiply to "
                             f"{known}, which does not divide {n}.")
    elif known != n:
        raise InputError(f"Shape {fmt_shape(new)} holds {known} elements but the tensor has {n}: view/reshape "
                         "never add or drop elements (-1 lets torch work one size out).")


@dataclass(frozen=True, eq=False)
class RoundTrip:
    a: torch.Tensor  # (B, C, H, W)
    wrong: torch.Tensor  # transpose(1, 3), flatten, then view back as (B, C, H, W): the wrong order
    right: torch.Tensor  # ... view back as (B, W, H, C), then transpose(1, 3) back
    wrong_equal: bool  # torch.all(torch.eq(a, wrong))
    right_equal: bool


def transpose_round_trip(shape: tuple[int, ...]) -> RoundTrip:
    """The 'data contamination' demo: after transpose, viewing back in the wrong order scrambles the data.

    Example: transpose_round_trip((2, 3, 2, 2)).wrong_equal -> False
    """
    if len(shape) != 4:
        raise InputError("This demo uses a 4-D batch (B, C, H, W), e.g. 2,3,4,4.")
    check_numel(shape)
    b, c, h, w = shape
    a = torch.arange(math.prod(shape)).view(b, c, h, w)
    wrong = a.transpose(1, 3).contiguous().view(b, c * h * w).view(b, c, h, w)
    right = a.transpose(1, 3).contiguous().view(b, c * h * w).view(b, w, h, c).transpose(1, 3)
    return RoundTrip(a, wrong, right, bool(torch.all(torch.eq(a, wrong))), bool(torch.all(torch.eq(a, right))))


def unsqueeze_table(shape: tuple[int, ...]) -> list[dict]:
    """For every dim unsqueeze accepts (-(n+1)..n): its positive twin and the resulting shape."""
    x = _free(shape)
    nd = len(shape)
    return [{"dim": d, "same as dim": d % (nd + 1), "result shape": fmt_shape(x.unsqueeze(d).shape)}
            for d in range(-(nd + 1), nd + 1)]


def squeeze_table(shape: tuple[int, ...]) -> list[dict]:
    """For every dim (-n..n-1): squeeze(dim) removes it only when its size is 1."""
    x = _free(shape)
    nd = len(shape)
    return [{"dim": d, "same as dim": d % nd, "size": shape[d],
             "result shape": fmt_shape(x.squeeze(d).shape),
             "effect": "removed" if shape[d] == 1 else "unchanged (size is not 1)"}
            for d in range(-nd, nd)]


# ----------------------------------------------------------------------------------------------------------
# Combine and split


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


# ----------------------------------------------------------------------------------------------------------
# Math: matmul, elementwise functions, clamp, norm, reductions, where


@dataclass(frozen=True)
class Matmul:
    a: tuple[int, ...]
    b: tuple[int, ...]
    shape: tuple[int, ...] | None
    batch: Broadcast | None  # the batch dims, broadcast like any elementwise op
    steps: tuple[str, ...]
    reason: str | None  # why the shapes do not multiply
    torch_shape: tuple[int, ...] | None  # what torch says (run on shapes only, no memory)
    torch_error: str | None


def matmul_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> Matmul:
    """The shape of a @ b by torch.matmul's rules, step by step; torch checks the answer on meta tensors.

    Example: matmul_shapes((10, 1, 3, 4), (5, 4, 2)).shape -> (10, 5, 3, 2)
    """
    a, b = tuple(a), tuple(b)
    if not a or not b:
        raise InputError("matmul needs tensors with at least one dimension.")
    steps, reason, shape, batch = [], None, None, None
    if len(a) == 1 and len(b) == 1:
        steps.append("both 1-D: a dot product, the result is a scalar")
        if a[0] != b[0]:
            reason = f"A has {a[0]} elements and B has {b[0]}: a dot product needs the same length."
        else:
            shape = ()
    else:
        a2 = (1,) + a if len(a) == 1 else a
        b2 = b + (1,) if len(b) == 1 else b
        if len(a) == 1:
            steps.append(f"A is 1-D: treat it as a row (1, {a[0]}); the 1 is removed again at the end")
        if len(b) == 1:
            steps.append(f"B is 1-D: treat it as a column ({b[0]}, 1); the 1 is removed again at the end")
        n, m = a2[-2:]
        m2, p = b2[-2:]
        steps.append(f"matrix dims: ({n}, {m}) @ ({m2}, {p})" + (f" -> ({n}, {p})" if m == m2 else ""))
        if m != m2:
            reason = (f"The inner sizes differ: A's last dim is {m} but B's "
                      f"{'only' if len(b) == 1 else 'second-to-last'} dim is {m2}. In A @ B, each row of A "
                      f"(length {m}) is multiplied with each column of B (length {m2}), so they must match.")
        batch = broadcast(a2[:-2], b2[:-2])
        if a2[:-2] or b2[:-2]:
            steps.append(f"batch dims {fmt_shape(a2[:-2])} and {fmt_shape(b2[:-2])} broadcast -> "
                         + (fmt_shape(batch.shape) if batch.ok else "clash"))
        if not batch.ok and reason is None:
            d = batch.clashes[0]
            reason = (f"The batch dims do not broadcast: batch dim {d.axis} is {d.a} in A and {d.b} in B "
                      "(they must be equal or one of them 1).")
        if reason is None:
            shape = batch.shape + (n, p)
            if len(a) == 1:
                shape = shape[:-2] + shape[-1:]
            if len(b) == 1:
                shape = shape[:-1]
    try:
        torch_shape, torch_error = tuple((torch.empty(a, device="meta") @ torch.empty(b, device="meta")).shape), None
    except RuntimeError as exc:
        torch_shape, torch_error = None, torch_message(exc)
    if shape is not None:
        steps.append(f"result {fmt_shape(shape)}")
    return Matmul(a, b, shape, batch, tuple(steps), reason, torch_shape, torch_error)


def small_ints(shape: tuple[int, ...], seed: int, low: int = -3, high: int = 4) -> torch.Tensor:
    """Whole numbers in [low, high) as floats: products and sums stay readable."""
    check_numel(shape)
    return torch.randint(low, high, shape, generator=_generator(seed)).float()


ELEMENTWISE = ("pow", "sqrt", "exp", "log", "abs", "sigmoid")


def elementwise(fn: str, x: torch.Tensor, exponent: float = 2.0) -> torch.Tensor:
    """x.pow(p), x.sqrt(), x.exp(), ... from a whitelist."""
    if fn == "pow":
        return x.pow(exponent)
    if fn not in ELEMENTWISE:
        raise InputError(f"Unknown function {fn!r}.")
    return getattr(torch, fn)(x)


@dataclass(frozen=True, eq=False)
class Clipping:
    grad: torch.Tensor
    by_value: torch.Tensor  # grad.clamp(-clip, clip)
    by_value_nn: torch.Tensor  # the same through torch.nn.utils.clip_grad_value_
    by_norm: torch.Tensor  # torch.nn.utils.clip_grad_norm_(.., max_norm)
    norm_before: float
    norm_after_value: float
    norm_after_norm: float
    n_clamped: int


def clip_gradients(grad: torch.Tensor, clip: float, max_norm: float) -> Clipping:
    """Gradient clipping two ways: clamp each entry to [-clip, clip], or rescale the whole vector to max_norm."""
    if clip <= 0 or max_norm <= 0:
        raise InputError("Clip value and max norm must be positive.")
    by_value = grad.clamp(min=-clip, max=clip)
    p = torch.nn.Parameter(torch.zeros_like(grad))
    p.grad = grad.clone()
    torch.nn.utils.clip_grad_value_([p], clip_value=clip)
    by_value_nn = p.grad.clone()
    p.grad = grad.clone()
    torch.nn.utils.clip_grad_norm_([p], max_norm=max_norm)
    by_norm = p.grad.clone()
    return Clipping(grad, by_value, by_value_nn, by_norm, float(grad.norm()), float(by_value.norm()),
                    float(by_norm.norm()), int((grad.abs() > clip).sum()))


def norm(x: torch.Tensor, p: float, dim: int | None, keepdim: bool = False) -> torch.Tensor:
    """x.norm(p, dim): (sum |x|^p)^(1/p); p=inf is the largest |x|."""
    if dim is not None and not -x.dim() <= dim < x.dim():
        raise InputError(f"dim={dim} does not exist for a tensor with {x.dim()} dimensions.")
    return x.norm(p=p, dim=dim, keepdim=keepdim)


REDUCTIONS = ("sum", "mean", "prod", "min", "max", "std", "argmax")


@dataclass(frozen=True, eq=False)
class Reduced:
    values: torch.Tensor
    indices: torch.Tensor | None  # min/max/argmax along a dim
    shape: tuple[int, ...]


def reduce(x: torch.Tensor, op: str, dim: int | None, keepdim: bool = False) -> Reduced:
    """x.sum(dim), x.mean(dim), ... ; with dim=None over every element."""
    if op not in REDUCTIONS:
        raise InputError(f"Unknown reduction {op!r}.")
    if dim is not None and not -x.dim() <= dim < x.dim():
        raise InputError(f"dim={dim} does not exist for a tensor with {x.dim()} dimensions.")
    fn = getattr(x, op)
    if dim is None:
        values = fn()
        return Reduced(values, None, tuple(values.shape))
    out = fn(dim=dim, keepdim=keepdim)
    if op in ("min", "max"):
        return Reduced(out.values, out.indices, tuple(out.values.shape))
    if op == "argmax":
        return Reduced(out, out, tuple(out.shape))
    return Reduced(out, None, tuple(out.shape))


def where(x: torch.Tensor, op: str, threshold: float, other: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask, torch.where(mask, x, other)) with mask = x <op> threshold."""
    mask = compare(x, op, threshold)
    return mask, torch.where(mask, x, torch.tensor(other, dtype=x.dtype))
