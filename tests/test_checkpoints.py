"""core.checkpoints: weights round-trip, and damaged, foreign or hostile files get clear messages."""

import io
import json

import pytest
import torch

from core import checkpoints
from core.batches import normalize
from core.models import ModelConfig, build_model
from core.training import TrainConfig, train


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(6000, 2000, seed=0)


def test_checkpoint_round_trip(small):
    cfg = ModelConfig("cnnnet", 1, 28, batchnorm=True)
    model = build_model(cfg, seed=4)
    train(model, small.subset(500, 100), TrainConfig(batch_size=50, epochs=1, val_fraction=0.0))
    weights = checkpoints.weights_bytes(model)
    plain = torch.load(io.BytesIO(weights), weights_only=True)  # a plain state_dict, loadable by anyone
    assert set(plain) == set(model.state_dict())
    text = checkpoints.config_json(cfg, TrainConfig(), dataset="mnist", metrics={"test_acc": 0.5})
    cfg2, doc = checkpoints.read_config_json(text)
    assert cfg2 == cfg and doc["dataset"] == "mnist" and json.loads(text)["train"]["optimizer"] == "adamw"
    loaded = checkpoints.load_weights(weights, cfg2)
    model.eval()
    with torch.no_grad():
        x = normalize(small.x_test[:50], small.mean, small.std)
        assert torch.equal(loaded(x), model(x))


def test_bad_checkpoints_get_clear_messages(small):
    cfg = ModelConfig("cnnnet", 1, 28)
    weights = checkpoints.weights_bytes(build_model(cfg))
    with pytest.raises(checkpoints.CheckpointError, match="not a PyTorch weights file"):
        checkpoints.load_weights(b"garbage" * 100, cfg)
    with pytest.raises(checkpoints.CheckpointError, match="not a PyTorch weights file"):
        checkpoints.load_weights(weights[: len(weights) // 2], cfg)  # truncated
    with pytest.raises(checkpoints.CheckpointError, match="do not fit the architecture 'lenet5'"):
        checkpoints.load_weights(weights, ModelConfig("lenet5", 1, 28))
    with pytest.raises(checkpoints.CheckpointError, match="shape mismatch"):
        checkpoints.load_weights(weights, ModelConfig("cnnnet", 3, 32))
    evil = io.BytesIO()

    class Evil:
        def __reduce__(self):
            return (print, ("never",))

    torch.save({"x": Evil()}, evil)
    with pytest.raises(checkpoints.CheckpointError, match="not a PyTorch weights file"):  # weights_only refuses it
        checkpoints.load_weights(evil.getvalue(), cfg)
    buf = io.BytesIO()
    torch.save([1, 2, 3], buf)
    with pytest.raises(checkpoints.CheckpointError, match="no state_dict"):
        checkpoints.load_weights(buf.getvalue(), cfg)
    nan_state = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                 for k, v in build_model(cfg).state_dict().items()}
    buf = io.BytesIO()
    torch.save(nan_state, buf)
    with pytest.raises(checkpoints.CheckpointError, match="NaN"):
        checkpoints.load_weights(buf.getvalue(), cfg)
    for text, message in (("{not json", "not valid JSON"), ('{"a": 1}', "no \"model\""),
                          ('{"model": {"arch": "transformer"}}', "no model this app can build")):
        with pytest.raises(checkpoints.CheckpointError, match=message):
            checkpoints.read_config_json(text)
