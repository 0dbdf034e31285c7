"""core.inspection: one image through a model with hooks on its convolutions, the model left as it was; the
small shared MNIST CNN; the code the lesson shows."""

import pytest
import torch

from core import inspection
from tests.helpers import run_panel, same_output


def test_inspect_records_each_conv_and_leaves_the_model_as_it_was():
    from core import models

    model = models.build_model(models.ModelConfig("cnnnet", in_channels=1, image_size=28), seed=0)
    model.train()
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    seen = inspection.inspect(model, x)
    assert [name for name, _ in seen.layers] == ["features.0", "features.3"]
    with torch.no_grad():
        assert torch.allclose(seen.layers[0][1], model.features[0](x)[0])
        assert torch.allclose(seen.probs, model.eval()(x)[0].softmax(0))
    assert abs(float(seen.probs.sum()) - 1) < 1e-6
    model.train()
    inspection.inspect(model, x)
    assert model.training and all(not m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError, match="one input"):
        inspection.inspect(model, torch.zeros(2, 1, 28, 28))


def test_inspect_code_for_a_studio_run_loads_its_weights(tmp_path, monkeypatch):
    from core import models
    from core.batches import normalize
    from core.datasets import load_shared

    data = load_shared("mnist")
    cfg = models.ModelConfig("lenet5", in_channels=1, image_size=28)
    model = models.build_model(cfg, seed=3)
    torch.save(model.state_dict(), tmp_path / "lenet5-run7.pt")
    seen = inspection.inspect(model, normalize(data.x_test[5:6], data.mean, data.std))
    first = models.first_layer(model)
    code = inspection.inspect_code(5, seen, tuple(first.weight.shape), run_weights=("lenet5-run7.pt", cfg.to_dict()))
    assert "train_quick_cnn" not in code
    monkeypatch.chdir(tmp_path)
    results = run_panel(code)
    assert len(results) == 2 and all(same_output(p, e) for _, p, e in results), results
