"""core.diagnosis: findings in plain words from the records (vanishing and exploding gradients, dead units, a
learning rate too high or too low, a diverged run), and the records read over time."""

import math

import torch

from core import diagnosis, recorder
from core.models import ModelConfig, build_model
from core.quick_train import QuickConfig
from core.recorder import RecorderConfig


def _layer(name, grad_rms=1e-2, update=1e-3, dead=0.0):
    d = recorder.distribution(torch.randn(10), 5)
    return recorder.LayerRecord(name, "Linear", f"{name} (ReLU)", d, d, d, 1.0, grad_rms * 10, grad_rms, update,
                                update, dead)


def test_diagnose_in_plain_words():
    def kinds(*layers):
        return [f.kind for f in diagnosis.diagnose([recorder.Record(1, 0.1, layers)])]

    healthy = diagnosis.diagnose([recorder.Record(1, 0.1, (_layer("a"), _layer("b")))])
    assert [f.kind for f in healthy] == ["ok"] and "No problem" in healthy[0].text
    vanishing = diagnosis.diagnose([recorder.Record(1, 0.1, (_layer("a", grad_rms=1e-9), _layer("b", 1e-2)))])
    assert vanishing[0].kind == "vanishing" and "1e-7 times layer 2 (b)'s" in vanishing[0].text
    assert kinds(_layer("a", grad_rms=10.0), _layer("b", 1e-3)) == ["exploding"]
    dead = diagnosis.diagnose([recorder.Record(1, 0.1, (_layer("a", dead=0.4), _layer("b")))])
    assert dead == [diagnosis.Finding("dead", "a", 0.4, dead[0].text)]
    assert dead[0].text.startswith("40% of layer 1 (a)'s units never fire")
    high = diagnosis.diagnose([recorder.Record(1, 0.1, (_layer("a", update=0.3), _layer("b")))])
    assert high[0].kind == "lr_high" and "Updates are 3e-1 of the weights in layer 1 (a)" in high[0].text
    assert kinds(_layer("a", update=1e-7), _layer("b", update=1e-6)) == ["lr_low"]
    assert kinds(_layer("a", update=1e-7, dead=1.0), _layer("b", update=1e-6)) == ["dead"]  # dead, not slow
    nan = _layer("a")
    nan = recorder.LayerRecord(**{**nan.__dict__, "grads": recorder.distribution(torch.tensor([1.0, math.nan]), 3)})
    diverged = diagnosis.diagnose([recorder.Record(7, 0.1, (nan, _layer("b", dead=0.9)))])
    assert [f.kind for f in diverged] == ["nonfinite"] and "layer 1 (a) at step 7" in diverged[0].text
    assert diagnosis.diagnose([])[0].kind == "ok"


def test_diagnose_on_a_real_run_with_dead_units(mnist):
    small = mnist.subset(1280, 10, seed=0)
    model = build_model(ModelConfig("mlp", hidden=(64, 64)), seed=0)
    with torch.no_grad():
        model.net[3].bias.fill_(-100.0)  # layer 2's units can never be positive
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    records = recorder.record_training(model, optimizer, small, QuickConfig(steps=3, batch_size=32),
                                       RecorderConfig(every=2))
    assert [r.step for r in records] == [1, 3] and not any(m._forward_hooks for m in model.modules())
    assert records[-1].layer("net.3").dead_fraction == 1.0
    findings = diagnosis.diagnose(records)
    assert any(f.kind == "dead" and f.layer == "net.3" and "100% of layer 2 (net.3)'s units never fire" in f.text
               for f in findings)
    assert math.isfinite(records[-1].layer("net.1").grad_rms)
