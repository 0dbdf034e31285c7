"""The graph autograd records, and the backward pass through it one node at a time.

The learner's expression (core.expr's safe language, over named variables) runs on float64 tensors; every
operation is traced, so each `grad_fn` node of the recorded graph is matched with the operation and the value that
made it. The backward pass is then replayed node by node in reverse order of the forward pass (an order in which
every consumer of a value comes before the value): at each node the upstream gradient arriving, the node's local
derivative for each input, and the product it sends on; leaves add up what reaches them (a variable used twice
gets two contributions). The replay's leaf gradients are checked against `torch.autograd.grad`.

    g = trace("(tanh(w*x + b) - y)**2", {"w": 0.5, "x": 1.5, "b": 0.1, "y": 1.0}, requires={"w", "b"})
    g.leaf_grads                                    # {"w": ..., "b": ...} equal to torch.autograd.grad's
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import torch

from core.expr import compile_formula
from core.parsing import InputError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,11}")
MAX_VARIABLES = 10
EXTRA = {  # functions the explorer adds to core.expr's whitelist: (tensor function, plain-number function)
    "sigmoid": (torch.sigmoid, lambda a: 1 / (1 + math.exp(-a))),
    "relu": (torch.relu, lambda a: max(a, 0.0)),
    "detach": (torch.detach, lambda a: a),  # cuts the graph: no gradient flows back through it
}


@dataclass
class Node:
    id: int
    op: str  # "+", "tanh", ... or the variable's name for a leaf
    grad_fn: str  # autograd's own name: "AddBackward0", "AccumulateGrad", or "" (a constant, a detached value)
    value: float
    inputs: list[int] = field(default_factory=list)  # node ids, in operand order (only those that carry a gradient)
    local: list[float] = field(default_factory=list)  # d(this node) / d(input i)
    leaf: bool = False
    requires_grad: bool = False


@dataclass
class Step:
    """The backward pass at one node: what arrived, and what it sent to each input."""

    node: int
    upstream: float  # d(output) / d(this node): the sum of what its consumers sent
    sent: list[tuple[int, float]]  # (input node, upstream * local derivative)


@dataclass
class Graph:
    text: str
    code: str  # the expression as torch code
    nodes: list[Node]  # forward order: leaves first, the output last
    output: int
    steps: list[Step]  # backward order
    leaf_grads: dict[str, float]  # after the whole backward pass (replayed)
    torch_grads: dict[str, float | None]  # torch.autograd.grad's (None: does not require grad / no path)
    second_backward: str  # torch's error for a second backward without retain_graph=True

    def upstream_after(self, k: int) -> dict[int, float]:
        """Gradient accumulated at every node once the first k steps of the backward pass have run."""
        grads = {self.output: 1.0} if k >= 0 else {}
        for step in self.steps[:k]:
            for target, value in step.sent:
                grads[target] = grads.get(target, 0.0) + value
        return grads


def parse_variables(text: str) -> list[str]:
    """Variable names typed as 'w, x, b, y'."""
    names = [n for n in re.split(r"[\s,;]+", (text or "").strip()) if n]
    if not names:
        raise InputError("Name at least one variable, e.g. `w, x, b, y`.")
    if len(names) > MAX_VARIABLES:
        raise InputError(f"At most {MAX_VARIABLES} variables.")
    for n in names:
        if not NAME.fullmatch(n) or n in ("pi", "e") or n in EXTRA:
            raise InputError(f"`{n[:20]}` cannot be a variable name: use letters, digits and _ (at most 12), "
                             "not pi, e or a function's name.")
    if len(set(names)) != len(names):
        raise InputError("Each variable name once, please.")
    return names


def trace(text: str, values: dict[str, float], requires: set[str]) -> Graph:
    """Run the expression on float64 leaves, record its graph, and replay the backward pass."""
    names = tuple(values)
    formula = compile_formula(text, variables=names, functions=EXTRA)
    leaves = {n: torch.tensor(float(values[n]), dtype=torch.float64, requires_grad=n in requires) for n in names}
    nodes: list[Node] = []
    by_tensor: dict[int, int] = {}  # id(tensor) -> node id
    keep: list[torch.Tensor] = []  # the traced tensors (ids stay unique while they live)
    for n, t in leaves.items():
        by_tensor[id(t)] = len(nodes)
        nodes.append(Node(len(nodes), n, "AccumulateGrad" if t.requires_grad else "", float(t.detach()), leaf=True,
                          requires_grad=t.requires_grad))
        keep.append(t)
    def record(op, result, operands):
        node = Node(len(nodes), op, type(result.grad_fn).__name__ if result.grad_fn is not None else "",
                    float(result.detach()), requires_grad=result.requires_grad)
        by_tensor[id(result)] = node.id
        nodes.append(node)
        keep.append(result)

    with torch.enable_grad():
        out = formula.evaluate(leaves, trace=record)
    if not isinstance(out, torch.Tensor) or id(out) not in by_tensor:
        raise InputError("The expression must compute with its variables, e.g. `(w*x - y)**2`.")
    if not math.isfinite(float(out.detach())):
        raise InputError(f"The expression is {float(out.detach())} at these values: change a value.")
    output = by_tensor[id(out)]
    # Inputs and local derivatives from autograd's own record: each slot of grad_fn.next_functions is one operand,
    # and calling the node with an upstream gradient of 1 gives d(node) / d(operand) for every slot.
    by_fn = {keep[n.id].grad_fn: n.id for n in nodes if not n.leaf and keep[n.id].grad_fn is not None}
    for node in nodes[len(names):]:
        fn = keep[node.id].grad_fn
        if fn is None:
            continue
        with torch.no_grad():
            local = fn(torch.ones_like(keep[node.id]))
        local = local if isinstance(local, tuple) else (local,)
        for (nxt, _), d in zip(fn.next_functions, local, strict=False):
            if nxt is None or d is None:
                continue
            source = by_tensor.get(id(nxt.variable)) if type(nxt).__name__ == "AccumulateGrad" else by_fn.get(nxt)
            if source is not None:
                node.inputs.append(source)
                node.local.append(float(d.detach()))
    steps = []
    grads = {output: 1.0}
    for node in reversed(nodes):
        if node.leaf or not node.inputs or node.id not in grads:
            continue
        upstream = grads[node.id]
        sent = [(i, upstream * d) for i, d in zip(node.inputs, node.local, strict=True)]
        for i, v in sent:
            grads[i] = grads.get(i, 0.0) + v
        steps.append(Step(node.id, upstream, sent))
    wanted = [leaves[n] for n in names if leaves[n].requires_grad]
    by_torch = dict.fromkeys(names)
    if wanted and out.requires_grad:
        result = torch.autograd.grad(out, wanted, retain_graph=True, allow_unused=True)
        for t, g in zip(wanted, result, strict=True):
            by_torch[nodes[by_tensor[id(t)]].op] = float(g) if g is not None else 0.0
    replayed = {nodes[i].op: grads.get(i, 0.0) for i in range(len(names)) if nodes[i].requires_grad}
    return Graph(text, formula.code, nodes, output, steps, replayed, by_torch, _second_backward(out))


def _second_backward(out: torch.Tensor) -> str:
    """What torch says when backward runs twice through a graph whose saved values the first one freed."""
    if not out.requires_grad:
        return ""
    try:
        out.backward()
        out.backward()
    except RuntimeError as exc:
        return str(exc).split(". ")[0] + "."
    return ""  # an expression with no saved values (e.g. a sum) can run backward twice


def dot(graph: Graph, k: int) -> str:
    """The graph in Graphviz DOT, the backward pass shown up to step k (the k-th step's node highlighted)."""
    grads = graph.upstream_after(k)
    current = graph.steps[k - 1].node if 0 < k <= len(graph.steps) else None
    lines = ["digraph {", 'rankdir="BT"', 'node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", '
             'fillcolor="#F7F7F7", color="#BBBBBB"]', 'edge [color="#888888", arrowsize=0.7]']
    for n in graph.nodes:
        grad = grads.get(n.id)
        if n.leaf:
            label = f"{n.op} = {_num(n.value)}"
            if n.requires_grad:
                label += f"\\n.grad = {_num(grad) if grad is not None else '-'}"
            else:
                label += "\\n(no grad)"
            style = 'shape=ellipse, fillcolor="#E3F2FD"' if n.requires_grad else 'shape=ellipse, fillcolor="#EEEEEE"'
        else:
            name = n.grad_fn or ("detached" if n.op == "detach" else "no grad")
            label = f"{_op_label(n.op)}  [{name}]\\nvalue {_num(n.value)}"
            if grad is not None and n.inputs:
                label += f"\\ngrad {_num(grad)}"
            style = 'fillcolor="#FFF3E0"' if n.id == graph.output else ""
        if n.id == current:
            style = 'fillcolor="#FFCC80", color="#E65100", penwidth=2'
        lines.append(f'n{n.id} [label="{label}"{", " + style if style else ""}]')
    for n in graph.nodes:
        for i, d in zip(n.inputs, n.local or [None] * len(n.inputs), strict=True):
            sent = next((v for s in graph.steps[:k] if s.node == n.id for t, v in s.sent if t == i), None)
            edge = f"local {_num(d)}" if d is not None else ""
            if sent is not None:
                edge += f"\\nsends {_num(sent)}"
            color = ', color="#E65100", fontcolor="#E65100"' if current == n.id else ""
            lines.append(f'n{i} -> n{n.id} [label="{edge}", fontsize=9{color}]')
    lines.append("}")
    return "\n".join(lines)


def _op_label(op: str) -> str:
    return op  # the operator as typed (autograd's name follows it: "-  [SubBackward0]" or "-  [NegBackward0]")


def _num(v: float) -> str:
    return f"{v + 0.0:.4g}"  # + 0.0: never "-0"


def graph_code(graph: Graph, values: dict[str, float], requires: set[str]) -> str:
    names = [n.op for n in graph.nodes if n.leaf]
    lines = ["import torch", ""]
    for n in names:
        flag = ", requires_grad=True" if n in requires else ""
        lines.append(f"{n} = torch.tensor({float(values[n])!r}, dtype=torch.float64{flag})")
    lines += [f"out = {graph.code}", f"print(type(out.grad_fn).__name__)  # {graph.nodes[graph.output].grad_fn}"]
    wanted = [n for n in names if n in requires]
    if wanted:
        lines.append(f"grads = torch.autograd.grad(out, [{', '.join(wanted)}])")
        shown = " ".join(repr(round(graph.torch_grads[n], 6)) for n in wanted)
        lines.append(f"print({', '.join(f'round(grads[{i}].item(), 6)' for i in range(len(wanted)))})  # {shown}")
    return "\n".join(lines) + "\n"


EXAMPLES = {  # name -> (expression, variables, values, requires grad)
    "one neuron": ("(tanh(w*x + b) - y)**2", "w, x, b, y", "0.5, 1.5, 0.1, 1.0", "w, b"),
    "a variable used twice": ("x*x + x", "x", "3", "x"),
    "tiny network 1-2-1": ("(v1*relu(w1*x + b1) + v2*relu(w2*x + b2) + c - y)**2", "x, y, w1, b1, w2, b2, v1, v2, c",
                           "1.0, 0.5, 0.8, 0.1, -0.6, 0.2, 0.7, -0.4, 0.05", "w1, b1, w2, b2, v1, v2, c"),
    "logistic loss": ("-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))", "w, x, b, y",
                      "0.8, 2.0, -0.5, 1.0", "w, b"),
    "detach": ("x*detach(x) + y", "x, y", "3, 1", "x, y"),
}


def parse_setup(names_text: str, values_text: str, requires_text: str) -> tuple[dict[str, float], set[str]]:
    """The variables, their values and which require grad, from the three text boxes."""
    from core.parsing import parse_numbers

    names = parse_variables(names_text)
    values = parse_numbers(values_text, max_len=MAX_VARIABLES)
    if len(values) != len(names):
        raise InputError(f"{len(names)} variables ({', '.join(names)}) need {len(names)} values; "
                         f"{len(values)} given.")
    if not all(math.isfinite(v) and abs(v) <= 1e6 for v in values):
        raise InputError("Values must be finite numbers between -1,000,000 and 1,000,000.")
    wanted = [n for n in re.split(r"[\s,;]+", (requires_text or "").strip()) if n]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise InputError(f"`{unknown[0][:20]}` in 'requires grad' is not one of the variables ({', '.join(names)}).")
    return dict(zip(names, values, strict=True)), set(wanted)
