"""core.recorder: what the hooks record equals the same numbers computed directly on the same batch (the fast
histogram is torch.histc's, bin for bin); records come every k steps inside Trainer and the hooks are gone
afterwards; the code panel reproduces a record."""


import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import diagnosis, recorder
from core.models import ModelConfig, build_model
from core.quick_train import QuickConfig, random_batch
from core.recorder import Recorder, RecorderConfig
from core.training import TrainConfig, Trainer
from tests.helpers import run_panel, same_output


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(1280, 200, seed=0)


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hook_histograms_equal_a_direct_computation(small):
    model = build_model(ModelConfig("mlp", hidden=(32, 16)), seed=0)
    reference = build_model(ModelConfig("mlp", hidden=(32, 16)), seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = random_batch(small, 48, torch.Generator().manual_seed(1))
    cfg = RecorderConfig(every=1, bins=25, max_sample=10**6)  # every value in every distribution
    with Recorder(model, cfg) as rec:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record = rec.after_step(0.1)
    assert _hooks(model) == 0 and record.step == 1 and [r.name for r in record.layers] == ["net.1", "net.3", "net.5"]
    # the same batch by hand, on an identical model: activations, gradients, the SGD step
    w1, b1 = reference.net[1].weight, reference.net[1].bias
    h1 = torch.relu(F.linear(x.flatten(1), w1, b1))  # (48, 32)
    grad = torch.autograd.grad(F.cross_entropy(reference(x), y), w1)[0]  # (32, 784)
    layer = record.layers[0]
    assert layer.activation == "net.2 (ReLU)" and layer.kind == "Linear"
    for dist, direct in ((layer.activations, h1), (layer.grads, grad), (layer.weights, w1.detach())):
        lo, hi = direct.min().item(), direct.max().item()
        assert torch.equal(dist.counts, torch.histc(direct, 25, lo, hi)) and (dist.lo, dist.hi) == (lo, hi)
        q = torch.quantile(direct.flatten(), torch.tensor(recorder.PERCENTILES) / 100)
        assert dist.percentiles == pytest.approx(q.tolist(), rel=1e-6, abs=1e-9)
        assert dist.mean == pytest.approx(direct.mean().item(), rel=1e-5, abs=1e-9)
        assert dist.std == pytest.approx(direct.std(correction=0).item(), rel=1e-5)
        assert dist.norm == pytest.approx(direct.norm().item(), rel=1e-6)
    assert layer.dead_fraction == pytest.approx(1 - (h1 > 0).any(0).float().mean().item())
    assert layer.update_ratio == pytest.approx((0.1 * grad).norm().item() / w1.norm().item(), rel=1e-4)  # 1st step
    assert layer.lr_ratio == pytest.approx(0.1 * grad.norm().item() / w1.norm().item(), rel=1e-6)
    assert record.layers[-1].dead_fraction is None and record.layers[-1].activation == "net.5 (Linear)"


def test_big_tensors_are_sampled_and_every_record_uses_the_same_sample():
    x = torch.randn(50_000)
    d = recorder.distribution(x, 30, max_sample=1000, sample=recorder.sample_indices(50_000, 1000))
    assert d.counts.sum() == 1000 and d.numel == 50_000 and d.norm == pytest.approx(x.norm().item(), rel=1e-6)
    assert d.percentiles[2] == pytest.approx(0.0, abs=0.15) and d.std == pytest.approx(1.0, abs=0.1)
    bad = recorder.distribution(torch.tensor([1.0, float("nan"), 3.0, float("inf")]), 4)
    assert bad.nonfinite == 2 and (bad.lo, bad.hi) == (1.0, 3.0) and bad.counts.sum() == 2
    flat = recorder.distribution(torch.zeros(5), 3)
    assert flat.counts.tolist() == [0, 5, 0] and flat.std == 0


def test_fast_histogram_is_torch_histc_bin_for_bin():
    g = torch.Generator().manual_seed(5)
    for bins in (1, 7, 40, 64):
        x = torch.randn(3000, generator=g) * 3
        lo, hi = x.min().item(), x.max().item()
        edges = torch.linspace(lo, hi, bins + 1)  # values on and one float32 step either side of every bin edge
        near = torch.cat([edges, torch.nextafter(edges, edges + 1), torch.nextafter(edges, edges - 1)])
        a = torch.cat([x, near.clamp(lo, hi)]).numpy()
        assert torch.equal(torch.from_numpy(recorder.histc(a, bins, lo, hi)), torch.histc(torch.from_numpy(a), bins,
                                                                                          lo, hi))


def test_trainer_records_every_k_steps_and_removes_its_hooks(small):
    model = build_model(ModelConfig("cnnnet", 1, 28), seed=0)
    trainer = Trainer(model, small, TrainConfig("sgd", lr=0.05, batch_size=64, epochs=2, val_fraction=0.1))
    rec = Recorder(trainer.model, RecorderConfig(every=10))
    trainer.recorder = rec
    trainer.run(max_steps=25)  # 18 steps per epoch: the epoch's evaluation (eval mode, no grad) is ignored
    rec.close()
    assert [r.step for r in rec.records] == [1, 11, 21] and _hooks(model) == 0
    names = [r.name for r in rec.records[0].layers]
    assert names == ["features.0", "features.3", "classifier.1", "classifier.3"]
    conv = rec.records[-1].layer("features.0")
    assert conv.activation == "features.1 (ReLU)" and 0 <= conv.dead_fraction <= 1 and conv.update_ratio > 0
    assert conv.activations.numel == 64 * 8 * 24 * 24 and rec.records[-1].lr == 0.05
    steps, bands = diagnosis.percentile_bands(rec.records, "features.0", "grads")
    assert steps.tolist() == [1, 11, 21] and bands.shape == (3, 5) and (bands.diff(dim=1) >= 0).all()
    edges, _, counts = diagnosis.heatmap(rec.records, "classifier.1", "weights", bins=20)
    assert edges.shape == (21,) and counts.shape == (3, 20)
    assert counts.sum(1).tolist() == pytest.approx([r.layer("classifier.1").weights.counts.sum().item()
                                                     for r in rec.records])
    assert rec.after_step(0.05) is None  # closed


def test_code_panel_reproduces_a_record(small):
    model_cfg, train_cfg = ModelConfig("mlp", hidden=(32,)), TrainConfig("adam", lr=1e-3)
    quick, cfg = QuickConfig(steps=11, batch_size=32, seed=2), RecorderConfig(every=5)
    model = build_model(model_cfg, seed=quick.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    records = recorder.record_training(model, optimizer, small, quick, cfg)
    assert [r.step for r in records] == [1, 6, 11]
    code = recorder.recorder_code("mnist", model_cfg, train_cfg, quick, records[-1], cfg).replace(
        "data = load_mnist()", "data = load_mnist().subset(1280, 200, seed=0)")
    results = run_panel(code)
    assert len(results) == 6 and all(same_output(p, e) for _, p, e in results), results
