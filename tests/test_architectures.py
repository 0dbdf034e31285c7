"""core.architectures against torchvision and torch: parameter counts, multiply-accumulates, meta-device builds,
LeNet-5 from the model zoo; the code the lesson shows."""

import pytest
import torch

from core import architectures
from core.layer_table import layer_table
from tests.helpers import run_panel, same_output

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
    summary = architectures.summarize(name, depth=2)
    assert summary.params == params == summary.reference_params
    assert summary.macs / 1e9 == pytest.approx(gflops, abs=0.0015)
    assert summary.reference_gflops == gflops
    assert summary.output_shape == (1000,)
    # the table's rows hold every parameter exactly once, at any level of detail
    assert sum(r.params for r in summary.rows) == params
    leaves = architectures.summarize(name, depth=None)
    assert sum(r.params for r in leaves.rows) == params and leaves.macs == summary.macs


def test_meta_build_allocates_nothing_and_matches_a_real_build():
    meta = architectures.build("ResNet-18")
    assert all(p.device.type == "meta" for p in meta.parameters())
    real = architectures.build("ResNet-18", device="cpu")
    assert sum(p.numel() for p in real.parameters()) == 11_689_512
    x = torch.zeros(1, 3, 224, 224)
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, n=n: shapes.__setitem__(n, tuple(o.shape[1:])))
             for n, m in real.named_children()]
    with torch.no_grad():
        real.eval()(x)
    for h in hooks:
        h.remove()
    rows = {r.name: r.output_shape for r in layer_table(meta, (3, 224, 224), depth=1)}
    assert rows == shapes
    assert rows["layer4"] == (512, 7, 7) and rows["fc"] == (1000,)


def test_lenet5_comes_from_the_model_zoo():
    from core import models

    summary = architectures.summarize("LeNet-5", depth=None)
    # conv 1->6 5x5 (156) + conv 6->16 5x5 (2,416) + 400->120 (48,120) + 120->84 (10,164) + 84->10 (850)
    assert summary.params == 61_706 and summary.reference_params is None
    zoo = models.build_model(models.ModelConfig("lenet5", in_channels=1, image_size=32))
    assert summary.params == models.count_parameters(zoo)
    assert [r.output_shape for r in summary.rows if r.kind in ("Conv2d", "MaxPool2d", "Linear")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]
    assert summary.macs == 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10


@pytest.mark.parametrize("name", ["LeNet-5", "ResNet-18"])
def test_architecture_code_counts_what_summarize_counts(name):
    summary = architectures.summarize(name)
    results = run_panel(architectures.architecture_code(summary))
    assert len(results) == 3 and all(same_output(p, e) for _, p, e in results), results
