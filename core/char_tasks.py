"""Character data for the tiny transformer, none of it downloaded:

- synthetic tasks as fixed-length strings with a "=" separator, generated from a seed: sort the letters
  ("dcab=abcd"), reverse them ("abc=cba"), add two numbers ("12+34=046", the sum padded to one more digit).
  Only the answer's characters count in the loss (the prompt is random: nothing to learn there);
- a text corpus: the Python documentation that ships with Python (`pydoc_data.topics`, always installed), or a
  text the learner pastes. Every character is a token; windows of `context` characters are the examples.

Both give the same interface to the trainer: `vocab`, `context`, `encode`, `decode`, `batch(B, generator)`.

    task = char_task(TaskConfig("sort", length=4))
    task.decode(task.sequences(1, torch.Generator().manual_seed(0))[0].tolist())   # e.g. "dcab=abcd"
"""

import functools
import string
from dataclasses import dataclass

import torch

from core.parsing import InputError, quoted

IGNORE = -100  # F.cross_entropy's ignore_index: target positions left out of the loss
TASKS = {"sort": "Sort the letters: dcab=abcd", "reverse": "Reverse the letters: abc=cba",
         "add": "Add two numbers: 12+34=046"}
MIN_TEXT, MAX_TEXT, MAX_VOCAB = 1_000, 100_000, 100
DOCS_CHARS = 200_000  # how much of the Python documentation the built-in corpus keeps
_ASCII = {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2014": "-", "\u2013": "-", "\u2026": "..."}


def _ids(vocab: str, text: str) -> list[int]:
    missing = sorted(set(text) - set(vocab))
    if missing:
        shown, known = ("".join(missing).replace("\n", "\\n"),
                        vocab.replace("\n", "\\n"))  # a line break, written so that it shows
        raise InputError(f"{quoted(shown)} {'is' if len(missing) == 1 else 'are'} not in the "
                         f"vocabulary: the model only knows {quoted(known, 120)}.")
    stoi = {c: i for i, c in enumerate(vocab)}
    return [stoi[c] for c in text]


@dataclass(frozen=True)
class TaskConfig:
    task: str = "sort"  # a key of TASKS
    length: int = 8  # letters to sort / reverse, or digits of each number to add
    letters: int = 10  # sort and reverse: the alphabet is the first `letters` letters (a, b, c, ...)

    def check(self) -> None:
        """Raise InputError with a message for the learner when a setting is out of range."""
        if self.task not in TASKS:
            raise InputError(f"The task must be one of {', '.join(TASKS)}.")
        top = 6 if self.task == "add" else 16
        if not 1 <= self.length <= top:
            raise InputError(f"The length must be 1 to {top} for {self.task}.")
        if not 2 <= self.letters <= 26:
            raise InputError("The alphabet must have 2 to 26 letters.")


@dataclass(frozen=True, eq=False)
class CharTask:
    """A synthetic task: prompt (ending with "=") then answer, every string the same length."""

    cfg: TaskConfig
    vocab: str  # token id i is the character vocab[i]
    prompt_len: int  # characters up to and including "="
    answer_len: int

    @property
    def context(self) -> int:
        """The longest input the model sees: the whole string but its last character."""
        return self.prompt_len + self.answer_len - 1

    def encode(self, text: str) -> list[int]:
        """Characters to token ids; InputError for a character outside the vocabulary."""
        return _ids(self.vocab, text)

    def decode(self, ids) -> str:
        """Token ids to characters."""
        return "".join(self.vocab[i] for i in ids)

    def sequences(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n random problems with their answers, as ids (n, prompt_len + answer_len)."""
        cfg, eq = self.cfg, self.vocab.index("=")
        if cfg.task == "add":
            digits = torch.randint(0, 10, (n, 2, cfg.length), generator=generator)  # (n, 2, D): a and b
            powers = 10 ** torch.arange(cfg.length - 1, -1, -1)  # (D,) 100, 10, 1
            total = (digits * powers).sum(2).sum(1, keepdim=True)  # (n, 1) a + b
            answer = total // 10 ** torch.arange(cfg.length, -1, -1) % 10  # (n, D+1) its digits, zero-padded
            plus = torch.full((n, 1), self.vocab.index("+"))
            prompt = torch.cat([digits[:, 0], plus, digits[:, 1]], dim=1)  # digit d is token id d
        else:
            prompt = torch.randint(0, cfg.letters, (n, cfg.length), generator=generator) + 1  # ids 1.. (0 is "=")
            answer = prompt.sort(dim=1).values if cfg.task == "sort" else prompt.flip(1)
        return torch.cat([prompt, torch.full((n, 1), eq), answer], dim=1)

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (B, T) and next-character targets (B, T), IGNORE except where the target is an answer character."""
        seq = self.sequences(size, generator)  # (B, T + 1)
        x, y = seq[:, :-1], seq[:, 1:].clone()
        y[:, : self.prompt_len - 1] = IGNORE  # the prompt's characters are random: not scored
        return x, y


def char_task(cfg: TaskConfig) -> CharTask:
    """The task's vocabulary and string layout. Example: sort, length 4, letters 8 -> vocab "=abcdefgh", "dcab=abcd"."""
    cfg.check()
    if cfg.task == "add":
        return CharTask(cfg, string.digits + "+=", 2 * cfg.length + 2, cfg.length + 1)
    return CharTask(cfg, "=" + string.ascii_lowercase[: cfg.letters], cfg.length + 1, cfg.length)


@dataclass(frozen=True, eq=False)
class CharCorpus:
    """A text as one long sequence of character ids; examples are random windows of `context` characters."""

    name: str
    text: str
    vocab: str  # the distinct characters, sorted
    context: int
    data: torch.Tensor  # (N,) the whole text as ids
    split: int  # data[:split] trains, data[split:] validates (the last 10%)

    def encode(self, text: str) -> list[int]:
        """Characters to token ids; InputError for a character outside the vocabulary."""
        return _ids(self.vocab, text)

    def decode(self, ids) -> str:
        """Token ids to characters."""
        return "".join(self.vocab[i] for i in ids)

    def batch(self, size: int, generator: torch.Generator, part: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
        """`size` random windows: inputs (B, context) and the same shifted by one (B, context), all scored."""
        data = self.data[: self.split] if part == "train" else self.data[self.split:]
        starts = torch.randint(0, len(data) - self.context, (size, 1), generator=generator)  # (B, 1)
        idx = starts + torch.arange(self.context + 1)  # (B, context + 1)
        window = data[idx]
        return window[:, :-1], window[:, 1:]


@functools.cache
def python_docs(max_chars: int = DOCS_CHARS) -> str:
    """The Python documentation's topics (pydoc_data, installed with Python) as plain ASCII text, ~max_chars long."""
    from pydoc_data.topics import topics

    parts, size = [], 0
    for name in sorted(topics):
        body = "".join(_ASCII.get(c, c) for c in topics[name].replace("\r\n", "\n"))
        body = "".join(c for c in body if c == "\n" or " " <= c <= "~").strip()  # printable ASCII only
        if size + len(body) > max_chars and parts:
            break
        parts.append(body)
        size += len(body) + 2
    return "\n\n".join(parts)[:max_chars]


def check_text(text: str) -> str:
    """A learner's pasted text, with its line ends normalised; InputError when too short, too long or too varied."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) < MIN_TEXT:
        raise InputError(f"The text has {len(text):,} characters: paste at least {MIN_TEXT:,} (a model needs "
                         "examples of every character, many times).")
    if len(text) > MAX_TEXT:
        raise InputError(f"The text has {len(text):,} characters: at most {MAX_TEXT:,} here (training would be "
                         "slow to go through it anyway).")
    chars = set(text)
    if len(chars) > MAX_VOCAB:
        raise InputError(f"The text uses {len(chars)} different characters; at most {MAX_VOCAB} (each is a token "
                         "the model must learn: remove rare symbols or other alphabets).")
    return text


def corpus(text: str | None = None, context: int = 64) -> CharCorpus:
    """The built-in Python documentation (text=None) or a pasted text, as a character corpus."""
    if not 4 <= context <= 256:
        raise InputError("The context length must be 4 to 256 characters.")
    name = "Python documentation" if text is None else "your text"
    text = python_docs() if text is None else check_text(text)
    vocab = "".join(sorted(set(text)))
    data = torch.tensor(_ids(vocab, text))  # (N,)
    split = int(len(data) * 0.9)
    if len(data) - split <= context + 1:
        raise InputError(f"The text is too short for a context of {context}: the held-out last 10% must be "
                         f"longer than the context. Paste more text or shorten the context.")
    return CharCorpus(name, text, vocab, context, data, split)
