"""core.gather against torch.gather: the sources of every output cell, torch's rules, and the code panel."""

import math
import random

import pytest
import torch

from core import gather
from core.parsing import InputError
from tests.helpers import run_panel, same_output


def test_gather_worked_example():
    g = gather.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]]))
    assert g.out.tolist() == [[1, 1], [4, 3]]
    assert g.rule() == "out[i][j] = input[i][index[i][j]]"
    assert g.explain((1, 0)) == "out[1][0] = input[1][index[1][0]] = input[1][1] = 4"
    assert g.sources[1, 0].tolist() == [1, 1]


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gather_sources_point_at_the_copied_cells(dim):
    gen = torch.Generator().manual_seed(dim + 5)
    x = torch.randn(3, 4, 5, generator=gen)
    shape = [2, 3, 4]
    shape[dim] = 6  # along dim, index may be longer than input
    index = torch.randint(0, x.shape[dim], shape, generator=gen)
    g = gather.gather(x, dim, index)
    assert torch.equal(g.out, torch.gather(x, dim, index))
    src = g.sources.reshape(-1, 3)
    assert torch.equal(x[src[:, 0], src[:, 1], src[:, 2]], g.out.reshape(-1))


def test_gather_rule_for_dim_0():
    g = gather.gather(torch.tensor([[10, 11, 12], [20, 21, 22], [30, 31, 32]]), 0, torch.tensor([[2, 0, 1], [0, 0, 2]]))
    assert g.rule() == "out[i][j] = input[index[i][j]][j]"
    assert g.out.tolist() == [[30, 11, 22], [10, 11, 32]]


def test_gather_checks_agree_with_torch_on_random_cases():
    rng = random.Random(3)
    raised = 0
    for _ in range(300):
        nd = rng.randint(1, 3)
        shape = tuple(rng.randint(1, 4) for _ in range(nd))
        index_nd = nd if rng.random() < 0.85 else rng.choice([d for d in (1, 2, 3) if d != nd])
        index_shape = tuple(rng.randint(1, 5) for _ in range(index_nd))
        dim = rng.randint(-nd, nd - 1)
        size = shape[dim]
        index = torch.tensor([rng.randint(-1, size) if rng.random() < 0.1 else rng.randint(0, size - 1)
                              for _ in range(math.prod(index_shape))]).reshape(index_shape)
        x = torch.arange(math.prod(shape)).reshape(shape)
        try:
            expected = torch.gather(x, dim, index)
        except (RuntimeError, IndexError):
            expected = None
        if expected is None:
            raised += 1
            with pytest.raises(InputError):
                gather.gather(x, dim, index)
        else:
            assert torch.equal(gather.gather(x, dim, index).out, expected)
    assert 30 < raised < 270


def test_gather_messages_name_the_problem():
    x = torch.tensor([[1, 2], [3, 4]])
    with pytest.raises(InputError, match=r"index\[0, 1\] = 2 is out of range.*0\.\.1"):
        gather.gather(x, 1, torch.tensor([[0, 2], [1, 0]]))
    with pytest.raises(InputError, match="index has 1 dimension but input has 2"):
        gather.gather(x, 1, torch.tensor([0, 1]))
    with pytest.raises(InputError, match="index has size 3 in dim 0 but input has only 2"):
        gather.gather(x, 1, torch.tensor([[0], [1], [0]]))
    with pytest.raises(InputError, match="dim=2 does not exist"):
        gather.gather(x, 2, torch.tensor([[0]]))


def test_label_probability_preset_picks_each_rows_label():
    p = gather.gather_presets(seed=0)["label"]
    probs, labels = torch.tensor(p.input), torch.tensor(p.index).squeeze(1)
    g = gather.gather(probs, p.dim, torch.tensor(p.index))
    assert torch.equal(g.out.squeeze(1), probs[torch.arange(4), labels])
    assert torch.allclose(probs.sum(1), torch.ones(4), atol=0.03)  # rows are (rounded) probabilities


def test_random_gather_index_is_valid_for_its_dim():
    for dim in (0, 1, -1):
        x, index = gather.random_gather(3, 5, 4, 2, dim, seed=7)
        assert x.shape == (3, 5) and index.shape == (4, 2)
        assert int(index.max()) < x.shape[dim]


@pytest.mark.parametrize("name", ["worked", "label", "dim0"])
def test_code_panel_prints_the_gathered_tensor(name):
    preset = gather.gather_presets(0)[name]
    g = gather.gather(torch.tensor(preset.input), preset.dim, torch.tensor(preset.index))
    code = gather.gather_code(g, preset.dim, classification=name == "label")
    results = run_panel(code)
    assert len(results) == 1 and same_output(*results[0][1:]), results
    namespace: dict = {"print": lambda *a: None}
    exec(compile(code, "<panel>", "exec"), namespace)  # our own generated code
    assert torch.equal(namespace["out"], torch.gather(torch.tensor(preset.input), preset.dim,
                                                      torch.tensor(preset.index)))
    if name == "label":
        assert torch.equal(namespace["picked"], g.out.squeeze(1))


def test_code_panel_writes_infinities_and_nan_as_python():
    x = torch.tensor([[float("inf"), -1e308], [float("nan"), 4.0]])
    g = gather.gather(x, -1, torch.tensor([[0, 0], [1, 0]]))
    code = gather.gather_code(g, -1)
    assert "float('inf')" in code and "float('nan')" in code and "torch.gather(input, -1, index)" in code
    results = run_panel(code)
    assert results and all(same_output(*r[1:]) for r in results), results


def test_literal_rebuilds_the_tensor():
    x = torch.tensor([[0.12345678, 2.0]])
    assert gather.literal(x) == [[0.1235, 2.0]]
    assert gather.literal(torch.tensor([[1, 2]])) == [[1, 2]]
