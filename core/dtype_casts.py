"""Making, casting and sharing tensors: what each constructor gives (torch.tensor infers, torch.Tensor allocates
float32, torch.empty leaves memory uninitialised), what a cast does to each value, and which tensors share memory
with a NumPy array."""

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.dtypes import DTYPES, category, literal, name, tensor_call
from core.parsing import InputError
from core.tensor_common import check_numel, fmt_shape, printed

# --- constructors --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    code: str
    dtype: str
    shape: str
    dim: int
    values: str  # "uninitialised" where the memory was not written


def constructors(value, shape: tuple[int, ...]) -> list[Made]:
    """The classic ways to make a tensor, run on the learner's numbers and shape."""
    check_numel(shape, "The allocated tensor", limit=10_000)
    first = value
    while isinstance(first, list):
        first = first[0]
    dims = ", ".join(str(s) for s in shape)
    made = [  # (code, tensor, uninitialised)
        (tensor_call(value, "infer"), torch.tensor(value), False),
        (f"torch.tensor({literal(value)}, dtype=torch.float64)", torch.tensor(value, dtype=torch.float64), False),
        (f"torch.Tensor({literal(_as_list(value))})", torch.Tensor(_as_list(value)), False),
        (f"torch.tensor({literal(first)})", torch.tensor(first), False),
        (f"torch.tensor([{literal(first)}])", torch.tensor([first]), False),
        (f"torch.Tensor({dims})", torch.Tensor(*shape), True),
        (f"torch.FloatTensor({dims})", torch.FloatTensor(*shape), True),
        (f"torch.empty({dims})", torch.empty(*shape), True),
        (f"torch.zeros({dims}, dtype=torch.long)", torch.zeros(*shape, dtype=torch.long), False),
    ]
    rows = []
    for code, t, uninitialised in made:
        shown = "uninitialised: whatever was in memory" if uninitialised else printed(t.tolist())
        rows.append(Made(code, name(t.dtype), fmt_shape(t.shape), t.dim(), shown))
    return rows


def _as_list(value):
    """torch.Tensor(3) allocates 3 elements; torch.Tensor([3]) holds the number 3."""
    return value if isinstance(value, list) else [value]


def constructors_code(value, shape: tuple[int, ...]) -> str:
    first = value
    while isinstance(first, list):
        first = first[0]
    a, s = torch.tensor(value), torch.tensor(first)
    dims = ", ".join(str(d) for d in shape)
    return f"""import torch

a = {tensor_call(value, "infer")}  # infers the dtype from the numbers
print(a.dtype, a.shape)  # {a.dtype} {a.shape}
b = torch.Tensor({literal(_as_list(value))})  # always the default float type
print(b.dtype)  # {torch.Tensor(_as_list(value)).dtype}
c = torch.Tensor({dims})  # allocates: shape ({dims}), uninitialised memory
print(c.shape)  # {torch.Size(shape)}
s = torch.tensor({literal(first)})  # a 0-d tensor ...
print(s.shape, s.dim(), s.numel())  # {s.shape} {s.dim()} {s.numel()}
print(s.item(), type(s.item()).__name__)  # {printed(s.item())} {type(s.item()).__name__}
print(torch.tensor([{literal(first)}]).shape)  # {torch.tensor([first]).shape}
print(a.dim(), a.size(), a.numel())  # {a.dim()} {a.size()} {a.numel()}
"""


# --- casting -------------------------------------------------------------------------------------------------------

CASTS = {"int64": ".long()", "int32": ".int()", "uint8": ".to(torch.uint8)", "bool": ".bool()",
         "float16": ".half()", "bfloat16": ".bfloat16()", "float32": ".float()", "float64": ".double()"}


def cast_table(x: torch.Tensor) -> dict[str, list[str]]:
    """Each value of x after each cast (call -> one cell per value of x). A float out of an integer type's range gives no defined value in C++ (torch
    returns whatever the processor does), so it is shown as such; integers that do not fit wrap around."""
    table = {f"x ({name(x.dtype)})": [_fmt(v) for v in x.flatten().tolist()]}
    for key, call in CASTS.items():
        dtype = DTYPES[key]
        y = x.to(dtype).flatten().tolist()
        cells = []
        for src, out in zip(x.flatten().tolist(), y, strict=True):
            if category(dtype) == 1 and not _fits(src, dtype):
                cells.append("out of range" if x.dtype.is_floating_point else f"{out} (wrapped)")
            else:
                cells.append(_fmt(out))
        table[call] = cells
    return table


def _fits(value, dtype: torch.dtype) -> bool:
    info = torch.iinfo(dtype)
    return math.isfinite(value) and info.min <= math.trunc(value) <= info.max


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v}"
    return f"{v:.10g}" if math.isfinite(v) else str(v)  # enough digits to see float32's and float16's rounding


@dataclass(frozen=True)
class ToFacts:
    same_is_x: bool  # x.to(x.dtype) is x
    copy_is_x: bool  # x.to(x.dtype, copy=True) is x
    other_is_x: bool  # x.to(another dtype) is x
    x_dtype_after: str  # x's dtype after x.to(another dtype) without assigning


def to_facts(x: torch.Tensor) -> ToFacts:
    """`.to` is not in place: it returns x itself when nothing changes, and a new tensor otherwise."""
    other = torch.float64 if x.dtype != torch.float64 else torch.float32
    x.to(other)  # the result is dropped, as in a line that forgets to assign it
    return ToFacts(x.to(x.dtype) is x, x.to(x.dtype, copy=True) is x, x.to(other) is x, name(x.dtype))


def cast_code(value, x: torch.Tensor) -> str:
    other = "torch.float64" if x.dtype != torch.float64 else "torch.float32"
    f = to_facts(x)
    y = x.long() if not x.dtype.is_floating_point else x.half()
    call = ".long()" if not x.dtype.is_floating_point else ".half()"
    return f"""import torch

x = {tensor_call(value, "infer")}
print(x.dtype)  # {x.dtype}
print(x{call}.tolist())  # {y.tolist()}
x.to({other})  # not in place: this line changes nothing
print(x.dtype)  # torch.{f.x_dtype_after}
print(x.to(x.dtype) is x)  # {f.same_is_x}
print(x.to(x.dtype, copy=True) is x)  # {f.copy_is_x}
y = x.to({other})  # assign the result
print(y.dtype)  # {other}
"""


# --- NumPy ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shared:
    code: str
    dtype: str
    values: list[float]
    shares: bool  # shares memory with the array


def numpy_sharing(n: int, index: int, new_value: float, through_tensor: bool) -> tuple[list[float], list[Shared]]:
    """An array and five tensors made from it; then one cell is changed through the array (or through the tensor
    from torch.from_numpy). Returns the array's values after the change, and each tensor's."""
    if not 2 <= n <= 12 or not -n <= index < n:
        raise InputError(f"Index {index} is out of range for an array of {n} numbers (valid: {-n} to {n - 1}).")
    arr = np.arange(n, dtype=np.float64)  # NumPy's default float is float64
    made = {"torch.from_numpy(arr)": torch.from_numpy(arr), "torch.as_tensor(arr)": torch.as_tensor(arr),
            "torch.tensor(arr)": torch.tensor(arr), "torch.from_numpy(arr).float()": torch.from_numpy(arr).float()}
    back = made["torch.tensor(arr)"].numpy()  # shares with that tensor, not with arr
    if through_tensor:
        made["torch.from_numpy(arr)"][index] = new_value
    else:
        arr[index] = new_value
    rows = [Shared(code, name(t.dtype), t.tolist(), np.shares_memory(t.numpy(), arr)) for code, t in made.items()]
    rows.append(Shared("torch.tensor(arr).numpy()", str(back.dtype), back.tolist(), np.shares_memory(back, arr)))
    return arr.tolist(), rows


def numpy_code(n: int, index: int, new_value: float, through_tensor: bool) -> str:
    arr, rows = numpy_sharing(n, index, new_value, through_tensor)
    by = {r.code: r for r in rows}
    change = f"t[{index}] = {new_value!r}" if through_tensor else f"arr[{index}] = {new_value!r}"
    return f"""import numpy as np
import torch

arr = np.arange({n}, dtype=np.float64)  # NumPy's default float is float64
t = torch.from_numpy(arr)  # shares arr's memory
c = torch.tensor(arr)  # a copy
f = torch.from_numpy(arr).float()  # a new dtype needs new memory: a copy
{change}
print(arr.tolist())  # {arr}
print(t.tolist(), t.dtype)  # {by["torch.from_numpy(arr)"].values} torch.{by["torch.from_numpy(arr)"].dtype}
print(c.tolist())  # {by["torch.tensor(arr)"].values}
print(f.tolist(), f.dtype)  # {by["torch.from_numpy(arr).float()"].values} torch.float32
print(np.shares_memory(t.numpy(), arr))  # {by["torch.from_numpy(arr)"].shares}
print(t.device)  # cpu
"""


def numpy_on_other_device() -> str:
    """torch's own message for .numpy() on a tensor outside the CPU (a shape-only 'meta' tensor stands in for GPU)."""
    try:
        torch.empty(2, device="meta").numpy()
    except (RuntimeError, TypeError) as exc:
        return str(exc).strip().splitlines()[0]
    return ""
