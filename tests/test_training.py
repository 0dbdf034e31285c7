"""core.training on real MNIST: the loss falls, one short epoch passes 90%, a seed reproduces a curve exactly,
bursts add up to one run, divergence and early stopping stop with a reason, a run that does not learn says so;
the step, the schedules and the metrics are checked against torch itself."""

import math

import pytest
import torch
import torch.nn.functional as F

from core import evaluation, training
from core.batches import normalize
from core.models import ModelConfig, build_model, default_config
from core.training import TrainConfig, Trainer, train


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(6000, 2000, seed=0)


def test_loss_falls_on_real_mnist_within_a_few_hundred_steps(mnist):
    model = build_model(ModelConfig("mlp"), seed=0)
    trainer = Trainer(model, mnist, TrainConfig("sgd", lr=0.05, momentum=0.9, batch_size=64, log_every=20))
    trainer.run(max_steps=300)
    losses = [s.loss for s in trainer.history.steps]
    assert trainer.step == 300 and trainer.status == "paused"
    assert losses[0] > 1.0  # starts near log(10) = 2.3
    assert losses[-1] < 0.5 and losses[-1] < 0.25 * losses[0]


def test_one_short_epoch_on_a_subset_passes_90_percent(small):
    model = build_model(default_config("cnnnet", 1, 28), seed=0)
    history = train(model, small, TrainConfig("adam", lr=2e-3, batch_size=64, epochs=1, val_fraction=0.1))
    last = history.epochs[-1]
    assert history.status == "finished" and last.epoch == 1
    assert last.test_acc > 0.90 and last.val_acc > 0.85
    assert 0 < last.train_loss < 1.0 and last.samples_per_s > 0


def test_same_seed_same_curve_and_bursts_add_up(small):
    """Dropout, crop and flip all draw from the run's generators: two runs with one seed are identical,
    and a run advanced in bursts of 7 steps equals one uninterrupted run."""
    cfg = TrainConfig("sgd", lr=0.05, momentum=0.9, batch_size=100, epochs=2, crop_padding=2, flip=True,
                      train_subset=1500, log_every=5, seed=11)

    def curve(bursts=False, seed=11):
        model = build_model(ModelConfig("mlp", dropout=0.3), seed=seed)
        trainer = Trainer(model, small, TrainConfig(**{**cfg.to_dict(), "seed": seed}))
        if bursts:
            while not trainer.done:
                trainer.run(max_steps=7)
        else:
            trainer.run()
        return [s.loss for s in trainer.history.steps], [e.test_acc for e in trainer.history.epochs], model

    a, acc_a, model_a = curve()
    b, acc_b, model_b = curve()
    c, acc_c, model_c = curve(bursts=True)
    assert a == b == c and acc_a == acc_b == acc_c and len(a) >= 6
    assert all(torch.equal(p, q) for p, q in zip(model_a.parameters(), model_c.parameters(), strict=True))
    other, _, _ = curve(seed=12)
    assert other != a


def test_divergence_is_caught_with_a_reason(small):
    model = build_model(ModelConfig("mlp"), seed=0)
    history = train(model, small, TrainConfig("sgd", lr=1e6, momentum=0.9, epochs=3))
    assert history.status == "diverged"
    assert "diverged" in history.reason and "1e+06" in history.reason
    assert history.epochs == []  # stopped inside the first epoch, no fake metrics
    step = int(history.reason.split("at step ")[1].split()[0])
    assert step < 20


def test_one_step_is_the_textbook_step(small):
    """The trainer's first step equals zero_grad/backward/step done by hand on the same batch."""
    cfg = TrainConfig("sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3, batch_size=32, epochs=1,
                      val_fraction=0.0, label_smoothing=0.1)
    model = build_model(ModelConfig("cnnnet", 1, 28), seed=3)
    reference = build_model(ModelConfig("cnnnet", 1, 28), seed=3)
    trainer = Trainer(model, small, cfg)
    trainer.run(max_steps=1)
    g = torch.Generator().manual_seed(cfg.seed)  # replay the trainer's draws: split, then the epoch's order
    pool = torch.randperm(len(small.y_train), generator=g)
    train_idx = pool.sort().values
    idx = train_idx[torch.randperm(len(train_idx), generator=g)][:32]
    opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    loss = F.cross_entropy(reference(normalize(small.x_train[idx], small.mean, small.std)), small.y_train[idx],
                           label_smoothing=0.1)
    opt.zero_grad()
    loss.backward()
    opt.step()
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)


@pytest.mark.parametrize("name,cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                      ("adamw", torch.optim.AdamW), ("rmsprop", torch.optim.RMSprop)])
def test_optimizers(name, cls):
    params = [torch.zeros(3, requires_grad=True)]
    opt = training.make_optimizer(params, TrainConfig(name, lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.1))
    assert type(opt) is cls
    group = opt.param_groups[0]
    assert group["lr"] == 0.01 and group["weight_decay"] == 0.1
    if name in ("sgd", "rmsprop"):
        assert group["momentum"] == 0.8
    if name == "sgd":
        assert group["nesterov"] is True


def test_schedules_follow_torch():
    spe = 10
    onecycle = training.lr_curve(TrainConfig(lr=0.5, epochs=3, schedule="onecycle", warmup=0.3), spe)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=30, pct_start=0.3, cycle_momentum=False)
    expected = []
    for _ in range(30):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    assert onecycle == pytest.approx(expected)
    assert max(onecycle) == pytest.approx(0.5) and onecycle.index(max(onecycle)) == 8
    step = training.lr_curve(TrainConfig(lr=1.0, epochs=3, schedule="step", step_every=1, gamma=0.5), spe)
    assert step[:10] == [1.0] * 10 and step[10:20] == [0.5] * 10 and step[20:] == [0.25] * 10
    cosine = training.lr_curve(TrainConfig(lr=1.0, epochs=2, schedule="cosine"), spe)
    assert cosine[0] == 1.0 and cosine[10] == pytest.approx(0.5) and cosine[-1] < 0.01
    assert training.lr_curve(TrainConfig(lr=0.3, epochs=1), spe) == [0.3] * 10


def test_epoch_metrics_and_callbacks(small):
    seen_steps, seen_epochs = [], []
    model = build_model(ModelConfig("mlp"), seed=0)
    cfg = TrainConfig("adam", lr=1e-3, batch_size=200, epochs=2, val_fraction=0.2, test_every_epoch=False,
                      log_every=5)
    history = train(model, small, cfg, on_step=seen_steps.append, on_epoch=seen_epochs.append)
    assert seen_steps == history.steps and seen_epochs == history.epochs
    first, last = history.epochs
    assert first.test_acc is None and last.test_acc is not None  # test set only at the end
    assert first.val_acc is not None and last.seconds > first.seconds
    # the reported test accuracy is the model's accuracy, computed here directly
    with torch.no_grad():
        model.eval()
        logits = model(normalize(small.x_test, small.mean, small.std))
    assert last.test_acc == pytest.approx((logits.argmax(1) == small.y_test).float().mean().item())
    assert last.test_loss == pytest.approx(F.cross_entropy(logits, small.y_test).item(), rel=1e-4)
    assert [s.step for s in history.steps][:3] == [5, 10, 15]
    assert len(history.layers) == 3 and all(len(s.grad_norms) == 3 for s in history.steps)
    assert history.steps[-1].epoch == pytest.approx(2.0)


def test_early_stopping_keeps_the_best_weights(mnist):
    """A big MLP on 300 images overfits: validation loss turns up, training stops, the best epoch is kept."""
    tiny = mnist.subset(300, 500, seed=1)
    model = build_model(ModelConfig("mlp", hidden=(512, 512)), seed=0)
    trainer = Trainer(model, tiny, TrainConfig("adam", lr=3e-3, batch_size=30, epochs=40, val_fraction=0.3,
                                               early_stopping=3))
    trainer.run()
    history = trainer.history
    assert history.status == "stopped_early" and "Early stopping" in history.reason
    epochs = len(history.epochs)
    assert epochs < 40
    best = min(history.epochs, key=lambda e: e.val_loss)
    assert history.best_epoch == best.epoch == epochs - 3
    val = evaluation.evaluate(model, tiny.x_train[trainer.val_idx], tiny.y_train[trainer.val_idx], tiny)
    assert val.loss == pytest.approx(best.val_loss, rel=1e-5)  # the weights now are those of the best epoch


def test_stop_keeps_finished_epochs(small):
    model = build_model(ModelConfig("mlp"), seed=0)
    trainer = Trainer(model, small, TrainConfig(batch_size=100, epochs=3, val_fraction=0.0))
    while len(trainer.history.epochs) < 1:
        trainer.run(max_steps=13)
    trainer.stop()
    assert trainer.done and trainer.status == "stopped" and len(trainer.history.epochs) == 1
    assert trainer.run() == "stopped"  # a stopped run stays stopped
    assert 0 < trainer.progress < 1 and trainer.eta_seconds() > 0


def test_bf16_and_channels_last_train(small):
    model = build_model(default_config("fastnet", 1, 28, widths=(8, 8, 16, 16)), seed=0)
    history = train(model, small.subset(3000, 500), TrainConfig(
        "adamw", lr=5e-3, batch_size=50, epochs=1, precision="bf16", channels_last=True, schedule="onecycle"))
    assert history.status == "finished" and math.isfinite(history.epochs[-1].train_loss)
    assert history.epochs[-1].test_acc > 0.5


def test_bad_train_configs_are_refused():
    for kwargs in ({"optimizer": "lion"}, {"lr": -1.0}, {"lr": float("nan")}, {"momentum": 1.0},
                   {"early_stopping": 2, "val_fraction": 0.0}, {"schedule": "warm"}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            TrainConfig(**kwargs)


def test_a_run_that_does_not_learn_says_so(small):
    # Adam at lr 1e6 never produces a NaN loss here: the run "finishes", at chance, after the loss exploded.
    trainer = Trainer(build_model(ModelConfig("mlp"), seed=0), small.subset(2000, 1000, seed=0),
                      TrainConfig("adam", lr=1e6, epochs=1, val_fraction=0.0))
    trainer.run()
    assert trainer.status == "finished"
    assert "did not learn" in trainer.history.warning and "1e+06" in trainer.history.warning
    assert "exploded" in trainer.history.warning and trainer.peak_loss > 1e6
    good = Trainer(build_model(ModelConfig("mlp"), seed=0), small.subset(2000, 1000, seed=0),
                   TrainConfig("sgd", lr=0.05, epochs=1, val_fraction=0.0))
    good.run()
    assert good.status == "finished" and good.history.warning == ""
