"""core.landscapes: the minima are minima, and the helpers that say where a point stands."""

import numpy as np
import torch

from core import landscapes

HIMMELBLAU = landscapes.LANDSCAPES["Himmelblau"]


def test_himmelblau_minima_are_minima():
    m = torch.tensor(HIMMELBLAU.minima, dtype=torch.float64, requires_grad=True)
    f = HIMMELBLAU.f(m[:, 0], m[:, 1])
    (g,) = torch.autograd.grad(f.sum(), m)
    assert f.max() < 1e-10 and g.abs().max() < 1e-4


def test_helpers():
    ends = np.array([[3.001, 2.0], [0.0, 0.0], [np.nan, 1.0]])
    assert landscapes.nearest_minimum(ends, HIMMELBLAU.minima).tolist() == [0, -1, -1]
    assert landscapes.point_label((3.0, -1.848126)) == "(3, -1.848)"
    assert landscapes.point_label((-0.0001, 0)) == "(0, 0)"
    xs, ys, z = landscapes.grid_values(HIMMELBLAU.f, (-5, 5), (-4, 4), 9)
    assert z.shape == (9, 9) and z[np.abs(ys - 2).argmin(), np.abs(xs - 3).argmin()] < 20
    assert z[4, 4] == HIMMELBLAU.f(torch.tensor(0.0), torch.tensor(0.0)).item()  # xs[4] = ys[4] = 0
