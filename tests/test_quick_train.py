"""core.quick_train: the script its code writes replays the loop exactly, and the optimizer it writes is the one
make_optimizer builds, every setting included."""

import pytest
import torch
from torch import nn

from core.models import ModelConfig, build_model
from core.quick_train import QuickConfig, optimizer_code, quick_train, quick_train_code
from core.training import TrainConfig, make_optimizer
from tests.helpers import panel_variables


@pytest.mark.parametrize("cfg", [TrainConfig("sgd", lr=0.1, nesterov=True, weight_decay=1e-3), TrainConfig("adam"),
                                 TrainConfig("adamw"), TrainConfig("adamw", weight_decay=0.05),
                                 TrainConfig("rmsprop", momentum=0.0)], ids=lambda c: c.optimizer)
def test_optimizer_code_builds_make_optimizers_optimizer(cfg):
    model = nn.Linear(2, 2)
    written = eval(optimizer_code(cfg), {"torch": torch, "model": model})  # the project's own generated code
    built = make_optimizer(model.parameters(), cfg)
    assert type(written) is type(built)
    assert {k: v for k, v in written.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in built.param_groups[0].items() if k != "params"}


def test_the_script_replays_quick_train(mnist):
    data = mnist.subset(500, 10, seed=0)
    model_cfg, train_cfg = ModelConfig("mlp", hidden=(16,), dropout=0.3), TrainConfig("adamw", lr=1e-3)
    quick = QuickConfig(steps=5, batch_size=16, seed=4)
    model = build_model(model_cfg, seed=quick.seed)
    quick_train(model, make_optimizer(model.parameters(), train_cfg), data, quick)
    code = quick_train_code("mnist", model_cfg, train_cfg, quick).replace(
        "data = load_mnist()", "data = load_mnist().subset(500, 10, seed=0)")
    script = panel_variables(code)["model"]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), script.state_dict().values(),
                                                 strict=True))
