"""Entropy, cross-entropy and KL divergence of two distributions the learner sets: H(p, q) = H(p) + KL(p || q),
and what torch's functions take (F.kl_div wants the model's *log*-probabilities first, the target's probabilities
second; F.cross_entropy accepts a distribution as its target)."""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.curves import floats, printed
from core.parsing import InputError


def distribution(values: list[float], name: str) -> torch.Tensor:
    """Non-negative numbers scaled to sum to 1 (float64)."""
    t = torch.tensor(values, dtype=torch.float64)
    if not torch.isfinite(t).all() or (t < 0).any():
        raise InputError(f"{name}: probabilities must be finite and not negative.")
    if t.sum() <= 0:
        raise InputError(f"{name}: at least one probability must be above 0.")
    return t / t.sum()


@dataclass(frozen=True, eq=False)
class Divergence:
    p: torch.Tensor  # the true distribution (normalised)
    q: torch.Tensor  # the model's
    entropy: float  # H(p) = -sum p log p
    cross_entropy: float  # H(p, q) = -sum p log q
    kl: float  # KL(p || q) = sum p log(p / q)
    kl_reverse: float  # KL(q || p): not the same number
    kl_div: float  # F.kl_div(q.log(), p, reduction="sum")
    kl_div_swapped: float  # F.kl_div(p.log(), q, reduction="sum"): the arguments the wrong way round
    soft_ce: float  # F.cross_entropy(q.log()[None], p[None]): a distribution as the target
    torch_entropy: float  # torch.distributions.Categorical(probs=p).entropy()


def divergence(p_values: list[float], q_values: list[float]) -> Divergence:
    if len(p_values) != len(q_values):
        raise InputError(f"p has {len(p_values)} classes and q has {len(q_values)}: give both the same number.")
    p, q = distribution(p_values, "p"), distribution(q_values, "q")
    if (q == 0).any():
        raise InputError("q: a model's probabilities come from a softmax and are never exactly 0 (log 0 = -inf, "
                         "and KL would be infinite or undefined): give every class of q a probability above 0.")
    with torch.no_grad():
        plogp = torch.special.xlogy(p, p)  # 0 log 0 = 0
        entropy = -plogp.sum().item() + 0.0  # + 0.0: never -0.0
        cross = -torch.special.xlogy(p, q).sum().item()  # inf where q = 0 and p > 0
        kl = (plogp - torch.special.xlogy(p, q)).sum().item()
        kl_reverse = (torch.special.xlogy(q, q) - torch.special.xlogy(q, p)).sum().item()
        kl_div = F.kl_div(q.log(), p, reduction="sum").item()
        swapped = F.kl_div(p.log(), q, reduction="sum").item()
        soft = F.cross_entropy(q.log()[None], p[None]).item() if (q > 0).all() else math.inf
        torch_entropy = torch.distributions.Categorical(probs=p).entropy().item()
    return Divergence(p, q, entropy, cross, kl, kl_reverse, kl_div, swapped, soft, torch_entropy)


def divergence_code(d: Divergence) -> str:
    return f'''import torch
import torch.nn.functional as F

p = torch.tensor([{floats(d.p.tolist())}], dtype=torch.float64)  # the true distribution
q = torch.tensor([{floats(d.q.tolist())}], dtype=torch.float64)  # the model's
H_p = -(p * p.log()).nan_to_num().sum()  # entropy (0 log 0 counts as 0)
H_pq = -(p * q.log()).sum()  # cross-entropy
KL = F.kl_div(q.log(), p, reduction="sum")  # input: the model's LOG-probabilities; target: probabilities
print(H_p.item(), H_pq.item(), KL.item())  # {printed(d.entropy, d.cross_entropy, d.kl_div)}
print(torch.distributions.Categorical(probs=p).entropy().item())  # {printed(d.torch_entropy)}
# the arguments swapped compute KL(q || p), another number:
print(F.kl_div(p.log(), q, reduction="sum").item())  # {printed(d.kl_div_swapped)}
'''
