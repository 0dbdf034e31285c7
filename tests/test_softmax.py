"""core.softmax against torch itself: the Jacobian formula, finite differences, overflow in float32."""

import math

import pytest
import torch

from core import softmax
from tests.helpers import central_difference, panel_variables, run_panel, same_output


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.5])
def test_softmax_jacobian_matches_formula_and_finite_differences(temperature):
    logits = [2.0, 1.0, 0.1, -1.0]
    r = softmax.softmax_jacobian(logits, temperature)
    torch.testing.assert_close(r.jacobian, r.formula)
    assert torch.all(r.jacobian.diagonal() > 0)
    assert torch.all(r.jacobian[~torch.eye(4, dtype=torch.bool)] < 0)
    torch.testing.assert_close(r.jacobian.sum(dim=1), torch.zeros(4), atol=1e-6, rtol=0)
    z = torch.tensor(logits, dtype=torch.float64)
    fd = torch.stack([central_difference(lambda v, j=j: torch.softmax(
        torch.where(torch.arange(4) == j, v, z) / temperature, 0), z) for j in range(4)], dim=1)
    torch.testing.assert_close(r.jacobian.double(), fd, atol=1e-5, rtol=1e-4)


def test_softmax_jacobian_diagonal_is_p_one_minus_p():
    r = softmax.softmax_jacobian([3.0, -1.0, 0.5], 1.0)
    torch.testing.assert_close(r.jacobian.diagonal(), r.probs * (1 - r.probs))
    assert r.jacobian[0, 1].item() == pytest.approx(-(r.probs[0] * r.probs[1]).item(), abs=1e-7)
    code = softmax.softmax_code(r)
    ns = panel_variables(code)
    torch.testing.assert_close(ns["J"], r.jacobian)
    printed = run_panel(code)
    assert len(printed) == 3 and all(same_output(p, e) for _, p, e in printed), printed


def test_temperature_sharpens_and_flattens():
    cold = softmax.softmax_jacobian([2.0, 1.0, 0.1], 0.1).probs
    hot = softmax.softmax_jacobian([2.0, 1.0, 0.1], 5.0).probs
    assert cold.max() > 0.9999 and (hot.max() - hot.min()) < 0.2


def test_naive_softmax_overflows_stable_one_does_not():
    logits = [2.0, 1.0, 0.1, -1.0]
    calm = softmax.softmax_stability(logits, 0.0)
    assert not calm.overflowed
    torch.testing.assert_close(calm.naive, calm.stable)
    hot = softmax.softmax_stability(logits, 100.0)  # max logit 102 > 88.7: exp overflows in float32
    assert hot.overflowed and torch.isnan(hot.naive).all() and math.isinf(hot.naive_logsumexp)
    torch.testing.assert_close(hot.stable, calm.stable)  # softmax(z + c) = softmax(z)
    torch.testing.assert_close(hot.builtin, calm.stable)
    assert hot.logsumexp == pytest.approx(calm.logsumexp + 100.0, abs=1e-4)
    assert not softmax.softmax_stability(logits, 85.0).overflowed  # 87 is still finite in float32
    code = softmax.stability_code(logits, 100.0, hot)
    ns = panel_variables(code)
    assert torch.isnan(ns["naive"]).all() and torch.allclose(ns["stable"], hot.stable)
    printed = run_panel(code)
    assert len(printed) == 2 and all(same_output(p, e) for _, p, e in printed), printed
    assert printed[1][1].startswith("tensor(inf) tensor(102.")  # log(sum(exp)) overflows, logsumexp does not


def test_softmax_code_runs_for_whole_number_logits():
    r = softmax.softmax_jacobian([1.0, 2.0, 3.0], 0.5)
    printed = run_panel(softmax.softmax_code(r))
    assert len(printed) == 3 and all(same_output(p, e) for _, p, e in printed), printed
