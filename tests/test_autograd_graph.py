"""The autograd graph lesson against torch: the recorded nodes are autograd's own, the replayed backward pass
gives torch.autograd.grad's leaf gradients (reuse accumulates, detach cuts), and the parser stays a whitelist."""

import math

import pytest
import torch

from core import autograd_graph
from core.parsing import InputError

CASES = [
    ("(tanh(w*x + b) - y)**2", {"w": 0.5, "x": 1.5, "b": 0.1, "y": 1.0}, {"w", "b"}),
    ("x*x + x", {"x": 3.0}, {"x"}),
    ("x*detach(x) + y", {"x": 3.0, "y": 1.0}, {"x", "y"}),
    ("sigmoid(a*b) * a / (1 + b**2) - exp(-a) + sqrt(abs(b))", {"a": 0.3, "b": -1.2}, {"a", "b"}),
    ("log(1 + exp(-z*t))", {"z": 0.7, "t": -2.0}, {"z"}),
    ("(v1*relu(w1*x + b1) + v2*relu(w2*x + b2) + c - y)**2",
     {"x": 1.0, "y": 0.5, "w1": 0.8, "b1": 0.1, "w2": -0.6, "b2": 0.2, "v1": 0.7, "v2": -0.4, "c": 0.05},
     {"w1", "b1", "w2", "b2", "v1", "v2", "c"}),
]


def by_hand(text, values, requires):
    """torch itself, written out for the cases above (no parser involved)."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in requires) for k, v in values.items()}
    exprs = {
        CASES[0][0]: lambda: (torch.tanh(t["w"] * t["x"] + t["b"]) - t["y"]) ** 2,
        CASES[1][0]: lambda: t["x"] * t["x"] + t["x"],
        CASES[2][0]: lambda: t["x"] * t["x"].detach() + t["y"],
        CASES[3][0]: lambda: (torch.sigmoid(t["a"] * t["b"]) * t["a"] / (1 + t["b"] ** 2) - torch.exp(-t["a"])
                              + torch.sqrt(torch.abs(t["b"]))),
        CASES[4][0]: lambda: torch.log(1 + torch.exp(-t["z"] * t["t"])),
        CASES[5][0]: lambda: (t["v1"] * torch.relu(t["w1"] * t["x"] + t["b1"]) + t["v2"]
                              * torch.relu(t["w2"] * t["x"] + t["b2"]) + t["c"] - t["y"]) ** 2,
    }
    out = exprs[text]()
    names = [k for k in values if k in requires]
    grads = torch.autograd.grad(out, [t[k] for k in names])
    return float(out.detach()), dict(zip(names, map(float, grads), strict=True))


@pytest.mark.parametrize(("text", "values", "requires"), CASES, ids=[c[0][:24] for c in CASES])
def test_replayed_backward_equals_torch(text, values, requires):
    g = autograd_graph.trace(text, values, requires)
    value, grads = by_hand(text, values, requires)
    assert g.nodes[g.output].value == pytest.approx(value, rel=1e-12)
    for name, grad in grads.items():
        assert g.leaf_grads[name] == pytest.approx(grad, rel=1e-12, abs=1e-15)
        assert g.torch_grads[name] == pytest.approx(grad, rel=1e-12, abs=1e-15)
    # each step sends upstream x local, and the upstream is what the consumers sent
    for k, step in enumerate(g.steps, start=1):
        node = g.nodes[step.node]
        assert [v for _, v in step.sent] == pytest.approx([step.upstream * d for d in node.local])
        assert g.upstream_after(k - 1)[step.node] == pytest.approx(step.upstream)


def test_nodes_are_autograds_own():
    g = autograd_graph.trace("(tanh(w*x + b) - y)**2", {"w": 0.5, "x": 1.5, "b": 0.1, "y": 1.0}, {"w", "b"})
    ops = [n.grad_fn for n in g.nodes if not n.leaf]
    assert ops == ["MulBackward0", "AddBackward0", "TanhBackward0", "SubBackward0", "PowBackward0"]
    tanh = next(n for n in g.nodes if n.op == "tanh")
    assert tanh.local == pytest.approx([1 - math.tanh(0.85) ** 2])
    reuse = autograd_graph.trace("x*x + x", {"x": 3.0}, {"x"})
    assert reuse.nodes[1].inputs == [0, 0] and reuse.leaf_grads["x"] == 7.0  # 3 + 3 + 1: three paths add up
    assert "second time" in reuse.second_backward
    cut = autograd_graph.trace("x*detach(x) + y", {"x": 3.0, "y": 1.0}, {"x", "y"})
    assert next(n for n in cut.nodes if n.op == "detach").inputs == []
    dot = autograd_graph.dot(reuse, 1)
    assert dot.startswith("digraph") and "MulBackward0" in dot and "n0 -> n1" in dot


@pytest.mark.parametrize("text", ["__import__('os').system('ls')", "w.grad", "x[0]", "lambda: 1", "open('f')",
                                  "x if x else y", "(x, y)", "q * x", "2 + 3"])
def test_the_parser_refuses_anything_else(text):
    with pytest.raises(InputError):
        autograd_graph.trace(text, {"x": 1.0, "y": 2.0}, {"x"})


def test_setup_parsing():
    values, requires = autograd_graph.parse_setup("w, x", "1, 2", "w")
    assert values == {"w": 1.0, "x": 2.0} and requires == {"w"}
    for names, vals, req in (("w, w", "1, 2", ""), ("1x", "1", ""), ("w, x", "1", ""), ("w", "nan", ""),
                             ("w", "1", "q"), ("sigmoid", "1", ""), (",".join(f"v{i}" for i in range(11)), "1", "")):
        with pytest.raises(InputError):
            autograd_graph.parse_setup(names, vals, req)


def test_the_pages_defaults_are_the_first_example():
    from tests.test_browser_refused import declared
    from ui import links, nav

    lesson = nav.by_url("autograd_graph")
    params = declared(lesson)
    assert tuple(params[k].default for k in ("ag_expr", "ag_vars", "ag_vals", "ag_req")) == \
        autograd_graph.EXAMPLES["one neuron"]
    assert isinstance(params["ag_expr"], links.Text)
