"""Shape and memory: view / reshape / transpose / permute, strides and contiguity, squeeze and unsqueeze."""

import math
from dataclasses import dataclass

import torch

from core.parsing import InputError
from core.tensor_common import check_numel, fmt_shape, free_tensor, torch_message


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
FIRST_LABELS = {"none": "x", "transpose": "x.transpose(d0, d1)", "permute": "x.permute(order)"}
SECOND_LABELS = {"none": "(nothing)", "view": "y.view(new shape)", "reshape": "y.reshape(new shape)",
                 "contiguous": "y.contiguous()"}


@dataclass(frozen=True, eq=False)
class Reshaped:
    steps: tuple[Layout, ...]  # base, then one layout per op that ran
    error: str | None  # torch's message when the second op fails (view on a non-contiguous tensor)
    explanation: str | None
    exprs: dict[str, str]  # "x", "y", "z" -> the code that makes each (z also when it fails)


def reshape_chain(shape: tuple[int, ...], first: str = "none", *, dims: tuple[int, ...] = (0, 1),
                  second: str = "none", new_shape: tuple[int, ...] = (-1,)) -> Reshaped:
    """x = arange(n).view(shape); y = first(x); z = second(y): the strides, contiguity and sharing of each.

    Example: reshape_chain((2, 3), "transpose", second="view", new_shape=(6,)).error -> "view size is not ..."
    """
    check_numel(shape)
    x = torch.arange(math.prod(shape)).view(shape)
    nd = len(shape)
    exprs = _exprs(shape, first, dims, second, new_shape)
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
        return Reshaped(tuple(steps), None, None, exprs)
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
        return Reshaped(tuple(steps), torch_message(exc), why, exprs)
    steps.append(layout("z", z, x))
    return Reshaped(tuple(steps), None, None, exprs)


def _exprs(shape: tuple[int, ...], first: str, dims: tuple[int, ...], second: str,
           new_shape: tuple[int, ...]) -> dict[str, str]:
    """The code of each step, as the lesson's table and code panel show it."""
    exprs = {"x": f"torch.arange({math.prod(shape)}).view{fmt_shape(shape)}"}
    if first == "transpose":
        exprs["y"] = f"x.transpose({dims[0]}, {dims[1]})"
    elif first == "permute":
        exprs["y"] = f"x.permute{tuple(dims)}"
    src = "y" if first != "none" else "x"
    if second in ("view", "reshape"):
        exprs["z"] = f"{src}.{second}({', '.join(map(str, new_shape))})"
    elif second == "contiguous":
        exprs["z"] = f"{src}.contiguous()"
    return exprs


def layout_table(res: Reshaped) -> list[dict]:
    """One row per tensor of the chain: its code, shape, stride, contiguity and whether it shares x's memory."""
    return [{"tensor": s.name, "code": res.exprs[s.name], "shape": fmt_shape(s.shape), "stride": str(s.stride),
             "is_contiguous()": s.contiguous, "shares x's storage": s.shares_base} for s in res.steps]


def reshape_code(res: Reshaped) -> str:
    """The chain x -> y -> z and the shape, stride and contiguity of each; a failing z is a comment."""
    made = [f"{name} = {expr}" for name, expr in res.exprs.items() if not (res.error and name == "z")]
    shown = [f"print({s.name}.shape, {s.name}.stride(), {s.name}.is_contiguous())  # torch.Size({list(s.shape)}) "
             f"{s.stride} {s.contiguous}" for s in res.steps]
    failed = [f"# {res.exprs['z']} raises RuntimeError: {res.error}"] if res.error else []
    return "\n".join(["import torch", "", *made, *shown, *failed]) + "\n"


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
    x = free_tensor(shape)
    nd = len(shape)
    return [{"dim": d, "same as dim": d % (nd + 1), "result shape": fmt_shape(x.unsqueeze(d).shape)}
            for d in range(-(nd + 1), nd + 1)]


def squeeze_table(shape: tuple[int, ...]) -> list[dict]:
    """For every dim (-n..n-1): squeeze(dim) removes it only when its size is 1."""
    x = free_tensor(shape)
    nd = len(shape)
    return [{"dim": d, "same as dim": d % nd, "size": shape[d],
             "result shape": fmt_shape(x.squeeze(d).shape),
             "effect": "removed" if shape[d] == 1 else "unchanged (size is not 1)"}
            for d in range(-nd, nd)]



def round_trip_code(rt: RoundTrip) -> str:
    """Channels-last and back: viewing in the wrong order scrambles the images, the reverse order restores them."""
    b, c, h, w = rt.a.shape
    return f"""import torch

a = torch.arange({rt.a.numel()}).view({b}, {c}, {h}, {w})  # (B, C, H, W)
flat = a.transpose(1, 3).contiguous().view({b}, {c * h * w})  # (B, W*H*C), channels last

a1 = flat.view({b}, {c}, {h}, {w})  # wrong: the memory is in (B, W, H, C) order
print(torch.all(torch.eq(a, a1)))  # tensor({rt.wrong_equal})

a2 = flat.view({b}, {w}, {h}, {c}).transpose(1, 3)  # right: undo the steps in reverse order
print(torch.all(torch.eq(a, a2)))  # tensor({rt.right_equal})
"""


@dataclass(frozen=True)
class Squeezed:
    shape: tuple[int, ...]
    dim: int  # where unsqueeze puts the new size-1 dim
    unsqueezed: tuple[int, ...]  # x.unsqueeze(dim).shape
    squeezed: tuple[int, ...]  # x.squeeze().shape: every size-1 dim gone

    def note(self) -> str:
        """How unsqueeze reads this dim: a negative one counts from the end of the result, not of x."""
        d, nd = self.dim, len(self.shape)
        if d < 0:
            return (f"A negative dim counts from the end **of the result**: `unsqueeze({d})` is "
                    f"`unsqueeze({d % (nd + 1)})` because the result has {nd + 1} dims. For squeeze, a negative dim "
                    f"counts in x ({nd} dims).")
        return (f"`unsqueeze({d})` puts the new size-1 dim at position {d} of the result. Move the slider below "
                f"0: `unsqueeze(-1)` appends a dim at the end, the same as `unsqueeze({nd})`.")


def squeeze_demo(shape: tuple[int, ...], dim: int) -> Squeezed:
    """x.unsqueeze(dim) and x.squeeze() on a tensor of `shape` (shapes only: x takes no memory)."""
    x = free_tensor(shape)
    return Squeezed(tuple(shape), dim, tuple(x.unsqueeze(dim).shape), tuple(x.squeeze().shape))


def squeeze_code(sq: Squeezed) -> str:
    """unsqueeze(dim), squeeze(), and squeeze(d) for every negative d."""
    x = free_tensor(sq.shape)
    lines = ["import torch", "", f"x = torch.zeros{fmt_shape(sq.shape)}",
             f"print(x.unsqueeze({sq.dim}).shape)  # torch.Size({list(sq.unsqueezed)})",
             f"print(x.squeeze().shape)  # torch.Size({list(sq.squeezed)})"]
    lines += [f"print(x.squeeze({d}).shape)  # torch.Size({list(x.squeeze(d).shape)})" for d in range(-x.dim(), 0)]
    return "\n".join(lines) + "\n"
