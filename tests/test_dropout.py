"""core.dropout against nn.Dropout and F.dropout: the mask, the 1/(1-p) scaling, eval mode; the lesson's code."""

import pytest
import torch
import torch.nn.functional as F

from core import dropout
from tests.helpers import run_panel, same_output


def test_dropout_train_mask_scaling_and_eval_identity():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    p = 0.3
    out, mask = dropout.dropout(x, p, seed=5)
    assert torch.equal(out, x * mask * (1 / (1 - p)))  # torch multiplies by the scale 1/(1-p)
    assert 0.6 < mask.float().mean() < 0.8
    again, mask2 = dropout.dropout(x, p, seed=5)
    assert torch.equal(out, again) and torch.equal(mask, mask2)
    # the same seed gives the mask torch's own F.dropout draws
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        assert torch.equal(F.dropout(x, p, training=True), out)
    other, _ = dropout.dropout(x, p, seed=6)
    assert not torch.equal(out, other)
    ev, ev_mask = dropout.dropout(x, p, seed=5, train=False)
    assert torch.equal(ev, x) and ev_mask.all()
    zero, zero_mask = dropout.dropout(x, 0.0, seed=0)
    assert torch.equal(zero, x) and zero_mask.all()
    with pytest.raises(ValueError):
        dropout.dropout(x, 1.0, seed=0)


def test_dropout_does_not_disturb_the_global_generator():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    dropout.dropout(torch.ones(10), 0.5, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_dropout_mean_is_preserved_by_the_scaling():
    x = torch.full((200,), 2.0)
    scaled, unscaled = dropout.dropout_means(x, 0.5, seed=0, trials=200)
    assert scaled[-1].item() == pytest.approx(2.0, abs=0.05)
    assert unscaled[-1].item() == pytest.approx(1.0, abs=0.03)


def test_make_input_kinds():
    assert torch.equal(dropout.make_input("0, 1, 2, ...", 2, 3, 0), torch.arange(6.0).view(2, 3))
    assert torch.equal(dropout.make_input("ones", 2, 3, 0), torch.ones(2, 3))
    noise = dropout.make_input("random normal", 4, 4, 7)
    assert torch.equal(noise, dropout.make_input("random normal", 4, 4, 7)) and torch.equal(noise, noise.round(decimals=2))


@pytest.mark.parametrize("kind, p, train", [("0, 1, 2, ...", 0.5, True), ("random normal", 0.3, False),
                                            ("ones", 0.85, True)])
def test_dropout_code_prints_the_mask_and_means(kind, p, train):
    x = dropout.make_input(kind, 5, 7, 3)
    out, mask = dropout.dropout(x, p, seed=3, train=train)
    results = run_panel(dropout.dropout_code(kind, x, out, mask, p, seed=3, train=train))
    assert len(results) == 3 and all(same_output(a, b) for _, a, b in results), results
    scaled, _ = dropout.dropout_means(x, p, seed=3, trials=30)
    results = run_panel(dropout.means_code(kind, x, p, seed=3, scaled=scaled))
    assert len(results) == 2 and all(same_output(a, b) for _, a, b in results), results
