"""Scaled dot-product attention by hand, from a sentence the learner types: each word gets a seeded embedding
vector (the same word, the same vector), X (T, d_model) is projected to queries, keys and values, every query is
compared with every key (scores = Q K^T / sqrt(d_head) / temperature), a causal mask hides the future (-inf above
the diagonal, so those weights are exactly 0), each row is softmaxed into weights that sum to 1, and the output is
the weighted average of the values. With h heads the same projections are split into h chunks of d_model / h
columns; the heads' outputs are concatenated and projected by W_o.

Every intermediate is returned, and checked against F.scaled_dot_product_attention and nn.MultiheadAttention
(1 head and h heads, the same weights copied in).

    att = attention(AttentionConfig(tokens=("the", "cat", "sat")))   # att.weights: (heads, T, T)
    check(AttentionConfig()).sdpa                                     # ~1e-16 (float64)
"""

import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.embeddings import sinusoidal
from core.parsing import InputError, quoted

MAX_TOKENS = 16
WORD = re.compile(r"[\w'’.,!?-]{1,20}")  # words: letters, digits and light punctuation (no markup)


def parse_tokens(text: str, max_tokens: int = MAX_TOKENS) -> tuple[str, ...]:
    """Words separated by spaces. Example: parse_tokens("the cat sat") -> ("the", "cat", "sat")"""
    words = (text or "").split()
    if not words:
        raise InputError("Type a few words separated by spaces, e.g. `the cat sat on the mat`.")
    if len(words) > max_tokens:
        raise InputError(f"{len(words)} words is more than this lesson draws (at most {max_tokens}).")
    for w in words:
        if not WORD.fullmatch(w):
            raise InputError(f"{quoted(w)} is not a word this lesson takes: letters, digits and ' . , ! ? - only, "
                             "at most 20 characters per word.")
    return tuple(words)


@dataclass(frozen=True)
class AttentionConfig:
    tokens: tuple[str, ...] = ("the", "cat", "sat", "on", "the", "mat")
    seed: int = 0
    d_model: int = 8  # the width of each token's vector
    n_heads: int = 2  # d_head = d_model / n_heads
    temperature: float = 1.0  # divides the scores: < 1 sharpens the weights, > 1 flattens them
    causal: bool = True  # a token attends only to itself and the tokens before it
    positions: bool = False  # add sinusoidal positional encodings to X (without them, order is invisible)

    @property
    def d_head(self) -> int:
        """Columns per head: d_model / n_heads."""
        return self.d_model // self.n_heads

    def check(self) -> None:
        """Raise InputError with a message for the learner when a setting is out of range."""
        if not 1 <= len(self.tokens) <= MAX_TOKENS:
            raise InputError(f"Give 1 to {MAX_TOKENS} tokens.")
        if not (1 <= self.d_model <= 64 and 1 <= self.n_heads <= self.d_model):
            raise InputError("d_model must be 1-64 and the number of heads 1 to d_model.")
        if self.d_model % self.n_heads:
            raise InputError(f"d_model ({self.d_model}) must be a multiple of the number of heads "
                             f"({self.n_heads}): each head gets d_model / heads columns.")
        if not (math.isfinite(self.temperature) and 0.01 <= self.temperature <= 100):
            raise InputError("The temperature must be between 0.01 and 100 (0 would divide by zero).")


@dataclass(frozen=True, eq=False)
class Attention:
    tokens: tuple[str, ...]
    vocab: list[str]  # sorted distinct tokens: row i of the embedding table is vocab[i]
    ids: torch.Tensor  # (T,)
    x: torch.Tensor  # (T, d_model) the tokens' vectors (plus positions if asked)
    wq: torch.Tensor  # (d_model, d_model) Q = X @ wq; head h uses columns h*d_head:(h+1)*d_head
    wk: torch.Tensor  # (d_model, d_model)
    wv: torch.Tensor  # (d_model, d_model)
    wo: torch.Tensor  # (d_model, d_model) out = concat @ wo
    q: torch.Tensor  # (heads, T, d_head)
    k: torch.Tensor  # (heads, T, d_head)
    v: torch.Tensor  # (heads, T, d_head)
    scores: torch.Tensor  # (heads, T, T) Q K^T / sqrt(d_head) / temperature: row = query, column = key
    masked: torch.Tensor  # (heads, T, T) scores with -inf above the diagonal (causal) or scores
    weights: torch.Tensor  # (heads, T, T) softmax over each row: sums to 1, exactly 0 where masked
    heads_out: torch.Tensor  # (heads, T, d_head) weights @ V: each token's weighted average of the values
    concat: torch.Tensor  # (T, d_model) the heads side by side
    out: torch.Tensor  # (T, d_model) concat @ wo
    scale: float  # what the scores were multiplied by: 1 / (sqrt(d_head) * temperature)


def inputs(cfg: AttentionConfig) -> dict:
    """The seeded embedding of the tokens and the four weight matrices (float64: the checks compare to 1e-6)."""
    vocab = sorted(set(cfg.tokens))
    ids = torch.tensor([vocab.index(w) for w in cfg.tokens])  # (T,)
    g = torch.Generator().manual_seed(cfg.seed)
    table = torch.randn(len(vocab), cfg.d_model, generator=g, dtype=torch.float64)  # (V, d_model)
    x = table[ids]  # (T, d_model): the same word, the same row
    if cfg.positions:
        x = x + sinusoidal(len(ids), cfg.d_model, dtype=torch.float64)  # (T, d_model)
    w = [torch.randn(cfg.d_model, cfg.d_model, generator=g, dtype=torch.float64) / math.sqrt(cfg.d_model)
         for _ in range(4)]  # / sqrt(d): keeps X @ W at X's scale
    return {"vocab": vocab, "ids": ids, "x": x, "wq": w[0], "wk": w[1], "wv": w[2], "wo": w[3]}


def causal_mask(t: int) -> torch.Tensor:
    """(T, T) bool, True above the diagonal: the future a query may not look at."""
    return torch.ones(t, t, dtype=torch.bool).triu(1)


def attention(cfg: AttentionConfig, heads: int | None = None) -> Attention:
    """Attention by hand with every intermediate; `heads` overrides cfg.n_heads (same weights, other split)."""
    cfg.check()
    h = cfg.n_heads if heads is None else heads
    if cfg.d_model % h:
        raise InputError(f"d_model ({cfg.d_model}) must be a multiple of the number of heads ({h}).")
    d_head, inp = cfg.d_model // h, inputs(cfg)
    x, t = inp["x"], len(cfg.tokens)

    def split(m):  # (T, d_model) -> (heads, T, d_head): head i gets columns i*d_head:(i+1)*d_head
        return m.view(t, h, d_head).transpose(0, 1)

    q, k, v = split(x @ inp["wq"]), split(x @ inp["wk"]), split(x @ inp["wv"])  # (heads, T, d_head) each
    scale = 1 / (math.sqrt(d_head) * cfg.temperature)
    scores = q @ k.transpose(-2, -1) * scale  # (heads, T, d_head) @ (heads, d_head, T) -> (heads, T, T)
    masked = scores.masked_fill(causal_mask(t), float("-inf")) if cfg.causal else scores
    weights = masked.softmax(dim=-1)  # (heads, T, T): exp(-inf) = 0
    heads_out = weights @ v  # (heads, T, d_head)
    concat = heads_out.transpose(0, 1).reshape(t, cfg.d_model)  # (T, d_model)
    out = concat @ inp["wo"]  # (T, d_model)
    return Attention(cfg.tokens, inp["vocab"], inp["ids"], x, inp["wq"], inp["wk"], inp["wv"], inp["wo"],
                     q, k, v, scores, masked, weights, heads_out, concat, out, scale)


def sdpa(att: Attention, causal: bool) -> torch.Tensor:
    """F.scaled_dot_product_attention on the same Q, K, V (heads as the batch dim): (heads, T, d_head)."""
    return F.scaled_dot_product_attention(att.q, att.k, att.v, is_causal=causal, scale=att.scale)


def multihead(att: Attention, cfg: AttentionConfig) -> nn.MultiheadAttention:
    """nn.MultiheadAttention holding the same weights: in_proj_weight = cat(Wq, Wk, Wv).T (torch stores (out, in)),
    with Wq / temperature (the module has no temperature: it always scales by 1 / sqrt(d_head))."""
    heads = att.q.shape[0]
    with torch.device("meta"):  # no random init (it would draw from the process-wide generator): copied in below
        mha = nn.MultiheadAttention(cfg.d_model, heads, bias=False, batch_first=True, dtype=torch.float64)
    mha = mha.to_empty(device="cpu")
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([att.wq / cfg.temperature, att.wk, att.wv], dim=1).T)  # (3d, d)
        mha.out_proj.weight.copy_(att.wo.T)  # (d, d)
    return mha


def run_multihead(att: Attention, cfg: AttentionConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.MultiheadAttention's output (T, d_model) and per-head weights (heads, T, T) on X."""
    mha = multihead(att, cfg)
    x = att.x[None]  # (1, T, d_model): query, key and value all come from X (self-attention)
    mask = causal_mask(len(att.tokens)) if cfg.causal else None  # True = may not attend
    with torch.no_grad():
        out, weights = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    return out[0], weights[0]


@dataclass(frozen=True)
class Checks:
    sdpa: float  # max |hand heads_out - F.scaled_dot_product_attention|
    mha: float  # max |hand out - nn.MultiheadAttention| with cfg.n_heads heads
    mha_weights: float  # max |hand weights - the module's per-head weights|
    mha_one_head: float  # the same with 1 head (d_head = d_model)
    masked_max: float  # the largest weight above the diagonal: exactly 0.0 when causal


def check(cfg: AttentionConfig) -> Checks:
    """The hand computation against F.scaled_dot_product_attention and nn.MultiheadAttention (1 and h heads)."""
    att, one = attention(cfg), attention(cfg, heads=1)
    with torch.no_grad():
        d_sdpa = (att.heads_out - sdpa(att, cfg.causal)).abs().max().item()
        out, weights = run_multihead(att, cfg)
        out_one, _ = run_multihead(one, cfg)
    above = att.weights[:, causal_mask(len(cfg.tokens))]
    return Checks(d_sdpa, (att.out - out).abs().max().item(), (att.weights - weights).abs().max().item(),
                  (one.out - out_one).abs().max().item(), above.max().item() if above.numel() else 0.0)


def attention_code(cfg: AttentionConfig, att: Attention, checks: Checks) -> str:
    """The lesson as a script: X from the words, Q/K/V, scores, mask, softmax, output; SDPA and the module agree."""
    heads, t = att.q.shape[0], len(cfg.tokens)
    pos = "\nx = x + pe  # sinusoidal positions (core.embeddings.sinusoidal)" if cfg.positions else ""
    pe = ("""pos = torch.arange(T, dtype=torch.float64)[:, None]
angle = pos / 10000 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
pe = torch.zeros(T, d_model, dtype=torch.float64)
pe[:, 0::2], pe[:, 1::2] = angle.sin(), angle.cos()[:, : d_model // 2]
""" if cfg.positions else "")
    mask = ("""mask = torch.ones(T, T, dtype=torch.bool).triu(1)  # True above the diagonal: the future
masked = scores.masked_fill(mask, float("-inf"))""" if cfg.causal
            else "masked = scores  # no mask: every token sees all")
    row = [round(v, 4) for v in att.weights[0, t - 1].tolist()]
    return f"""import math

import torch
import torch.nn.functional as F
from torch import nn

tokens = {list(cfg.tokens)}
vocab = sorted(set(tokens))  # {att.vocab}
ids = torch.tensor([vocab.index(w) for w in tokens])  # (T,)
T, d_model, heads, temperature = {t}, {cfg.d_model}, {heads}, {cfg.temperature!r}
d_head = d_model // heads
g = torch.Generator().manual_seed({cfg.seed})
table = torch.randn(len(vocab), d_model, generator=g, dtype=torch.float64)  # one vector per distinct word
x = table[ids]  # (T, d_model)
{pe}{pos}
Wq, Wk, Wv, Wo = (torch.randn(d_model, d_model, generator=g, dtype=torch.float64) / math.sqrt(d_model)
                  for _ in range(4))


def split(m):  # (T, d_model) -> (heads, T, d_head)
    return m.view(T, heads, d_head).transpose(0, 1)


q, k, v = split(x @ Wq), split(x @ Wk), split(x @ Wv)  # (heads, T, d_head)
scale = 1 / (math.sqrt(d_head) * temperature)
scores = q @ k.transpose(-2, -1) * scale  # (heads, T, T): query row, key column
{mask}
weights = masked.softmax(dim=-1)  # each row sums to 1
out_heads = weights @ v  # (heads, T, d_head)
out = out_heads.transpose(0, 1).reshape(T, d_model) @ Wo  # concat the heads, then project
print([round(w, 4) for w in weights[0, -1].tolist()])  # {row}

ref = F.scaled_dot_product_attention(q, k, v, is_causal={cfg.causal}, scale=scale)
print((out_heads - ref).abs().max().item() < 1e-9)  # {checks.sdpa < 1e-9}

mha = nn.MultiheadAttention(d_model, heads, bias=False, batch_first=True, dtype=torch.float64)
with torch.no_grad():  # nn stores (out, in): transpose; the temperature goes into the queries
    mha.in_proj_weight.copy_(torch.cat([Wq / temperature, Wk, Wv], dim=1).T)
    mha.out_proj.weight.copy_(Wo.T)
attn_mask = {"torch.ones(T, T, dtype=torch.bool).triu(1)" if cfg.causal else "None"}
mha_out, mha_weights = mha(x[None], x[None], x[None], attn_mask=attn_mask, average_attn_weights=False)
print((out - mha_out[0]).abs().max().item() < 1e-9)  # {checks.mha < 1e-9}
print((weights - mha_weights[0]).abs().max().item() < 1e-9)  # {checks.mha_weights < 1e-9}
"""
