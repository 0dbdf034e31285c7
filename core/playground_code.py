"""The playground's "Export": one runnable script (data with its seed, the model, the training loop with every
change of settings the learner made) that reproduces the run exactly and prints its final losses."""

from __future__ import annotations

import inspect

from core import playground
from core.playground import ACTIVATIONS, Playground
from core.playground_data import data_code


def _source(*objects) -> str:
    return "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects)


def export_code(play: Playground) -> str:
    """The whole run as a script: it prints the parameter count and the last epoch's losses as the page shows them."""
    data, net = play.data, play.net
    last = play.history[-1]
    loss = ("F.mse_loss(out[:, 0], y)  # regression: one output" if play.regression
            else "F.cross_entropy(out, y)  # the outputs are one logit per class")
    activations = ", ".join(f'"{k}": nn.{v.__name__}' for k, v in ACTIVATIONS.items())
    segments = [(n, s.optimizer, s.lr, s.momentum, s.regularization, s.reg_rate, s.dropout, s.batch_size)
                for n, s in play.segments]
    s0 = play.segments[0][1] if play.segments else play.settings
    seed = data.seed
    accuracy = "" if play.regression else f"""
    train_acc = (model(x_in).argmax(1) == y_train).float().mean().item()
    test_acc = (model(x_test_in).argmax(1) == y_test).float().mean().item()
    print(f"train accuracy {{train_acc:.4f}}, test accuracy {{test_acc:.4f}}")  # {printed_acc(last)}"""
    return f'''import math

import torch
import torch.nn.functional as F
from torch import nn

# ---- the data: {data.spec.label}, {data.n} points, noise {data.noise:g}, seed {seed}
{data_code(data, net.features)}
x_in, x_test_in = features(x_train), features(x_test)

# ---- the model: a real nn.Module
ACTIVATIONS = {{{activations}}}


{_source(playground.SeededDropout, playground.PlaygroundNet, playground.initialise)}


drop_gen = torch.Generator().manual_seed({seed + 4})  # dropout masks
model = PlaygroundNet({len(net.features)}, {tuple(net.hidden)!r}, {play.n_classes}, "{net.activation}", \
batchnorm={net.batchnorm}, dropout={s0.dropout!r}, generator=drop_gen)
initialise(model, "{net.init}", {net.sigma!r}, "{net.activation}", torch.Generator().manual_seed({seed + 2}))
print(sum(p.numel() for p in model.parameters()))  # {play.parameter_count()}


# ---- training
{_source(playground.make_optimizer, playground.penalty, playground.train_epoch)}


def loss_fn(out, y):
    return {loss}


batch_gen = torch.Generator().manual_seed({seed + 3})  # the order of the mini-batches
optimizer = make_optimizer(model.parameters(), "{s0.optimizer}", {s0.lr!r}, {s0.momentum!r})
name = "{s0.optimizer}"
# Each stretch of epochs with the settings it trained with (you changed them while it trained):
# (epochs, optimizer, lr, momentum, regularization, rate, dropout, batch size)
SEGMENTS = {segments!r}
for epochs, optimizer_name, lr, momentum, regularization, rate, p, batch_size in SEGMENTS:
    if optimizer_name != name:  # a new optimizer starts with an empty state
        optimizer, name = make_optimizer(model.parameters(), optimizer_name, lr, momentum), optimizer_name
    for group in optimizer.param_groups:
        group["lr"] = lr
        if "momentum" in group:
            group["momentum"] = momentum
    for m in model.modules():
        if isinstance(m, SeededDropout):
            m.p = p
    for epoch in range(epochs):
        train_epoch(model, optimizer, x_in, y_train, loss_fn, batch_size, regularization, rate, batch_gen)

model.eval()
with torch.inference_mode():
    train_loss = loss_fn(model(x_in), y_train).item()
    test_loss = loss_fn(model(x_test_in), y_test).item()
    print(f"epoch {last.epoch}: train loss {{train_loss:.4f}}, test loss {{test_loss:.4f}}")  \
# epoch {last.epoch}: train loss {last.train_loss:.4f}, test loss {last.test_loss:.4f}{accuracy}
'''


def printed_acc(last) -> str:
    return f"train accuracy {last.train_acc:.4f}, test accuracy {last.test_acc:.4f}"

