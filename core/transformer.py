"""A tiny character-level decoder-only transformer (GPT-style), small enough to train on a CPU in the page.

Token and learned position embeddings are added; each block is pre-LayerNorm: x + attention(LN(x)), then
x + MLP(LN(x)). The causal self-attention is written out with explicit Q, K and V projections, so every layer
can hand back its attention weights, one (B, heads, T, T) map per layer: `model(idx, return_attention=True)`.

    model = build_model(TransformerConfig(vocab_size=9, context=12), seed=0)
    logits, maps = model(idx, return_attention=True)   # (B, T, vocab), [(B, heads, T, T)] * n_layers
The class sources below are shown as they are in the lesson's code panel (core.transformer_code): keep them
self-contained (torch, nn, math, dataclass only).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from core.parsing import InputError


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int  # V: how many different characters
    context: int  # the longest input (positions 0 .. context-1 get a learned vector)
    d_model: int = 48  # the width of the residual stream
    n_heads: int = 4  # d_head = d_model / n_heads
    n_layers: int = 2
    mlp_ratio: int = 4  # the MLP's hidden width is mlp_ratio * d_model


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask; returns the output and the weights (B, heads, T, T)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.q = nn.Linear(cfg.d_model, cfg.d_model, bias=False)  # all heads' queries side by side
        self.k = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.v = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)  # mixes the concatenated heads

    def forward(self, x):
        """x (B, T, C) -> (output (B, T, C), weights (B, heads, T, T))"""
        B, T, C = x.shape
        d_head = C // self.n_heads
        q = self.q(x).view(B, T, self.n_heads, d_head).transpose(1, 2)  # (B, heads, T, d_head)
        k = self.k(x).view(B, T, self.n_heads, d_head).transpose(1, 2)
        v = self.v(x).view(B, T, self.n_heads, d_head).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d_head)  # (B, heads, T, T)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)  # True above the diagonal
        scores = scores.masked_fill(future, float("-inf"))  # no peeking at later characters
        weights = scores.softmax(dim=-1)  # (B, heads, T, T): row t = how much position t reads from each s <= t
        out = (weights @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C): the heads concatenated
        return self.proj(out), weights


class Block(nn.Module):
    """A pre-LayerNorm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        hidden = cfg.mlp_ratio * cfg.d_model
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, hidden, bias=False), nn.GELU(),
                                 nn.Linear(hidden, cfg.d_model, bias=False))

    def forward(self, x):
        """x (B, T, C) -> (x (B, T, C), this layer's attention weights (B, heads, T, T))"""
        a, weights = self.attn(self.ln1(x))  # pre-LayerNorm: normalise, attend, add back
        x = x + a  # (B, T, C)
        x = x + self.mlp(self.ln2(x))
        return x, weights


class TinyTransformer(nn.Module):
    """Embeddings (token + position), blocks, a final LayerNorm and a linear head giving next-character logits."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)  # one vector per character
        self.pos = nn.Embedding(cfg.context, cfg.d_model)  # one learned vector per position
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # scores for the next character

    def forward(self, idx, return_attention=False):
        """idx (B, T) token ids -> logits (B, T, vocab) [, one (B, heads, T, T) weights tensor per layer]"""
        B, T = idx.shape
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))  # (B, T, C)
        maps = []
        for block in self.blocks:
            x, weights = block(x)
            maps.append(weights)  # (B, heads, T, T) per layer
        logits = self.head(self.ln_f(x))  # (B, T, vocab)
        return (logits, maps) if return_attention else logits


def init_weights(model, seed):
    """Every matrix (embeddings, linear weights) from N(0, 0.02) with a seeded generator; LayerNorms 1 and 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.02, generator=g)
            else:  # the only vectors are LayerNorm's scale and shift (the linear layers have no bias)
                p.fill_(1.0 if name.endswith("weight") else 0.0)
    return model


def check_config(cfg: TransformerConfig) -> None:
    """Raise InputError with a message for the learner when a size is out of range."""
    if not (1 <= cfg.vocab_size <= 256 and 2 <= cfg.context <= 256):
        raise InputError("The vocabulary must be 1-256 characters and the context 2-256.")
    if not (8 <= cfg.d_model <= 256 and 1 <= cfg.n_heads <= 16 and 1 <= cfg.n_layers <= 6
            and 1 <= cfg.mlp_ratio <= 8):
        raise InputError("Sizes must be d_model 8-256, heads 1-16, layers 1-6, MLP ratio 1-8.")
    if cfg.d_model % cfg.n_heads:
        raise InputError(f"d_model ({cfg.d_model}) must be a multiple of the number of heads ({cfg.n_heads}).")


def build_model(cfg: TransformerConfig, seed: int = 0) -> TinyTransformer:
    """A TinyTransformer with seeded weights."""
    check_config(cfg)
    with torch.device("meta"):  # built without values: nothing drawn from the process-wide generator
        model = TinyTransformer(cfg)
    return init_weights(model.to_empty(device="cpu"), seed)  # init_weights sets every parameter


def n_params(model: nn.Module) -> int:
    """How many numbers the model learns: sum of p.numel() over its parameters."""
    return sum(p.numel() for p in model.parameters())


def parameter_table(model: nn.Module) -> list[tuple[str, tuple[int, ...], int]]:
    """(name, shape, numel) of every parameter, in model order."""
    return [(name, tuple(p.shape), p.numel()) for name, p in model.named_parameters()]


def attention_maps(model: TinyTransformer, idx: torch.Tensor) -> list[torch.Tensor]:
    """The attention weights for one prompt (T,) of ids: one (heads, T, T) tensor per layer."""
    if idx.dim() != 1 or not 1 <= len(idx) <= model.cfg.context:
        raise InputError(f"The prompt must have 1 to {model.cfg.context} characters.")
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        _, maps = model(idx[None], return_attention=True)
    model.train(was_training)
    return [m[0] for m in maps]
