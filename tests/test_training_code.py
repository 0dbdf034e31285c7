"""core.training_code: the studio's code panel is a working script that trains like Trainer."""


import pytest
import torch
from torch import nn

from core.models import SEQUENTIAL_ARCHS, ModelConfig, build_model, default_config, scaled_widths
from core.training import TrainConfig
from core.training_code import sequential_code, training_code


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(6000, 2000, seed=0)


def test_the_code_panel_is_a_working_script(capsys):
    """The code the page shows runs as it is and trains (a tiny budget here)."""

    cfg = TrainConfig("sgd", lr=0.05, momentum=0.9, nesterov=True, batch_size=64, epochs=2, schedule="onecycle",
                      crop_padding=2, flip=True, train_subset=4000, label_smoothing=0.1, val_fraction=0.1)
    model_cfg = ModelConfig("cnnnet", 1, 28)
    code = training_code("mnist", model_cfg, cfg, sequential_code(build_model(model_cfg)))
    assert "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)" in code
    assert "OneCycleLR(optimizer, max_lr=0.05, total_steps=2 * steps_per_epoch, pct_start=0.25" in code
    exec(compile(code, "training_code", "exec"), {})  # code this module wrote, not user input
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2"] and lines[0].startswith("1 test accuracy ")
    assert float(lines[-1].split()[-1]) > 0.8
    resnet = training_code("cifar10", ModelConfig("resnet", 3, 32), TrainConfig(precision="bf16"))
    compile(resnet, "resnet", "exec")
    assert "build_model(ModelConfig(**" in resnet and "torch.autocast('cpu', dtype=torch.bfloat16)" in resnet


@pytest.mark.parametrize("arch", SEQUENTIAL_ARCHS)
def test_sequential_code_builds_the_same_network(arch):
    """The copyable nn.Sequential code is the same network: same parameters, same outputs with the same weights."""
    cfg = default_config(arch, 3, 32, batchnorm=True, dropout=0.2, widths=scaled_widths(arch, 0.5))
    model = build_model(cfg).eval()
    namespace = {"nn": nn}
    exec(sequential_code(model), namespace)  # code this module wrote, not user input
    seq = namespace["model"].eval()
    assert [tuple(p.shape) for p in seq.parameters()] == [tuple(p.shape) for p in model.parameters()]
    with torch.no_grad():
        for p, q in zip(seq.parameters(), model.parameters(), strict=True):
            p.copy_(q)
        x = torch.randn(2, 3, 32, 32)
        assert torch.allclose(seq(x), model(x), atol=1e-5)
    assert sequential_code(build_model(default_config("resnet", 3, 32))) is None  # skip connections


def test_adamw_with_no_weight_decay_is_written_out():
    """torch.optim.AdamW defaults to weight_decay=0.01: the panel must say 0 when the run used 0."""
    from core.training import TrainConfig, make_optimizer
    from core.training_code import _optimizer_code

    cfg = TrainConfig("adamw", lr=1e-3, weight_decay=0.0)
    model = torch.nn.Linear(2, 2)
    scope = {"torch": torch, "model": model}
    exec(f"optimizer = {_optimizer_code(cfg)}", scope)  # noqa: S102 (the app's own generated code)
    written = scope["optimizer"]
    assert written.defaults["weight_decay"] == make_optimizer(model.parameters(), cfg).defaults["weight_decay"] == 0
