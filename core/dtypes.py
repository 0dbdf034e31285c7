"""Tensor types: the dtypes and their sizes, what `torch.tensor` infers from Python numbers, and the type promotion
rules that decide the dtype of an operation between two operands (with the wrap-around and rounding they cause).

`promote` states the rules of the PyTorch documentation ("Type promotion") in code; the tests check it against
`torch.result_type` for every pair of dtypes and operand kinds.
"""

import math
import operator
from dataclasses import dataclass

import torch

from core.parsing import InputError, quoted
from core.tensor_common import fmt_shape, printed, torch_message

DTYPES: dict[str, torch.dtype] = {
    "bool": torch.bool, "uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64,
}
ALSO_CALLED = {"bool": ".bool()", "uint8": ".byte()", "int8": ".char()", "int16": "torch.short · .short()",
               "int32": "torch.int · .int()", "int64": "torch.long · .long()", "float16": "torch.half · .half()",
               "bfloat16": ".bfloat16()", "float32": "torch.float · .float()", "float64": "torch.double · .double()"}
CATEGORIES = ("boolean", "integer", "floating point", "complex")  # complex dtypes exist; this lesson leaves them out
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
       "%": operator.mod, "==": operator.eq, "<": operator.lt}
KINDS = {"tensor": "tensor", "python": "Python number"}


def name(dtype: torch.dtype) -> str:
    """Example: name(torch.float32) -> 'float32'"""
    return str(dtype).removeprefix("torch.")


def category(dtype: torch.dtype) -> int:
    """0 boolean, 1 integer, 2 floating point, 3 complex: promotion never goes down this order."""
    if dtype == torch.bool:
        return 0
    if dtype.is_complex:
        return 3
    return 2 if dtype.is_floating_point else 1


def dtype_table() -> list[dict]:
    """One row per dtype: its other names, bytes per element, and the range and step of its values, from torch."""
    rows = []
    for key, dtype in DTYPES.items():
        if dtype == torch.bool:
            lo, hi, step = "False", "True", "-"
        elif dtype.is_floating_point:
            info = torch.finfo(dtype)
            lo, hi, step = f"{info.min:.4g}", f"{info.max:.4g}", f"{info.eps:.3g}"
        else:
            info = torch.iinfo(dtype)
            lo, hi, step = f"{info.min:,}", f"{info.max:,}", "1"
        rows.append({"dtype": f"torch.{key}", "also": ALSO_CALLED[key], "family": CATEGORIES[category(dtype)],
                     "bytes": torch.empty((), dtype=dtype).element_size(), "min": lo, "max": hi,
                     "step near 1": step})
    return rows


def memory(numel: int) -> dict[str, int]:
    """Bytes a tensor of `numel` elements takes in each dtype (element_size x numel; torch.bool takes a byte)."""
    return {key: torch.empty((), dtype=dtype).element_size() * numel for key, dtype in DTYPES.items()}


def families_code(numel: int) -> str:
    f16, f32 = torch.finfo(torch.float16), torch.finfo(torch.float32)
    x = torch.tensor([1.0]) + 1e-8
    return f"""import torch

print(torch.get_default_dtype())  # {torch.get_default_dtype()}
print(torch.tensor(1.5).dtype, torch.tensor(2).dtype, torch.tensor(True).dtype)  # torch.float32 torch.int64 torch.bool
n = {numel}  # elements
for dtype in (torch.float16, torch.float32, torch.int64):
    print(dtype, torch.empty((), dtype=dtype).element_size() * n, "bytes")
print(torch.zeros(3, dtype=torch.float16).element_size())  # 2
print(torch.finfo(torch.float16).max, torch.finfo(torch.float32).eps)  # {f16.max} {f32.eps}
print(torch.iinfo(torch.uint8).max, torch.iinfo(torch.int8).min)  # 255 -128
print(torch.tensor([1.0]) + 1e-8 == 1)  # {x == 1}
"""


# --- building a tensor from typed numbers -------------------------------------------------------------------------

def build(value, dtype_name: str = "infer") -> torch.Tensor:
    """torch.tensor(value) or torch.tensor(value, dtype=...): what the learner typed, as torch stores it."""
    dtype = None if dtype_name == "infer" else DTYPES.get(dtype_name)
    if dtype_name != "infer" and dtype is None:
        raise InputError(f"Unknown dtype {dtype_name!r}.")
    try:
        return torch.tensor(value, dtype=dtype)
    except (RuntimeError, TypeError, OverflowError) as exc:
        raise InputError(f"torch.tensor refuses these numbers as {dtype_name}: {quoted(torch_message(exc), 200)}") from exc


def tensor_call(value, dtype_name: str) -> str:
    """Example: tensor_call([250], "uint8") -> 'torch.tensor([250], dtype=torch.uint8)'"""
    return f"torch.tensor({literal(value)}" + ("" if dtype_name == "infer" else f", dtype=torch.{dtype_name}") + ")"


def literal(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    return repr(value)


@dataclass(frozen=True)
class Facts:
    dtype: str
    bytes_each: int
    numel: int
    nbytes: int
    shape: str
    dim: int
    stride: str


def facts(t: torch.Tensor) -> Facts:
    """What a learner asks a tensor: dtype, size in memory, shape, number of dims, strides."""
    return Facts(name(t.dtype), t.element_size(), t.numel(), t.element_size() * t.numel(), fmt_shape(t.shape),
                 t.dim(), fmt_shape(t.stride()))


# --- promotion -----------------------------------------------------------------------------------------------------

def _priority(x) -> int:
    """Dimensioned tensors (2) decide before 0-d tensors (1), which decide before Python numbers (0)."""
    if isinstance(x, torch.Tensor):
        return 2 if x.dim() else 1
    return 0


def _kind(x) -> str:
    p = _priority(x)
    if p == 2:
        return f"the {name(x.dtype)} tensor"
    if p == 1:
        return f"the 0-d {name(x.dtype)} tensor"
    return f"the Python {type(x).__name__} {x!r}"


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _dtype_of(x) -> torch.dtype:
    if isinstance(x, torch.Tensor):
        return x.dtype
    if isinstance(x, bool):
        return torch.bool
    if isinstance(x, int):
        return torch.int64
    return torch.get_default_dtype()


def promote(a, b) -> tuple[torch.dtype, list[str]]:
    """The dtype torch computes `a op b` in, and the rules that chose it, in words.

    Example: promote(torch.tensor([250], dtype=torch.uint8), 10)[0] -> torch.uint8
    """
    pa, pb = _priority(a), _priority(b)
    da, db = _dtype_of(a), _dtype_of(b)
    if pa == pb:
        out = torch.promote_types(da, db)
        if da == db:
            why = f"Both are {name(da)}: the result is {name(out)}."
        elif category(da) != category(db):
            why = (f"{CATEGORIES[category(out)].capitalize()} beats {CATEGORIES[min(category(da), category(db))]}: "
                   f"the result is {name(out)}.")
        elif {da, db} == {torch.uint8, torch.int8} or {da, db} == {torch.float16, torch.bfloat16}:
            why = (f"Neither {name(da)} nor {name(db)} holds all values of the other: torch takes {name(out)}, "
                   "which holds both.")
        else:
            why = f"Same family ({CATEGORIES[category(da)]}): the larger type wins, {name(out)}."
        return out, [f"{_upper(_kind(a))} and {_kind(b)} have the same priority. {why}"]
    hi, lo = (a, b) if pa > pb else (b, a)
    dhi, dlo = _dtype_of(hi), _dtype_of(lo)
    if category(dlo) > category(dhi):
        out = dlo
        where = "its own dtype" if _priority(lo) == 1 else f"the default {CATEGORIES[category(dlo)]} dtype"
        step = (f"{_upper(_kind(lo))} is of a higher family ({CATEGORIES[category(dlo)]}) than "
                f"{_kind(hi)} ({CATEGORIES[category(dhi)]}): the result takes {where}, {name(out)}.")
    else:
        out = dhi
        step = (f"{_upper(_kind(lo))} is of the same or a lower family than {_kind(hi)}, which decides: "
                f"the result stays {name(out)}" + (", so large values can wrap around." if category(out) == 1
                                                     else "."))
    return out, [step]


def result_dtype(a, b, op: str) -> tuple[torch.dtype, list[str]]:
    """promote(a, b), then the operator's own rule: `/` is true division, comparisons give bool."""
    out, steps = promote(a, b)
    if op == "/" and category(out) < 2:
        steps.append(f"`/` is true division: on {name(out)} it gives the default float type, "
                     f"{name(torch.get_default_dtype())} (`//` keeps integers).")
        out = torch.get_default_dtype()
    elif op in ("==", "<"):
        steps.append(f"A comparison gives bool: the values were compared as {name(out)}.")
        out = torch.bool
    return out, steps


@dataclass(eq=False)
class Operation:
    op: str
    dtype: torch.dtype  # by the rules (equal to the result's dtype)
    steps: list[str]
    result: torch.Tensor | None
    error: str | None  # torch's own message when it refuses (bool - bool, shapes that do not broadcast, x // 0)
    note: str | None  # wrap-around, rounding or overflow to inf, with the exact values


def operate(a, b, op: str) -> Operation:
    """`a op b` as torch computes it, with the promotion rules and what the dtype did to the exact answer."""
    if op not in OPS:
        raise InputError(f"Unknown operator {op!r}; choose one of {' '.join(OPS)}.")
    dtype, steps = result_dtype(a, b, op)
    try:
        result = OPS[op](a, b)
    except (RuntimeError, TypeError, ZeroDivisionError) as exc:
        return Operation(op, dtype, steps, None, torch_message(exc), None)
    return Operation(op, dtype, steps, result, None, _note(a, b, op, result))


def _note(a, b, op: str, result: torch.Tensor) -> str | None:
    """What the result dtype did to the values: integers that wrapped around, floats rounded or overflowed to inf."""
    if op in ("==", "<") or result.dtype == torch.bool or result.dtype.is_complex:
        return None
    ta = a if isinstance(a, torch.Tensor) else torch.tensor(a)
    tb = b if isinstance(b, torch.Tensor) else torch.tensor(b)
    ta, tb = torch.broadcast_tensors(ta, tb)
    if category(result.dtype) == 1:  # exact integer arithmetic in Python
        fn = OPS[op]
        try:
            exact = [fn(int(x), int(y)) for x, y in zip(ta.flatten().tolist(), tb.flatten().tolist(), strict=True)]
        except ZeroDivisionError:
            return None
        got = result.flatten().tolist()
        wrong = [(e, g) for e, g in zip(exact, got, strict=True) if e != g]
        if not wrong:
            return None
        info = torch.iinfo(result.dtype)
        e, g = wrong[0]
        return (f"{e:,} does not fit in {name(result.dtype)} ({info.min:,} to {info.max:,}): it wraps around "
                f"modulo {2 ** info.bits:,} to {g:,}. No error, no warning.")
    exact = OPS[op](ta.double(), tb.double()).flatten()
    got = result.double().flatten()
    over = (torch.isfinite(exact) & torch.isinf(got)).nonzero()
    if len(over):
        i = over[0].item()
        return (f"{exact[i].item():.6g} is beyond {name(result.dtype)}'s largest value "
                f"({torch.finfo(result.dtype).max:.6g}): it becomes inf.")
    if result.dtype != torch.float64:
        diff = (got - exact).abs()
        finite = torch.isfinite(diff)
        if finite.any() and diff[finite].max() > 0:
            i = int(torch.where(finite, diff, -1).argmax())
            return (f"{name(result.dtype)} rounds: {exact[i].item()!r} is stored as {got[i].item()!r} "
                    f"(about {_digits(result.dtype)} significant digits).")
    return None


def _digits(dtype: torch.dtype) -> int:
    return int(-math.log10(torch.finfo(dtype).eps))


def operand_call(value, dtype_name: str, kind: str) -> str:
    """How the page makes operand b: a tensor, or a Python number as written."""
    return literal(value) if kind == "python" else tensor_call(value, dtype_name)


def promotion_code(a_value, a_dtype: str, b_value, b_dtype: str, b_kind: str, op: str, a: torch.Tensor,
                   run: Operation) -> str:
    """The page's computation as a script: both operands, torch.result_type, the operation and what it prints."""
    lines = ["import torch", "", f"a = {tensor_call(a_value, a_dtype)}", f"b = {operand_call(b_value, b_dtype, b_kind)}",
             f"print(a.dtype, a.element_size(), a.shape)  # {a.dtype} {a.element_size()} {a.shape}",
             f"print(torch.result_type(a, b))  # {promote(a, _operand(b_value, b_dtype, b_kind))[0]}"]
    if run.error is not None:
        lines += ["try:", f"    a {op} b", "except RuntimeError as error:",
                  f"    print(error)  # {printed(run.error)}"]
    else:
        lines += [f"c = a {op} b", f"print(c.dtype)  # {run.result.dtype}", f"print(c.tolist())  # {run.result.tolist()}"]
        if op == "==":
            lines += ["# torch.equal: one bool, True when both have the same shape and the same values",
                      f"print(torch.equal(a, torch.as_tensor(b)))  # {equal(a, _operand(b_value, b_dtype, b_kind))}"]
    return "\n".join(lines) + "\n"


def _operand(value, dtype_name: str, kind: str):
    return value if kind == "python" else build(value, dtype_name)


def operand(value, dtype_name: str, kind: str):
    """Operand b: a tensor built like a (0-d when one number is typed), or a Python number (one number only)."""
    if kind == "python" and isinstance(value, list):
        raise InputError("A Python number is one number: type a single value for b, or make b a tensor.")
    return _operand(value, dtype_name, kind)


def equal(a: torch.Tensor, b) -> bool:
    """torch.equal(a, b): one bool, True when both have the same shape and the same values."""
    return torch.equal(a, torch.as_tensor(b))
