"""Elementwise arithmetic and its function forms (`a + b` is `torch.add(a, b)` ...), the two integer divisions and
two remainders that differ for negative numbers, and the products: `*` (elementwise) vs `@`/`mm`/`mv`/`bmm`."""

from dataclasses import dataclass

import torch

from core.tensor_common import fmt_shape, printed, torch_message

A = torch.tensor([7.0, -7.0, 7.5, -7.5])
B = torch.tensor([2.0, 2.0, -2.0, -2.0])


@dataclass(frozen=True)
class Row:
    code: str
    function: str
    result: str
    same: bool  # the operator and the function give equal tensors


def operators(a: torch.Tensor = A, b: torch.Tensor = B) -> list[Row]:
    """Each operator next to its function form, on numbers where the sign matters."""
    pairs = [
        ("a + b", "torch.add(a, b)", a + b, torch.add(a, b)),
        ("a - b", "torch.sub(a, b)", a - b, torch.sub(a, b)),
        ("a * b", "torch.mul(a, b)", a * b, torch.mul(a, b)),
        ("a / b", "torch.div(a, b)", a / b, torch.div(a, b)),
        ("a // b", 'torch.div(a, b, rounding_mode="floor")', a // b, torch.div(a, b, rounding_mode="floor")),
        ("(a / b).trunc()", 'torch.div(a, b, rounding_mode="trunc")', (a / b).trunc(),
         torch.div(a, b, rounding_mode="trunc")),
        ("a % b", "torch.remainder(a, b)", a % b, torch.remainder(a, b)),
        ("a - (a / b).trunc() * b", "torch.fmod(a, b)", a - (a / b).trunc() * b, torch.fmod(a, b)),
        ("a ** 2", "torch.pow(a, 2)", a**2, torch.pow(a, 2)),
    ]
    return [Row(code, fn, printed(x.tolist()), bool(torch.equal(x, y))) for code, fn, x, y in pairs]


def operators_code(rows: list[Row]) -> str:
    lines = ["import torch", "", f"a = torch.tensor({A.tolist()})", f"b = torch.tensor({B.tolist()})"]
    for r in rows:
        lines.append(f"print(({r.code}).tolist(), torch.equal({r.code}, {r.function}))  # {r.result} {r.same}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Product:
    code: str
    shapes: str
    result: str  # the result's shape, or torch's error


def products(seed: int = 0) -> list[Product]:
    """`*` multiplies element by element (shapes must broadcast); `@`, mm, mv and bmm contract a dim."""
    g = torch.Generator().manual_seed(seed)
    m, n, v = torch.randn(2, 3, generator=g), torch.randn(3, 2, generator=g), torch.randn(3, generator=g)
    bm, bn = torch.randn(4, 2, 3, generator=g), torch.randn(4, 3, 2, generator=g)
    calls = [("M * M", "(2, 3) and (2, 3)", lambda: m * m), ("M * N", "(2, 3) and (3, 2)", lambda: m * n),
             ("M @ N", "(2, 3) @ (3, 2)", lambda: m @ n), ("torch.mm(M, N)", "2-D only", lambda: torch.mm(m, n)),
             ("torch.mv(M, v)", "(2, 3) @ (3,)", lambda: torch.mv(m, v)),
             ("torch.bmm(BM, BN)", "(4, 2, 3) @ (4, 3, 2)", lambda: torch.bmm(bm, bn)),
             ("torch.mm(BM, BN)", "3-D", lambda: torch.mm(bm, bn))]
    out = []
    for code, shapes, fn in calls:
        try:
            result = f"shape {fmt_shape(fn().shape)}"
        except RuntimeError as exc:
            result = f"error: {torch_message(exc)}"
        out.append(Product(code, shapes, result))
    return out
