"""core.creation: every creation function gives the tensor its shown call gives, dtype included."""

import pytest
import torch

from core import creation
from core.parsing import InputError
from tests.helpers import run_panel


@pytest.mark.parametrize("kind", creation.CREATORS)
def test_create_matches_the_shown_call(kind):
    made = creation.create(kind, shape=(3, 4), start=1, end=3, step=0.5, steps=5, base=2, low=-2, high=5, fill=7, n=4,
                    seed=11)
    namespace = {"torch": torch, "g": torch.Generator().manual_seed(11)}
    shown = eval(made.call, namespace)  # our own generated code, never user text
    assert torch.equal(shown, made.tensor) and shown.dtype == made.tensor.dtype
    assert made.random == ("generator=g" in made.call)


def test_create_values():
    assert creation.create("arange", start=0, end=5, step=2).tensor.tolist() == [0, 2, 4]
    assert creation.create("linspace", start=0, end=1, steps=5).tensor.tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert creation.create("logspace", start=0, end=3, steps=4, base=10).tensor.tolist() == [1, 10, 100, 1000]
    assert torch.equal(creation.create("eye", n=3).tensor, torch.eye(3))
    assert sorted(creation.create("randperm", n=6, seed=3).tensor.tolist()) == list(range(6))


def test_create_refuses_bad_input():
    with pytest.raises(InputError, match="goes the wrong way"):
        creation.create("arange", start=0, end=10, step=-1)
    with pytest.raises(InputError, match="step other than 0"):
        creation.create("arange", step=0)
    with pytest.raises(InputError, match="low < high"):
        creation.create("randint", low=5, high=5)
    with pytest.raises(InputError, match="at most 1,000,000"):
        creation.create("rand", shape=(2000, 2000))
    with pytest.raises(InputError, match="at most 1,000,000"):
        creation.create("arange", start=0, end=1e7, step=1)
    with pytest.raises(InputError, match="negative"):
        creation.create("linspace", steps=-1)


@pytest.mark.parametrize(("kind", "kw", "dtype"), [
    ("arange", {}, torch.int64), ("arange", {"step": 0.5}, torch.float32), ("full", {}, torch.int64),
    ("full", {"fill": 7.5}, torch.float32), ("linspace", {}, torch.float32)])
def test_whole_numbers_are_ints_as_in_the_shown_call(kind, kw, dtype):
    made = creation.create(kind, **kw)
    assert made.tensor.dtype == dtype
    assert eval(made.call, {"torch": torch}).dtype == dtype  # our own generated code


@pytest.mark.parametrize("kind", creation.CREATORS)
def test_code_panel_prints_shape_and_dtype(kind):
    made = creation.create(kind, shape=(2, 5), start=-1, end=2, step=0.25, steps=7, base=3, low=1, high=4, n=3,
                           seed=5)
    results = run_panel(creation.create_code(made, 5))
    assert results == [(results[0][0], f"{made.tensor.shape} {made.tensor.dtype}",
                        f"{made.tensor.shape} {made.tensor.dtype}")]


def test_value_histogram_counts_every_value():
    t = creation.create("randn", shape=(100, 10), seed=1).tensor
    counts, edges = creation.value_histogram(t)
    assert int(counts.sum()) == 1000 and len(edges) == 31
    assert edges[0] == pytest.approx(float(t.min())) and edges[-1] >= float(t.max())
