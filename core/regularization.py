"""Overfitting and regularisation on a polynomial fit: degree, L2 / L1 penalties, early stopping, K-fold.

The data are noisy samples of sin(pi x) on [-1, 1]; a degree-d polynomial is a linear model on the features
[1, x, x^2, ..., x^d], fitted in closed form (torch.linalg.lstsq) or by gradient descent (torch.optim).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class PolyData:
    n_train: int = 15
    n_val: int = 50
    noise: float = 0.3  # standard deviation of the noise added to sin(pi x)
    seed: int = 0


@dataclass
class Points:
    x_train: torch.Tensor  # (n_train,)
    y_train: torch.Tensor
    x_val: torch.Tensor  # (n_val,)
    y_val: torch.Tensor


def target(x: torch.Tensor) -> torch.Tensor:
    """The true function the points are sampled from."""
    return torch.sin(math.pi * x)


def make_points(cfg: PolyData) -> Points:
    """Train and validation points with y = sin(pi x) + N(0, noise^2), from a seeded generator.

    Training x are spread evenly over [-1, 1] with a little jitter (no wide gap for a polynomial to run wild in);
    validation x are uniform on [-1, 1].
    """
    if cfg.n_train < 2 or cfg.n_val < 1:
        raise ValueError("Use at least 2 training points and 1 validation point.")
    g = torch.Generator().manual_seed(cfg.seed)
    cell = 2 / cfg.n_train
    x_train = -1 + cell * (torch.arange(cfg.n_train, dtype=torch.float64)
                           + torch.rand(cfg.n_train, generator=g, dtype=torch.float64))
    x_val = torch.rand(cfg.n_val, generator=g, dtype=torch.float64) * 2 - 1
    x = torch.cat([x_train, x_val])
    y = target(x) + cfg.noise * torch.randn(x.shape, generator=g, dtype=torch.float64)
    return Points(x_train, y[:cfg.n_train], x_val, y[cfg.n_train:])


def features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """[1, x, ..., x^degree] per point. Example: features(torch.tensor([2.]), 2) -> [[1., 2., 4.]]"""
    return x.unsqueeze(-1) ** torch.arange(degree + 1, dtype=x.dtype)  # (N, degree + 1)


def fit(x: torch.Tensor, y: torch.Tensor, degree: int, *, weight_decay: float = 0.0) -> torch.Tensor:
    """The coefficients minimising mean((Xw - y)^2) + weight_decay/2 * ||w||^2, in closed form.

    That is where torch.optim.SGD(weight_decay=...) on the MSE ends up: its gradient adds weight_decay * w.
    Solved as least squares on X stacked over sqrt(N * weight_decay / 2) * I (ridge regression), in float64.
    """
    X = features(x.double(), degree)  # (N, d + 1)
    t = y.double().unsqueeze(-1)
    if weight_decay > 0:
        ridge = math.sqrt(len(x) * weight_decay / 2) * torch.eye(degree + 1, dtype=torch.float64)
        X = torch.cat([X, ridge])
        t = torch.cat([t, torch.zeros(degree + 1, 1, dtype=torch.float64)])
    return torch.linalg.lstsq(X, t, driver="gelsd").solution.squeeze(-1)  # (d + 1,)


def predict(x: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    return features(x.double(), len(coef) - 1) @ coef.double()


def mse(x: torch.Tensor, y: torch.Tensor, coef: torch.Tensor) -> float:
    return float(((predict(x, coef) - y.double()) ** 2).mean())


def ridge_path(x: torch.Tensor, y: torch.Tensor, degree: int, decays: list[float]) -> torch.Tensor:
    """The closed-form coefficients for each weight decay: (len(decays), degree + 1)."""
    return torch.stack([fit(x, y, degree, weight_decay=wd) for wd in decays])


@dataclass
class DegreeCurve:
    degrees: list[int]
    train_mse: list[float]
    val_mse: list[float]


def degree_curve(points: Points, max_degree: int = 15, *, weight_decay: float = 0.0) -> DegreeCurve:
    """Train and validation error of the closed-form fit for every degree 0..max_degree."""
    degrees = list(range(max_degree + 1))
    coefs = [fit(points.x_train, points.y_train, d, weight_decay=weight_decay) for d in degrees]
    return DegreeCurve(degrees, [mse(points.x_train, points.y_train, c) for c in coefs],
                       [mse(points.x_val, points.y_val, c) for c in coefs])


def verdict(curve: DegreeCurve, degree: int) -> str:
    """"underfitting", "overfitting" or "about right": a validation error 20% above the best degree's, on which side."""
    best = min(range(len(curve.val_mse)), key=curve.val_mse.__getitem__)
    val = curve.val_mse[degree]
    if degree < best and val > 1.2 * curve.val_mse[best]:
        return "underfitting"
    if degree > best and val > 1.2 * curve.val_mse[best]:
        return "overfitting"
    return "about right"


@dataclass(frozen=True)
class GDConfig:
    degree: int = 12
    lr: float = 0.05
    steps: int = 1500
    weight_decay: float = 0.0  # L2, through the optimizer
    l1: float = 0.0  # L1, added to the loss: l1 * sum|w|
    patience: int = 100  # early stopping: stop after this many steps without a better validation loss


@dataclass
class GDRun:
    config: GDConfig
    train_loss: list[float]  # MSE on the training points, per step (before the step)
    val_loss: list[float]
    coef: torch.Tensor  # (d + 1,) after the last step
    best_step: int  # lowest validation loss over the whole run
    stop_step: int | None  # where early stopping with `patience` halts; None if it never triggers
    early_step: int  # the step whose weights early stopping keeps: the best one seen before it halted
    early_coef: torch.Tensor  # (d + 1,) those weights


def train_gd(points: Points, cfg: GDConfig, *, on_step=None) -> GDRun:
    """Fit nn.Linear(d + 1, 1, bias=False) on the polynomial features with Adam; record both losses every step.

    Starts from zero weights, so the run is deterministic. `on_step(step, train, val)` reports progress.
    """
    X = features(points.x_train.float(), cfg.degree)  # (N, d + 1)
    Xv = features(points.x_val.float(), cfg.degree)
    y, yv = points.y_train.float().unsqueeze(-1), points.y_val.float().unsqueeze(-1)
    model = nn.Linear(cfg.degree + 1, 1, bias=False)
    nn.init.zeros_(model.weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train_loss, val_loss = [], []
    best, best_step, best_coef, stop_step, early = math.inf, 0, model.weight.detach()[0].clone(), None, None
    for step in range(cfg.steps):
        loss = ((model(X) - y) ** 2).mean()
        with torch.no_grad():
            val = float(((model(Xv) - yv) ** 2).mean())
        train_loss.append(float(loss.detach()))
        val_loss.append(val)
        if val < best:
            best, best_step, best_coef = val, step, model.weight.detach()[0].clone()
        elif stop_step is None and step - best_step >= cfg.patience:
            stop_step, early = step, (best_step, best_coef)
        if cfg.l1 > 0:
            loss = loss + cfg.l1 * model.weight.abs().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step, train_loss[-1], val)
    early_step, early_coef = early if early is not None else (best_step, best_coef)
    return GDRun(cfg, train_loss, val_loss, model.weight.detach()[0].clone(), best_step, stop_step, early_step,
                 early_coef)


def gd_seconds(steps: int) -> float:
    """About how long `train_gd` takes on 2 cores (measured: ~0.45 ms per Adam step on a degree-15 polynomial)."""
    return steps * 0.45e-3


def kfold_assignment(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """The fold (0..k-1) of each of n points: a seeded shuffle cut into k near-equal parts.

    Example: kfold_assignment(10, 5).bincount() -> tensor([2, 2, 2, 2, 2])
    """
    if not 2 <= k <= n:
        raise ValueError(f"K must be between 2 and the number of points ({n}).")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    folds = torch.empty(n, dtype=torch.long)
    folds[order] = torch.arange(n) * k // n
    return folds


def kfold_curve(x: torch.Tensor, y: torch.Tensor, folds: torch.Tensor, max_degree: int = 15) -> list[float]:
    """Mean K-fold validation MSE for every degree 0..max_degree: what cross-validation would pick from."""
    return [sum(kfold_errors(x, y, d, folds)) / (int(folds.max()) + 1) for d in range(max_degree + 1)]


def kfold_errors(x: torch.Tensor, y: torch.Tensor, degree: int, folds: torch.Tensor, *,
                 weight_decay: float = 0.0) -> list[float]:
    """Validation MSE of each fold: fit on the other folds, score on this one."""
    errors = []
    for f in range(int(folds.max()) + 1):
        held = folds == f
        coef = fit(x[~held], y[~held], degree, weight_decay=weight_decay)
        errors.append(mse(x[held], y[held], coef))
    return errors


# ----------------------------------------------------------------------------------------------------------------
# The code the lesson shows: each panel builds the same points, then the computation of its section


def _points_code(cfg: PolyData) -> str:
    """make_points and features, as plain torch (every panel of the lesson starts with them)."""
    n = cfg.n_train
    return f"""g = torch.Generator().manual_seed({cfg.seed})
cell = 2 / {n}                                            # training x: spread over [-1, 1]
x_train = -1 + cell * (torch.arange({n}, dtype=torch.float64) + torch.rand({n}, generator=g, dtype=torch.float64))
x_val = torch.rand({cfg.n_val}, generator=g, dtype=torch.float64) * 2 - 1
x = torch.cat([x_train, x_val])
y = torch.sin(torch.pi * x) + {cfg.noise} * torch.randn(x.shape, generator=g, dtype=torch.float64)
y_train, y_val = y[:{n}], y[{n}:]

def features(x, degree):                                   # [1, x, x^2, ..., x^degree]
    return x.unsqueeze(-1) ** torch.arange(degree + 1, dtype=x.dtype)
"""


def degree_code(cfg: PolyData, degree: int, train_mse: float, val_mse: float) -> str:
    """The closed-form fit of one degree (fit, mse), printing its training and validation error."""
    return f"""import torch

{_points_code(cfg)}
coef = torch.linalg.lstsq(features(x_train, {degree}), y_train.unsqueeze(-1), driver="gelsd").solution
mse = lambda x, y: ((features(x, {degree}) @ coef).squeeze(-1) - y).pow(2).mean()
print(mse(x_train, y_train).item(), mse(x_val, y_val).item())  # {train_mse} {val_mse}
"""


def l2_code(cfg: PolyData, degree: int, lam: float, coef: torch.Tensor, val_mse: float) -> str:
    """The ridge fit of `fit(..., weight_decay=lam)`, checked against torch.optim.SGD(weight_decay=lam)."""
    return f"""import torch

{_points_code(cfg)}
# weight_decay=λ adds λ·w to the gradient: the minimum of MSE + λ/2·‖w‖², in closed form (ridge regression)
X = features(x_train, {degree})                      # (N, {degree + 1})
n = X.shape[0]
A = torch.cat([X, (n * {lam:g} / 2) ** 0.5 * torch.eye({degree + 1}, dtype=X.dtype)])
b = torch.cat([y_train.unsqueeze(-1), torch.zeros({degree + 1}, 1, dtype=X.dtype)])
coef = torch.linalg.lstsq(A, b, driver="gelsd").solution
print(((features(x_val, {degree}) @ coef).squeeze(-1) - y_val).pow(2).mean().item())  # {val_mse}
print(coef.norm().item())  # {float(coef.norm())}

# where torch.optim.SGD with weight_decay converges: from the closed-form minimum, a step does not move
w = coef.clone().requires_grad_()
opt = torch.optim.SGD([w], lr=0.1, weight_decay={lam:g})
((X @ w - y_train.unsqueeze(-1)) ** 2).mean().backward()
opt.step()
print((w - coef).abs().max().item() < 1e-6)  # True
"""


def l1_code(cfg: PolyData, gd: GDConfig, val_mse: float) -> str:
    """train_gd with an L1 penalty (gd.l1), printing the validation error of the weights it ends with."""
    d = gd.degree
    return f"""import torch
from torch import nn

{_points_code(cfg)}
X = features(x_train.float(), {d})                  # (N, {d + 1})
y = y_train.float().unsqueeze(-1)
model = nn.Linear({d + 1}, 1, bias=False)
nn.init.zeros_(model.weight)
opt = torch.optim.Adam(model.parameters(), lr={gd.lr})
for step in range({gd.steps}):
    loss = ((model(X) - y) ** 2).mean() + {gd.l1:g} * model.weight.abs().sum()   # L1 penalty in the loss
    opt.zero_grad()
    loss.backward()
    opt.step()
coef = model.weight.detach()[0].double()
print(((features(x_val, {d}) @ coef - y_val) ** 2).mean().item())  # {val_mse}
"""


def early_code(cfg: PolyData, gd: GDConfig, run: GDRun) -> str:
    """train_gd with early stopping: where it halts and the validation error of the weights it keeps."""
    d = gd.degree
    return f"""import math

import torch
from torch import nn

{_points_code(cfg)}
X, Xv = features(x_train.float(), {d}), features(x_val.float(), {d})
y, yv = y_train.float().unsqueeze(-1), y_val.float().unsqueeze(-1)
model = nn.Linear({d + 1}, 1, bias=False)
nn.init.zeros_(model.weight)
opt = torch.optim.Adam(model.parameters(), lr={gd.lr})
best, best_step, best_w, stopped = math.inf, 0, model.weight.detach().clone(), None
for step in range({gd.steps}):
    loss = ((model(X) - y) ** 2).mean()
    with torch.no_grad():
        val = ((model(Xv) - yv) ** 2).mean().item()
    if val < best:
        best, best_step, best_w = val, step, model.weight.detach().clone()
    elif step - best_step >= {gd.patience}:                 # patience ran out: stop here
        stopped = step
        break
    opt.zero_grad()
    loss.backward()
    opt.step()
with torch.no_grad():
    model.weight.copy_(best_w)                         # keep the best weights seen
# where it stopped (None: never), the step whose weights it keeps, their validation MSE
print(stopped, best_step, best)  # {run.stop_step} {run.early_step} {run.val_loss[run.early_step]}
"""


def kfold_code(cfg: PolyData, k: int, degree: int, errors: list[float]) -> str:
    """kfold_assignment and kfold_errors for one degree, printing each fold's error and their mean."""
    n = cfg.n_train
    return f"""import torch

{_points_code(cfg)}
folds = torch.empty({n}, dtype=torch.long)
order = torch.randperm({n}, generator=torch.Generator().manual_seed({cfg.seed}))
folds[order] = torch.arange({n}) * {k} // {n}       # fold of each training point
errors = []
for f in range({k}):
    held = folds == f
    coef = torch.linalg.lstsq(features(x_train[~held], {degree}), y_train[~held].unsqueeze(-1), driver="gelsd").solution
    pred = (features(x_train[held], {degree}) @ coef).squeeze(-1)
    errors.append((pred - y_train[held]).pow(2).mean().item())
print(errors, sum(errors) / {k})  # {errors} {sum(errors) / k}
"""
