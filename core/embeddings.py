"""Embeddings: `nn.Embedding` is a table lookup (row `id` of its weight), the same as a one-hot vector times the
weight matrix; and the two ways a sequence model learns where a token is: sinusoidal positional encodings
("Attention is all you need", computed by hand) or a learned `nn.Embedding(T, d)` of positions.

    look = lookup(EmbeddingConfig(vocab=10, dim=4, ids=(3, 1, 3)))
    look.max_difference                                   # 0.0: emb(ids) == F.one_hot(ids, V).float() @ emb.weight
    sinusoidal(50, 16)[1, 0]                              # sin(1 / 10000 ** (0 / 16)) = sin(1) = 0.841...
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.curves import printed
from core.parsing import InputError

MAX_VOCAB = 1000
MAX_DIM = 512
MAX_POSITIONS = 2048


@dataclass(frozen=True)
class EmbeddingConfig:
    vocab: int = 10  # V: how many different token ids
    dim: int = 8  # d: the length of each token's vector
    ids: tuple[int, ...] = (3, 1, 4, 1, 5)  # the sequence of token ids to look up (T of them)
    positions: int = 32  # how many positions the positional encodings cover
    base: float = 10000.0  # the sinusoids' base: wavelengths from 2 pi to 2 pi * base
    seed: int = 0

    def check(self) -> None:
        """Raise InputError with a message for the learner when a setting is out of range."""
        if not (1 <= self.vocab <= MAX_VOCAB and 1 <= self.dim <= MAX_DIM and 1 <= self.positions <= MAX_POSITIONS):
            raise InputError(f"Sizes must be vocab 1-{MAX_VOCAB}, dim 1-{MAX_DIM}, positions 1-{MAX_POSITIONS}.")
        if not 1 < self.base <= 1e6:
            raise InputError("The base must be above 1 and at most 1,000,000 (the paper uses 10,000).")
        if not 1 <= len(self.ids) <= 64:
            raise InputError("Give between 1 and 64 token ids.")
        bad = [i for i in self.ids if not 0 <= i < self.vocab]
        if bad:
            raise InputError(f"Token id {bad[0]} is outside 0..{self.vocab - 1}: an embedding table of {self.vocab} "
                             "rows has no such row (nn.Embedding raises IndexError).")


def embedding(vocab: int, dim: int, seed: int) -> nn.Embedding:
    """A seeded nn.Embedding(vocab, dim), weights N(0, 1) as nn.Embedding's own default (from a private generator)."""
    emb = nn.utils.skip_init(nn.Embedding, vocab, dim)  # no draw from the process-wide generator
    with torch.no_grad():
        emb.weight.normal_(generator=torch.Generator().manual_seed(seed))  # (V, d)
    return emb


@dataclass(frozen=True, eq=False)
class Lookup:
    ids: torch.Tensor  # (T,) int64
    weight: torch.Tensor  # (V, d) the embedding table
    looked_up: torch.Tensor  # (T, d) emb(ids): row ids[t] of the table
    one_hot: torch.Tensor  # (T, V) F.one_hot(ids, V).float()
    matmul: torch.Tensor  # (T, d) one_hot @ weight
    max_difference: float  # max |looked_up - matmul|: 0 (each one-hot row picks exactly one row of the table)


def lookup(cfg: EmbeddingConfig) -> Lookup:
    """emb(ids) and F.one_hot(ids, V).float() @ emb.weight, with the largest difference between them."""
    cfg.check()
    emb = embedding(cfg.vocab, cfg.dim, cfg.seed)
    ids = torch.tensor(cfg.ids, dtype=torch.long)  # (T,)
    with torch.no_grad():
        looked_up = emb(ids)  # (T, d)
        one_hot = F.one_hot(ids, cfg.vocab).float()  # (T, V)
        matmul = one_hot @ emb.weight  # (T, V) @ (V, d) -> (T, d)
        diff = (looked_up - matmul).abs().max().item()
    return Lookup(ids, emb.weight.detach().clone(), looked_up, one_hot, matmul, diff)


def sinusoidal(positions: int, dim: int, base: float = 10000.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d)), shape (positions, dim).

    Example: sinusoidal(3, 4)[2].tolist() -> [sin(2), cos(2), sin(0.02), cos(0.02)]
    """
    pos = torch.arange(positions, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, dim, 2, dtype=torch.float64)  # (ceil(d/2),) 0, 2, 4, ...
    angle = pos / base ** (two_i / dim)  # (T, ceil(d/2)): column pair i turns at its own frequency
    pe = torch.zeros(positions, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)[:, : dim // 2]  # an odd d has one more sin column than cos columns
    return pe.to(dtype)


def wavelengths(dim: int, base: float = 10000.0) -> torch.Tensor:
    """The wavelength (in positions) of each sin/cos column pair: 2 pi base^(2i/d), shape (ceil(d/2),)."""
    return 2 * torch.pi * base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)


def learned_positions(positions: int, dim: int, seed: int) -> nn.Embedding:
    """A learned positional table nn.Embedding(positions, dim), seeded; row t is added to the token at position t."""
    return embedding(positions, dim, seed)


def similarity(pe: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every pair of positions' vectors, (T, T): for sinusoids it depends on the offset only."""
    unit = F.normalize(pe.double(), dim=1)  # (T, d)
    return (unit @ unit.T).float()  # (T, T)


@dataclass(frozen=True, eq=False)
class Encoded:
    tokens: torch.Tensor  # (T, d) emb(ids)
    sinusoidal: torch.Tensor  # (T, d) sinusoidal(T, d)
    learned: torch.Tensor  # (T, d) pos_emb(arange(T)) from a seeded nn.Embedding(positions, d)
    with_sinusoidal: torch.Tensor  # (T, d) tokens + sinusoidal: what the first layer sees
    with_learned: torch.Tensor  # (T, d) tokens + learned


def encode(cfg: EmbeddingConfig) -> Encoded:
    """The token embeddings of cfg.ids plus either kind of positional encoding (token + position, both (T, d))."""
    cfg.check()
    if len(cfg.ids) > cfg.positions:
        raise InputError(f"{len(cfg.ids)} tokens but only {cfg.positions} positions: raise the positions.")
    t = len(cfg.ids)
    with torch.no_grad():
        tokens = embedding(cfg.vocab, cfg.dim, cfg.seed)(torch.tensor(cfg.ids))  # (T, d)
        pe = sinusoidal(cfg.positions, cfg.dim, cfg.base)[:t]  # (T, d)
        learned = learned_positions(cfg.positions, cfg.dim, cfg.seed + 1)(torch.arange(t))  # (T, d)
    return Encoded(tokens, pe, learned, tokens + pe, tokens + learned)


def embeddings_code(cfg: EmbeddingConfig, look: Lookup, pe: torch.Tensor) -> str:
    """The lesson as a script: the seeded table, the lookup against one-hot @ W, and the sinusoids by hand.

    `look` is lookup(cfg); `pe` is sinusoidal(cfg.positions, cfg.dim, cfg.base).
    """
    last = min(cfg.positions - 1, 1)
    return f"""import torch
import torch.nn.functional as F
from torch import nn

V, d = {cfg.vocab}, {cfg.dim}
emb = nn.Embedding(V, d)  # a table of V rows, one d-vector per token id
with torch.no_grad():
    emb.weight.normal_(generator=torch.Generator().manual_seed({cfg.seed}))  # N(0, 1), seeded
ids = torch.tensor({list(cfg.ids)})  # (T,) = ({len(cfg.ids)},)
looked_up = emb(ids)  # (T, d): row ids[t] of emb.weight
one_hot = F.one_hot(ids, V).float()  # (T, V): a single 1 per row, at column ids[t]
print(looked_up.shape, one_hot.shape)  # {printed(look.looked_up.shape, look.one_hot.shape)}
print((looked_up - one_hot @ emb.weight).abs().max().item())  # {printed(look.max_difference)}

# sinusoidal positional encodings: even columns sin, odd columns cos, each pair at its own frequency
T, base = {cfg.positions}, {cfg.base!r}
pos = torch.arange(T, dtype=torch.float64)[:, None]  # (T, 1)
two_i = torch.arange(0, d, 2, dtype=torch.float64)  # 0, 2, 4, ...
angle = pos / base ** (two_i / d)  # (T, ceil(d/2))
pe = torch.zeros(T, d, dtype=torch.float64)
pe[:, 0::2] = torch.sin(angle)
pe[:, 1::2] = torch.cos(angle)[:, : d // 2]
pe = pe.float()
print(pe.shape)  # {printed(pe.shape)}
print([round(v, 4) for v in pe[{last}, :4].tolist()])  # {[round(v, 4) for v in pe[last, :4].tolist()]}

# or learned: one more table, indexed by position, trained like any weight
pos_emb = nn.Embedding(T, d)
with torch.no_grad():
    pos_emb.weight.normal_(generator=torch.Generator().manual_seed({cfg.seed + 1}))
x = looked_up + pe[:len(ids)]  # (T, d): what the first layer sees, token + position
print(x.shape, pos_emb.weight.shape)  # {printed(look.looked_up.shape, torch.Size([cfg.positions, cfg.dim]))}
"""
