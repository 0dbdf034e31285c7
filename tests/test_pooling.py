"""core.pooling against torch.nn.functional: max / average / adaptive pooling, upsampling; the lesson's code."""

import pytest
import torch
import torch.nn.functional as F

from core import pooling
from tests.helpers import run_panel, same_output


def test_pooling_matches_functional_and_adaptive_windows():
    x = torch.arange(36.0).view(1, 6, 6)
    assert torch.equal(pooling.pool(x, "max"), torch.tensor([[[7.0, 9, 11], [19, 21, 23], [31, 33, 35]]]))
    assert torch.equal(pooling.pool(x, "avg"), F.avg_pool2d(x[None], 2)[0])
    assert pooling.pool(x, "adaptive avg", output_size=4).shape == (1, 4, 4)
    assert pooling.adaptive_windows(5, 3) == [(0, 2), (1, 4), (3, 5)]
    x5 = torch.randn(1, 5, 5, generator=torch.Generator().manual_seed(0))
    out = pooling.pool(x5, "adaptive max", output_size=3)
    for i, (r0, r1) in enumerate(pooling.adaptive_windows(5, 3)):
        for j, (c0, c1) in enumerate(pooling.adaptive_windows(5, 3)):
            assert out[0, i, j] == x5[0, r0:r1, c0:c1].max()
    values, idx = pooling.max_pool_indices(x[0], 2, 2)
    assert idx[0, 0] == 7 and values[2, 2] == 35
    assert "at most half" in pooling.pool_problem(8, 2, 2, 2)
    assert "<= 0" in pooling.pool_problem(2, 3, 1, 0)
    with pytest.raises(ValueError):
        pooling.pool(x, "max", kernel=2, padding=2)


def test_upsample_nearest_repeats_and_bilinear_keeps_constants():
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    assert torch.equal(pooling.upsample(x, 2, "nearest")[0],
                       torch.tensor([[1.0, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]))
    assert torch.allclose(pooling.upsample(torch.full((1, 3, 3), 5.0), 2.5, "bilinear"), torch.tensor(5.0))
    assert pooling.upsample(x, 3, "bilinear").shape == (1, 6, 6)


def test_small_grid_pools_a_seeded_grid():
    grid, values, idx, avg = pooling.small_grid(3)
    assert torch.equal(grid, torch.randint(0, 10, (6, 6), generator=torch.Generator().manual_seed(3)).float())
    assert torch.equal(values, F.max_pool2d(grid[None, None], 2)[0, 0])
    assert torch.equal(avg, F.avg_pool2d(grid[None, None], 2)[0, 0])
    assert torch.equal(grid.flatten()[idx.flatten()], values.flatten())
    assert pooling.reconstruction_error(torch.ones(1, 2, 2), torch.zeros(1, 2, 2)) == 1.0


@pytest.mark.parametrize("kind, scale", [("max", 2.0), ("avg", 1.5), ("adaptive max", 4.0), ("adaptive avg", 2.0)])
def test_pooling_code_prints_the_pools(kind, scale):
    from core.images import image_code, sample_images

    images, _ = sample_images("MNIST", 2)
    image = images[1]
    pooled = pooling.pool(image, kind, kernel=2, stride=2, padding=1 if kind == "avg" else 0, output_size=7)
    near, bil = pooling.upsample(pooled, scale, "nearest"), pooling.upsample(pooled, scale, "bilinear")
    code = pooling.pooling_code(4, image_code("MNIST", 1, tuple(image.shape), count=2), image, pooled, near, bil,
                                kind, kernel=2, stride=2, padding=1 if kind == "avg" else 0, output_size=7,
                                scale=scale)
    results = run_panel(code)
    assert len(results) == 6 + (near.shape == image.shape)  # the image, the grid (3), pooled, upsampled [, errors]
    assert all(same_output(p, e) for _, p, e in results), results
