"""Tensor puzzles: implement a loop with broadcasting, indexing, arange and where (core.tensor_lang), checked on
random inputs of random sizes. Each puzzle has its spec as a plain Python loop (also the reference the answers
are checked against), hints in tiers and a solution the tests run.

    result = check("outer", "a[:, None] * b[None, :]")      # result.solved, result.failure
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from core import tensor_lang
from core.parsing import InputError

CASES = 8  # random inputs per check


def _vec(g, lo=-5, hi=6, n=None):
    n = n or int(torch.randint(2, 7, (1,), generator=g))
    return torch.randint(lo, hi, (n,), generator=g)


@dataclass(frozen=True)
class Puzzle:
    name: str
    title: str
    signature: str  # what the answer receives, e.g. "a: (n,), b: (m,)"
    spec: str  # the loop, as Python
    reference: Callable  # inputs -> expected tensor (the spec, run)
    make: Callable  # torch.Generator -> inputs
    hints: tuple[str, str]
    solution: str


def _loop(shape, fill):
    out = torch.zeros(shape, dtype=torch.long)
    for idx in torch.cartesian_prod(*[torch.arange(s) for s in shape]).reshape(-1, len(shape)).tolist() \
            if all(shape) else []:
        out[tuple(idx)] = fill(*idx)
    return out


def _sizes(g, *names):
    return {n: int(torch.randint(1, 7, (1,), generator=g)) for n in names}


PUZZLES: dict[str, Puzzle] = {p.name: p for p in (
    Puzzle("ones", "ones", "n: int", "out = zeros(n)\nfor i in range(n):\n    out[i] = 1",
           lambda n: _loop((n,), lambda i: 1), lambda g: _sizes(g, "n"),
           ("arange(n) has the right shape.", "Any arange(n) * 0 is zeros; add 1."), "arange(n) * 0 + 1"),
    Puzzle("outer", "outer product", "a: (n,), b: (m,)",
           "out = zeros(n, m)\nfor i in range(n):\n    for j in range(m):\n        out[i, j] = a[i] * b[j]",
           lambda a, b: _loop((len(a), len(b)), lambda i, j: a[i] * b[j]), lambda g: {"a": _vec(g), "b": _vec(g)},
           ("Make a a column and b a row.", "a[:, None] has shape (n, 1); b[None, :] has (1, m)."),
           "a[:, None] * b[None, :]"),
    Puzzle("diag", "diagonal", "a: (n, n), n: int", "out = zeros(n)\nfor i in range(n):\n    out[i] = a[i, i]",
           lambda a, n: _loop((n,), lambda i: a[i, i]), lambda g: _square(g),
           ("Index with two index tensors at once.", "a[arange(n), arange(n)] picks (0, 0), (1, 1), ..."),
           "a[arange(n), arange(n)]"),
    Puzzle("eye", "identity matrix", "n: int",
           "out = zeros(n, n)\nfor i in range(n):\n    for j in range(n):\n        out[i, j] = 1 if i == j else 0",
           lambda n: _loop((n, n), lambda i, j: int(i == j)), lambda g: _sizes(g, "n"),
           ("Compare a column of indices with a row of indices.", "arange(n)[:, None] == arange(n) is a boolean "
            "matrix: where turns it into 1 and 0."), "where(arange(n)[:, None] == arange(n), 1, 0)"),
    Puzzle("triu", "upper triangle", "n: int",
           "out = zeros(n, n)\nfor i in range(n):\n    for j in range(n):\n        out[i, j] = 1 if i <= j else 0",
           lambda n: _loop((n, n), lambda i, j: int(i <= j)), lambda g: _sizes(g, "n"),
           ("Like eye, with another comparison.", "arange(n)[:, None] <= arange(n)"),
           "where(arange(n)[:, None] <= arange(n), 1, 0)"),
    Puzzle("cumsum", "cumulative sum", "a: (n,), n: int",
           "out = zeros(n)\nfor i in range(n):\n    out[i] = sum(a[:i + 1])",
           lambda a, n: _loop((n,), lambda i: a[: i + 1].sum()), lambda g: _with_n(g),
           ("A matrix product with a triangle of ones sums the right entries.",
            "a @ M where M[j, i] = 1 if j <= i: the upper triangle."), "a @ where(arange(n)[:, None] <= arange(n), 1, 0)"),
    Puzzle("diff", "differences", "a: (n,), n: int",
           "out = zeros(n)\nout[0] = a[0]\nfor i in range(1, n):\n    out[i] = a[i] - a[i - 1]",
           lambda a, n: _loop((n,), lambda i: a[i] - (a[i - 1] if i else 0)), lambda g: _with_n(g),
           ("Shift a by one with an index tensor; the first entry has no left neighbour.",
            "a[arange(n) - 1] wraps around at 0: mask it with where(arange(n) > 0, ..., 0)."),
           "a - where(arange(n) > 0, a[arange(n) - 1], 0)"),
    Puzzle("vstack", "stack two rows", "a: (n,), b: (n,)",
           "out = zeros(2, n)\nfor j in range(n):\n    out[0, j] = a[j]\n    out[1, j] = b[j]",
           lambda a, b: _loop((2, len(a)), lambda i, j: (a if i == 0 else b)[j]), lambda g: _pair(g),
           ("Choose between a and b row by row.", "where(arange(2)[:, None] == 0, a, b) broadcasts to (2, n)."),
           "where(arange(2)[:, None] == 0, a, b)"),
    Puzzle("roll", "roll left by one", "a: (n,), n: int", "out = zeros(n)\nfor i in range(n):\n    out[i] = a[(i + 1) % n]",
           lambda a, n: _loop((n,), lambda i: a[(i + 1) % n]), lambda g: _with_n(g),
           ("Index a with a tensor of positions.", "(arange(n) + 1) % n"), "a[(arange(n) + 1) % n]"),
    Puzzle("flip", "reverse", "a: (n,), n: int", "out = zeros(n)\nfor i in range(n):\n    out[i] = a[n - 1 - i]",
           lambda a, n: _loop((n,), lambda i: a[n - 1 - i]), lambda g: _with_n(g),
           ("Index a with the positions counted from the end.", "n - 1 - arange(n)"), "a[n - 1 - arange(n)]"),
    Puzzle("one_hot", "one-hot", "y: (n,) labels in 0..c-1, c: int",
           "out = zeros(n, c)\nfor i in range(n):\n    out[i, y[i]] = 1",
           lambda y, c: _loop((len(y), c), lambda i, k: int(y[i] == k)), lambda g: _labels(g),
           ("Compare each label with every class.", "y[:, None] == arange(c)"), "where(y[:, None] == arange(c), 1, 0)"),
    Puzzle("bucketize", "bucketize", "v: (n,), b: (m,) sorted boundaries, m: int",
           "out = zeros(n)\nfor i in range(n):\n    out[i] = sum(1 for x in b if x <= v[i])",
           lambda v, b, m: _loop((len(v),), lambda i: int((b <= v[i]).sum())), lambda g: _buckets(g),
           ("Compare every value with every boundary, then count along the boundaries.",
            "where(v[:, None] >= b, 1, 0) @ ones, with ones = arange(m) * 0 + 1."),
           "where(v[:, None] >= b, 1, 0) @ (arange(m) * 0 + 1)"),
    Puzzle("repeat", "repeat rows", "a: (n,), d: int",
           "out = zeros(d, n)\nfor i in range(d):\n    for j in range(n):\n        out[i, j] = a[j]",
           lambda a, d: _loop((d, len(a)), lambda i, j: a[j]), lambda g: {"a": _vec(g), **_sizes(g, "d")},
           ("Broadcast a against something of shape (d, 1).", "a[None, :] + arange(d)[:, None] * 0"),
           "a[None, :] + arange(d)[:, None] * 0"),
    Puzzle("take", "gather by hand", "a: (n,), idx: (k,) positions in a",
           "out = zeros(k)\nfor i in range(k):\n    out[i] = a[idx[i]]",
           lambda a, idx: _loop((len(idx),), lambda i: a[idx[i]]), lambda g: _take(g),
           ("A tensor of positions can index.", "a[idx]"), "a[idx]"),
    Puzzle("pad", "zero padding", "a: (n,), n: int, k: int",
           "out = zeros(n + 2 * k)\nfor i in range(n + 2 * k):\n    out[i] = a[i - k] if k <= i < n + k else 0",
           lambda a, n, k: _loop((n + 2 * k,), lambda i: a[i - k] if k <= i < n + k else 0), lambda g: _padded(g),
           ("Positions i - k inside 0..n-1 read a; the others are 0.",
            "i = arange(n + 2 * k); where((i >= k) & (i < n + k), a[(i - k) % n], 0), with i written out twice."),
           "where((arange(n + 2 * k) >= k) & (arange(n + 2 * k) < n + k), a[(arange(n + 2 * k) - k) % n], 0)"),
    Puzzle("row_sums", "row sums", "a: (n, m), m: int",
           "out = zeros(n)\nfor i in range(n):\n    out[i] = sum(a[i, j] for j in range(m))",
           lambda a, m: _loop((a.shape[0],), lambda i: a[i].sum()), lambda g: _matrix(g),
           ("A matrix times a vector of ones adds up each row.", "a @ (arange(m) * 0 + 1)"), "a @ (arange(m) * 0 + 1)"),
)}


def _square(g):
    n = int(torch.randint(1, 6, (1,), generator=g))
    return {"a": torch.randint(-5, 6, (n, n), generator=g), "n": n}


def _with_n(g):
    a = _vec(g)
    return {"a": a, "n": len(a)}


def _pair(g):
    a = _vec(g)
    return {"a": a, "b": _vec(g, n=len(a))}


def _labels(g):
    c = int(torch.randint(2, 6, (1,), generator=g))
    return {"y": torch.randint(0, c, (int(torch.randint(1, 7, (1,), generator=g)),), generator=g), "c": c}


def _buckets(g):
    b = torch.randint(-5, 6, (int(torch.randint(1, 5, (1,), generator=g)),), generator=g).sort().values
    return {"v": _vec(g), "b": b, "m": len(b)}


def _take(g):
    a = _vec(g)
    return {"a": a, "idx": torch.randint(0, len(a), (int(torch.randint(1, 7, (1,), generator=g)),), generator=g)}


def _padded(g):
    a = _vec(g)
    return {"a": a, "n": len(a), "k": int(torch.randint(0, 3, (1,), generator=g))}


def _matrix(g):
    n, m = (int(torch.randint(1, 6, (1,), generator=g)) for _ in range(2))
    return {"a": torch.randint(-5, 6, (n, m), generator=g), "m": m}


@dataclass(frozen=True)
class Failure:
    inputs: dict
    expected: torch.Tensor
    produced: torch.Tensor | None
    message: str


@dataclass(frozen=True)
class Result:
    solved: bool
    passed: int  # cases passed before the first failure
    failure: Failure | None


def example(name: str, seed: int = 0) -> tuple[dict, torch.Tensor]:
    p = PUZZLES[name]
    inputs = p.make(torch.Generator().manual_seed(seed))
    return inputs, p.reference(**inputs)


def check(name: str, answer: str, seed: int = 0, cases: int = CASES) -> Result:
    """The answer against the spec on `cases` random inputs (seeded); InputError when it cannot be read at all."""
    p = PUZZLES[name]
    tensor_lang.parse(answer, tuple(p.make(torch.Generator().manual_seed(seed))))  # syntax first, for a clear error
    for k in range(cases):
        inputs = p.make(torch.Generator().manual_seed(seed * 1000 + k))
        expected = p.reference(**inputs)
        try:
            produced = tensor_lang.run(answer, inputs)
        except InputError as exc:
            return Result(False, k, Failure(inputs, expected, None, str(exc)))
        if tuple(produced.shape) != tuple(expected.shape):
            return Result(False, k, Failure(inputs, expected, produced,
                                            f"The shape is {tuple(produced.shape)}; it should be {tuple(expected.shape)}."))
        if not torch.equal(produced.to(expected.dtype) if not produced.is_floating_point() else produced,
                           expected.to(produced.dtype)):
            return Result(False, k, Failure(inputs, expected, produced, "The values differ (outlined)."))
    return Result(True, cases, None)


def torch_code(answer: str) -> str:
    """The answer as plain torch code (arange and where are torch's)."""
    import re

    return re.sub(r"\b(arange|where)\(", r"torch.\1(", answer.strip())


SIZES = {"outer": "n, m = len(a), len(b)", "vstack": "n = len(a)", "one_hot": "n = len(y)", "bucketize": "n = len(v)",
         "repeat": "n = len(a)", "take": "k = len(idx)", "row_sums": "n = a.shape[0]"}  # names the loops use


def puzzle_code(name: str, answer: str, solved: bool, seed: int = 0) -> str:
    """The example as a script: the spec's loop computes `expected`; a solved answer is compared with it."""
    p = PUZZLES[name]
    inputs, expected = example(name, seed)
    lines = ["import torch", ""]
    for k, v in inputs.items():
        lines.append(f"{k} = torch.tensor({v.tolist()})" if isinstance(v, torch.Tensor) else f"{k} = {v}")
    lines += ["", "# the spec, as a loop", "def zeros(*shape):", "    return torch.zeros(shape, dtype=torch.long)", ""]
    lines += [SIZES[name]] if name in SIZES else []
    lines += p.spec.splitlines()
    lines.append(f"print(out.tolist())  # {expected.tolist()}")
    if solved:
        lines += ["", "# your answer: no loop", f"answer = {torch_code(answer)}",
                  "print(torch.equal(answer.to(out.dtype), out))  # True"]
    return "\n".join(lines) + "\n"
