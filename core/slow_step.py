"""One training step in slow motion: a mini-batch through the model (logits, loss), every parameter's gradient, the
optimizer's state before and after (`optimizer.state[p]`: SGD's momentum_buffer, Adam's step / exp_avg /
exp_avg_sq, RMSprop's square_avg ...), the change of every weight, and the same change computed by hand from the
update rule in float64, next to what optimizer.step() did.

    s = slow_step(model, optimizer, x, y)        # on a copy: the learner's model and optimizer do not move
    s.loss, s.layers[0].delta, s.layers[0].by_hand, s.max_diff     # max_diff ~1e-9: float32 rounding

The rules, as torch.optim writes them (g: the gradient, t: the step number, wd: weight decay):
    SGD      g += wd w;  b = mu b + g (b = g at the first step);  g = g + mu b (nesterov) or b;  w -= lr g
    Adam     g += wd w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
             w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    AdamW    w -= lr wd w (decoupled), then Adam's step without the g += wd w
    RMSprop  g += wd w;  s = a s + (1 - a) g^2;  b = mu b + g / (sqrt(s) + eps);  w -= lr b
             (without momentum: w -= lr g / (sqrt(s) + eps))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.image_data import ImageData
from core.models import ModelConfig, build_model
from core.quick_train import QuickConfig, quick_train, quick_train_code, random_batch
from core.training import TrainConfig, make_optimizer

RULES = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "RMSprop": "rmsprop"}  # torch.optim class -> our name


@dataclass(frozen=True, eq=False)
class ParamStep:
    """One parameter through the step."""

    name: str  # e.g. "net.1.weight"
    before: torch.Tensor  # w before the step
    grad: torch.Tensor  # dL/dw on the batch
    state_before: dict[str, torch.Tensor]  # optimizer.state[p] before the step (empty at the first step)
    state_after: dict[str, torch.Tensor]
    delta: torch.Tensor  # w_after - w_before, as optimizer.step() did it (float64 of the float32 weights)
    by_hand: torch.Tensor  # the same change from the update rule, in float64
    terms: dict[str, float]  # scalars of the rule at this step, e.g. {"t": 4, "1 - beta1^t": 0.34, ...}

    @property
    def max_diff(self) -> float:
        """The largest |by hand - optimizer.step()| over the parameter's elements."""
        return (self.delta - self.by_hand).abs().max().item() if self.delta.numel() else 0.0


@dataclass(frozen=True, eq=False)
class SlowStep:
    logits: torch.Tensor  # (B, classes)
    probs: torch.Tensor  # (B, classes) softmax
    loss: float
    optimizer: str  # "sgd" | "adam" | "adamw" | "rmsprop"
    hyper: dict  # the param group's settings (lr, momentum, betas, eps, weight_decay, ...)
    params: tuple[ParamStep, ...]

    @property
    def max_diff(self) -> float:
        """The largest |by hand - optimizer.step()| over every parameter."""
        return max((p.max_diff for p in self.params), default=0.0)


def _state(optimizer: torch.optim.Optimizer, p: torch.Tensor) -> dict[str, torch.Tensor]:
    return {k: (v.detach().clone() if isinstance(v, torch.Tensor) else torch.tensor(v))
            for k, v in optimizer.state.get(p, {}).items() if v is not None}


def update_by_hand(kind: str, group: dict, w: torch.Tensor, g: torch.Tensor,
                   state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """(w_after - w_before, the rule's scalars) for one parameter, by the rule in float64, from the state before."""
    w, g = w.double(), g.double()
    lr, wd = group["lr"], group["weight_decay"]
    terms: dict[str, float] = {}
    if group.get("maximize") or group.get("amsgrad") or group.get("centered"):
        raise ValueError("maximize, amsgrad and centered RMSprop are not written out here")
    if kind == "sgd":
        mu, nesterov, dampening = group["momentum"], group["nesterov"], group["dampening"]
        if wd:
            g = g + wd * w  # L2 penalty through the gradient
        if mu:
            b = state.get("momentum_buffer")
            b = g.clone() if b is None else mu * b.double() + (1 - dampening) * g  # the buffer starts at g
            g = g + mu * b if nesterov else b
        return -lr * g, terms
    if kind in ("adam", "adamw"):
        b1, b2 = group["betas"]
        eps = group["eps"]
        decoupled = kind == "adamw" or group.get("decoupled_weight_decay", False)
        t = int(state["step"].item()) + 1 if "step" in state else 1
        shrink = torch.zeros_like(w)
        if wd and decoupled:
            shrink = -lr * wd * w  # AdamW: decay the weight directly, outside the moments
            w = w + shrink
        elif wd:
            g = g + wd * w
        m = state["exp_avg"].double() if "exp_avg" in state else torch.zeros_like(w)
        v = state["exp_avg_sq"].double() if "exp_avg_sq" in state else torch.zeros_like(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t  # bias corrections: m and v start at 0
        terms.update({"t": t, "1 - beta1^t": c1, "1 - beta2^t": c2})
        return shrink - lr * (m / c1) / ((v / c2).sqrt() + eps), terms
    if kind == "rmsprop":
        alpha, eps, mu = group["alpha"], group["eps"], group["momentum"]
        if wd:
            g = g + wd * w
        s = state["square_avg"].double() if "square_avg" in state else torch.zeros_like(w)
        s = alpha * s + (1 - alpha) * g * g
        step = g / (s.sqrt() + eps)
        if mu:
            b = state["momentum_buffer"].double() if "momentum_buffer" in state else torch.zeros_like(w)
            step = mu * b + step
        return -lr * step, terms
    raise ValueError(f"no rule written out for {kind!r}")


def slow_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, *,
              label_smoothing: float = 0.0, in_place: bool = False) -> SlowStep:
    """One step of `optimizer` on the batch (x, y), recorded parameter by parameter, with the update by hand.

    Runs on copy.deepcopy((model, optimizer)) unless `in_place`: the learner's model and optimizer stay as they were.
    """
    kind = RULES.get(type(optimizer).__name__)
    if kind is None:
        raise ValueError(f"{type(optimizer).__name__}: only {', '.join(RULES)} are written out")
    if not in_place:
        model, optimizer = copy.deepcopy((model, optimizer))  # one memo: the copy steps the copied weights
    model.train()
    names = {p: n for n, p in model.named_parameters()}
    logits = model(x)  # (B, classes)
    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    optimizer.zero_grad()
    loss.backward()
    groups = [(group, p) for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    before = {p: (p.detach().clone(), p.grad.detach().clone(), _state(optimizer, p)) for _, p in groups}
    optimizer.step()
    steps = []
    for group, p in groups:
        w0, g, s0 = before[p]
        by_hand, terms = update_by_hand(kind, group, w0, g, s0)
        steps.append(ParamStep(names.get(p, "?"), w0, g, s0, _state(optimizer, p), p.detach().double() - w0.double(),
                               by_hand, terms))
    hyper = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    return SlowStep(logits.detach(), logits.detach().softmax(1), loss.item(), kind, hyper, tuple(steps))


def slow_step_after(data: ImageData, model_cfg: ModelConfig, train_cfg: TrainConfig,
                    quick: QuickConfig = QuickConfig(steps=3)) -> SlowStep:
    """A fresh model and optimizer trained `quick.steps` steps (so the optimizer has state), then the slow step on
    the next batch: exactly what `slow_step_code` prints."""
    model = build_model(model_cfg, seed=quick.seed)
    optimizer = make_optimizer(model.parameters(), train_cfg)
    g = quick_train(model, optimizer, data, quick)
    x, y = random_batch(data, quick.batch_size, g)
    return slow_step(model, optimizer, x, y, in_place=True)


def slow_step_code(dataset: str, model_cfg: ModelConfig, train_cfg: TrainConfig, quick: QuickConfig,
                   result: SlowStep) -> str:
    """A script: `quick.steps` steps of `quick_train` (so the optimizer has state), then the slow step on the next
    batch, printing the loss, the first weight's change by optimizer.step() and by hand, and their difference."""
    first = result.params[0]
    hand = {
        "sgd": ["b = state.get('momentum_buffer')  # None at the very first step",
                "g = g + wd * w" if train_cfg.weight_decay else "",
                *(["b = g.clone() if b is None else mu * b.double() + g",
                   "g = g + mu * b" if train_cfg.nesterov else "g = b"] if train_cfg.momentum else []),
                "by_hand = -lr * g"],
        "adam": ["t = int(state['step']) + 1 if state else 1",
                 "g = g + wd * w" if train_cfg.weight_decay else "",
                 "m = b1 * state['exp_avg'].double() + (1 - b1) * g if state else (1 - b1) * g",
                 "v = b2 * state['exp_avg_sq'].double() + (1 - b2) * g * g if state else (1 - b2) * g * g",
                 "by_hand = -lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)  # bias-corrected"],
        "adamw": ["t = int(state['step']) + 1 if state else 1",
                  "shrink = -lr * wd * w  # decoupled weight decay",
                  "w = w + shrink",
                  "m = b1 * state['exp_avg'].double() + (1 - b1) * g if state else (1 - b1) * g",
                  "v = b2 * state['exp_avg_sq'].double() + (1 - b2) * g * g if state else (1 - b2) * g * g",
                  "by_hand = shrink - lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)"],
        "rmsprop": ["g = g + wd * w" if train_cfg.weight_decay else "",
                    "s = alpha * state['square_avg'].double() + (1 - alpha) * g * g if state else (1 - alpha) * g * g",
                    "step = g / (s.sqrt() + eps)",
                    *(["step = mu * state['momentum_buffer'].double() + step if state else step"]
                      if train_cfg.momentum else []),
                    "by_hand = -lr * step"],
    }[result.optimizer]
    group = result.hyper
    settings = [f"lr, wd = {group['lr']!r}, {group['weight_decay']!r}"]
    if result.optimizer in ("adam", "adamw"):
        settings.append(f"(b1, b2), eps = {tuple(group['betas'])!r}, {group['eps']!r}")
    if result.optimizer in ("sgd", "rmsprop"):
        settings.append(f"mu = {group['momentum']!r}")
    if result.optimizer == "rmsprop":
        settings.append(f"alpha, eps = {group['alpha']!r}, {group['eps']!r}")
    body = "\n".join(line for line in [*settings, *hand] if line)
    d0, h0 = first.delta.flatten()[0].item(), first.by_hand.flatten()[0].item()
    return f"""{quick_train_code(dataset, model_cfg, train_cfg, quick)}
# the step in slow motion
p = model.get_parameter({first.name!r})
x, y = batch()
loss = F.cross_entropy(model(x), y)
optimizer.zero_grad()
loss.backward()
print(f'{{loss.item():.5g}}')  # {result.loss:.5g}
w, g = p.detach().double().clone(), p.grad.double().clone()  # float64 copies: the rule, exactly
state = {{k: v.clone() for k, v in optimizer.state[p].items()}}  # before the step
print(sorted(state))  # {sorted(first.state_before)}
optimizer.step()
delta = p.detach().double() - w  # what optimizer.step() did
{body}
print(f'{{delta.flatten()[0].item():.5g}} {{by_hand.flatten()[0].item():.5g}}')  # {d0:.5g} {h0:.5g}
print(bool((delta - by_hand).abs().max() < 1e-6))  # True
"""
