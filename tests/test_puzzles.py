"""Tensor puzzles: every puzzle is solvable in the puzzle language (its solution passes on random inputs), wrong
answers fail with the first failing input, and the language never runs anything outside its whitelist."""

import io
from contextlib import redirect_stdout

import pytest
import torch

from core import puzzles, tensor_lang
from core.parsing import InputError


def test_at_least_fifteen_puzzles():
    assert len(puzzles.PUZZLES) >= 15


@pytest.mark.parametrize("name", list(puzzles.PUZZLES))
def test_each_solution_solves_its_puzzle_and_its_code_runs(name):
    p = puzzles.PUZZLES[name]
    for seed in (0, 1, 2):
        assert puzzles.check(name, p.solution, seed).solved, (name, seed)
    assert all(h.strip() for h in p.hints)
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(puzzles.puzzle_code(name, p.solution, True), "<panel>", "exec"), {})
    assert out.getvalue().splitlines()[-1] == "True"


def test_wrong_answers_fail_with_the_first_failing_input():
    r = puzzles.check("outer", "a[:, None] + b[None, :]")
    assert not r.solved and r.failure.message.startswith("The values differ")
    a, b = r.failure.inputs["a"], r.failure.inputs["b"]
    assert torch.equal(r.failure.expected, a[:, None] * b[None, :])
    r = puzzles.check("eye", "arange(n)")
    assert "shape" in r.failure.message and r.failure.produced.shape == (r.failure.inputs["n"],)
    r = puzzles.check("flip", "a[n - arange(n)]")  # off by one: index n is out of range
    assert not r.solved and r.failure.produced is None and "torch" in r.failure.message
    assert puzzles.check("eye", "arange(n)[:, None] == arange(n)").solved  # booleans count as 0 and 1


@pytest.mark.parametrize("text", ["__import__('os').system('id')", "a.sum()", "open('x')", "[x for x in a]",
                                  "a if a else a", "lambda: a", "a < a < a", "q + 1", "a ** 1000", "'text'",
                                  "where(a, a, a)", "arange(-1)", "arange(2000000)",
                                  "arange(100000)[:, None] * arange(100000)",
                                  "arange(1000)[:, None, None] * arange(1000)[:, None] * arange(1000)"])
def test_the_language_refuses(text):
    with pytest.raises(InputError):
        tensor_lang.run(text, {"a": torch.arange(4)})


def test_the_language_computes_like_torch():
    a, b = torch.arange(3), torch.arange(4)
    assert torch.equal(tensor_lang.run("a[:, None] * b[None, :]", {"a": a, "b": b}), torch.outer(a, b))
    assert torch.equal(tensor_lang.run("where(a > 0, a, -1)", {"a": a}), torch.tensor([-1, 1, 2]))
    assert torch.equal(tensor_lang.run("a[::2]", {"a": b}), b[::2])
    assert torch.equal(tensor_lang.run("~(a > 1) & (a >= 0)", {"a": a}), torch.tensor([True, True, False]))
    assert tensor_lang.run("a @ a", {"a": a}).item() == 5
