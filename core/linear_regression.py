"""Linear regression from scratch: the same line fitted with a hand-derived gradient and with autograd +
torch.optim, next to the exact least-squares answer.

`regression_code` writes both loops as the page runs them, with the fitted numbers as their expected output.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.curves import num, printed


def make_line(n: int = 50, w: float = 2.0, b: float = -1.0, noise: float = 0.5, seed: int = 0):
    """Noisy points y = w x + b + noise * eps, x uniform in [-2, 2]; the same seed gives the same points."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=g) * 4 - 2  # (n,)
    y = w * x + b + noise * torch.randn(n, generator=g)  # (n,)
    return x, y


@dataclass(frozen=True)
class Fit:
    path: torch.Tensor  # (k+1, 2): (w, b) before each epoch and after the last
    losses: torch.Tensor  # (k+1,) the MSE at each point of the path
    diverged_at: int | None  # first epoch whose loss was not finite or BLOWUP times the first loss, if any

    @property
    def w(self) -> float:
        return self.path[-1, 0].item()

    @property
    def b(self) -> float:
        return self.path[-1, 1].item()


def _finite(value: float) -> bool:
    return value == value and abs(value) < 1e12  # not nan, not inf, not exploding


BLOWUP = 1e3  # gradient descent on a quadratic never raises the loss: 1000x the starting loss means divergence


def _diverging(loss: float, first: float | None) -> bool:
    return not _finite(loss) or (first is not None and loss > BLOWUP * max(first, 1e-12))


def fit_by_hand(x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, w0: float = 0.0,
                b0: float = 0.0) -> Fit:
    """Gradient descent on the MSE with the gradient derived by hand: dL/dw = 2 mean((y_hat - y) x)."""
    w, b = torch.tensor(w0), torch.tensor(b0)
    path, losses, diverged_at = [], [], None
    for epoch in range(epochs + 1):
        y_hat = w * x + b  # (n,)
        loss = ((y_hat - y) ** 2).mean()
        if _diverging(loss.item(), losses[0] if losses else None):
            diverged_at = epoch
            break
        path.append((w.item(), b.item()))
        losses.append(loss.item())
        if epoch == epochs:
            break
        dw = 2 * ((y_hat - y) * x).mean()  # dL/dw
        db = 2 * (y_hat - y).mean()  # dL/db
        w, b = w - lr * dw, b - lr * db
    return Fit(torch.tensor(path), torch.tensor(losses), diverged_at)


def fit_by_autograd(x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, momentum: float = 0.0,
                    w0: float = 0.0, b0: float = 0.0) -> Fit:
    """The same fit with loss.backward() and torch.optim.SGD: no derivative written by hand."""
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr, momentum=momentum)
    path, losses, diverged_at = [], [], None
    for epoch in range(epochs + 1):
        optimizer.zero_grad()
        loss = F.mse_loss(w * x + b, y)
        if _diverging(loss.item(), losses[0] if losses else None):
            diverged_at = epoch
            break
        path.append((w.item(), b.item()))
        losses.append(loss.item())
        if epoch == epochs:
            break
        loss.backward()
        optimizer.step()
    return Fit(torch.tensor(path), torch.tensor(losses), diverged_at)


def least_squares(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The exact minimiser of the MSE, (w, b), by torch.linalg.lstsq: what both fits should reach."""
    a = torch.stack([x, torch.ones_like(x)], dim=1).double()  # (n, 2)
    solution = torch.linalg.lstsq(a, y.double().unsqueeze(1)).solution  # (2, 1)
    return solution[0, 0].item(), solution[1, 0].item()


def loss_surface(x: torch.Tensor, y: torch.Tensor, w_range: tuple[float, float], b_range: tuple[float, float],
                 n: int = 60) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The MSE on an n x n grid of (w, b): returns (ws, bs, loss[b, w]).

    mean((w x + b - y)^2) expands into a quadratic in (w, b) whose coefficients are means over the data,
    so the grid costs O(n^2), not O(n^2 * points).
    """
    ws = torch.linspace(*w_range, n, dtype=torch.float64)  # (n,)
    bs = torch.linspace(*b_range, n, dtype=torch.float64)  # (n,)
    x, y = x.double(), y.double()
    xx, x1, xy, y1, yy = (x * x).mean(), x.mean(), (x * y).mean(), y.mean(), (y * y).mean()
    w, b = ws[None, :], bs[:, None]  # broadcast to (n_b, n_w)
    surface = w**2 * xx + 2 * w * b * x1 + b**2 - 2 * w * xy - 2 * b * y1 + yy
    return ws.float(), bs.float(), surface.clamp_min(0).float()  # clamp: rounding can dip below 0 at the minimum


def regression_code(n: int, w: float, b: float, noise: float, seed: int, lr: float, epochs: int,
                    momentum: float, *, hand: Fit, auto: Fit, best: tuple[float, float]) -> tuple[str, str]:
    """(hand-derived loop, autograd + torch.optim loop), sharing the data code; they print what `hand`, `auto`
    (fit_by_hand, fit_by_autograd) and `best` (least_squares) hold.

    A loop that diverges stops one update later than the page's fit (which keeps the last point before the
    blow-up), so its final print promises nothing then.
    """
    hand_end, auto_end = (f"  # {printed(fit.w, fit.b)}" if fit.diverged_at is None else ""
                          for fit in (hand, auto))
    data = f'''
import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed({seed})  # same seed, same points
x = torch.rand({n}, generator=g) * 4 - 2
y = {num(w)} * x + {num(b)} + {num(noise)} * torch.randn({n}, generator=g)
'''
    by_hand = data + f'''
w, b = torch.tensor(0.0), torch.tensor(0.0)
first = ((b - y) ** 2).mean()  # the loss at the start, w = b = 0
for epoch in range({epochs}):
    y_hat = w * x + b
    loss = ((y_hat - y) ** 2).mean()
    if not loss < {BLOWUP:g} * first:  # diverged: stop before the numbers turn into inf and nan
        break
    dw = 2 * ((y_hat - y) * x).mean()  # dL/dw, derived by hand
    db = 2 * (y_hat - y).mean()  # dL/db
    w, b = w - {num(lr)} * dw, b - {num(lr)} * db
print(w.item(), b.item()){hand_end}
'''
    exact = printed(torch.tensor([[best[0]], [best[1]]]))  # lstsq in float32 here, float64 on the page
    by_autograd = data + f'''
w = torch.tensor(0.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
optimizer = torch.optim.SGD([w, b], lr={num(lr)}, momentum={num(momentum)})
first = F.mse_loss(w * x + b, y).item()
for epoch in range({epochs}):
    optimizer.zero_grad()
    loss = F.mse_loss(w * x + b, y)
    if not loss < {BLOWUP:g} * first:  # diverged
        break
    loss.backward()  # autograd fills w.grad and b.grad
    optimizer.step()
print(w.item(), b.item()){auto_end}
# the exact answer
print(torch.linalg.lstsq(torch.stack([x, torch.ones_like(x)], 1), y[:, None]).solution)  # {exact}
'''
    return by_hand, by_autograd
