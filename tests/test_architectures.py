"""core.architectures against torchvision and torch: parameter counts, MACs, traced shapes, module anatomy."""

import pytest
import torch
from torch import nn

from core import architectures as A
from core.architectures import AnatomyConfig

TORCHVISION = {  # torchvision's documented parameter counts and GFLOPS (multiply-accumulates) at 224x224
    "AlexNet": (61_100_840, 0.714),
    "VGG-11": (132_863_336, 7.609),
    "VGG-16": (138_357_544, 15.47),
    "GoogLeNet": (6_624_904, 1.498),
    "ResNet-18": (11_689_512, 1.814),
    "DenseNet-121": (7_978_856, 2.834),
}


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_counts_match_torchvision(name):
    params, gflops = TORCHVISION[name]
    summary = A.summarize(name, depth=2)
    assert summary.params == params == summary.reference_params
    assert summary.macs / 1e9 == pytest.approx(gflops, abs=0.0015)
    assert summary.reference_gflops == gflops
    assert summary.output_shape == (1000,)
    # the table's rows hold every parameter exactly once, at any level of detail
    assert sum(r.params for r in summary.rows) == params
    leaves = A.summarize(name, depth=None)
    assert sum(r.params for r in leaves.rows) == params and leaves.macs == summary.macs


def test_meta_build_allocates_nothing_and_matches_a_real_build():
    meta = A.build("ResNet-18")
    assert all(p.device.type == "meta" for p in meta.parameters())
    real = A.build("ResNet-18", device="cpu")
    assert sum(p.numel() for p in real.parameters()) == 11_689_512
    x = torch.zeros(1, 3, 224, 224)
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, n=n: shapes.__setitem__(n, tuple(o.shape[1:])))
             for n, m in real.named_children()]
    with torch.no_grad():
        real.eval()(x)
    for h in hooks:
        h.remove()
    rows = {r.name: r.shape for r in A.trace(meta, (3, 224, 224), depth=1)}
    assert rows == shapes
    assert rows["layer4"] == (512, 7, 7) and rows["fc"] == (1000,)


def test_trace_counts_macs_of_conv_and_linear():
    model = nn.Sequential(nn.Conv2d(3, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, groups=2),
                          nn.Flatten(), nn.Linear(16 * 12 * 12, 10))
    rows = A.trace(model, (3, 32, 32))
    assert [r.shape for r in rows] == [(8, 28, 28), (8, 28, 28), (8, 14, 14), (16, 12, 12), (2304,), (10,)]
    assert rows[0].macs == 8 * 28 * 28 * 3 * 25
    assert rows[3].macs == 16 * 12 * 12 * 4 * 9  # groups=2: each output sees 4 of the 8 channels
    assert rows[5].macs == 10 * 2304
    assert rows[0].params == 3 * 8 * 25 + 8 and rows[0].detail == "3->8, 5x5, stride 1, pad 0"


def test_trace_counts_a_reused_module_once():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 4), relu, nn.Linear(4, 4), relu)
    rows = A.trace(model, (4,))
    assert [r.name for r in rows] == ["0", "1", "2", "1"]
    assert sum(r.params for r in rows) == 40


@pytest.mark.parametrize("name, expect", [
    ("ResNet-18", ["64x56x56", "conv 3x3 /2, 128", "conv 1x1 /2, 128", "shortcut", "+"]),
    ("GoogLeNet", ["192x28x28", "conv 1x1, 64", "max-pool 3x3", "output\\n256x28x28"]),
    ("DenseNet-121", ["x0\\n64x56x56", "in 128 ch", "conv 3x3, 32", "concatenate x0..x3\\n160x56x56"]),
    ("VGG-16", ["stage 3: 3 x (conv 3x3, 256 + ReLU)", "512x7x7", "4096 -> 4096 -> 1000"]),
    ("AlexNet", ["conv 11x11 /4, 64 + ReLU", "linear 4096->1000"]),
])
def test_block_diagrams_name_the_real_shapes(name, expect):
    dot = A.block_diagram(name)
    assert dot.startswith("digraph")
    for text in expect:
        assert text in dot, text


def _x(cfg: AnatomyConfig, seed: int = 1):
    return torch.randn(2, cfg.in_channels, 14, 14, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_three_builds_give_identical_outputs(dropout):
    cfg = AnatomyConfig(dropout=dropout)
    models = A.build_three(cfg, seed=3)
    x = _x(cfg)
    outs = [m.eval()(x) for m in models.values()]
    assert outs[0].shape == (2, 64, 6, 6)
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    pairs = A.key_mapping(models["Sequential(OrderedDict)"], models["Sequential"])
    conv2 = "3" if dropout else "2"
    assert pairs == [("conv1.weight", "0.weight", (20, 1, 5, 5)), ("conv1.bias", "0.bias", (20,)),
                     ("conv2.weight", f"{conv2}.weight", (64, 20, 5, 5)), ("conv2.bias", f"{conv2}.bias", (64,))]
    # the subclass's F.relu is no child; nn.ReLU modules are
    assert [n for n, _ in models["subclass"].named_children()] == ["conv1"] + (["drop"] if dropout else []) + ["conv2"]
    assert [n for n, _ in models["Sequential(OrderedDict)"].named_children()] == (
        ["conv1", "relu1"] + (["drop"] if dropout else []) + ["conv2", "relu2"])
    # modules() includes the model itself, children() does not
    assert len(list(models["Sequential"].modules())) == len(list(models["Sequential"].children())) + 1


def test_seeded_init_is_reproducible_and_in_torch_default_range():
    a = A.seeded_init(A.build_named(AnatomyConfig()), 7)
    b = A.seeded_init(A.build_named(AnatomyConfig()), 7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert a.conv1.weight.abs().max() <= 25 ** -0.5
    assert a.conv2.weight.abs().max() <= 500 ** -0.5


def test_state_dict_round_trip_and_mismatch_message():
    cfg = AnatomyConfig()
    models = A.build_three(cfg, seed=0)
    size, fresh = A.save_load_round_trip(models["Sequential"], A.build_sequential(cfg))
    assert size > 4 * sum(p.numel() for p in fresh.parameters())
    assert torch.equal(fresh(_x(cfg)), models["Sequential"](_x(cfg)))
    with pytest.raises(ValueError, match="does not fit"):
        A.key_mapping(models["Sequential"], A.build_sequential(AnatomyConfig(hidden=10)))


def test_train_eval_flags_and_dropout_behaviour():
    cfg = AnatomyConfig(dropout=0.5)
    model = A.build_three(cfg)["Sequential(OrderedDict)"]
    model.train()
    assert all(m.training for m in model.modules())
    x = _x(cfg)
    assert not torch.equal(model(x), model(x))  # two different dropout masks
    model.eval()
    assert not any(m.training for m in model.modules())
    assert torch.equal(model(x), model(x))
    assert A.parameter_table(model)[0] == ("conv1.weight", (20, 1, 5, 5), 500, True)


def test_relu_module_equals_functional():
    x = torch.randn(100)
    assert torch.equal(nn.ReLU()(x), torch.nn.functional.relu(x))


def test_lenet5_comes_from_the_model_zoo():
    from core import models

    summary = A.summarize("LeNet-5", depth=None)
    # conv 1->6 5x5 (156) + conv 6->16 5x5 (2,416) + 400->120 (48,120) + 120->84 (10,164) + 84->10 (850)
    assert summary.params == 61_706 and summary.reference_params is None
    zoo = models.build_model(models.ModelConfig("lenet5", in_channels=1, image_size=32))
    assert summary.params == models.count_parameters(zoo)
    assert [r.shape for r in summary.rows if r.kind in ("Conv2d", "MaxPool2d", "Linear")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]
    assert summary.macs == 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    assert "max-pool 2x2 + flatten\\n400" in A.block_diagram("LeNet-5")


def test_inspect_records_each_conv_and_leaves_the_model_as_it_was():
    from core import models

    model = models.build_model(models.ModelConfig("cnnnet", in_channels=1, image_size=28), seed=0)
    model.train()
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    seen = A.inspect(model, x)
    assert [name for name, _ in seen.layers] == ["features.0", "features.3"]
    with torch.no_grad():
        assert torch.allclose(seen.layers[0][1], model.features[0](x)[0])
        assert torch.allclose(seen.probs, model.eval()(x)[0].softmax(0))
    assert abs(float(seen.probs.sum()) - 1) < 1e-6
    model.train()
    A.inspect(model, x)
    assert model.training and all(not m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError, match="one input"):
        A.inspect(model, torch.zeros(2, 1, 28, 28))
