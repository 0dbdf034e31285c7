"""core.models: parameter counts against formulas and reference nets, seeded initialisation schemes against their
distributions, the generator-driven Dropout against nn.Dropout (layer tables: tests/test_layer_table.py)."""

import math

import pytest
import torch
from torch import nn

from core import models
from core.models import ModelConfig, build_model, count_parameters, default_config


def linear(a, b):
    return a * b + b


def conv(c_in, c_out, k):
    return c_in * c_out * k * k + c_out


def test_cnnnet_has_76922_parameters():
    model = build_model(ModelConfig("cnnnet", in_channels=3, image_size=32))
    assert count_parameters(model) == 76_922
    assert count_parameters(model) == conv(3, 8, 5) + conv(8, 16, 3) + linear(16 * 6 * 6, 128) + linear(128, 10)


def test_known_parameter_counts():
    assert count_parameters(build_model(ModelConfig("mlp"))) == linear(784, 200) + linear(200, 200) + linear(200, 10)
    assert count_parameters(build_model(ModelConfig("mlp"))) == 199_210
    assert count_parameters(build_model(default_config("mnist_cnn"))) == (
        conv(1, 64, 3) + conv(64, 128, 3) + linear(128 * 14 * 14, 1024) + linear(1024, 10))
    assert count_parameters(build_model(ModelConfig("lenet5"))) == 61_706  # LeNet-5 on 32x32 grey (28 + pad 2)
    # on CIFAR it is the PyTorch tutorial's "Net": build that net directly and compare
    tutorial = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10))
    lenet = build_model(ModelConfig("lenet5", 3, 32))
    assert count_parameters(lenet) == count_parameters(tutorial) == 62_006
    assert [tuple(p.shape) for p in lenet.parameters()] == [tuple(p.shape) for p in tutorial.parameters()]


def test_batchnorm_and_dropout_toggles():
    plain = build_model(ModelConfig("mlp"))
    bn = build_model(ModelConfig("mlp", batchnorm=True, dropout=0.3))
    kinds = [type(m).__name__ for m in bn.modules()]
    assert kinds.count("BatchNorm1d") == 2 and kinds.count("Dropout") == 2
    assert not any(isinstance(m, nn.BatchNorm1d | nn.Dropout) for m in plain.modules())
    # BN replaces the bias of the layer before it: 2 * 200 biases out, 2 * (200 + 200) BN parameters in
    assert count_parameters(bn) == count_parameters(plain) - 400 + 800
    for arch in models.ARCHS:
        with_bn = build_model(default_config(arch, 3, 32, batchnorm=True, dropout=0.2))
        without = build_model(default_config(arch, 3, 32, batchnorm=False, dropout=0.0))
        assert any(isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) for m in with_bn.modules()), arch
        assert not any(isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) for m in without.modules()), arch
        assert any(isinstance(m, nn.Dropout) for m in with_bn.modules()), arch
        assert not any(isinstance(m, nn.Dropout) for m in without.modules()), arch


def test_same_seed_same_weights():
    a = build_model(ModelConfig("cnnnet", 3, 32), seed=7)
    b = build_model(ModelConfig("cnnnet", 3, 32), seed=7)
    c = build_model(ModelConfig("cnnnet", 3, 32), seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))


def test_init_schemes_have_their_distributions():
    default = build_model(ModelConfig("mlp"), seed=0)
    w = default.net[1].weight  # Linear(784, 200)
    assert w.abs().max() <= 1 / math.sqrt(784) and w.std().item() == pytest.approx(1 / math.sqrt(3 * 784), rel=0.05)
    # PyTorch's own reset_parameters draws from the same distribution
    ref = nn.Linear(784, 200).weight
    assert ref.std().item() == pytest.approx(w.std().item(), rel=0.05)
    kaiming = build_model(ModelConfig("mlp", init="kaiming"), seed=0).net[1]
    assert kaiming.weight.std().item() == pytest.approx(math.sqrt(2 / 784), rel=0.05)
    assert torch.count_nonzero(kaiming.bias) == 0
    xavier = build_model(ModelConfig("mlp", init="xavier"), seed=0).net[1]
    assert xavier.weight.std().item() == pytest.approx(math.sqrt(2 / (784 + 200)), rel=0.05)
    bad = build_model(ModelConfig("mlp", init="bad"), seed=0).net[1]
    assert bad.weight.std().item() == pytest.approx(1.0, rel=0.05)


def test_bad_init_explodes_activations_and_saturates_sigmoids():
    x = torch.rand(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    good = build_model(ModelConfig("mlp", init="kaiming"), seed=0)
    bad = build_model(ModelConfig("mlp", init="bad"), seed=0)
    assert good(x).std() < 10 < 1000 < bad(x).std()  # ReLU + N(0, 1): each layer multiplies the scale
    assert nn.functional.cross_entropy(good(x), y) < 5 < 100 < nn.functional.cross_entropy(bad(x), y)

    def saturated(init):  # fraction of first-layer sigmoids whose slope sigma'(z) is below 1% of its peak
        m = build_model(ModelConfig("mlp", init=init, activation="sigmoid"), seed=0)
        s = m.net[2](m.net[1](m.net[0](x)))  # (64, 200)
        return (s * (1 - s) < 0.0025).float().mean().item()

    assert saturated("default") < 0.05 and saturated("bad") > 0.5  # saturated units pass back ~no gradient


def test_dropout_draws_from_its_generator():
    layer = models.Dropout(0.25)
    x = torch.ones(1000)
    layer.generator = torch.Generator().manual_seed(0)
    a = layer(x)
    layer.generator = torch.Generator().manual_seed(0)
    b = layer(x)
    assert torch.equal(a, b)
    assert torch.allclose(a[a != 0], torch.full_like(a[a != 0], 1 / 0.75))  # survivors scaled by 1/(1-p)
    assert (a == 0).float().mean().item() == pytest.approx(0.25, abs=0.05)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    layer.generator = None  # without a generator: exactly nn.Dropout
    torch.manual_seed(3)
    ours = layer(x)
    torch.manual_seed(3)
    assert torch.equal(ours, nn.Dropout(0.25)(x))
    model = build_model(ModelConfig("mlp", dropout=0.5))
    g = torch.Generator()
    models.set_generator(model, g)
    assert all(m.generator is g for m in model.modules() if isinstance(m, models.Dropout))


def test_config_round_trip_and_validation():
    cfg = ModelConfig("resnet", 3, 32, dropout=0.1, batchnorm=True, widths=(8, 16, 32))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert hash(cfg) == hash(ModelConfig.from_dict(cfg.to_dict()))
    for bad in ({"arch": "vgg99"}, {"dropout": 1.5}, {"hidden": [0]}, {"batchnorm": "yes"}, {"weights": 1},
                {"in_channels": 2}, {"image_size": "28"}):
        with pytest.raises(ValueError):
            ModelConfig.from_dict(bad)
    with pytest.raises(ValueError):
        ModelConfig.from_dict(["not", "a", "dict"])


def test_first_layer_filters():
    cnn = build_model(ModelConfig("cnnnet", 3, 32))
    assert models.first_layer_filters(cnn, (3, 32, 32)).shape == (8, 3, 5, 5)
    mlp = build_model(ModelConfig("mlp"))
    filters = models.first_layer_filters(mlp, (1, 28, 28))
    assert filters.shape == (200, 1, 28, 28)
    assert torch.equal(filters[5].flatten(), mlp.net[1].weight[5])  # unit 5's weights, as a 28x28 image


def test_scaled_widths():
    assert models.scaled_widths("fastnet", 0.5) == (8, 16, 32, 64)
    assert models.scaled_widths("fastnet", 2.0) == (32, 64, 128, 256)
    assert models.scaled_widths("resnet", 1.0) == (16, 32, 64)
    assert models.scaled_widths("mlp", 2.0) == ()
