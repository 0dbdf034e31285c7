"""Broadcasting: two shapes lined up from the right, the rule applied dim by dim, and expand (a view) vs repeat.

The explanation is computed by our own rule and then checked against torch itself, so the words and torch agree.
"""

import math
from dataclasses import dataclass

import torch

from core.parsing import MAX_ELEMENTS, InputError
from core.tensor_common import check_numel, fmt_shape, free_tensor, torch_message

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
        try:  # the message learners meet in practice; free tensors cost no memory and a clash stops torch early
            free_tensor(a) + free_tensor(b)
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


def stretched(t: torch.Tensor, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """t expanded to `shape`, and a mask of the cells really stored (index 0 along every stretched dim)."""
    e = t.expand(shape)
    pad = (1,) * (len(shape) - t.dim()) + tuple(t.shape)
    coords = torch.meshgrid(*[torch.arange(s) for s in shape], indexing="ij") if shape else []
    stored = torch.ones(shape, dtype=torch.bool)
    for c, own, full in zip(coords, pad, shape, strict=True):
        if own == 1 and full > 1:
            stored &= c == 0
    return e, stored


def broadcast_error_code(bc: Broadcast) -> str:
    """Two tensors whose shapes clash, and torch's message for their sum."""
    return (f"import torch\n\na = torch.zeros{fmt_shape(bc.a)}\nb = torch.zeros{fmt_shape(bc.b)}\n"
            f"a + b  # RuntimeError: {bc.torch_error}\n")


def broadcast_code(bc: Broadcast, ex: BroadcastExample, evr: ExpandVsRepeat, cap: int) -> str:
    """The small example, torch.broadcast_shapes on the learner's shapes, and expand vs repeat: runnable."""
    lines = [
        "import torch",
        "",
        f"# the small example (every size above 1 capped at {cap})",
        f"a = torch.arange({ex.a.numel()}).reshape{fmt_shape(ex.a.shape)}",
        f"b = torch.arange(1, {ex.b.numel() + 1}).reshape{fmt_shape(ex.b.shape)} * {ex.scale}",
        "c = a + b",
        f"print(c.shape)  # torch.Size({list(ex.out.shape)})",
        "",
        "# your shapes",
        f"print(torch.broadcast_shapes({fmt_shape(bc.a)}, {fmt_shape(bc.b)}))  # torch.Size({list(bc.shape)})",
        "",
        "# expand: a view (stride 0, no copy) vs repeat: a copy",
        f"x = torch.zeros{fmt_shape(evr.source)}",
        f"e = x.expand({', '.join(map(str, evr.target))})",
        "print(e.stride(), e.untyped_storage().nbytes(), e.data_ptr() == x.data_ptr())"
        f"  # {evr.expand_stride} {evr.expand_bytes} {evr.expand_shares}",
    ]
    if evr.repeat_skipped is None:
        lines += [f"r = x.repeat{evr.repeats}",
                  "print(r.stride(), r.untyped_storage().nbytes(), r.data_ptr() == x.data_ptr())"
                  f"  # {evr.repeat_stride} {evr.repeat_bytes} {evr.repeat_shares}"]
    return "\n".join(lines) + "\n"
