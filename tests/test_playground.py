"""The playground's network is a real nn.Module trained as a plain torch loop would; its classic experiments reach
their known outcomes; its exported script reproduces a run exactly."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import playground_data
from core.parsing import InputError
from core.playground import (
    NetConfig,
    Playground,
    PlaygroundNet,
    SeededDropout,
    Settings,
    diagram_parameter_count,
)
from core.playground_code import export_code
from core.playground_data import DataConfig, features


@pytest.mark.parametrize("hidden, n_features, classes, bn", [((4, 2), 2, 2, False), ((), 3, 2, False),
                                                             ((8, 8, 8, 8, 8, 8), 7, 5, True), ((1,), 1, 1, True)])
def test_parameter_count_matches_the_diagram(hidden, n_features, classes, bn):
    model = PlaygroundNet(n_features, hidden, classes, "relu", batchnorm=bn)
    assert sum(p.numel() for p in model.parameters()) == diagram_parameter_count(n_features, hidden, classes, bn)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [
        (b, a) for a, b in zip((n_features, *hidden), (*hidden, classes), strict=False)]


def test_one_epoch_equals_a_plain_torch_loop():
    """Full-batch SGD with momentum and an L2 penalty: the playground's epoch is one step of this plain loop."""
    data = DataConfig("circles", n=60, seed=3)
    s = Settings("sgd", lr=0.1, momentum=0.9, regularization="L2", reg_rate=0.01, batch_size=1000)
    play = Playground(data, NetConfig(("x1", "x2", "x1*x2"), (4, 2), "tanh"), s)
    plain = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 2))
    plain.load_state_dict({k: v for k, v in zip(plain.state_dict(), play.model.state_dict().values(), strict=True)})
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    x = features(play.points.x_train, ("x1", "x2", "x1*x2"))
    y = play.points.y_train
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(data.seed + 3))
    for _ in range(3):
        play.train_epochs(1)
        loss = F.cross_entropy(plain(x[order]), y[order])
        loss = loss + 0.01 * sum((m.weight ** 2).sum() for m in plain if isinstance(m, nn.Linear))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))  # order is irrelevant: one batch
    for mine, theirs in zip(play.model.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-6, rtol=1e-5)
    assert play.steps == 3 and play.epoch == 3


def _train(data: DataConfig, net: NetConfig, s: Settings, epochs: int) -> Playground:
    play = Playground(data, net, s)
    play.train_epochs(epochs)
    return play


def test_a_line_fails_on_xor_until_x1_times_x2_is_a_feature():
    line = _train(DataConfig("xor"), NetConfig(hidden=()), Settings(), 100).history[-1]
    product = _train(DataConfig("xor"), NetConfig(("x1", "x2", "x1*x2"), hidden=()), Settings(), 100).history[-1]
    assert line.test_acc < 0.62  # chance is 0.5
    assert product.test_acc >= 0.95


def test_one_hidden_tanh_layer_solves_circles():
    play = _train(DataConfig("circles"), NetConfig(hidden=(4,)), Settings(), 100)
    assert play.history[-1].test_acc >= 0.95 and play.steps == 2000  # 100 epochs of 20 batches of 10


def test_too_high_a_learning_rate_does_not_learn():
    assert _train(DataConfig("circles"), NetConfig(), Settings(lr=3.0), 20).history[-1].test_acc < 0.7


def test_overfitting_and_l2():
    data, net = DataConfig("gauss", n=60, noise=0.5), NetConfig(hidden=(8, 8, 8), activation="relu")
    overfit = _train(data, net, Settings("adam", lr=0.03), 300).history[-1]
    l2 = _train(data, net, Settings("adam", lr=0.03, regularization="L2", reg_rate=0.03), 300).history[-1]
    assert overfit.train_loss < 0.05 and overfit.test_loss > 20 * overfit.train_loss
    assert l2.test_loss < overfit.test_loss / 3 and l2.train_loss > overfit.train_loss


def test_dead_relus_with_a_bad_initialisation():
    net = NetConfig(hidden=(8, 8), activation="relu", init="normal", sigma=3.0)
    play = _train(DataConfig("circles"), net, Settings(lr=0.3), 30)
    dead = play.maps(20).dead
    assert int(dead[1].sum()) >= 4  # half of the second layer outputs 0 on every training point
    hidden = []
    play.model.eval()
    with torch.no_grad():
        play.model(play.inputs, hidden)
    assert torch.equal(dead[1], (hidden[1] <= 0).all(0))


def test_maps_are_the_models_outputs_at_the_grid_points():
    play = _train(DataConfig("moons"), NetConfig(("x1", "x2", "sin(x1)"), (3, 2)), Settings(), 2)
    maps = play.maps(11)
    # the grid's row 0 is the top (x2 = 6), column 0 the left (x1 = -6); take row 2, column 7
    point = torch.tensor([[-6 + 7 * 1.2, 6 - 2 * 1.2]])
    hidden = []
    with torch.no_grad():
        out = play.model(features(point, ("x1", "x2", "sin(x1)")), hidden).softmax(1)
    torch.testing.assert_close(maps.output[2, 7], out[0])
    torch.testing.assert_close(maps.neurons[1][:, 2, 7], hidden[1][0])
    torch.testing.assert_close(maps.features[2][2, 7], torch.sin(point[0, 0]))
    assert torch.allclose(maps.output.sum(-1), torch.ones(11, 11))


def test_settings_changed_while_training_apply_at_the_next_epoch():
    play = Playground(DataConfig("circles"), NetConfig(), Settings())
    play.train_epochs(2)
    adam = play.optimizer
    play.train_epochs(1, Settings(lr=0.3, momentum=0.5, dropout=0.2, regularization="L1", reg_rate=0.001))
    assert play.optimizer is adam and play.optimizer.param_groups[0]["lr"] == 0.3
    assert play.optimizer.param_groups[0]["momentum"] == 0.5
    assert all(m.p == 0.2 for m in play.model.modules() if isinstance(m, SeededDropout))
    play.train_epochs(1, Settings("adam", lr=0.01))
    assert isinstance(play.optimizer, torch.optim.Adam)
    assert [n for n, _ in play.segments] == [2, 1, 1]


@pytest.mark.parametrize("data, net, segments", [
    (DataConfig("circles"), NetConfig(), [(3, Settings())]),
    (DataConfig("xor", own=((1.0, 2.0, 0.0), (-3.5, 0.25, 1.0)), removed=(3, 5)),
     NetConfig(("x1", "x2", "x1*x2"), ()), [(2, Settings(lr=0.1))]),
    (DataConfig("arms", classes=4, n=120), NetConfig(hidden=(8, 8), activation="relu", init="kaiming",
                                                      batchnorm=True),
     [(2, Settings("adam", lr=0.01, dropout=0.2)),
      (2, Settings("sgd", lr=0.1, momentum=0.9, regularization="L2", reg_rate=0.001, dropout=0.1, batch_size=7))]),
    (DataConfig("bumps", n=100, own=((0.5, 0.5, -0.75),)),
     NetConfig(hidden=(6,), init="normal", sigma=0.5),
     [(2, Settings("rmsprop", lr=0.003, momentum=0.5, regularization="L1", reg_rate=0.003))]),
])
def test_the_exported_script_reproduces_the_run_exactly(data, net, segments):
    play = Playground(data, net, segments[0][1])
    for epochs, s in segments:
        play.train_epochs(epochs, s)
    scope: dict = {}
    exec(compile(export_code(play), "export", "exec"), scope)  # noqa: S102 (the app's own generated code)
    last = play.history[-1]
    assert scope["train_loss"] == pytest.approx(last.train_loss, abs=1e-6)
    assert scope["test_loss"] == pytest.approx(last.test_loss, abs=1e-6)
    if last.test_acc is not None:
        assert scope["test_acc"] == pytest.approx(last.test_acc, abs=1e-9)


def test_seeded_dropout_is_dropout():
    drop = SeededDropout(0.25, torch.Generator().manual_seed(0))
    x = torch.ones(200, 50)
    out = drop(x)
    assert set(out.unique().tolist()) == {0.0, torch.tensor(1 / 0.75).item()}  # kept units scaled as nn.Dropout
    assert abs(float((out == 0).float().mean()) - 0.25) < 0.02
    drop.eval()
    assert torch.equal(drop(x), x)


def test_datasets_are_seeded_and_balanced():
    for name, spec in playground_data.DATASETS.items():
        cfg = DataConfig(name, n=200, classes=4)
        x, y = playground_data.generate(cfg)
        again, _ = playground_data.generate(cfg)
        assert x.shape == (200, 2) and torch.equal(x, again)
        if spec.regression:
            assert y.dtype == torch.float32 and float(y.abs().max()) < 1.6
        elif name == "xor":  # labelled by quadrant: about half each
            assert abs(int(y.sum()) - 100) < 20
        else:
            assert torch.bincount(y).tolist() == [200 // cfg.n_classes] * cfg.n_classes
    assert features(torch.tensor([[2.0, 3.0]]), ("x1", "x1*x2", "x2^2")).tolist() == [[2.0, 6.0, 9.0]]


def test_own_and_removed_points_reach_the_training_data():
    base = playground_data.points(DataConfig("circles"))
    edited = playground_data.points(DataConfig("circles", own=((1.5, -2.0, 1.0),), removed=(int(base.train_ids[0]),)))
    assert len(edited.x_train) == len(base.x_train)  # one removed, one added
    assert edited.x_train[-1].tolist() == [1.5, -2.0] and int(edited.y_train[-1]) == 1
    assert int(base.train_ids[0]) not in edited.train_ids.tolist()
    assert playground_data.nearest(edited, 1.6, -2.1) == -1  # the own point, found by a click near it
    own, removed = playground_data.remove(((1.5, -2.0, 1.0),), (), -1)
    assert own == () and removed == ()


def test_link_text_for_points_is_checked():
    assert playground_data.parse_own("1.25,-2,1;0,0,0", 2) == ((1.25, -2.0, 1.0), (0.0, 0.0, 0.0))
    assert playground_data.dump_own(((1.25, -2.0, 1.0),)) == "1.25,-2,1"
    for bad in ("1,2", "a,b,c", "nan,0,1", "99,0,1", "0,0,2", "0,0,0.5"):
        with pytest.raises(InputError):
            playground_data.parse_own(bad, 2)
    with pytest.raises(InputError):
        playground_data.parse_own(";".join(["0,0,1"] * 201), 2)
    assert playground_data.parse_ids("3,1,3", 10) == (1, 3)
    with pytest.raises(InputError):
        playground_data.parse_ids("3,10", 10)


def test_a_diverging_run_stops_with_a_message():
    play = Playground(DataConfig("bumps"), NetConfig(hidden=(8, 8), activation="relu"), Settings(lr=10.0))
    play.train_epochs(50)
    assert "Lower the learning rate" in play.status and not math.isfinite(play.history[-1].train_loss)
    assert play.epoch < 50
