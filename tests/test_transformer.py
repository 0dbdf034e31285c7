"""The tiny transformer against torch and plain Python: the tasks' strings, the parameter count, attention maps
equal to a recomputation (and to nn.MultiheadAttention), causality, sampling filters, greedy decoding, a short
training milestone, and the code panel. (Reaching 95% on sorting: benchmarks/bench_transformer.py.)"""

import math

import pytest
import torch
from torch import nn

from core import char_tasks, transformer, transformer_code
from core.char_tasks import TaskConfig
from core.parsing import InputError
from core.transformer_training import (
    CharTrainer,
    TrainSettings,
    filter_probs,
    generate,
    greedy_answers,
    next_token_probs,
)
from tests.helpers import run_panel, same_output


@pytest.fixture(scope="module")
def sort_task():
    return char_tasks.char_task(TaskConfig("sort", length=5, letters=8))


@pytest.fixture(scope="module")
def model():
    return transformer.build_model(transformer.TransformerConfig(vocab_size=11, context=16), seed=3)


def test_task_strings_are_right():
    g = torch.Generator().manual_seed(0)
    for task in ("sort", "reverse", "add"):
        data = char_tasks.char_task(TaskConfig(task, length=3))
        for row in data.sequences(20, g).tolist():
            text = data.decode(row)
            prompt, answer = text.split("=")
            assert len(text) == data.prompt_len + data.answer_len and len(answer) == data.answer_len
            if task == "sort":
                assert answer == "".join(sorted(prompt))
            elif task == "reverse":
                assert answer == prompt[::-1]
            else:
                a, b = prompt.split("+")
                assert len(a) == len(b) == 3 and answer == f"{int(a) + int(b):04d}"
    data = char_tasks.char_task(TaskConfig("sort", length=4, letters=6))
    assert data.vocab == "=abcdef" and data.context == 8
    x, y = data.batch(3, g)
    assert x.shape == y.shape == (3, 8) and (y[:, :4] == -100).all() and (y[:, 4:] >= 1).all()
    assert torch.equal(x[:, 1:], torch.where(y[:, :-1] == -100, x[:, 1:], y[:, :-1]))  # y is x shifted by one


def test_corpus_and_pasted_text():
    docs = char_tasks.python_docs()
    assert 100_000 < len(docs) <= char_tasks.DOCS_CHARS and all(c == "\n" or " " <= c <= "~" for c in docs)
    text = "the quick brown fox jumps over the lazy dog.\n" * 30
    data = char_tasks.corpus(text, context=16)
    assert data.vocab == "".join(sorted(set(text))) and data.decode(data.data.tolist()) == text
    x, y = data.batch(4, torch.Generator().manual_seed(1))
    assert x.shape == (4, 16) and torch.equal(x[:, 1:], y[:, :-1])
    with pytest.raises(InputError, match="at least"):
        char_tasks.corpus("too short")
    with pytest.raises(InputError, match="at most"):
        char_tasks.corpus("a" * (char_tasks.MAX_TEXT + 1))
    with pytest.raises(InputError, match="different characters"):
        char_tasks.corpus("".join(chr(0x400 + i) for i in range(150)) * 10)
    with pytest.raises(InputError, match="not in the vocabulary"):
        data.encode("THE")


def test_parameter_count_at_the_defaults(sort_task):
    for data in (char_tasks.char_task(TaskConfig()), char_tasks.corpus()):
        trainer = CharTrainer(data)
        m = trainer.model
        assert trainer.n_params == sum(p.numel() for p in m.parameters()) <= 100_000
        assert sum(n for _, _, n in transformer.parameter_table(m)) == trainer.n_params
        assert m.cfg.n_layers == 2 and m.cfg.n_heads == 4 and m.cfg.context == data.context


def test_attention_maps_equal_a_recomputation(model):
    idx = torch.randint(0, 11, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, maps = model(idx, return_attention=True)
        assert logits.shape == (2, 9, 11) and len(maps) == 2 and maps[0].shape == (2, 4, 9, 9)
        x = model.tok(idx) + model.pos.weight[:9]  # (B, T, C)
        for block, weights in zip(model.blocks, maps, strict=True):
            a = block.ln1(x)
            q = a @ block.attn.q.weight.T  # (B, T, C)
            k = a @ block.attn.k.weight.T
            for h in range(4):
                cols = slice(12 * h, 12 * (h + 1))
                scores = q[..., cols] @ k[..., cols].transpose(1, 2) / math.sqrt(12)  # (B, T, T)
                scores = scores + torch.full((9, 9), float("-inf")).triu(1)
                torch.testing.assert_close(weights[:, h], scores.softmax(-1))
            mha = nn.MultiheadAttention(48, 4, bias=False, batch_first=True)
            mha.in_proj_weight.copy_(torch.cat([block.attn.q.weight, block.attn.k.weight, block.attn.v.weight]))
            mha.out_proj.weight.copy_(block.attn.proj.weight)
            mask = torch.ones(9, 9, dtype=torch.bool).triu(1)
            out, mha_weights = mha(a, a, a, attn_mask=mask, average_attn_weights=False)
            torch.testing.assert_close(mha_weights, weights, atol=1e-6, rtol=0)
            torch.testing.assert_close(out, block.attn(a)[0], atol=1e-6, rtol=0)
            x = block(x)[0]
        torch.testing.assert_close(logits, model.head(model.ln_f(x)))
    above = torch.ones(9, 9, dtype=torch.bool).triu(1)
    assert all((m[..., above] == 0).all() for m in maps)
    one = transformer.attention_maps(model, idx[0])
    torch.testing.assert_close(one[1], maps[1][0])


def test_the_model_is_causal(model):
    idx = torch.randint(0, 11, (1, 10), generator=torch.Generator().manual_seed(1))
    changed = idx.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % 11
    with torch.no_grad():
        torch.testing.assert_close(model(idx)[0, :6], model(changed)[0, :6])
        assert not torch.allclose(model(idx)[0, 6:], model(changed)[0, 6:])


def test_sampling_filters():
    logits = torch.tensor([2.0, 1.0, 0.5, 0.4, -1.0, 3.0])
    probs, kept = filter_probs(logits, 1.0)
    torch.testing.assert_close(probs, logits.double().softmax(-1))
    assert kept.all()
    probs, _ = filter_probs(logits, 0.5)
    torch.testing.assert_close(probs, (logits.double() / 0.5).softmax(-1))
    probs, kept = filter_probs(logits, 0.0)
    assert probs.tolist() == [0, 0, 0, 0, 0, 1.0] and kept.sum() == 1
    for k in (1, 2, 4):
        probs, kept = filter_probs(logits, 1.0, top_k=k)
        assert (probs > 0).sum() == k == kept.sum() and probs.sum().item() == pytest.approx(1)
        assert set(probs.nonzero().flatten().tolist()) == set(logits.topk(k).indices.tolist())
    full = logits.double().softmax(-1)
    for p in (0.1, 0.5, 0.7, 0.9, 0.99):
        probs, kept = filter_probs(logits, 1.0, top_p=p)
        mass = full[kept]
        assert mass.sum() >= p and mass.sum() - mass.min() < p  # enough mass, and minimal
        assert not (~kept).any() or full[~kept].max() <= mass.min()  # the most likely tokens are kept
        torch.testing.assert_close(probs[kept], mass / mass.sum())
    with pytest.raises(InputError):
        next_token_probs(transformer.build_model(transformer.TransformerConfig(3, 4)), [0], temperature=-1)


def test_temperature_zero_is_greedy_decoding(model, sort_task):
    sort_model = transformer.build_model(transformer.TransformerConfig(len(sort_task.vocab), sort_task.context), 2)
    prompts = sort_task.sequences(4, torch.Generator().manual_seed(5))[:, :sort_task.prompt_len]
    greedy = greedy_answers(sort_model, prompts, sort_task.answer_len)
    for prompt, answer in zip(prompts.tolist(), greedy.tolist(), strict=True):
        gen = generate(sort_model, prompt, sort_task.answer_len, temperature=0)
        assert gen.tokens == answer and all(step.prob == 1.0 for step in gen.steps)
    nxt = next_token_probs(model, [1, 2, 3], temperature=1.0)
    with torch.no_grad():
        torch.testing.assert_close(nxt.raw, model(torch.tensor([[1, 2, 3]]))[0, -1].double().softmax(-1))
    a = generate(model, [1, 2], 12, 1.0, 3, 0.9, torch.Generator().manual_seed(4))
    b = generate(model, [1, 2], 12, 1.0, 3, 0.9, torch.Generator().manual_seed(4))
    assert a.tokens == b.tokens and all(step.probs[step.token] > 0 for step in a.steps)
    assert all((step.probs > 0).sum() <= 3 for step in a.steps)


def test_short_training_beats_chance_by_far(sort_task):
    trainer = CharTrainer(sort_task, TrainSettings(batch=32))
    assert trainer.exact_accuracy(200) < 0.05  # untrained: ~ never the whole answer
    trainer.train_steps(30)
    assert trainer.step == 30 and len(trainer.losses) == 30 and trainer.losses[-1] < 0.5 * trainer.losses[0]
    assert trainer.exact_accuracy(200) > 0.2
    taken = trainer.train_for(0.05, max_steps=3)
    assert 1 <= taken <= 3 and trainer.step == 30 + taken and trainer.steps_per_second > 0
    again = CharTrainer(sort_task, TrainSettings(batch=32))
    again.train_steps(3)
    assert again.losses == trainer.losses[:3]  # seeded: the same run
    maps = trainer.attention("dcab=")
    assert len(maps) == 2 and maps[0].shape == (4, 5, 5)
    assert len(trainer.complete("dcab=", 5, temperature=0).text) == 5


def test_panel_prints_what_it_says(sort_task):
    code = transformer_code.transformer_code(sort_task, TrainSettings(batch=16), steps=3, temperature=0.8, top_k=4)
    results = run_panel(code)
    assert len(results) == 4 and all(same_output(printed, expected) for _, printed, expected in results)
    trainer = CharTrainer(sort_task, TrainSettings(batch=16))
    trainer.train_steps(3)
    assert results[0][2] == str(trainer.n_params)
    assert results[1][2] == ", ".join(f"{v:.4f}" for v in trainer.losses)
    assert "class TinyTransformer(nn.Module):" in code and "F.cross_entropy" in code


def test_the_global_generator_is_left_alone(sort_task):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    trainer = CharTrainer(sort_task, TrainSettings(batch=8))
    trainer.train_steps(2)
    trainer.complete("ab=", 3, temperature=1.0, top_p=0.9)
    trainer.attention("ab=")
    assert torch.equal(torch.rand(3), expected)
