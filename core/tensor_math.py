"""Math on tensors: matmul with batch broadcasting, elementwise functions, clipping, norms, reductions, where."""

import math
from dataclasses import dataclass

import torch

from core.broadcasting import Broadcast, broadcast
from core.parsing import InputError
from core.tensor_common import (
    COMPARISON_NAMES,
    check_numel,
    compare,
    fmt_shape,
    generator,
    printed,
    torch_message,
)


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


@dataclass(frozen=True, eq=False)
class MatmulExample:
    """A small product with the same rule: batch sizes capped at 2, matrix sizes at 4, whole numbers."""

    A: torch.Tensor
    B: torch.Tensor
    C: torch.Tensor  # A @ B

    def first(self, t: torch.Tensor) -> torch.Tensor:
        """The first matrix of a batch: t[0, ..., 0, :, :]."""
        return t[(0,) * (t.dim() - 2)]

    def cell_masks(self, i: int, j: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """In the first matrices: row i of A and column j of B, whose products sum to the cell C[i, j]."""
        a, b, c = (torch.zeros(self.first(t).shape, dtype=torch.bool) for t in (self.A, self.B, self.C))
        a[i, :], b[:, j], c[i, j] = True, True, True
        return a, b, c


def matmul_example(a: tuple[int, ...], b: tuple[int, ...]) -> MatmulExample:
    """Seeded small integer matrices shaped like A and B (1-D ones as a row / a column)."""
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    n, m, p = min(a2[-2], 4), min(a2[-1], 4), min(b2[-1], 4)
    A = small_ints(tuple(min(s, 2) for s in a2[:-2]) + (n, m), 1)
    B = small_ints(tuple(min(s, 2) for s in b2[:-2]) + (m, p), 2)
    return MatmulExample(A, B, A @ B)


def matmul_error_code(mm: Matmul) -> str:
    """Two tensors that cannot be multiplied, and torch's message."""
    return (f"import torch\n\nA = torch.zeros{fmt_shape(mm.a)}\nB = torch.zeros{fmt_shape(mm.b)}\n"
            f"A @ B  # RuntimeError: {mm.torch_error}\n")


def matmul_code(mm: Matmul, ex: MatmulExample, i: int, j: int) -> str:
    """The result shape for the learner's shapes, then the small example and its cell C[..., i, j]."""
    cell = (0,) * (ex.C.dim() - 2) + (i, j)
    return f"""import torch

A = torch.zeros{fmt_shape(mm.a)}
B = torch.zeros{fmt_shape(mm.b)}
# the same as torch.matmul(A, B)
print((A @ B).shape)  # torch.Size({list(mm.shape)})

# the small example
gA, gB = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
A = torch.randint(-3, 4, {fmt_shape(ex.A.shape)}, generator=gA).float()
B = torch.randint(-3, 4, {fmt_shape(ex.B.shape)}, generator=gB).float()
C = A @ B  # {fmt_shape(ex.C.shape)}
print(C[{', '.join(map(str, cell))}])  # {printed(ex.C[cell])}
"""


def small_ints(shape: tuple[int, ...], seed: int, low: int = -3, high: int = 4) -> torch.Tensor:
    """Whole numbers in [low, high) as floats: products and sums stay readable."""
    check_numel(shape)
    return torch.randint(low, high, shape, generator=generator(seed)).float()


ELEMENTWISE = ("pow", "sqrt", "rsqrt", "exp", "log", "log2", "log10", "abs", "sigmoid", "floor", "ceil", "round",
               "trunc", "frac")


def elementwise(fn: str, x: torch.Tensor, exponent: float = 2.0) -> torch.Tensor:
    """x.pow(p), x.sqrt(), x.exp(), ... from a whitelist."""
    if fn == "pow":
        return x.pow(exponent)
    if fn not in ELEMENTWISE:
        raise InputError(f"Unknown function {fn!r}.")
    return getattr(torch, fn)(x)


def elementwise_call(fn: str, exponent: float = 2.0) -> str:
    """The call as code on x. Example: 'torch.sqrt(x)', 'x.pow(2)'."""
    return f"x.pow({exponent:g})" if fn == "pow" else f"torch.{fn}(x)"


def elementwise_code(fn: str, lo: float, hi: float, exponent: float, y: torch.Tensor) -> str:
    """The curve's 41 points and how many of them are nan or inf."""
    return f"""import torch

x = torch.linspace({lo:g}, {hi:g}, {y.numel()})
y = {elementwise_call(fn, exponent)}
print(torch.isnan(y).sum(), torch.isinf(y).sum())  # {printed(torch.isnan(y).sum())} {printed(torch.isinf(y).sum())}
"""


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


def random_gradient(seed: int, n: int = 12) -> torch.Tensor:
    """A made-up gradient: n normal entries scaled by 1.5, so that some exceed a clip value."""
    return torch.randn(n, generator=generator(seed)) * 1.5


def clip_code(cl: Clipping, clip: float, max_norm: float, seed: int) -> str:
    """Both clippings of the seeded gradient, and the three norms the lesson shows."""
    norms = " ".join(printed(t.norm()) for t in (cl.grad, cl.by_value, cl.by_norm))
    return f"""import torch

grad = torch.randn({cl.grad.numel()}, generator=torch.Generator().manual_seed({seed})) * 1.5
clamped = grad.clamp(min=-{clip:g}, max={clip:g})  # or torch.clamp(grad, -{clip:g}, {clip:g})

# in a training loop, after loss.backward():
#   torch.nn.utils.clip_grad_value_(model.parameters(), clip_value={clip:g})   # same as clamp
#   torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={max_norm:g})
p = torch.nn.Parameter(torch.zeros({cl.grad.numel()}))
p.grad = grad.clone()
torch.nn.utils.clip_grad_norm_([p], max_norm={max_norm:g})
print(grad.norm(), clamped.norm(), p.grad.norm())  # {norms}
"""


def norm(x: torch.Tensor, p: float, dim: int | None, keepdim: bool = False) -> torch.Tensor:
    """x.norm(p, dim): (sum |x|^p)^(1/p); p=inf is the largest |x|."""
    if dim is not None and not -x.dim() <= dim < x.dim():
        raise InputError(f"dim={dim} does not exist for a tensor with {x.dim()} dimensions.")
    return x.norm(p=p, dim=dim, keepdim=keepdim)


def _dim_args(dim: int | None, keepdim: bool) -> list[str]:
    return ([f"dim={dim}"] + (["keepdim=True"] if keepdim else [])) if dim is not None else []


def norm_call(p: float, dim: int | None, keepdim: bool = False) -> str:
    """The call as code on x. Example: 'x.norm(p=2, dim=1)'."""
    p_text = "float('inf')" if p == math.inf else f"{p:g}"
    # keepdim counts without a dim too: the norm of all of x then keeps every dim, with size 1
    args = [f"p={p_text}"] + ([f"dim={dim}"] if dim is not None else []) + (["keepdim=True"] if keepdim else [])
    return f"x.norm({', '.join(args)})"


def x_code(shape: tuple[int, ...], seed: int) -> str:
    """The lines that make the lesson's x: whole numbers -5..5 as floats (small_ints(shape, seed, -5, 6))."""
    return (f"g = torch.Generator().manual_seed({seed})\n"
            f"x = torch.randint(-5, 6, {fmt_shape(shape)}, generator=g).float()\n")


def norm_code(x: torch.Tensor, seed: int, p: float, dim: int | None, keepdim: bool, r: torch.Tensor) -> str:
    """The norm of the lesson's x, and its torch.linalg twin."""
    return (f"import torch\n\n{x_code(tuple(x.shape), seed)}print({norm_call(p, dim, keepdim)})  # {printed(r)}\n"
            "# the same with torch.linalg: torch.linalg.vector_norm(x, ord=p, dim=dim)\n")


REDUCTIONS = ("sum", "mean", "prod", "min", "max", "std", "argmax")


@dataclass(frozen=True, eq=False)
class Reduced:
    values: torch.Tensor
    indices: torch.Tensor | None  # min/max/argmax along a dim
    shape: tuple[int, ...]
    mask: torch.Tensor | None = None  # bool, x's shape: the cells the indices point at


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
    if op not in ("min", "max", "argmax"):
        return Reduced(out, None, tuple(out.shape))
    values, indices = (out.values, out.indices) if op in ("min", "max") else (out, out)
    idx = indices if keepdim else indices.unsqueeze(dim)
    mask = torch.zeros(x.shape, dtype=torch.bool).scatter_(dim, idx, True)
    return Reduced(values, indices, tuple(values.shape), mask)


def reduce_call(op: str, dim: int | None, keepdim: bool = False) -> str:
    """The call as code on x. Example: 'x.max(dim=1)'."""
    return f"x.{op}({', '.join(_dim_args(dim, keepdim))})"


def reduce_code(x: torch.Tensor, seed: int, op: str, dim: int | None, keepdim: bool, red: Reduced) -> str:
    """The reduction of the lesson's x; min/max along a dim return (values, indices)."""
    call = reduce_call(op, dim, keepdim)
    if op in ("min", "max") and dim is not None:
        shown = [f"values, indices = {call}", f"print(values)  # {printed(red.values)}",
                 f"print(indices)  # {printed(red.indices)}"]
    else:
        shown = [f"print({call})  # {printed(red.values)}"]
    return f"import torch\n\n{x_code(tuple(x.shape), seed)}" + "\n".join(shown) + "\n"


def where(x: torch.Tensor, op: str, threshold: float, other: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask, torch.where(mask, x, other)) with mask = x <op> threshold."""
    mask = compare(x, op, threshold)
    return mask, torch.where(mask, x, torch.tensor(other, dtype=x.dtype))


def where_code(x: torch.Tensor, seed: int, op: str, threshold: float, other: float, mask: torch.Tensor) -> str:
    """The mask, torch.where with it, and how many cells the mask keeps."""
    t = f"{threshold:g}"
    return f"""import torch

{x_code(tuple(x.shape), seed)}mask = x {op} {t}  # a bool tensor; the same as torch.{COMPARISON_NAMES[op]}(x, {t})
out = torch.where(mask, x, torch.tensor({other:g}))
print(mask.sum())  # {printed(mask.sum())}
"""

