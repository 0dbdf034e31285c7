"""Recurrent networks on toy sequence tasks: `nn.RNN`, `nn.LSTM` and `nn.GRU` (batch_first) with a linear head read
out at every step, trained with Adam on seeded batches; the hidden state over time; and why the tanh RNN forgets:
the gradient of the loss at the last step with respect to the input t steps earlier shrinks geometrically with
the distance, while the LSTM's cell state (its forget gate near 1) carries it much further.

    run = train(SeqConfig(task="parity", cell="lstm"))   # run.losses, run.accuracy
    flow = gradient_flow("rnn", FlowConfig())            # flow.norms[d]: |d loss_T / d x_(T-1-d)|
    lstm_parameter_shapes(3, 5)                          # weight_ih_l0 (20, 3): the gates i, f, g, o stacked
The code panel is written by core.recurrent_code.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.parsing import InputError

TASKS = {"sum": "Running sum: how many 1s so far", "parity": "Parity: 1 if an odd number of 1s so far",
         "echo": "Echo: the input from k steps before"}
CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
IGNORE = -100  # F.cross_entropy's default ignore_index: steps with nothing to predict (echo's first k)
ECHO_SYMBOLS = 4


@dataclass(frozen=True)
class SeqConfig:
    task: str = "parity"  # a key of TASKS
    cell: str = "lstm"  # a key of CELLS
    seq_len: int = 12  # T
    hidden: int = 32  # H
    delay: int = 3  # echo: the target at step t is the input at step t - delay
    batch: int = 64
    steps: int = 150  # about 1 s on one CPU core
    lr: float = 0.01  # Adam
    clip: float = 1.0  # max gradient norm (clip_grad_norm_): recurrent nets' gradients can explode
    forget_bias: float = 1.0  # added to the LSTM's forget-gate bias at init (f starts near sigmoid(1) = 0.73)
    seed: int = 0

    def check(self) -> None:
        """Raise InputError with a message for the learner when a setting is out of range."""
        if self.task not in TASKS or self.cell not in CELLS:
            raise InputError(f"Task must be one of {', '.join(TASKS)}; cell one of {', '.join(CELLS)}.")
        if not (2 <= self.seq_len <= 100 and 1 <= self.hidden <= 256 and 1 <= self.batch <= 512
                and 1 <= self.steps <= 5000 and 0 < self.lr <= 1 and 0 < self.clip <= 100):
            raise InputError("Settings must be length 2-100, hidden 1-256, batch 1-512, steps 1-5000, "
                             "a learning rate in (0, 1] and a clip in (0, 100].")
        if self.task == "echo" and not 1 <= self.delay < self.seq_len:
            raise InputError(f"The delay must be 1 to {self.seq_len - 1} (shorter than the sequence).")
        if not -10 <= self.forget_bias <= 10:
            raise InputError("The forget-gate bias must be between -10 and 10.")


def task_sizes(task: str, seq_len: int) -> tuple[int, int]:
    """(input symbols, output classes) of a task. Example: task_sizes("sum", 12) -> (2, 13)"""
    if task == "echo":
        return ECHO_SYMBOLS, ECHO_SYMBOLS
    return 2, (seq_len + 1 if task == "sum" else 2)


def make_batch(task: str, batch: int, seq_len: int, delay: int,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and per-step targets, both (B, T) int64. Example (parity): x 0 1 1 0 1 -> y 0 1 0 0 1"""
    if task == "echo":
        x = torch.randint(0, ECHO_SYMBOLS, (batch, seq_len), generator=generator)  # (B, T)
        y = torch.full_like(x, IGNORE)
        y[:, delay:] = x[:, :-delay]  # nothing to echo during the first `delay` steps
        return x, y
    x = torch.randint(0, 2, (batch, seq_len), generator=generator)  # (B, T) bits
    count = x.cumsum(1)  # (B, T) how many 1s so far
    return x, (count if task == "sum" else count % 2)


class SeqModel(nn.Module):
    """A recurrent layer (batch_first) and a linear head applied at every step."""

    def __init__(self, cell: str, n_inputs: int, hidden: int, n_classes: int):
        super().__init__()
        self.rnn = CELLS[cell](n_inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, inputs) one-hot floats -> logits (B, T, classes), hidden states (B, T, H)."""
        h, _ = self.rnn(x)  # (B, T, H): the top layer's hidden state at every step (h, not the LSTM's cell c)
        return self.head(h), h


def build_model(cell: str, n_inputs: int, hidden: int, n_classes: int, seed: int,
                forget_bias: float = 1.0) -> SeqModel:
    """A SeqModel with torch's default init range U(-1/sqrt(H), 1/sqrt(H)) drawn from a seeded generator."""
    with torch.device("meta"):  # built without values: nothing drawn from the process-wide generator
        model = SeqModel(cell, n_inputs, hidden, n_classes)
    model = model.to_empty(device="cpu")  # every parameter is filled below
    g = torch.Generator().manual_seed(seed)
    bound = hidden ** -0.5
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-bound, bound, generator=g)
        if cell == "lstm":
            model.rnn.bias_ih_l0[hidden:2 * hidden] += forget_bias  # rows H:2H of the gate blocks (i, f, g, o)
    return model


def _model(cfg: SeqConfig) -> SeqModel:
    n_in, n_out = task_sizes(cfg.task, cfg.seq_len)
    return build_model(cfg.cell, n_in, cfg.hidden, n_out, cfg.seed, cfg.forget_bias)


@dataclass(frozen=True, eq=False)
class SeqRun:
    cfg: SeqConfig
    model: SeqModel  # trained, in eval mode
    losses: list[float]  # one per step
    accuracy: float  # per-step accuracy on 1,000 fresh sequences (seed + 2), ignored steps left out
    sequence_accuracy: float  # fraction of those sequences with every step right
    chance: float  # 1 / classes: guessing
    seconds: float


def evaluate(model: SeqModel, cfg: SeqConfig, n: int = 1000) -> tuple[float, float]:
    """(per-step accuracy, whole-sequence accuracy) on n fresh sequences drawn with seed + 2."""
    n_in, _ = task_sizes(cfg.task, cfg.seq_len)
    x, y = make_batch(cfg.task, n, cfg.seq_len, cfg.delay, torch.Generator().manual_seed(cfg.seed + 2))
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        pred = model(F.one_hot(x, n_in).float())[0].argmax(-1)  # (n, T)
    model.train(was_training)
    scored = y != IGNORE
    right = (pred == y) | ~scored
    return (pred == y)[scored].float().mean().item(), right.all(1).float().mean().item()


def train(cfg: SeqConfig, *, on_step: Callable[[int, float], None] | None = None) -> SeqRun:
    """Train a SeqModel on cfg.task for cfg.steps Adam steps; on_step(step, loss) after each."""
    cfg.check()
    n_in, n_out = task_sizes(cfg.task, cfg.seq_len)
    model = _model(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed + 1)  # the batches (the weights come from cfg.seed)
    losses, t0 = [], time.perf_counter()
    for step in range(cfg.steps):
        x, y = make_batch(cfg.task, cfg.batch, cfg.seq_len, cfg.delay, g)  # (B, T), (B, T)
        logits, _ = model(F.one_hot(x, n_in).float())  # (B, T, C)
        loss = F.cross_entropy(logits.reshape(-1, n_out), y.reshape(-1), ignore_index=IGNORE)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    seconds = time.perf_counter() - t0
    model.eval()
    accuracy, sequence_accuracy = evaluate(model, cfg)
    return SeqRun(cfg, model, losses, accuracy, sequence_accuracy, 1 / n_out, seconds)


@dataclass(frozen=True, eq=False)
class Example:
    x: torch.Tensor  # (T,) the inputs
    y: torch.Tensor  # (T,) the targets (IGNORE where there is none)
    pred: torch.Tensor  # (T,) the model's answer at each step
    probs: torch.Tensor  # (T, C) its probabilities
    hidden: torch.Tensor  # (T, H) the hidden state after each step


def example(run: SeqRun, seed: int = 0) -> Example:
    """One fresh sequence through the trained model: its answers and its hidden state over time (T, H)."""
    cfg = run.cfg
    n_in, _ = task_sizes(cfg.task, cfg.seq_len)
    x, y = make_batch(cfg.task, 1, cfg.seq_len, cfg.delay, torch.Generator().manual_seed(seed))  # (1, T)
    with torch.inference_mode():
        logits, h = run.model(F.one_hot(x, n_in).float())  # (1, T, C), (1, T, H)
    probs = logits[0].softmax(-1)  # (T, C)
    return Example(x[0], y[0], probs.argmax(-1), probs, h[0])


@dataclass(frozen=True)
class FlowConfig:
    seq_len: int = 40  # T: distances 0 .. T-1
    hidden: int = 32
    inputs: int = 4  # one-hot input symbols (random sequences)
    batch: int = 16  # the norms are averaged over this many random sequences
    forget_bias: float = 1.0  # the LSTM's, as in SeqConfig
    seed: int = 0

    def check(self) -> None:
        """Raise InputError with a message for the learner when a setting is out of range."""
        if not (2 <= self.seq_len <= 200 and 1 <= self.hidden <= 256 and 1 <= self.inputs <= 32
                and 1 <= self.batch <= 64 and -10 <= self.forget_bias <= 10):
            raise InputError("Settings must be length 2-200, hidden 1-256, inputs 1-32, batch 1-64, "
                             "forget bias -10 to 10.")


@dataclass(frozen=True, eq=False)
class GradFlow:
    cell: str
    distance: torch.Tensor  # (T,) 0, 1, ..., T-1: how many steps before the last one
    norms: torch.Tensor  # (T,) mean over sequences of |d loss_T / d x_t|, t = T-1-distance


def gradient_norms(model: SeqModel, x: torch.Tensor, y_last: torch.Tensor) -> torch.Tensor:
    """|d loss / d x_t| by autograd, loss = cross-entropy at the last step only; (T,) indexed by distance."""
    x = x.detach().clone().requires_grad_()  # (B, T, I)
    logits, _ = model(x)  # (B, T, C)
    loss = F.cross_entropy(logits[:, -1], y_last, reduction="sum")  # each sequence's loss sees only its own x
    (grad,) = torch.autograd.grad(loss, x)  # (B, T, I)
    return grad.norm(dim=2).mean(0).flip(0)  # (T,) distance 0 = the last step itself


def gradient_flow(cell: str, cfg: FlowConfig = FlowConfig(), model: SeqModel | None = None) -> GradFlow:
    """Gradient norm vs distance through time for a freshly initialised (seeded) cell, or for `model`."""
    cfg.check()
    if cell not in CELLS:
        raise InputError(f"Cell must be one of {', '.join(CELLS)}.")
    g = torch.Generator().manual_seed(cfg.seed + 1)
    if model is None:
        model = build_model(cell, cfg.inputs, cfg.hidden, cfg.inputs, cfg.seed, cfg.forget_bias)
    n_in, n_out = model.rnn.input_size, model.head.out_features
    x = F.one_hot(torch.randint(0, n_in, (cfg.batch, cfg.seq_len), generator=g), n_in).float()  # (B, T, I)
    y_last = torch.randint(0, n_out, (cfg.batch,), generator=g)  # (B,)
    norms = gradient_norms(model, x, y_last)
    return GradFlow(cell, torch.arange(cfg.seq_len), norms.detach())


def decay_per_step(flow: GradFlow, start: int = 1, end: int | None = None) -> float:
    """The average factor the gradient norm shrinks by per step of distance, between `start` and `end`."""
    end = len(flow.norms) - 1 if end is None else end
    ratio = (flow.norms[end] / flow.norms[start]).item()
    return ratio ** (1 / (end - start)) if ratio > 0 else 0.0


GATES = (("i", "input gate", "sigmoid: how much of the candidate g enters the cell"),
         ("f", "forget gate", "sigmoid: how much of the old cell state c is kept"),
         ("g", "cell candidate", "tanh: the new content proposed for the cell"),
         ("o", "output gate", "sigmoid: how much of tanh(c) is shown as h"))


@dataclass(frozen=True)
class ParamShape:
    name: str  # as in nn.LSTM's named_parameters()
    shape: tuple[int, ...]  # from the formula: (4H, I), (4H, H), (4H,), (4H,)
    torch_shape: tuple[int, ...]  # what a real nn.LSTM(I, H) has
    multiplies: str  # what the block is applied to
    blocks: tuple[tuple[str, int, int, str], ...]  # (gate, first row, end row, meaning): rows k*H:(k+1)*H


def lstm_parameter_shapes(input_size: int, hidden: int) -> list[ParamShape]:
    """nn.LSTM(I, H)'s parameters with the gate blocks stacked in their rows, checked against a real nn.LSTM."""
    if not (1 <= input_size <= 4096 and 1 <= hidden <= 4096):
        raise InputError("Input size and hidden size must be 1 to 4096.")
    lstm = nn.LSTM(input_size, hidden, device="meta")  # shapes only, no memory
    real = {name: tuple(p.shape) for name, p in lstm.named_parameters()}
    h4 = 4 * hidden
    formula = {"weight_ih_l0": ((h4, input_size), "the input x_t"), "weight_hh_l0": ((h4, hidden), "h_(t-1)"),
               "bias_ih_l0": ((h4,), "added"), "bias_hh_l0": ((h4,), "added (a second bias, as cuDNN has)")}
    blocks = tuple((gate, k * hidden, (k + 1) * hidden, meaning) for k, (gate, _, meaning) in enumerate(GATES))
    rows = [ParamShape(name, shape, real[name], what, blocks) for name, (shape, what) in formula.items()]
    if list(real) != list(formula) or any(r.shape != r.torch_shape for r in rows):
        raise AssertionError(f"nn.LSTM's parameters changed: {real}")  # the lesson's table would be wrong
    return rows


@dataclass(frozen=True, eq=False)
class LSTMStep:
    gates: dict[str, torch.Tensor]  # "i", "f", "g", "o": each (H,) after its sigmoid / tanh
    c: torch.Tensor  # (H,) c_t = f * c_(t-1) + i * g
    h: torch.Tensor  # (H,) h_t = o * tanh(c_t)
    max_difference: float  # against nn.LSTM's own step (h and c)


def lstm_step(input_size: int, hidden: int, seed: int = 0) -> LSTMStep:
    """One LSTM step computed gate by gate from nn.LSTM's weights, and its max difference from nn.LSTM's step."""
    model = build_model("lstm", input_size, hidden, 1, seed, forget_bias=0.0)
    lstm = model.rnn
    g = torch.Generator().manual_seed(seed + 1)
    x, h0, c0 = (torch.randn(n, generator=g) for n in (input_size, hidden, hidden))
    with torch.no_grad():
        z = lstm.weight_ih_l0 @ x + lstm.bias_ih_l0 + lstm.weight_hh_l0 @ h0 + lstm.bias_hh_l0  # (4H,)
        zi, zf, zg, zo = z.chunk(4)  # the row blocks, in nn.LSTM's order
        gates = {"i": zi.sigmoid(), "f": zf.sigmoid(), "g": zg.tanh(), "o": zo.sigmoid()}
        c = gates["f"] * c0 + gates["i"] * gates["g"]  # (H,)
        h = gates["o"] * c.tanh()  # (H,)
        _, (h_t, c_t) = lstm(x[None, None], (h0[None, None], c0[None, None]))  # (1, 1, H) each
    diff = max((h - h_t[0, 0]).abs().max().item(), (c - c_t[0, 0]).abs().max().item())
    return LSTMStep(gates, c, h, diff)
