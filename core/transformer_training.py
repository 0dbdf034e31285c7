"""Training the tiny transformer in bursts, scoring it, and sampling from it.

`CharTrainer` holds one run (model, AdamW, the data generator, the loss history) and is advanced like the Training
studio's runs: `train_steps(n)` or `train_for(seconds)`, as many times as the page likes. On the synthetic tasks,
`exact_accuracy(n)` is the fraction of fresh problems whose whole answer comes out right under greedy decoding.

Sampling one character at a time: `next_token_probs` turns the last position's logits into the distribution the
sampler draws from (temperature, then top-k, then top-p, renormalised after each); temperature 0 is greedy (all
the probability on the argmax). `generate` repeats it, feeding each chosen character back in.

    trainer = CharTrainer(char_task(TaskConfig("sort")))
    trainer.train_for(5.0); trainer.exact_accuracy(200)
    trainer.complete("dcab", 8, temperature=0.8, top_k=5, seed=0).text
"""

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.char_tasks import IGNORE, CharCorpus, CharTask
from core.parsing import InputError
from core.transformer import TinyTransformer, TransformerConfig, attention_maps, build_model, n_params

EVAL_SEED = 1_000_003  # the problems exact_accuracy scores: never the training stream (seed + 1)


@dataclass(frozen=True)
class TrainSettings:
    d_model: int = 48
    n_heads: int = 4
    n_layers: int = 2
    batch: int = 64
    lr: float = 3e-3  # AdamW
    clip: float = 1.0  # max gradient norm
    seed: int = 0  # the weights; the batches come from seed + 1

    def model_config(self, data: CharTask | CharCorpus) -> TransformerConfig:
        """The model's sizes: the vocabulary and context from the data, the rest from these settings."""
        return TransformerConfig(len(data.vocab), data.context, self.d_model, self.n_heads, self.n_layers)

    def check(self) -> None:
        """Raise InputError with a message for the learner when a setting is out of range."""
        if not (1 <= self.batch <= 512 and 0 < self.lr <= 1 and 0 < self.clip <= 100):
            raise InputError("The batch must be 1-512, the learning rate in (0, 1], the clip in (0, 100].")


def loss_of(model: TinyTransformer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the next-character predictions over the scored targets (y != IGNORE)."""
    logits = model(x)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


def greedy_answers(model: TinyTransformer, prompts: torch.Tensor, answer_len: int) -> torch.Tensor:
    """Greedy decoding of a batch: prompts (n, P) -> the next answer_len argmax tokens (n, answer_len)."""
    idx = prompts
    with torch.inference_mode():
        for _ in range(answer_len):
            logits = model(idx[:, -model.cfg.context:])[:, -1]  # (n, V): the last position's scores
            idx = torch.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
    return idx[:, prompts.shape[1]:]


@dataclass(frozen=True, eq=False)
class NextToken:
    raw: torch.Tensor  # (V,) softmax of the logits: temperature 1, nothing filtered
    probs: torch.Tensor  # (V,) what the sampler draws from (float64, sums to 1)
    kept: torch.Tensor  # (V,) bool: the tokens still possible


@dataclass(frozen=True, eq=False)
class GenStep:
    token: int  # the chosen token id
    prob: float  # its probability under the filtered distribution
    probs: torch.Tensor  # (V,) the filtered distribution it was drawn from


@dataclass(frozen=True, eq=False)
class Generation:
    prompt: list[int]
    tokens: list[int]  # the n generated ids
    steps: list[GenStep]  # one per generated token
    text: str = ""  # the generated characters (CharTrainer.complete)


class CharTrainer:
    """One training run, advanced in bursts; keeping the object (e.g. in st.session_state) keeps the run."""

    def __init__(self, data: CharTask | CharCorpus, settings: TrainSettings = TrainSettings()):
        settings.check()
        self.data, self.settings = data, settings
        self.model = build_model(settings.model_config(data), settings.seed)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=settings.lr)
        self.generator = torch.Generator().manual_seed(settings.seed + 1)  # the batches
        self.step = 0
        self.losses: list[float] = []
        self.train_seconds = 0.0

    @property
    def n_params(self) -> int:
        """The model's parameter count."""
        return n_params(self.model)

    @property
    def steps_per_second(self) -> float:
        """Training speed so far."""
        return self.step / self.train_seconds if self.train_seconds else 0.0

    def _train_step(self) -> None:
        x, y = self.data.batch(self.settings.batch, self.generator)  # (B, T), (B, T)
        loss = loss_of(self.model, x, y)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.clip)
        self.optimizer.step()
        self.losses.append(loss.item())
        self.step += 1

    def train_steps(self, n: int) -> float:
        """Train n steps; returns the last loss."""
        self.model.train()
        t0 = time.perf_counter()
        for _ in range(n):
            self._train_step()
        self.train_seconds += time.perf_counter() - t0
        return self.losses[-1] if self.losses else math.nan

    def train_for(self, seconds: float, max_steps: int | None = None) -> int:
        """Train for about `seconds` (at least one step, at most max_steps); returns the steps taken."""
        self.model.train()
        t0 = time.perf_counter()
        deadline, taken = t0 + seconds, 0
        while taken == 0 or (time.perf_counter() < deadline and (max_steps is None or taken < max_steps)):
            self._train_step()
            taken += 1
        self.train_seconds += time.perf_counter() - t0
        return taken

    def _task(self) -> CharTask:
        if not isinstance(self.data, CharTask):
            raise InputError("Exact accuracy is for the synthetic tasks: a text has no single right answer.")
        return self.data

    def exact_accuracy(self, n_samples: int = 200) -> float:
        """Fraction of n fresh problems (always the same ones) whose whole answer greedy decoding gets right."""
        task = self._task()
        if not 1 <= n_samples <= 5000:
            raise InputError("Score 1 to 5000 problems.")
        seqs = task.sequences(n_samples, torch.Generator().manual_seed(EVAL_SEED))  # (n, P + A)
        self.model.eval()
        answers = greedy_answers(self.model, seqs[:, :task.prompt_len], task.answer_len)  # (n, A)
        self.model.train()
        return (answers == seqs[:, task.prompt_len:]).all(1).float().mean().item()

    def val_loss(self, n_batches: int = 4) -> float:
        """Loss on held-out data: the text's last 10%, or fresh problems for a task."""
        g = torch.Generator().manual_seed(EVAL_SEED)
        self.model.eval()
        with torch.inference_mode():
            total = 0.0
            for _ in range(n_batches):
                batch = self.data.batch(self.settings.batch, g, "val") if isinstance(self.data, CharCorpus) \
                    else self.data.batch(self.settings.batch, g)
                total += loss_of(self.model, *batch).item()
        self.model.train()
        return total / n_batches

    def next_token(self, prompt: str, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> NextToken:
        """next_token_probs() after a text prompt (its characters encoded with the data's vocabulary)."""
        return next_token_probs(self.model, self.data.encode(prompt), temperature, top_k, top_p)

    def complete(self, prompt: str, n: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                 seed: int = 0) -> Generation:
        """generate() from a text prompt; the result's .text is the characters it added."""
        ids = self.data.encode(prompt)
        gen = generate(self.model, ids, n, temperature, top_k, top_p, torch.Generator().manual_seed(seed))
        return Generation(gen.prompt, gen.tokens, gen.steps, self.data.decode(gen.tokens))

    def attention(self, prompt: str) -> list[torch.Tensor]:
        """The attention weights for a text prompt: one (heads, T, T) tensor per layer."""
        ids = self.data.encode(prompt)
        return attention_maps(self.model, torch.tensor(ids[-self.model.cfg.context:], dtype=torch.long))


def check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    """Raise InputError for settings a sampler cannot use."""
    if not (math.isfinite(temperature) and 0 <= temperature <= 10):
        raise InputError("The temperature must be between 0 (greedy) and 10.")
    if top_k < 0:
        raise InputError("top-k must be 0 (off) or a positive number of tokens.")
    if not 0 < top_p <= 1:
        raise InputError("top-p must be above 0 and at most 1 (1: off).")


def filter_probs(logits, temperature=1.0, top_k=0, top_p=1.0):
    """logits (V,) -> (probabilities (V,) summing to 1, kept (V,) bool) after temperature, top-k, then top-p."""
    logits = logits.double()
    if temperature == 0:  # greedy: all the probability on the highest score
        kept = torch.zeros_like(logits, dtype=torch.bool)
        kept[logits.argmax()] = True
        return kept.double(), kept
    probs = (logits / temperature).softmax(-1)  # (V,)
    kept = torch.ones_like(probs, dtype=torch.bool)
    if 0 < top_k < len(probs):
        kept[:] = False
        kept[probs.topk(top_k).indices] = True  # exactly k, ties broken by topk
        probs = torch.where(kept, probs, 0.0)
        probs = probs / probs.sum()
    if top_p < 1:
        sorted_probs, order = probs.sort(descending=True)
        before = sorted_probs.cumsum(0) - sorted_probs  # the mass of the tokens ranked above each one
        keep_sorted = before < top_p  # keep until the running total reaches p: the smallest such set
        kept = torch.zeros_like(kept).scatter(0, order, keep_sorted) & kept
        probs = torch.where(kept, probs, 0.0)
        probs = probs / probs.sum()
    return probs, kept


def next_token_probs(model: TinyTransformer, prompt, temperature: float = 1.0, top_k: int = 0,
                     top_p: float = 1.0) -> NextToken:
    """The distribution of the character after `prompt` (ids; the last `context` are used), filtered."""
    idx = torch.as_tensor(list(prompt), dtype=torch.long)[-model.cfg.context:]  # (T,)
    if len(idx) == 0:
        raise InputError("Type at least one character to start from.")
    check_sampling(temperature, top_k, top_p)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        logits = model(idx[None])[0, -1]  # (V,)
    model.train(was_training)
    probs, kept = filter_probs(logits, temperature, top_k, top_p)
    return NextToken(logits.double().softmax(-1), probs, kept)


def generate(model: TinyTransformer, prompt, n: int, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, generator: torch.Generator | None = None) -> Generation:
    """Sample n tokens one at a time after `prompt` (ids); temperature 0 takes the argmax every time."""
    if not 0 <= n <= 2000:
        raise InputError("Generate 0 to 2000 characters.")
    check_sampling(temperature, top_k, top_p)
    ids, steps = list(prompt), []
    for _ in range(n):
        nxt = next_token_probs(model, ids, temperature, top_k, top_p)
        if temperature == 0:
            token = int(nxt.probs.argmax())
        else:
            token = int(torch.multinomial(nxt.probs, 1, generator=generator))
        steps.append(GenStep(token, nxt.probs[token].item(), nxt.probs))
        ids.append(token)
    return Generation(list(prompt), ids[len(prompt):], steps)
