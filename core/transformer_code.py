"""The tiny transformer's code panel: the model (the very class sources of core.transformer), the data, a few
AdamW steps and a sampled continuation, as one script. It prints what a fresh CharTrainer with the same settings
computes: the parameter count, the first losses and the generated characters."""

import inspect

import torch

from core import transformer
from core.char_tasks import CharCorpus, CharTask, python_docs
from core.transformer_training import CharTrainer, TrainSettings, filter_probs

_SOURCES = (transformer.TransformerConfig, transformer.CausalSelfAttention, transformer.Block,
            transformer.TinyTransformer, transformer.init_weights, filter_probs)


def _data_code(data: CharTask | CharCorpus) -> str:
    if isinstance(data, CharCorpus):
        text = "text = python_docs()  # the Python docs that ship with Python, as ASCII" \
            if data.text == python_docs() else f"text = {data.text!r}"
        imports = "from core.char_tasks import python_docs\n\n" if data.text == python_docs() else ""
        return f'''{imports}{text}
vocab = "".join(sorted(set(text)))  # every distinct character is a token
stoi = {{c: i for i, c in enumerate(vocab)}}
data = torch.tensor([stoi[c] for c in text])  # (N,)
train = data[: int(len(data) * 0.9)]  # the last 10% is held out
context = {data.context}


def get_batch(batch, g):
    starts = torch.randint(0, len(train) - context, (batch, 1), generator=g)  # (B, 1)
    window = train[starts + torch.arange(context + 1)]  # (B, context + 1)
    return window[:, :-1], window[:, 1:]  # the target is the next character, everywhere
'''
    cfg, eq = data.cfg, data.vocab.index("=")
    if cfg.task == "add":
        make = f"""digits = torch.randint(0, 10, (batch, 2, D), generator=g)  # (B, 2, D): a and b
    powers = 10 ** torch.arange(D - 1, -1, -1)
    total = (digits * powers).sum(2).sum(1, keepdim=True)  # (B, 1) a + b
    answer = total // 10 ** torch.arange(D, -1, -1) % 10  # (B, D+1) its digits, zero-padded
    plus, eq = torch.full((batch, 1), {data.vocab.index("+")}), torch.full((batch, 1), {eq})
    seq = torch.cat([digits[:, 0], plus, digits[:, 1], eq, answer], dim=1)  # "12+34=046\""""
        sizes = f"D = {cfg.length}  # digits per number"
    else:
        answer, shape = (("prompt.sort(dim=1).values", "dcab=abcd") if cfg.task == "sort"
                         else ("prompt.flip(1)", "abc=cba"))
        make = f"""prompt = torch.randint(0, letters, (batch, length), generator=g) + 1  # letter ids 1.. (0 is "=")
    answer = {answer}
    seq = torch.cat([prompt, torch.full((batch, 1), {eq}), answer], dim=1)  # "{shape}\""""
        sizes = f"length, letters = {cfg.length}, {cfg.letters}"
    return f"""vocab = {data.vocab!r}  # token id i is vocab[i]
{sizes}
context = {data.context}


def get_batch(batch, g):
    {make}
    x, y = seq[:, :-1], seq[:, 1:].clone()  # predict each next character
    y[:, :{data.prompt_len - 1}] = -100  # only the answer is scored: the prompt is random
    return x, y
"""


def transformer_code(data: CharTask | CharCorpus, settings: TrainSettings = TrainSettings(), steps: int = 5,
                     prompt: str | None = None, n: int | None = None, temperature: float = 1.0, top_k: int = 0,
                     top_p: float = 1.0, seed: int = 0) -> str:
    """A runnable script: the model, `steps` training steps, then `n` sampled characters after `prompt`.

    The printed values come from a fresh CharTrainer trained `steps` steps (the first steps of any run with these
    settings). Defaults: a task's prompt is one problem (up to its "="), n its answer length; a text's prompt is
    "The " (or its first 4 characters), n = 40.
    """
    reference = CharTrainer(data, settings)
    reference.train_steps(steps)
    if prompt is None:
        prompt = (("The " if set("The ") <= set(data.vocab) else data.text[:4]) if isinstance(data, CharCorpus)
                  else data.decode(
            data.sequences(1, torch.Generator().manual_seed(seed))[0, :data.prompt_len].tolist()))
    n = (data.answer_len if isinstance(data, CharTask) else 40) if n is None else n
    gen = reference.complete(prompt, n, temperature, top_k, top_p, seed)
    cfg, s = reference.model.cfg, settings
    sampler = "" if temperature == 0 else f"\ng_sample = torch.Generator().manual_seed({seed})"
    pick = ("token = int(probs.argmax())  # temperature 0: the most likely character" if temperature == 0
            else "token = int(torch.multinomial(probs, 1, generator=g_sample))  # draw one")
    sources = "\n\n".join(inspect.getsource(obj) for obj in _SOURCES)
    first = ", ".join(f"{v:.4f}" for v in reference.losses[:3])
    shown = f"  # {gen.text!r}" if "#" not in repr(gen.text) else ""  # a "#" inside would end the comment early
    return f"""import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


{sources}

{_data_code(data)}

cfg = TransformerConfig(vocab_size=len(vocab), context=context,
                        d_model={cfg.d_model}, n_heads={cfg.n_heads}, n_layers={cfg.n_layers})
model = init_weights(TinyTransformer(cfg), seed={s.seed})
print(sum(p.numel() for p in model.parameters()))  # {reference.n_params}
optimizer = torch.optim.AdamW(model.parameters(), lr={s.lr!r})
g = torch.Generator().manual_seed({s.seed + 1})  # the batches
losses = []
for step in range({steps}):
    x, y = get_batch({s.batch}, g)  # (B, T), (B, T)
    logits = model(x)  # (B, T, vocab)
    loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1), ignore_index=-100)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), {s.clip!r})
    optimizer.step()
    losses.append(loss.item())
print(", ".join(f"{{v:.4f}}" for v in losses[:3]))  # {first}

# {"greedy decoding" if temperature == 0 else "sampling"}: one character at a time, each fed back in
ids = [vocab.index(c) for c in {prompt!r}]{sampler}
model.eval()
with torch.inference_mode():
    for _ in range({n}):
        logits = model(torch.tensor(ids[-context:])[None])[0, -1]  # (vocab,) the last position's scores
        probs, kept = filter_probs(logits, temperature={temperature!r}, top_k={top_k}, top_p={top_p!r})
        {pick}
        ids.append(token)
new = ids[{len(prompt)}:]
print(new)  # {gen.tokens}
print(repr("".join(vocab[i] for i in new))){shown}
"""
