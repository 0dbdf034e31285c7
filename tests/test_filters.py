"""core.filters against torch itself: the named kernels are F.conv2d with those kernels; the lesson's code."""

import pytest
import torch
import torch.nn.functional as F

from core import filters
from core.images import image_code
from tests.helpers import run_panel, same_output


def test_filters_equal_conv2d_with_the_named_kernels():
    image = torch.rand(1, 10, 12, generator=torch.Generator().manual_seed(0))
    run = filters.apply_filters(image, ("identity", "edge: vertical (Sobel x)", "random"), seed=1)
    assert run.maps.shape == (3, 10, 12)
    assert torch.allclose(run.maps[0], image[0])  # identity
    sobel = torch.tensor(filters.FILTERS["edge: vertical (Sobel x)"], dtype=torch.float32).view(1, 1, 3, 3)
    assert torch.allclose(run.maps[1], F.conv2d(image[None], sobel, padding=1)[0, 0], atol=1e-6)
    # a constant image has no edges inside
    flat = filters.apply_filters(torch.ones(3, 8, 8), ("edge: all directions (Laplacian)", "blur: box"))
    assert flat.maps[0, 1:-1, 1:-1].abs().max() < 1e-6
    assert torch.allclose(flat.maps[1, 1:-1, 1:-1], torch.ones(6, 6))
    relu = filters.apply_filters(image, ("random",), seed=1, relu=True)
    assert relu.maps.min() >= 0 and torch.allclose(relu.maps[0], run.maps[2].clamp(min=0))
    with pytest.raises(ValueError):
        filters.apply_filters(image, ())


def test_titles_number_the_random_filters():
    assert filters.titles(("random", "edge: vertical (Sobel x)", "random", "sharpen")) == [
        "random #1", "Sobel x", "random #2", "sharpen"]


@pytest.mark.parametrize("names, relu, grey", [(("blur: box", "random", "blur: Gaussian"), False, False),
                                               (("edge: all directions (Laplacian)", "identity", "random"), True, True)])
def test_filters_code_rebuilds_the_maps(names, relu, grey):
    from core.images import sample_images

    images, _ = sample_images("MNIST", 3)
    run = filters.apply_filters(images[2], names, seed=5, relu=relu)
    code = filters.filters_code(run, image_code("MNIST", 2, tuple(images[2].shape), count=3, grey=grey),
                                seed=5, relu=relu)
    results = run_panel(code)
    assert len(results) == 4 and all(same_output(p, e) for _, p, e in results), results
