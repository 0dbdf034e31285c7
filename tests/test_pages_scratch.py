"""From scratch to nn.Module through AppTest: the five ways' curves shown are the ones core.scratch computes (and
coincide), each way's code panel runs and prints the page's losses, mistakes show torch's own words."""

import math

import pytest

from core import scratch
from tests.helpers import (
    decode,
    errors,
    figure,
    metrics,
    open_page,
    panels,
    rerun,
    run_panel,
    same_output,
    set_widgets,
)

SCRATCH = "pages/26_from_scratch.py"
SMALL = dict(fs_batch=16, fs_din=100, fs_hidden=20, fs_dout=3, fs_steps=20)


def part(at, name: str):
    at.session_state["fs_part"] = name
    return rerun(at)


def fact(at, label: str) -> str:
    """A value of the mistakes' table of checks (| `label` | `value` |)."""
    for md in at.markdown:
        for line in md.value.splitlines():
            cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
            if len(cells) == 2 and cells[0] == label:
                return cells[1]
    raise AssertionError(f"no check {label!r} on the page")


def check_panels(at) -> int:
    checked = 0
    for code in panels(at):
        results = run_panel(code)
        assert all(same_output(p, e) for _, p, e in results), (results, code)
        checked += len(results)
    return checked


def test_five_ways_coincide_on_the_page(app):
    at = open_page(app, SCRATCH)
    set_widgets(at, **SMALL)
    s = scratch.Setup(16, 100, 20, 3, 0.1, 20, 0)
    curves = scratch.five_ways(s)
    m = metrics(at)
    assert m["first loss"] == f"{curves['raw'][0]:.4f}" and m["last loss"] == f"{curves['raw'][-1]:.4g}"
    assert float(m["max |difference| of the five"]) < 1e-5
    assert m["parameters"] == f"{100 * 20 + 20 + 20 * 3 + 3:,}"
    fig = figure(at, "The same training, five ways")
    assert len(fig["data"]) == 5
    for trace, way in zip(fig["data"], scratch.WAYS, strict=True):
        assert trace["name"] == scratch.WAYS[way]
    assert curves["raw"][-1] < 0.5 * curves["raw"][0]  # it learns
    assert not errors(at)


@pytest.mark.parametrize("way", list(scratch.WAYS))
def test_each_ways_code_runs_and_prints_the_page_losses(app, way):
    at = open_page(app, SCRATCH)
    set_widgets(at, **SMALL)
    set_widgets(at, fs_way=way, fs_named=(way == "sequential"))
    assert check_panels(at) >= 1


def test_a_diverging_rate_warns_and_keeps_settings(app):
    at = open_page(app, SCRATCH)
    set_widgets(at, **SMALL)
    set_widgets(at, fs_lr=2.0, fs_din=2000)
    curves = scratch.five_ways(scratch.Setup(16, 2000, 20, 3, 2.0, 20, 0))
    if any(not math.isfinite(v) for v in curves["raw"]):
        assert any("diverged" in w.value for w in at.warning)
    assert at.session_state["fs_steps"] == 20 and not errors(at)


def test_mistakes_show_torch_words(app):
    at = open_page(app, SCRATCH)
    part(at, "mistakes")
    assert "NoneType" in errors(at)[0]  # w = w - lr * w.grad: the next update fails on a None .grad
    assert fact(at, "w1.is_leaf after") == "False" and fact(at, "w1.grad after the next backward") == "None"
    assert any("not a leaf" in w.value for w in at.warning)
    set_widgets(at, fs_mistake="no_grad")
    assert "does not require grad" in errors(at)[0]
    set_widgets(at, fs_mistake="clamp")
    assert fact(at, "gradcheck(MyReLU)") == "True" and fact(at, "gradcheck(wrong ReLU)") == "False"
    losses = {t["name"]: decode(t["y"]) for t in figure(at, "Loss per step")["data"]}
    assert losses["grad.clamp(min=0)"][-1] > 10 * losses["correct backward"][-1]
    set_widgets(at, fs_mistake="zero_grad")
    assert check_panels(at) >= 1


def test_dynamic_graph_grows_with_the_loop(app):
    at = open_page(app, SCRATCH)
    part(at, "dynamic")
    df = at.dataframe[0].value
    repeats = [int(v.split()[0]) for v in df["middle layer used"]]
    nodes = list(df["graph nodes"])
    assert len(set(repeats)) >= 3
    # each repeat: a product with the bias (addmm), the weight's transpose, a ReLU; the middle layer's two
    # parameters join the graph (AccumulateGrad) once, however often they are used
    assert len({n - 3 * r - 2 * (r > 0) for r, n in zip(repeats, nodes, strict=True)}) == 1
    assert check_panels(at) >= 1
