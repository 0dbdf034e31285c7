"""The update rules written out equal torch.optim, step by step, for every optimizer of the lab and its settings."""

import pytest

from core import update_rules
from core.landscapes import LANDSCAPES
from core.optim_config import OPTIMIZERS, RunConfig

SETTINGS = [RunConfig("SGD", lr=0.01), RunConfig("SGD+momentum", lr=0.01, momentum=0.9),
            RunConfig("Nesterov", lr=0.01, momentum=0.9, nesterov=True), RunConfig("Adagrad", lr=0.5),
            RunConfig("RMSprop", lr=0.02), RunConfig("RMSprop", lr=0.02, momentum=0.5),
            RunConfig("Adam", lr=0.1), RunConfig("Adam", lr=0.1, beta1=0.5),
            RunConfig("AdamW", lr=0.1, weight_decay=0.3)]


@pytest.mark.parametrize("config", SETTINGS, ids=lambda c: f"{c.optimizer}-{c.describe()}")
@pytest.mark.parametrize("land", ["Himmelblau", "Rosenbrock"])
def test_by_hand_equals_torch_optim(config, land):
    steps = update_rules.by_hand(config, LANDSCAPES[land].f, (0.5, -1.0), steps=5)
    assert len(steps) == 5 and all(s.gap < 1e-9 * max(1.0, *map(abs, s.torch)) for s in steps)
    assert steps[0].by_hand != steps[1].by_hand  # it moved


def test_every_optimizer_has_its_rule_and_adam_bias_correction():
    assert set(update_rules.RULES) == set(OPTIMIZERS)
    first = update_rules.by_hand(RunConfig("Adam", lr=0.1), LANDSCAPES["Himmelblau"].f, (0.0, 0.0))[0]
    assert first.state["m̂ = m / (1 − β₁ᵗ)"] == pytest.approx(first.grad)  # bias correction undoes the 0 start
    # so Adam's first step is lr * sign(g), whatever the gradient's size
    assert [abs(a - b) for a, b in zip(first.by_hand, (0.0, 0.0), strict=True)] == pytest.approx([0.1, 0.1], rel=1e-6)
