"""The code panels of the recurrent lesson: the training run of core.recurrent as a standalone script (same
generators, same order of operations, so it prints the page's numbers), the gradient through time, and one LSTM
step gate by gate."""

from core.curves import printed
from core.recurrent import (
    CELLS,
    ECHO_SYMBOLS,
    FlowConfig,
    GradFlow,
    LSTMStep,
    ParamShape,
    SeqConfig,
    SeqRun,
    task_sizes,
)

_DATA = {
    "sum": """def make_batch(batch, g):
    x = torch.randint(0, 2, (batch, T), generator=g)  # (B, T) random bits
    return x, x.cumsum(1)  # target: how many 1s so far (classes 0..T)
""",
    "parity": """def make_batch(batch, g):
    x = torch.randint(0, 2, (batch, T), generator=g)  # (B, T) random bits
    return x, x.cumsum(1) % 2  # target: 1 if an odd number of 1s so far
""",
    "echo": f"""def make_batch(batch, g):
    x = torch.randint(0, {ECHO_SYMBOLS}, (batch, T), generator=g)  # (B, T) random symbols
    y = torch.full_like(x, -100)  # -100: cross_entropy's ignore_index (nothing to echo yet)
    y[:, delay:] = x[:, :-delay]  # target at step t: the input at step t - delay
    return x, y
""",
}


def _model(cell: str, forget_bias: float) -> str:
    bias = (f"\n    model.rnn.bias_ih_l0[hidden:2 * hidden] += {forget_bias!r}  # the forget gate's rows (i, f, g, o)"
            if cell == "lstm" and forget_bias else "")
    return f"""class SeqModel(nn.Module):
    def __init__(self, n_inputs, hidden, n_classes):
        super().__init__()
        self.rnn = nn.{CELLS[cell].__name__}(n_inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x):  # x: (B, T, n_inputs)
        h, _ = self.rnn(x)  # (B, T, H): the hidden state after every step
        return self.head(h), h  # logits (B, T, n_classes)


model = SeqModel(n_inputs, hidden, n_classes)
g_init = torch.Generator().manual_seed(seed)
with torch.no_grad():  # torch's default range U(-1/sqrt(H), 1/sqrt(H)), from a seeded generator
    for p in model.parameters():
        p.uniform_(-hidden ** -0.5, hidden ** -0.5, generator=g_init){bias}
"""


def recurrent_code(cfg: SeqConfig, run: SeqRun) -> str:
    """The training run as a script; it prints the first and last loss and the accuracy the page shows."""
    n_in, n_out = task_sizes(cfg.task, cfg.seq_len)
    return f"""import torch
import torch.nn.functional as F
from torch import nn

T, batch, delay, hidden, seed = {cfg.seq_len}, {cfg.batch}, {cfg.delay}, {cfg.hidden}, {cfg.seed}
n_inputs, n_classes = {n_in}, {n_out}


{_DATA[cfg.task]}

{_model(cfg.cell, cfg.forget_bias)}
optimizer = torch.optim.Adam(model.parameters(), lr={cfg.lr!r})
g = torch.Generator().manual_seed(seed + 1)  # the batches
losses = []
for step in range({cfg.steps}):
    x, y = make_batch(batch, g)  # (B, T), (B, T)
    logits, _ = model(F.one_hot(x, n_inputs).float())  # (B, T, n_classes)
    loss = F.cross_entropy(logits.reshape(-1, n_classes), y.reshape(-1), ignore_index=-100)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), {cfg.clip!r})
    optimizer.step()
    losses.append(loss.item())
print(round(losses[0], 4), round(losses[-1], 4))  # {round(run.losses[0], 4)} {round(run.losses[-1], 4)}

x, y = make_batch(1000, torch.Generator().manual_seed(seed + 2))  # fresh sequences to score
model.eval()
with torch.inference_mode():
    pred = model(F.one_hot(x, n_inputs).float())[0].argmax(-1)  # (1000, T)
scored = y != -100
print(round((pred == y)[scored].float().mean().item(), 3))  # {round(run.accuracy, 3)}
"""


def flow_code(cell: str, cfg: FlowConfig, flow: GradFlow) -> str:
    """The gradient through time as a script: it prints the norms at distances 1 and min(20, T-1)."""
    far = min(20, cfg.seq_len - 1)
    expected = printed(f"{flow.norms[1].item():.3e}", f"{flow.norms[far].item():.3e}")
    bias = (f"\n    model.rnn.bias_ih_l0[hidden:2 * hidden] += {cfg.forget_bias!r}  # the forget gate's rows"
            if cell == "lstm" and cfg.forget_bias else "")
    return f"""import torch
import torch.nn.functional as F
from torch import nn

T, hidden, n, batch = {cfg.seq_len}, {cfg.hidden}, {cfg.inputs}, {cfg.batch}
rnn = nn.{CELLS[cell].__name__}(n, hidden, batch_first=True)
head = nn.Linear(hidden, n)
model = nn.ModuleDict({{"rnn": rnn, "head": head}})
g_init = torch.Generator().manual_seed({cfg.seed})
with torch.no_grad():
    for p in model.parameters():
        p.uniform_(-hidden ** -0.5, hidden ** -0.5, generator=g_init){bias}
g = torch.Generator().manual_seed({cfg.seed + 1})
x = F.one_hot(torch.randint(0, n, (batch, T), generator=g), n).float().requires_grad_()  # (B, T, n)
y_last = torch.randint(0, n, (batch,), generator=g)  # a target for the last step only
h, _ = rnn(x)  # (B, T, H)
loss = F.cross_entropy(head(h[:, -1]), y_last, reduction="sum")  # the loss at the last step
loss.backward()
norms = x.grad.norm(dim=2).mean(0).flip(0)  # (T,) |d loss / d x_t| by distance T-1-t
print(f"{{norms[1].item():.3e}} {{norms[{far}].item():.3e}}")  # {expected}
"""


def lstm_code(input_size: int, hidden: int, seed: int, shapes: list[ParamShape], step: LSTMStep) -> str:
    """nn.LSTM's parameters and one step gate by gate (core.recurrent.lstm_step's weights and inputs) as a script."""
    listed = [(row.name, row.torch_shape) for row in shapes]
    return f"""import torch
from torch import nn

I, H = {input_size}, {hidden}
lstm = nn.LSTM(I, H)
g_init = torch.Generator().manual_seed({seed})
with torch.no_grad():  # torch's default range U(-1/sqrt(H), 1/sqrt(H)), from a seeded generator
    for p in lstm.parameters():
        p.uniform_(-H ** -0.5, H ** -0.5, generator=g_init)
print([(name, tuple(p.shape)) for name, p in lstm.named_parameters()])  # {listed}

gen = torch.Generator().manual_seed({seed + 1})
x, h0, c0 = (torch.randn(n, generator=gen) for n in (I, H, H))  # one input, the previous h and c
with torch.no_grad():
    z = lstm.weight_ih_l0 @ x + lstm.bias_ih_l0 + lstm.weight_hh_l0 @ h0 + lstm.bias_hh_l0  # (4H,)
    zi, zf, zg, zo = z.chunk(4)  # rows 0:H, H:2H, 2H:3H, 3H:4H: the gates i, f, g, o
    i, f, g, o = zi.sigmoid(), zf.sigmoid(), zg.tanh(), zo.sigmoid()
    c = f * c0 + i * g  # keep some of the old cell, add some of the candidate
    h = o * c.tanh()  # show some of the cell
    _, (h_t, c_t) = lstm(x[None, None], (h0[None, None], c0[None, None]))  # nn.LSTM's own step: (1, 1, H)
print([round(v, 4) for v in h.tolist()])  # {[round(v, 4) for v in step.h.tolist()]}
diff = max((h - h_t[0, 0]).abs().max().item(), (c - c_t[0, 0]).abs().max().item())
print(diff < 1e-6)  # {step.max_difference < 1e-6}
"""
