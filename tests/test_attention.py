"""Attention by hand against torch: F.scaled_dot_product_attention and nn.MultiheadAttention (1 head and h heads,
the same weights copied in), the causal mask's exact zeros, temperature, and the code panel."""

import pytest
import torch

from core import attention
from core.attention import AttentionConfig
from core.parsing import InputError
from tests.helpers import run_panel, same_output

SETTINGS = [AttentionConfig(), AttentionConfig(causal=False, temperature=0.4, n_heads=4, d_model=16, positions=True),
            AttentionConfig(tokens=("one",), n_heads=1, seed=3), AttentionConfig(temperature=3.0, n_heads=8, seed=5)]


@pytest.mark.parametrize("cfg", SETTINGS)
def test_hand_attention_equals_sdpa_and_multihead_attention(cfg):
    checks = attention.check(cfg)
    assert checks.sdpa < 1e-6 and checks.mha < 1e-6 and checks.mha_weights < 1e-6 and checks.mha_one_head < 1e-6
    att = attention.attention(cfg)
    out, weights = attention.run_multihead(att, cfg)
    torch.testing.assert_close(att.out, out, atol=1e-6, rtol=0)
    torch.testing.assert_close(att.weights, weights, atol=1e-6, rtol=0)
    torch.testing.assert_close(att.heads_out, attention.sdpa(att, cfg.causal), atol=1e-6, rtol=0)


def test_every_intermediate_follows_the_formula():
    cfg = AttentionConfig(temperature=0.5)
    att = attention.attention(cfg)
    t, h, dh = len(cfg.tokens), cfg.n_heads, cfg.d_head
    assert att.x.shape == (t, 8) and att.q.shape == (h, t, dh) and att.weights.shape == (h, t, t)
    torch.testing.assert_close(att.q[1], att.x @ att.wq[:, dh:2 * dh])  # head 1: the second chunk of columns
    torch.testing.assert_close(att.scores, att.q @ att.k.transpose(1, 2) / (dh ** 0.5 * 0.5))
    torch.testing.assert_close(att.weights, torch.softmax(att.masked, -1))
    torch.testing.assert_close(att.out, torch.cat(list(att.heads_out), dim=1) @ att.wo)
    assert att.vocab == ["cat", "mat", "on", "sat", "the"] and torch.equal(att.x[0], att.x[4])  # "the" twice


def test_causal_mask_gives_exact_zeros_above_the_diagonal():
    att = attention.attention(AttentionConfig())
    above = torch.ones(6, 6, dtype=torch.bool).triu(1)
    assert (att.weights[:, above] == 0).all() and (att.masked[:, above] == float("-inf")).all()
    assert (att.weights[:, ~above] > 0).all()
    torch.testing.assert_close(att.weights.sum(-1), torch.ones(2, 6, dtype=torch.float64))
    assert (att.weights[:, 0, 0] == 1).all()  # the first token can only look at itself
    assert attention.check(AttentionConfig()).masked_max == 0.0
    free = attention.attention(AttentionConfig(causal=False))
    assert (free.weights > 0).all() and torch.equal(free.masked, free.scores)


def test_temperature_sharpens_and_flattens():
    peak = {temp: attention.attention(AttentionConfig(causal=False, temperature=temp)).weights.max(-1).values.mean()
            for temp in (0.1, 1.0, 10.0)}
    assert peak[0.1] > peak[1.0] > peak[10.0] > 1 / 6


def test_without_positions_order_is_invisible():
    words = ("a", "b", "c", "d")
    att = attention.attention(AttentionConfig(tokens=words, causal=False))
    perm = [2, 0, 3, 1]
    shuffled = attention.attention(AttentionConfig(tokens=tuple(words[i] for i in perm), causal=False))
    torch.testing.assert_close(shuffled.out, att.out[perm])  # the same outputs, permuted like the inputs
    placed = attention.attention(AttentionConfig(tokens=tuple(words[i] for i in perm), causal=False, positions=True))
    assert not torch.allclose(placed.out, att.out[perm])


def test_refusals():
    assert attention.parse_tokens("  the cat\tsat ") == ("the", "cat", "sat")
    for text in ("", "   ", "w " * 17, "x" * 21):
        with pytest.raises(InputError):
            attention.parse_tokens(text)
    for cfg in (AttentionConfig(d_model=8, n_heads=3), AttentionConfig(temperature=0.0), AttentionConfig(tokens=())):
        with pytest.raises(InputError):
            attention.attention(cfg)


@pytest.mark.parametrize("cfg", SETTINGS[:2])
def test_panel_prints_what_it_says(cfg):
    att, checks = attention.attention(cfg), attention.check(cfg)
    results = run_panel(attention.attention_code(cfg, att, checks))
    assert len(results) == 4 and all(same_output(printed, expected) for _, printed, expected in results)
    assert [expected for _, _, expected in results[1:]] == ["True"] * 3


def test_the_global_generator_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    attention.check(AttentionConfig())
    assert torch.equal(torch.rand(3), expected)
