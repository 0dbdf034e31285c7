"""From scratch to nn.Module against torch: the hand-derived backward equals autograd's, the five ways give the
same losses, the custom Function passes gradcheck and the wrong one fails it, mistakes raise torch's own errors."""

import torch
from torch import nn

from core import scratch, scratch_mistakes

SMALL = scratch.Setup(batch=16, d_in=30, hidden=12, d_out=4, lr=0.1, steps=15, seed=2)


def test_hand_derived_gradients_equal_autograd():
    d = scratch.data(SMALL)
    x, y = d["x"], d["y"]
    w1, b1, w2, b2 = (d[k].clone().requires_grad_() for k in ("w1", "b1", "w2", "b2"))
    h = x @ w1 + b1
    y_pred = h.clamp(min=0) @ w2 + b2
    (y_pred - y).pow(2).mean().backward()
    with torch.no_grad():  # the same formulas as scratch.raw
        g = 2.0 * (y_pred - y) / y.numel()
        grad_h = g @ w2.T
        grad_h[h < 0] = 0
        hand = {"w2": h.clamp(min=0).T @ g, "b2": g.sum(0), "w1": x.T @ grad_h, "b1": grad_h.sum(0)}
    for name, w in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)):
        torch.testing.assert_close(hand[name], w.grad)


def test_five_ways_give_the_same_losses_and_learn():
    curves = scratch.five_ways(SMALL)
    assert list(curves) == list(scratch.WAYS)
    assert scratch.max_difference(curves) < 1e-5
    assert curves["raw"][-1] < 0.6 * curves["raw"][0]
    named = scratch.five_ways(SMALL, named=True)
    assert named["sequential"] == curves["sequential"]


def test_optim_way_equals_a_plain_torch_loop():
    model = scratch.sequential(SMALL)
    reference = nn.Sequential(nn.Linear(30, 12), nn.ReLU(), nn.Linear(12, 4))
    reference.load_state_dict(model.state_dict())
    d = scratch.data(SMALL)
    optimizer = torch.optim.SGD(reference.parameters(), lr=SMALL.lr)
    losses = []
    for _ in range(SMALL.steps):
        loss = nn.functional.mse_loss(reference(d["x"]), d["y"])
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert losses == scratch.optim(SMALL)


def test_linear_stores_out_in_and_the_custom_relu_is_checked():
    shape, gap = scratch.linear_check(SMALL)
    assert shape == (12, 30) and gap < 1e-6
    assert scratch.gradcheck() is True
    assert scratch.gradcheck(scratch_mistakes.WrongReLU.apply) is False


def test_mistakes_are_real():
    m = scratch_mistakes.mistake("no_grad", SMALL)
    assert "does not require grad" in m.error
    m = scratch_mistakes.mistake("non_leaf", SMALL)
    assert m.facts["w1.is_leaf after"] == "False" and m.facts["w1.grad_fn"] == "SubBackward0"
    assert "NoneType" in m.error and "not a leaf" in m.warning
    m = scratch_mistakes.mistake("clamp", SMALL)
    assert m.curves["grad.clamp(min=0)"][-1] > m.curves["correct backward"][-1]
    m = scratch_mistakes.mistake("zero_grad", SMALL)
    assert m.curves["zeroed every step"] == scratch.autograd(SMALL)
    assert m.curves["never zeroed"][:2] == m.curves["zeroed every step"][:2]  # the first update is the same ...
    assert m.curves["never zeroed"][2] != m.curves["zeroed every step"][2]  # ... the second adds the first's grad


def test_dynamic_graphs_follow_the_python_loop():
    rows = scratch_mistakes.dynamic(3)
    assert [r["middle layer used"] for r in rows] == ["2 times", "0 times", "0 times", "1 time", "3 times"]
    by_repeats = {int(r["middle layer used"].split()[0]): r for r in rows}
    assert by_repeats[0]["graph nodes"] == 10 and by_repeats[0]["|middle.weight.grad|"] == 0.0
    assert by_repeats[3]["graph nodes"] - by_repeats[1]["graph nodes"] == 6
    assert rows == scratch_mistakes.dynamic(3)  # seeded: the same every time
    before = torch.random.get_rng_state()
    scratch_mistakes.dynamic(5)
    scratch.five_ways(SMALL)
    assert torch.equal(before, torch.random.get_rng_state())  # the process-wide generator is untouched
