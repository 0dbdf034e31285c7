"""Entropy, cross-entropy and KL against torch: H(p, q) = H(p) + KL(p || q), F.kl_div's argument order, soft-target
cross-entropy, and refused distributions."""

import math

import pytest
import torch
import torch.nn.functional as F

from core import entropy
from core.parsing import InputError


def test_cross_entropy_is_entropy_plus_kl():
    d = entropy.divergence([0.7, 0.2, 0.1], [0.5, 0.3, 0.2])
    p, q = torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64), torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    assert d.entropy == pytest.approx(-(p * p.log()).sum().item())
    assert d.cross_entropy == pytest.approx(d.entropy + d.kl)
    assert d.kl == pytest.approx(F.kl_div(q.log(), p, reduction="sum").item()) == d.kl_div
    assert d.kl_reverse == pytest.approx(d.kl_div_swapped) and not math.isclose(d.kl, d.kl_reverse)
    assert d.soft_ce == pytest.approx(d.cross_entropy)
    assert d.torch_entropy == pytest.approx(d.entropy)


def test_scaling_zeros_and_refusals():
    d = entropy.divergence([2, 0, 2], [1, 1, 1])  # scaled to (0.5, 0, 0.5); 0 log 0 counts as 0
    assert d.entropy == pytest.approx(math.log(2)) and d.kl == pytest.approx(math.log(1.5))
    assert entropy.divergence([1, 1], [1, 1]).kl == 0.0
    for p, q in (([1, 2], [1, 2, 3]), ([-1, 2], [1, 1]), ([0, 0], [1, 1]), ([1, 1], [1, 0])):
        with pytest.raises(InputError):
            entropy.divergence(p, q)
