"""Softmax at a temperature, its Jacobian from autograd, and why the log-sum-exp trick keeps it stable.

Each `*_code` function writes the PyTorch code behind one part of the lesson, with the numbers the page shows
as its expected output.
"""

from dataclasses import dataclass

import torch

from core.curves import floats, num, printed


@dataclass(frozen=True)
class SoftmaxJacobian:
    logits: torch.Tensor  # (C,)
    temperature: float
    probs: torch.Tensor  # (C,) softmax(logits / T)
    jacobian: torch.Tensor  # (C, C) d p_i / d z_j from torch.autograd.functional.jacobian
    formula: torch.Tensor  # (C, C) (diag(p) - p p^T) / T, the same matrix by hand


def softmax_jacobian(logits: list[float], temperature: float = 1.0) -> SoftmaxJacobian:
    """Probabilities at a temperature and their Jacobian with respect to the logits.

    Example: softmax_jacobian([0.0, 0.0]).jacobian -> [[0.25, -0.25], [-0.25, 0.25]]
    """
    z = torch.tensor(logits, dtype=torch.float32)  # (C,)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v / temperature, dim=0), z)  # (C, C)
    p = torch.softmax(z / temperature, dim=0)  # (C,)
    formula = (torch.diag(p) - torch.outer(p, p)) / temperature  # (C, C)
    return SoftmaxJacobian(z, temperature, p, jac, formula)


def softmax_code(result: SoftmaxJacobian) -> str:
    """The code behind `softmax_jacobian(logits, temperature)`: it prints p, J and how far J is from the
    formula."""
    values = floats(result.logits.tolist())
    gap = (result.jacobian - result.formula).abs().max()
    return f'''
import torch

logits = torch.tensor([{values}])
T = {num(result.temperature)}  # temperature: T > 1 flattens the distribution, T < 1 sharpens it
p = torch.softmax(logits / T, dim=0)
J = torch.autograd.functional.jacobian(lambda z: torch.softmax(z / T, dim=0), logits)  # J[i, j] = dp_i / dz_j
by_hand = (torch.diag(p) - torch.outer(p, p)) / T  # diagonal p_i (1 - p_i) / T, off-diagonal -p_i p_j / T
print(p)  # {printed(result.probs)}
print(J)  # {printed(result.jacobian)}
# ~1e-8 or 0: autograd and the formula agree to float32 precision
print(f"{{(J - by_hand).abs().max():.1e}}")  # {gap:.1e}
'''


@dataclass(frozen=True)
class SoftmaxStability:
    logits: torch.Tensor  # (C,) the logits after adding the shift
    exp: torch.Tensor  # (C,) exp(logits): overflows to inf in float32 past ~88.7
    naive: torch.Tensor  # (C,) exp(z) / exp(z).sum()
    stable: torch.Tensor  # (C,) exp(z - max z) / sum: the log-sum-exp trick
    builtin: torch.Tensor  # (C,) torch.softmax
    naive_logsumexp: float  # log(exp(z).sum())
    logsumexp: float  # torch.logsumexp(z)

    @property
    def overflowed(self) -> bool:
        return not bool(torch.isfinite(self.naive).all())


def softmax_stability(logits: list[float], shift: float = 0.0) -> SoftmaxStability:
    """Softmax of logits + shift, naive and stable: the same maths, but exp overflows in float32.

    Example: softmax_stability([1.0, 2.0], shift=100).naive -> [nan, nan]; .stable -> [0.269, 0.731]
    """
    z = torch.tensor(logits, dtype=torch.float32) + shift  # (C,) softmax(z + c) = softmax(z) for any c
    e = torch.exp(z)
    naive = e / e.sum()
    stable_e = torch.exp(z - z.max())  # the largest term becomes exp(0) = 1: nothing can overflow
    stable = stable_e / stable_e.sum()
    return SoftmaxStability(z, e, naive, stable, torch.softmax(z, dim=0), torch.log(e.sum()).item(),
                            torch.logsumexp(z, dim=0).item())


def stability_code(logits: list[float], shift: float, result: SoftmaxStability) -> str:
    """The code behind `softmax_stability(logits, shift)`, printing the naive, stable and built-in softmax."""
    values = floats(logits)
    softmaxes = printed(result.naive, result.stable, result.builtin)
    sums = printed(torch.tensor(result.naive_logsumexp), torch.tensor(result.logsumexp))
    return f'''
import torch

z = torch.tensor([{values}]) + {num(shift)}  # float32, like every model's logits
naive = torch.exp(z) / torch.exp(z).sum()  # exp(88.8) is already inf in float32 -> inf / inf = nan
stable = torch.exp(z - z.max()) / torch.exp(z - z.max()).sum()  # log-sum-exp trick: shift so max is 0
# torch.softmax does the stable version for you
print(naive, stable, torch.softmax(z, dim=0))  # {softmaxes}
print(torch.exp(z).sum().log(), torch.logsumexp(z, dim=0))  # {sums}
'''
