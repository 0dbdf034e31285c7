"""core.optim_config: the default settings agree with the landscapes and with torch.optim."""

import math

import torch

from core import landscapes, optim_config


def test_default_configs_and_landscapes_are_consistent():
    for land in landscapes.LANDSCAPES.values():
        assert land.xlim[0] <= land.start[0] <= land.xlim[1] and land.ylim[0] <= land.start[1] <= land.ylim[1]
        assert {name for name, _ in land.lrs} == set(optim_config.OPTIMIZERS)
        assert math.isfinite(float(land.f(torch.tensor(land.start[0]), torch.tensor(land.start[1]))))
    for name in optim_config.OPTIMIZERS:
        assert optim_config.default_config(name).optimizer == name
    assert optim_config.default_config("Nesterov").kwargs() == {"lr": 1e-3, "momentum": 0.78, "nesterov": True}
