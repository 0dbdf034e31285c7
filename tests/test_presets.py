"""core.presets: every preset is a valid, consistent set of settings."""


import pytest
import torch

from core.models import build_model
from core.presets import presets


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(6000, 2000, seed=0)


def test_presets_are_consistent():
    for name, preset in presets().items():
        model = build_model(preset.model)
        channels = 1 if preset.dataset in ("mnist", "fashion-mnist") else 3
        assert preset.model.in_channels == channels, name
        out = model.eval()(torch.zeros(2, *preset.model.input_shape))
        assert out.shape == (2, 10)
