"""Embeddings against torch: a lookup is one-hot @ W, the sinusoids follow the paper's formula, the tables are
seeded, and the code panel prints what it promises."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import embeddings
from core.embeddings import EmbeddingConfig
from core.parsing import InputError
from tests.helpers import run_panel, same_output


def test_lookup_is_one_hot_times_the_table():
    cfg = EmbeddingConfig(vocab=7, dim=5, ids=(3, 1, 6, 1, 0), seed=4)
    look = embeddings.lookup(cfg)
    emb = embeddings.embedding(7, 5, 4)
    ids = torch.tensor(cfg.ids)
    assert torch.equal(look.weight, emb.weight.detach()) and torch.equal(look.looked_up, emb.weight[ids].detach())
    assert torch.equal(look.matmul, F.one_hot(ids, 7).float() @ emb.weight.detach())
    assert look.max_difference == 0.0  # each one-hot row picks exactly one row: no rounding at all
    assert look.one_hot.sum(1).tolist() == [1.0] * 5 and look.one_hot[0, 3] == 1
    assert torch.equal(look.looked_up[1], look.looked_up[3])  # the same id, the same vector


def test_tables_are_seeded_and_nn_embeddings():
    a, b = embeddings.embedding(10, 4, 0), embeddings.embedding(10, 4, 0)
    assert isinstance(a, nn.Embedding) and torch.equal(a.weight, b.weight)
    assert not torch.equal(a.weight, embeddings.embedding(10, 4, 1).weight)
    assert abs(embeddings.embedding(1000, 8, 0).weight.std().item() - 1) < 0.05  # N(0, 1), nn.Embedding's init
    pos = embeddings.learned_positions(32, 8, 3)
    assert isinstance(pos, nn.Embedding) and pos.weight.shape == (32, 8) and pos.weight.requires_grad


def test_sinusoidal_formula_at_a_few_positions():
    pe = embeddings.sinusoidal(50, 8)
    assert pe.shape == (50, 8) and pe.dtype == torch.float32
    assert pe[0].tolist() == [0.0, 1.0] * 4  # sin 0, cos 0
    for pos, i in ((1, 0), (5, 1), (17, 2), (49, 3)):
        angle = pos / 10000 ** (2 * i / 8)
        assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    odd = embeddings.sinusoidal(4, 5, base=100.0)  # an odd d: three sin columns, two cos columns
    assert odd.shape == (4, 5) and odd[3, 4].item() == pytest.approx(math.sin(3 / 100 ** (4 / 5)), abs=1e-6)
    assert embeddings.wavelengths(8)[0].item() == pytest.approx(2 * math.pi)


def test_sinusoidal_similarity_depends_on_the_offset_only():
    sim = embeddings.similarity(embeddings.sinusoidal(40, 16))
    for k in (1, 3, 7):
        diagonal = torch.diagonal(sim, offset=k)
        assert (diagonal - diagonal[0]).abs().max() < 1e-5
    assert torch.diagonal(sim).sub(1).abs().max() < 1e-6


def test_encode_adds_token_and_position():
    cfg = EmbeddingConfig(vocab=6, dim=4, ids=(5, 0, 2), positions=8, seed=2)
    enc = embeddings.encode(cfg)
    assert torch.equal(enc.sinusoidal, embeddings.sinusoidal(8, 4)[:3])
    assert torch.equal(enc.with_sinusoidal, enc.tokens + enc.sinusoidal)
    assert torch.equal(enc.learned, embeddings.learned_positions(8, 4, 3).weight[:3].detach())
    for bad in (EmbeddingConfig(vocab=5, ids=(5,)), EmbeddingConfig(ids=()), EmbeddingConfig(base=1.0),
                EmbeddingConfig(ids=(1, 2, 3), positions=2)):
        with pytest.raises(InputError):
            embeddings.encode(bad)


def test_panel_prints_what_it_says():
    cfg = EmbeddingConfig()
    look, pe = embeddings.lookup(cfg), embeddings.sinusoidal(cfg.positions, cfg.dim, cfg.base)
    results = run_panel(embeddings.embeddings_code(cfg, look, pe))
    assert len(results) == 5 and all(same_output(printed, expected) for _, printed, expected in results)


def test_the_global_generator_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    embeddings.lookup(EmbeddingConfig())
    embeddings.encode(EmbeddingConfig())
    assert torch.equal(torch.rand(3), expected)
