"""core.anatomy: one model built three ways gives one output; state_dict keys, round trips, train and eval;
the code the lesson shows."""

import pytest
import torch
from torch import nn

from core import anatomy
from core.anatomy import AnatomyConfig
from tests.helpers import run_panel, same_output


def _x(cfg: AnatomyConfig, seed: int = 1):
    return torch.randn(2, cfg.in_channels, 14, 14, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_three_builds_give_identical_outputs(dropout):
    cfg = AnatomyConfig(dropout=dropout)
    models = anatomy.build_three(cfg, seed=3)
    x = _x(cfg)
    outs = [m.eval()(x) for m in models.values()]
    assert outs[0].shape == (2, 64, 6, 6)
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    pairs = anatomy.key_mapping(models["Sequential(OrderedDict)"], models["Sequential"])
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
    a = anatomy.seeded_init(anatomy.build_named(AnatomyConfig()), 7)
    b = anatomy.seeded_init(anatomy.build_named(AnatomyConfig()), 7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert a.conv1.weight.abs().max() <= 25 ** -0.5
    assert a.conv2.weight.abs().max() <= 500 ** -0.5


def test_state_dict_round_trip_and_mismatch_message():
    cfg = AnatomyConfig()
    models = anatomy.build_three(cfg, seed=0)
    size, fresh = anatomy.save_load_round_trip(models["Sequential"], anatomy.build_sequential(cfg))
    assert size > 4 * sum(p.numel() for p in fresh.parameters())
    assert torch.equal(fresh(_x(cfg)), models["Sequential"](_x(cfg)))
    with pytest.raises(ValueError, match="does not fit"):
        anatomy.key_mapping(models["Sequential"], anatomy.build_sequential(AnatomyConfig(hidden=10)))


def test_train_eval_flags_and_dropout_behaviour():
    cfg = AnatomyConfig(dropout=0.5)
    model = anatomy.build_three(cfg)["Sequential(OrderedDict)"]
    model.train()
    assert all(m.training for m in model.modules())
    x = _x(cfg)
    assert not torch.equal(model(x), model(x))  # two different dropout masks
    model.eval()
    assert not any(m.training for m in model.modules())
    assert torch.equal(model(x), model(x))
    assert anatomy.parameter_table(model)[0] == ("conv1.weight", (20, 1, 5, 5), 500, True)


def test_relu_module_equals_functional():
    x = torch.randn(100)
    assert torch.equal(nn.ReLU()(x), torch.nn.functional.relu(x))


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_anatomy_helpers_and_code(dropout):
    cfg = AnatomyConfig(in_channels=2, hidden=6, out_channels=5, kernel=3, dropout=dropout)
    builds = anatomy.build_three(cfg, seed=2)
    x = anatomy.sample_input(cfg, 12, seed=2)
    assert torch.equal(x, torch.randn(1, 2, 12, 12, generator=torch.Generator().manual_seed(3)))
    outs = anatomy.outputs(builds, x)
    assert all(torch.equal(o, outs["subclass"]) for o in outs.values()) and outs["subclass"].shape == (1, 5, 8, 8)
    assert anatomy.relu_module_equals_function(builds["Sequential(OrderedDict)"], x) == (True, (1, 6, 10, 10))
    assert "Missing key(s) in state_dict" in anatomy.load_mismatch(builds["Sequential"],
                                                                   builds["Sequential(OrderedDict)"])
    assert anatomy.load_mismatch(builds["Sequential"], anatomy.build_sequential(cfg)) == "no error"
    moved = anatomy.to_float64(cfg)
    assert (moved.before, moved.after, moved.same_model, moved.same_tensor) == (torch.float32, torch.float64, True,
                                                                                 False)
    named = builds["Sequential(OrderedDict)"]
    check = anatomy.modes(named, x, outs["Sequential(OrderedDict)"], dropout > 0)
    assert all(check.flags_train.values()) and not any(check.flags_eval.values())
    assert (check.train_equal, check.eval_equal) == (dropout == 0, True)
    size, _ = anatomy.save_load_round_trip(named, anatomy.build_named(cfg))
    results = run_panel(anatomy.anatomy_code(cfg, 12, 2, named, outs["subclass"], size, check))
    assert len(results) == 9 and all(same_output(p, e) for _, p, e in results), results
    for name, code in anatomy.build_code(cfg).items():  # each build's source builds that model
        namespace = {"nn": nn, "F": torch.nn.functional, "OrderedDict": __import__("collections").OrderedDict}
        exec(code, namespace)
        assert [n for n, _ in namespace["model"].named_children()] == [n for n, _ in builds[name].named_children()]
