"""core.basins against plain torch.optim loops: one batched parameter = separate runs, bit for bit; what the
maps of Himmelblau show, divergence, and the code panel."""

import numpy as np
import pytest

from core import basins, landscapes
from core.optim_config import RunConfig
from tests.helpers import panel_variables, run_panel, same_output
from tests.test_optimizer_lab import plain_loop

HIMMELBLAU = landscapes.LANDSCAPES["Himmelblau"]


@pytest.mark.parametrize("config", [RunConfig("SGD", lr=0.01), RunConfig("SGD", lr=5e-3, momentum=0.78, nesterov=True),
                                    RunConfig("Adagrad", lr=0.5), RunConfig("RMSprop", lr=0.02, momentum=0.3),
                                    RunConfig("Adam", lr=0.1), RunConfig("AdamW", lr=0.1, weight_decay=0.2)],
                         ids=lambda c: c.optimizer)
@pytest.mark.parametrize("name", ["Himmelblau", "Rastrigin"])
def test_one_batched_parameter_equals_separate_runs(config, name):
    """The basin map's trick: one (N, 2) parameter with a summed loss = N separate optimizers, bit for bit."""
    land = landscapes.LANDSCAPES[name]
    result = basins.basin_map(land.f, config, (-4.0, 4.0), (-4.0, 4.0), 4, 60, bound=land.bound, block=5)  # 4 blocks
    for i, y in enumerate(result.ys):
        for j, x in enumerate(result.xs):
            alone = plain_loop(land.f, (x, y), config, 60)[-1]
            assert np.array_equal(result.finals[i, j], alone), (x, y)


def test_the_basins_code_panel_code_produces_the_same_map():
    config = RunConfig("Adam", lr=0.1, beta1=0.8)
    result = basins.basin_map(HIMMELBLAU.f, config, HIMMELBLAU.xlim, HIMMELBLAU.ylim, 36, 40, bound=HIMMELBLAU.bound)
    code = basins.basins_code(HIMMELBLAU, result, config, 40)  # 1296 starts: two blocks
    assert "starts.split(1024)" in code and "torch.optim.Adam(params, lr=0.1, betas=(0.8, 0.999))" in code
    namespace = panel_variables(code)
    assert np.array_equal(result.finals.reshape(-1, 2), namespace["p"].double().numpy())
    cats = basins.basin_categories(result, HIMMELBLAU.minima)
    reached = namespace["reached"].numpy()
    assert np.array_equal(np.where(cats >= 0, cats, -1), reached)
    printed = run_panel(code)  # the number of starts, then how many reached each minimum
    assert [p for _, p, _ in printed] == ["torch.Size([1296, 2])", str([int((cats == i).sum()) for i in range(4)])]
    assert all(same_output(p, e) for _, p, e in printed), printed


def test_basin_map_of_himmelblau_colours_the_whole_plane():
    result = basins.basin_map(HIMMELBLAU.f, RunConfig("SGD", lr=1e-3), (-5, 5), (-5, 5), 40, 500,
                              bound=HIMMELBLAU.bound)
    cats = basins.basin_categories(result, HIMMELBLAU.minima)
    assert cats.shape == (40, 40)
    counts = {c: int((cats == c).sum()) for c in np.unique(cats)}
    assert set(counts) <= {0, 1, 2, 3, basins.STATIONARY, basins.WANDERING}
    assert all(counts.get(i, 0) > 150 for i in range(4))  # every minimum owns a large basin
    assert sum(counts.get(i, 0) for i in range(4)) > 0.95 * 1600
    # the start nearest each minimum ends there
    for index, (mx, my) in enumerate(HIMMELBLAU.minima):
        j, i = np.abs(result.xs - mx).argmin(), np.abs(result.ys - my).argmin()
        assert cats[i, j] == index


def test_basin_map_marks_divergence():
    result = basins.basin_map(HIMMELBLAU.f, RunConfig("SGD", lr=0.05), (-5, 5), (-5, 5), 10, 50, bound=HIMMELBLAU.bound)
    cats = basins.basin_categories(result, HIMMELBLAU.minima)
    assert result.diverged.any() and (cats[result.diverged] == basins.DIVERGED).all()
    assert np.isnan(result.finals[result.diverged]).all()
    assert np.isfinite(result.finals[~result.diverged]).all()
