"""The code panels of "From scratch to nn.Module": each way as a script that runs on its own, builds the same data
and weights as core.scratch (same generator, same order) and prints the losses the page plots."""

from core.scratch import Setup


def _prelude(s: Setup) -> str:
    return f"""import torch
from torch import nn

batch, d_in, hidden, d_out, lr, steps = {s.batch}, {s.d_in}, {s.hidden}, {s.d_out}, {s.lr!r}, {s.steps}
g = torch.Generator().manual_seed({s.seed})
x = torch.randn(batch, d_in, generator=g)
y = torch.randn(batch, d_out, generator=g)
w1 = torch.randn(d_in, hidden, generator=g) / d_in ** 0.5  # (in, out): h = x @ w1 + b1
w2 = torch.randn(hidden, d_out, generator=g) / hidden ** 0.5
b1, b2 = torch.zeros(hidden), torch.zeros(d_out)
losses = []
"""


_RAW = """for step in range(steps):
    h = x @ w1 + b1                      # forward
    h_relu = h.clamp(min=0)
    y_pred = h_relu @ w2 + b2
    loss = (y_pred - y).pow(2).mean()
    losses.append(loss.item())
    grad_y_pred = 2.0 * (y_pred - y) / y.numel()  # backward: the chain rule, by hand
    grad_w2 = h_relu.T @ grad_y_pred
    grad_b2 = grad_y_pred.sum(0)
    grad_h = grad_y_pred @ w2.T
    grad_h[h < 0] = 0                    # ReLU lets the gradient through only where h > 0
    grad_w1 = x.T @ grad_h
    grad_b1 = grad_h.sum(0)
    w1 -= lr * grad_w1                   # update
    b1 -= lr * grad_b1
    w2 -= lr * grad_w2
    b2 -= lr * grad_b2
"""

_AUTOGRAD = """for w in (w1, b1, w2, b2):
    w.requires_grad_()
for step in range(steps):
    y_pred = {relu}(x @ w1 + b1) @ w2 + b2
    loss = (y_pred - y).pow(2).mean()
    losses.append(loss.item())
    loss.backward()                      # autograd fills w1.grad, b1.grad, ...
    with torch.no_grad():                # the update is not part of the graph
        for w in (w1, b1, w2, b2):
            w -= lr * w.grad
            w.grad = None                # or w.grad.zero_(): gradients accumulate otherwise
"""

_FUNCTION = '''class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inp):
        ctx.save_for_backward(inp)
        return inp.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (inp,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[inp < 0] = 0          # masked where the input was negative (not grad_output.clamp(min=0)!)
        return grad_input


check = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
check = (check + check.sign() * 0.1).requires_grad_()  # away from the kink at 0
print(torch.autograd.gradcheck(MyReLU.apply, (check,), eps=1e-6, atol=1e-4))  # True
'''

_SEQUENTIAL = """{model}
with torch.no_grad():                    # the same starting weights; nn.Linear stores (out, in)
    model[0].weight.copy_(w1.T)
    model[0].bias.copy_(b1)
    model[2].weight.copy_(w2.T)
    model[2].bias.copy_(b2)
loss_fn = nn.MSELoss()
"""

_PLAIN_MODEL = "model = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out))"
_NAMED_MODEL = """from collections import OrderedDict

model = nn.Sequential(OrderedDict([
    ("hidden", nn.Linear(d_in, hidden)),
    ("relu", nn.ReLU()),
    ("output", nn.Linear(hidden, d_out)),
]))"""

_MANUAL_LOOP = """for step in range(steps):
    loss = loss_fn(model(x), y)
    losses.append(loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
"""

_OPTIM_LOOP = """optimizer = torch.optim.SGD(model.parameters(), lr=lr)
for step in range(steps):
    loss = loss_fn(model(x), y)
    losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def way_code(way: str, s: Setup, losses: list[float], named: bool = False) -> str:
    """The script of one way; it prints the first and last loss the page shows for that way."""
    body = {
        "raw": _RAW,
        "autograd": _AUTOGRAD.format(relu="torch.relu"),
        "function": _FUNCTION + "\n" + _AUTOGRAD.format(relu="MyReLU.apply"),
        "sequential": _SEQUENTIAL.format(model=_NAMED_MODEL if named else _PLAIN_MODEL) + _MANUAL_LOOP,
        "optim": _SEQUENTIAL.format(model=_PLAIN_MODEL) + _OPTIM_LOOP,
    }[way]
    end = f"print(round(losses[0], 6), round(losses[-1], 6))  # {round(losses[0], 6)} {round(losses[-1], 6)}\n"
    if way == "sequential" and named:
        names = ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]
        end += f"print([name for name, _ in model.named_parameters()])  # {names}\n"
    if way in ("sequential", "optim"):
        end += f"print(model[0].weight.shape)  # torch.Size([{s.hidden}, {s.d_in}])\n"
    return _prelude(s) + body + end


def mistake_code(kind: str, s: Setup, facts: dict[str, str], error: str | None) -> str:
    """A short script that makes the mistake and prints its symptom."""
    start = _prelude(s) + "for w in (w1, b1, w2, b2):\n    w.requires_grad_()\n"
    forward = "loss = ((x @ w1 + b1).clamp(min=0) @ w2 + b2 - y).pow(2).mean()\n"
    if kind == "no_grad":
        return (_prelude(s) + forward + f"print(loss.requires_grad, loss.grad_fn)  # False None\n"
                "try:\n    loss.backward()\nexcept RuntimeError as error:\n"
                f"    print(error)  # {error}\n")
    if kind == "non_leaf":
        return (start + forward + "loss.backward()\nw1 = w1 - lr * w1.grad  # not in torch.no_grad(): a new, non-leaf "
                "tensor\n" + f"print(w1.is_leaf, type(w1.grad_fn).__name__)  # False {facts['w1.grad_fn']}\n"
                + forward + "loss.backward()\n# w1 is not a leaf: torch warns, and its .grad stays None\nprint(w1.grad)  # None\n"
                "# the fix: with torch.no_grad(): w1 -= lr * w1.grad\n")
    if kind == "clamp":
        return f'''import torch


class WrongReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inp):
        ctx.save_for_backward(inp)
        return inp.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.clamp(min=0)  # wrong: must be zero where the *input* was negative


check = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
check = (check + check.sign() * 0.1).requires_grad_()
print(torch.autograd.gradcheck(WrongReLU.apply, (check,), eps=1e-6, atol=1e-4, raise_exception=False))  # {facts["gradcheck(wrong ReLU)"]}
'''
    return (start + "for step in range(steps):\n    " + forward + "    losses.append(loss.item())\n"
            "    loss.backward()  # adds to .grad: without w.grad = None it sums every step's gradient\n"
            "    with torch.no_grad():\n        for w in (w1, b1, w2, b2):\n            w -= lr * w.grad\n"
            f"print(round(w2.grad.norm().item(), 4))  # {facts[f'|w2.grad| after step {s.steps}']}\n")


def dynamic_code(seed: int, rows: list[dict]) -> str:
    first = rows[0]
    return f"""import torch
from torch import nn


class DynamicNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.input, self.middle, self.output = nn.Linear(d_in, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, d_out)

    def forward(self, x, repeats):
        h = self.input(x).clamp(min=0)
        for _ in range(repeats):  # plain Python control flow: the graph follows it, call by call
            h = self.middle(h).clamp(min=0)
        return self.output(h)


def graph_nodes(t):
    seen, todo = set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is not None and fn not in seen:
            seen.add(fn)
            todo.extend(f for f, _ in fn.next_functions)
    return len(seen)


g = torch.Generator().manual_seed({seed})
net = DynamicNet(8, 16, 1)
with torch.no_grad():
    for layer in (net.input, net.middle, net.output):
        bound = layer.in_features ** -0.5
        layer.weight.uniform_(-bound, bound, generator=g)
        layer.bias.uniform_(-bound, bound, generator=g)
x = torch.randn(4, 8, generator=g)
repeats = int(torch.randint(0, 4, (1,), generator=g))
out = net(x, repeats).sum()
out.backward()
print(repeats, graph_nodes(out))  # {first["middle layer used"].split()[0]} {first["graph nodes"]}
"""
