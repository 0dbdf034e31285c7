"""core.layer_table against running the modules: output shapes, parameters counted once, multiply-accumulates,
the model's mode restored; on the app's models and on hand-made stacks."""

import pytest
import torch
from torch import nn

from core import models
from core.layer_table import LayerRow, layer_table, module_detail
from core.models import build_model, count_parameters, default_config

SHAPES = [(1, 28), (3, 32)]


@pytest.mark.parametrize("arch", models.ARCHS)
@pytest.mark.parametrize("channels,size", SHAPES)
def test_layer_table_matches_running_the_model(arch, channels, size):
    cfg = default_config(arch, channels, size)
    model = build_model(cfg)
    rows = layer_table(model, cfg.input_shape)
    assert model.training  # layer_table ran in eval mode and restored train mode
    assert sum(r.params for r in rows) == count_parameters(model) == sum(p.numel() for p in model.parameters())
    x = torch.randn(4, *cfg.input_shape)
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (4, 10) and rows[-1].output_shape == (10,)
        modules = dict(model.named_modules())
        if all(isinstance(c, nn.Sequential) for c in model.children()):
            # a plain stack: feeding x through the listed layers in order reproduces every listed shape
            h = x
            for r in rows:
                h = modules[r.name](h)
                assert tuple(h.shape[1:]) == r.output_shape, r
        else:
            for r in rows:  # residual nets: check each listed module on the shape it really receives
                assert r.kind == type(modules[r.name]).__name__


def test_resnet_and_fastnet_stage_shapes():
    resnet = build_model(default_config("resnet", 3, 32)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        h1 = resnet.layer1(resnet.stem(x))
        h3 = resnet.layer3(resnet.layer2(h1))
    rows = {r.name: r.output_shape for r in layer_table(resnet, (3, 32, 32))}
    assert h1.shape[1:] == (16, 32, 32) and h3.shape[1:] == (64, 8, 8)
    assert rows["layer3.relu2"] == tuple(h3.shape[1:])
    fast = build_model(default_config("fastnet", 3, 32)).eval()
    with torch.no_grad():
        h = fast.block3(fast.block2(fast.block1(fast.stem(x))))
    assert h.shape[1:] == (128, 3, 3)  # 32 -> 31 (2x2 stem) -> 15 -> 7 -> 3
    assert {r.name: r.output_shape for r in layer_table(fast, (3, 32, 32))}["block3.act2"] == (128, 3, 3)


def test_layer_table_counts_macs_of_conv_and_linear():
    model = nn.Sequential(nn.Conv2d(3, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, groups=2),
                          nn.Flatten(), nn.Linear(16 * 12 * 12, 10))
    rows = layer_table(model, (3, 32, 32))
    assert [r.output_shape for r in rows] == [(8, 28, 28), (8, 28, 28), (8, 14, 14), (16, 12, 12), (2304,), (10,)]
    assert rows[0].macs == 8 * 28 * 28 * 3 * 25
    assert rows[3].macs == 16 * 12 * 12 * 4 * 9  # groups=2: each output sees 4 of the 8 channels
    assert rows[5].macs == 10 * 2304
    assert rows[0].params == 3 * 8 * 25 + 8 and rows[0].detail == "3->8, 5x5, stride 1, pad 0"


def test_layer_table_counts_a_reused_module_once():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 4), relu, nn.Linear(4, 4), relu)
    rows = layer_table(model, (4,))
    assert [r.name for r in rows] == ["0", "1", "2", "1"]
    assert sum(r.params for r in rows) == 40


def test_depth_groups_the_modules_inside_and_restores_eval_mode():
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    model.eval()
    rows = layer_table(model, (1, 8, 8), depth=1)
    assert [(r.name, r.kind, r.depth) for r in rows] == [("0", "Sequential", 1), ("1", "Flatten", 1), ("2", "Linear", 1)]
    assert rows[0] == LayerRow("0", "Sequential", (4, 6, 6), 40, 4 * 36 * 9, "2 submodules", 1)
    assert not model.training  # eval stays eval
    leaves = layer_table(model, (1, 8, 8))
    assert [r.name for r in leaves] == ["0.0", "0.1", "1", "2"] and leaves[0].depth == 2
    assert layer_table(nn.Sequential(nn.ReLU()), (3,)) == [LayerRow("0", "ReLU", (3,), 0, 0, "", 1)]  # no parameters
    assert module_detail(nn.Dropout(0.25)) == "p=0.25" and module_detail(nn.MaxPool2d(3, 2)) == "3x3, stride 2"


def test_a_failing_forward_leaves_no_hook_and_the_mode_as_it_was():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(5, 2))  # 3 features into a layer that wants 5
    model.train()
    with pytest.raises(RuntimeError):
        layer_table(model, (4,))
    assert model.training and all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
