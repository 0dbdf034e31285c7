"""The update rules of torch.optim written out: the first steps of each optimizer computed by hand (momentum
buffer, Adam's moments and bias correction ...) next to the (x, y) torch.optim itself produced, in float64.

    steps = by_hand(RunConfig("Adam", lr=0.1), LANDSCAPES["Himmelblau"].f, (0.0, 0.0))
    steps[0].by_hand, steps[0].torch      # equal to ~1e-16
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from core.optim_config import RunConfig, make_optimizer

RULES = {  # LaTeX, in torch.optim's own formulation (g: the gradient at the current point, t: the step number)
    "SGD": r"\theta \leftarrow \theta - \eta\, g",
    "SGD+momentum": r"v \leftarrow \mu v + g,\qquad \theta \leftarrow \theta - \eta\, v",
    "Nesterov": r"v \leftarrow \mu v + g,\qquad \theta \leftarrow \theta - \eta\,(g + \mu v)",
    "Adagrad": r"s \leftarrow s + g^2,\qquad \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{s} + \epsilon}",
    "RMSprop": r"s \leftarrow \alpha s + (1-\alpha) g^2,\qquad \theta \leftarrow \theta - \eta\,"
               r"\frac{g}{\sqrt{s} + \epsilon}\quad(\alpha = 0.99)",
    "Adam": r"m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad "
            r"\hat m = \frac{m}{1-\beta_1^t},\quad \hat v = \frac{v}{1-\beta_2^t},\quad "
            r"\theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}",
    "AdamW": r"\theta \leftarrow \theta\,(1 - \eta\lambda),\ \text{then Adam's step}",
}
BETA2, EPS_ADAM, ALPHA, EPS_RMS, EPS_ADAGRAD = 0.999, 1e-8, 0.99, 1e-8, 1e-10


@dataclass(frozen=True)
class RuleStep:
    step: int
    grad: tuple[float, float]
    state: dict[str, tuple[float, float]] = field(default_factory=dict)  # buffers after this step, by name
    by_hand: tuple[float, float] = (0.0, 0.0)  # (x, y) after this step, by the formula
    torch: tuple[float, float] = (0.0, 0.0)  # (x, y) after optimizer.step()

    @property
    def gap(self) -> float:
        return max(abs(a - b) for a, b in zip(self.by_hand, self.torch, strict=True))


def _grad(f: Callable, theta: torch.Tensor) -> torch.Tensor:
    p = theta.detach().clone().requires_grad_()
    f(p[0], p[1]).backward()
    return p.grad


def _pair(t: torch.Tensor) -> tuple[float, float]:
    return (float(t[0]), float(t[1]))


def by_hand(config: RunConfig, f: Callable, start: Sequence[float], steps: int = 2) -> list[RuleStep]:
    """`steps` steps of the optimizer by its formula, and the same steps by torch.optim (both float64)."""
    theta = torch.tensor([float(start[0]), float(start[1])], dtype=torch.float64)
    p = theta.clone().requires_grad_()
    optimizer = make_optimizer(config, [p])
    name, lr = config.optimizer, config.lr
    zeros = torch.zeros(2, dtype=torch.float64)
    v, m, s = zeros.clone(), zeros.clone(), zeros.clone()
    out = []
    for t in range(1, steps + 1):
        g = _grad(f, theta)
        state: dict[str, torch.Tensor] = {}
        if name in ("SGD", "SGD+momentum", "Nesterov"):
            mu = config.momentum
            if mu:
                v = g.clone() if t == 1 else mu * v + g  # torch starts the buffer at the first gradient
                state["v (momentum buffer)"] = v
                theta = theta - lr * ((g + mu * v) if config.nesterov else v)
            else:
                theta = theta - lr * g
        elif name == "Adagrad":
            s = s + g * g
            state["s (sum of g²)"] = s
            theta = theta - lr * g / (s.sqrt() + EPS_ADAGRAD)
        elif name == "RMSprop":
            s = ALPHA * s + (1 - ALPHA) * g * g
            state["s (average of g²)"] = s
            step = g / (s.sqrt() + EPS_RMS)
            if config.momentum:
                v = config.momentum * v + step
                state["b (momentum buffer)"] = v
                step = v
            theta = theta - lr * step
        elif name in ("Adam", "AdamW"):
            if name == "AdamW":
                theta = theta * (1 - lr * config.weight_decay)
            b1 = config.beta1
            m = b1 * m + (1 - b1) * g
            s = BETA2 * s + (1 - BETA2) * g * g
            m_hat, v_hat = m / (1 - b1**t), s / (1 - BETA2**t)
            state.update({"m": m, "v": s, "m̂ = m / (1 − β₁ᵗ)": m_hat, "v̂ = v / (1 − β₂ᵗ)": v_hat})
            theta = theta - lr * m_hat / (v_hat.sqrt() + EPS_ADAM)
        else:
            raise ValueError(f"No rule written out for {name}.")
        optimizer.zero_grad()
        f(p[0], p[1]).backward()
        optimizer.step()
        out.append(RuleStep(t, _pair(g), {k: _pair(x) for k, x in state.items()}, _pair(theta), _pair(p.detach())))
        if not all(math.isfinite(x) for x in out[-1].by_hand):
            break
    return out
