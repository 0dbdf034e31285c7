"""core.backprop: the chain rule by hand against autograd and finite differences; retain_graph, zero_grad."""

import pytest
import torch

from core import backprop
from tests.helpers import panel_variables, run_panel, same_output


@pytest.mark.parametrize("activation", list(backprop.HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("seed", [0, 5])
def test_manual_chain_rule_equals_autograd(activation, seed):
    result = backprop.backprop((0.8, -1.3), 0.4, seed, activation)
    for name in result.manual:
        torch.testing.assert_close(result.manual[name], result.autograd[name])


def test_backprop_matches_finite_differences_on_w1():
    base = backprop.tiny_net(2)
    result = backprop.backprop((0.5, 1.5), -0.3, 2, "tanh")
    x, y = torch.tensor([0.5, 1.5], dtype=torch.float64), torch.tensor([-0.3], dtype=torch.float64)

    def loss_of(w1):
        params = {k: v.double() for k, v in base.items()} | {"W1": w1}
        return backprop._forward(params, x, y, "tanh")[-1]

    w1 = base["W1"].double()
    fd = torch.zeros_like(w1)
    for i in range(3):
        for j in range(2):
            e = torch.zeros_like(w1)
            e[i, j] = 1e-6
            fd[i, j] = (loss_of(w1 + e) - loss_of(w1 - e)) / 2e-6
    torch.testing.assert_close(result.autograd["W1"].double(), fd, atol=1e-5, rtol=1e-4)


def test_graph_flags():
    flags = {row["tensor"]: row for row in backprop.backprop((1.0, -0.5), 0.5).flags}
    assert flags["x"]["requires_grad"] is False and flags["x"]["has .grad after backward()"] is False
    assert flags["W1"]["is_leaf"] and flags["W1"]["has .grad after backward()"]
    assert not flags["h"]["is_leaf"] and flags["h"]["grad_fn"] == "TanhBackward0"
    assert not flags["h"]["has .grad after backward()"]
    assert flags["loss"]["grad_fn"] == "SumBackward0"


def test_backward_twice_needs_retain_graph_and_accumulates():
    twice = backprop.backward_twice((1.0, -0.5), 0.5)
    assert "backward through the graph a second time" in twice.error
    for name in backprop.PARAM_NAMES:
        torch.testing.assert_close(twice.second[name], 2 * twice.first[name])


def test_forgetting_zero_grad_sums_gradients():
    summed = backprop.accumulated_grads((1.0, -0.5), 0.5, calls=4, zero_grad=False)
    zeroed = backprop.accumulated_grads((1.0, -0.5), 0.5, calls=4, zero_grad=True)
    for k in range(4):
        torch.testing.assert_close(summed[k], (k + 1) * zeroed[0])
        torch.testing.assert_close(zeroed[k], zeroed[0])
    torch.testing.assert_close(zeroed[0], backprop.backprop((1.0, -0.5), 0.5).autograd["W2"][0])


def test_training_without_zero_grad_does_worse():
    good_loss, good_norm = backprop.train_tiny((1.0, -0.5), 0.5, lr=0.05, steps=40, zero_grad=True)
    bad_loss, bad_norm = backprop.train_tiny((1.0, -0.5), 0.5, lr=0.05, steps=40, zero_grad=False)
    assert good_loss[-1] < 1e-6 and bad_loss[-1] > 1e-2
    assert good_loss[0] == bad_loss[0] and good_norm[0] == bad_norm[0]  # identical until grads start summing
    assert (torch.diff(bad_loss) > 0).any()  # it overshoots: the loss goes back up


def test_backprop_code_panels_run():
    result = backprop.backprop((1.0, -0.5), 0.5, 0, "sigmoid")
    code = backprop.backprop_code((1.0, -0.5), 0.5, 0, "sigmoid", result)
    ns = panel_variables(code)
    torch.testing.assert_close(ns["W1"].grad, result.autograd["W1"])
    torch.testing.assert_close(ns["d_W1"], ns["W1"].grad)
    printed = run_panel(code)
    assert len(printed) == 2 and printed[1][1] == "True True True", printed
    assert all(same_output(p, e) for _, p, e in printed), printed
    losses, _ = backprop.train_tiny((1.0, -0.5), 0.5, 0, "tanh", 0.05, 40, zero_grad=False)
    code = backprop.zero_grad_code((1.0, -0.5), 0.5, 0, "tanh", 0.05, 40, zero_grad=False, losses=losses)
    ns = panel_variables(code)
    assert ns["loss"].item() == pytest.approx(losses[-1].item(), rel=1e-5)
    printed = run_panel(code)
    assert len(printed) == 1 and same_output(*printed[0][1:]), printed
    assert printed[0][1].endswith("after 40 steps")


def test_code_panels_run_for_whole_number_inputs():
    """x = (1, -1), y = 1 must still make float tensors in the code (int64 ones cannot meet W1 in a matmul)."""
    result = backprop.backprop((1.0, -1.0), 1.0, 0, "ReLU")
    printed = run_panel(backprop.backprop_code((1.0, -1.0), 1.0, 0, "ReLU", result))
    assert len(printed) == 2 and all(same_output(p, e) for _, p, e in printed), printed
    losses, _ = backprop.train_tiny((1.0, -1.0), 1.0, 0, "ReLU", 0.05, 10)
    printed = run_panel(backprop.zero_grad_code((1.0, -1.0), 1.0, 0, "ReLU", 0.05, 10, True, losses))
    assert len(printed) == 1 and same_output(*printed[0][1:]), printed
