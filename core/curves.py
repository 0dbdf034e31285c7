"""What the Functions & gradients lessons share: a curve with its autograd derivative, and how their code
panels write numbers and expected output."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Curve:
    """A function sampled on a grid, with its derivative from autograd."""

    x: torch.Tensor  # (n,)
    y: torch.Tensor  # (n,) f(x)
    grad: torch.Tensor  # (n,) f'(x)


def num(value: float) -> str:
    """A number as it appears in generated code: short, and exact enough to reproduce the result."""
    return f"{float(value):.6g}"


def floats(values) -> str:
    """Numbers for a tensor literal in generated code, written so that torch.tensor makes a float tensor.

    Example: floats([2.0, 1.0, 0.1]) -> '2.0, 1.0, 0.1' (torch.tensor([2, 1]) would be int64: no gradients)
    """
    return ", ".join(text if any(c in text for c in ".einf") else f"{text}.0" for text in map(num, values))


def printed(*values) -> str:
    """What print(*values) shows, on one line: the expected-output comment of a code panel's print line.

    Example: printed(torch.tensor([[1.0], [2.0]])) -> 'tensor([[1.], [2.]])'
    """
    return " ".join(" ".join(str(v) for v in values).split())
