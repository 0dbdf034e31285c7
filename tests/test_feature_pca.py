"""core.feature_pca: the penultimate features are the last Linear's input, PCA with torch.pca_lowrank matches a full
torch.linalg.svd projection up to sign, and the code panel reproduces the explained variance."""

import pytest
import torch
from torch import nn

from core import feature_pca
from core.models import ModelConfig, build_model, default_config
from core.quick_train import QuickConfig, quick_train
from core.training import TrainConfig, make_optimizer
from tests.helpers import run_panel, same_output


def test_pca_matches_svd_up_to_sign():
    g = torch.Generator().manual_seed(0)
    close = torch.randn(500, 40, generator=g) @ torch.diag(torch.linspace(5, 0.1, 40)) + 3.0  # q covers all 40
    wide = torch.randn(800, 120, generator=g) @ torch.diag(5 * 0.9 ** torch.arange(120.0)) - 1.0  # q = k + 30 < 120
    for x, k in ((close, 2), (close, 3), (wide, 2), (wide, 3)):
        p = feature_pca.pca(x, k)
        xc = (x - x.mean(0)).double()
        _, s, vh = torch.linalg.svd(xc, full_matrices=False)
        ref = xc @ vh[:k].T  # (500, k)
        for j in range(k):
            sign = torch.sign((p.coords[:, j].double() * ref[:, j]).sum())
            assert torch.allclose(p.coords[:, j].double(), sign * ref[:, j], atol=1e-4)
        assert p.explained.tolist() == pytest.approx((s[:k] ** 2 / (s ** 2).sum()).tolist(), rel=1e-5)
        assert torch.allclose(p.mean, x.mean(0)) and p.components.shape == (x.shape[1], k)
        top = p.components.gather(0, p.components.abs().argmax(0, keepdim=True))
        assert (top > 0).all()  # the sign convention: the same picture every time


def test_features_are_the_last_linears_input(mnist):
    data = mnist.subset(100, 300, seed=0)
    model = build_model(ModelConfig("mlp", hidden=(32, 24)), seed=0)
    x = torch.randn(7, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    features, logits = feature_pca.penultimate_features(model, x, batch_size=3)
    model.eval()
    assert torch.allclose(features, model.net[:-1](x), atol=1e-6) and torch.allclose(logits, model(x), atol=1e-6)
    assert feature_pca.last_linear(model)[0] == "net.5"
    m = feature_pca.feature_map(model, data, n=250, dims=3)
    assert m.coords.shape == (250, 3) and m.dim == 24 and m.layer == "net.5" and len(m.explained) == 3
    assert torch.equal(m.labels, data.y_test[:250]) and m.predictions.shape == (250,)
    assert 0 < sum(m.explained) <= 1 and list(m.explained) == sorted(m.explained, reverse=True)
    resnet = feature_pca.feature_map(build_model(default_config("resnet", 1, 28)), data, n=40)
    assert resnet.dim == 64 and resnet.layer == "fc"
    with pytest.raises(ValueError):
        feature_pca.last_linear(nn.Sequential(nn.Conv2d(1, 2, 3)))


def test_code_panel(mnist):
    data = mnist.subset(1000, 600, seed=0)
    model_cfg, train_cfg = ModelConfig("mlp", hidden=(64, 32)), TrainConfig("adam", lr=2e-3)
    quick = QuickConfig(steps=30, batch_size=64)
    model = build_model(model_cfg, seed=quick.seed)
    quick_train(model, make_optimizer(model.parameters(), train_cfg), data, quick)
    m = feature_pca.feature_map(model, data, n=600, dims=2)
    code = feature_pca.feature_pca_code("mnist", model_cfg, train_cfg, quick, m).replace(
        "data = load_mnist()", "data = load_mnist().subset(1000, 600, seed=0)")
    results = run_panel(code)
    assert len(results) == 2 and all(same_output(p, e) for _, p, e in results), results
