"""Recurrent nets against torch and plain Python: the toy tasks' targets, nn.LSTM's parameter shapes and its gate
equations, the vanishing gradient through time (autograd), a short training run, and the code panels."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import recurrent, recurrent_code
from core.parsing import InputError
from core.recurrent import FlowConfig, SeqConfig
from tests.helpers import run_panel, same_output

QUICK = SeqConfig(task="echo", cell="rnn", seq_len=8, hidden=16, delay=3, batch=32, steps=50, seed=1)


def test_task_targets_match_a_python_loop():
    g = torch.Generator().manual_seed(0)
    x, y = recurrent.make_batch("sum", 5, 9, 0, g)
    for row, target in zip(x.tolist(), y.tolist(), strict=True):
        assert target == [sum(row[:t + 1]) for t in range(9)]
    x, y = recurrent.make_batch("parity", 5, 9, 0, g)
    for row, target in zip(x.tolist(), y.tolist(), strict=True):
        assert target == [sum(row[:t + 1]) % 2 for t in range(9)]
    x, y = recurrent.make_batch("echo", 5, 9, 3, g)
    for row, target in zip(x.tolist(), y.tolist(), strict=True):
        assert target == [-100] * 3 + row[:6]
    assert recurrent.task_sizes("sum", 9) == (2, 10) and recurrent.task_sizes("echo", 9) == (4, 4)
    assert torch.equal(recurrent.make_batch("echo", 4, 6, 2, torch.Generator().manual_seed(7))[0],
                       recurrent.make_batch("echo", 4, 6, 2, torch.Generator().manual_seed(7))[0])


def test_lstm_shapes_are_nn_lstms():
    rows = recurrent.lstm_parameter_shapes(3, 5)
    real = dict(nn.LSTM(3, 5).named_parameters())
    assert [r.name for r in rows] == list(real)
    assert {r.name: r.shape for r in rows} == {name: tuple(p.shape) for name, p in real.items()}
    assert rows[0].shape == (20, 3) and rows[1].shape == (20, 5) and rows[2].shape == (20,)
    assert [(gate, a, b) for gate, a, b, _ in rows[0].blocks] == [("i", 0, 5), ("f", 5, 10), ("g", 10, 15),
                                                                   ("o", 15, 20)]
    with pytest.raises(InputError):
        recurrent.lstm_parameter_shapes(0, 5)


def test_lstm_step_by_hand_is_nn_lstms_step():
    step = recurrent.lstm_step(3, 6, seed=2)
    assert step.max_difference < 1e-6
    assert step.c.shape == step.h.shape == (6,)
    torch.testing.assert_close(step.h, step.gates["o"] * step.c.tanh())
    assert all(0 < v < 1 for k in "ifo" for v in step.gates[k].tolist())


def test_models_are_seeded_with_torchs_default_range_and_forget_bias():
    a = recurrent.build_model("lstm", 2, 8, 3, seed=0, forget_bias=1.0)
    b = recurrent.build_model("lstm", 2, 8, 3, seed=0, forget_bias=0.0)
    assert isinstance(a.rnn, nn.LSTM) and a.rnn.batch_first
    torch.testing.assert_close(a.rnn.bias_ih_l0[8:16] - 1.0, b.rnn.bias_ih_l0[8:16])
    assert torch.equal(a.rnn.bias_ih_l0[:8], b.rnn.bias_ih_l0[:8])
    assert all(p.abs().max() <= 8 ** -0.5 for p in b.parameters())


def test_gradient_through_time_vanishes_for_the_tanh_rnn():
    rnn, lstm = recurrent.gradient_flow("rnn"), recurrent.gradient_flow("lstm")
    assert rnn.norms.shape == (40,) and rnn.distance.tolist() == list(range(40))
    assert rnn.norms[20] < 1e-3 * rnn.norms[1]  # geometric decay
    assert lstm.norms[20] / lstm.norms[1] > 100 * rnn.norms[20] / rnn.norms[1]  # the cell state carries it further
    assert recurrent.decay_per_step(rnn) < recurrent.decay_per_step(lstm) < 1


def test_gradient_norms_are_autograds():
    cfg = FlowConfig(seq_len=6, hidden=4, batch=3)
    model = recurrent.build_model("gru", cfg.inputs, cfg.hidden, cfg.inputs, cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    x = F.one_hot(torch.randint(0, 4, (3, 6), generator=g), 4).float().requires_grad_()
    y = torch.randint(0, 4, (3,), generator=g)
    loss = sum(F.cross_entropy(model(x[b:b + 1])[0][:, -1], y[b:b + 1]) for b in range(3))
    loss.backward()  # one sequence at a time: the batch's gradients do not mix
    expected = x.grad.norm(dim=2).mean(0).flip(0)
    torch.testing.assert_close(recurrent.gradient_flow("gru", cfg, model=model).norms, expected)


def test_training_learns_to_echo_and_shows_the_hidden_state():
    run = recurrent.train(QUICK)
    assert len(run.losses) == 50 and run.chance == 0.25
    assert run.losses[-1] < 0.5 * run.losses[0] and run.accuracy > 0.8  # chance: 0.25
    assert (run.accuracy, run.sequence_accuracy) == recurrent.evaluate(run.model, QUICK)
    ex = recurrent.example(run, seed=3)
    assert ex.hidden.shape == (8, 16) and ex.probs.shape == (8, 4)
    with torch.no_grad():
        h, _ = run.model.rnn(F.one_hot(ex.x, 4).float()[None])
    torch.testing.assert_close(ex.hidden, h[0])
    assert ex.y[:3].tolist() == [-100] * 3 and torch.equal(ex.y[3:], ex.x[:-3])
    for bad in (SeqConfig(task="copy"), SeqConfig(task="echo", delay=12), SeqConfig(lr=0)):
        with pytest.raises(InputError):
            recurrent.train(bad)


def test_panels_print_what_they_say():
    cfg = SeqConfig(task="echo", cell="rnn", seq_len=6, hidden=8, batch=16, steps=10, delay=2)
    run = recurrent.train(cfg)
    results = run_panel(recurrent_code.recurrent_code(cfg, run))
    assert len(results) == 2 and all(same_output(printed, expected) for _, printed, expected in results)
    flow_cfg = FlowConfig(seq_len=25)
    flow = recurrent.gradient_flow("lstm", flow_cfg)
    results = run_panel(recurrent_code.flow_code("lstm", flow_cfg, flow))
    assert len(results) == 1 and same_output(results[0][1], results[0][2])


def test_the_global_generator_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    recurrent.train(SeqConfig(steps=2, batch=4))
    recurrent.gradient_flow("gru", FlowConfig(seq_len=5))
    recurrent.lstm_step(2, 3)
    recurrent.lstm_parameter_shapes(2, 3)
    assert torch.equal(torch.rand(3), expected)
