import pandas as pd
import streamlit as st

from core import autograd_graph
from core.parsing import InputError
from ui import links
from ui.common import code_panel, escape_markdown, fail, header

PARAMS = {  # the defaults are the "one neuron" example
    "ag_expr": links.Text("(tanh(w*x + b) - y)**2", max_len=200, refused=("__import__('os')", "w.grad"),
                          accepted="(w*x + b - y)**2"),
    "ag_vars": links.Text("w, x, b, y", max_len=120, refused=("w, w", "1x"), accepted="y, x, b, w"),
    "ag_vals": links.Text("0.5, 1.5, 0.1, 1.0", max_len=200, refused=("a, b", "1, 2"), accepted="0.4, 1.5, 0.1, 1.0"),
    "ag_req": links.Text("w, b", max_len=120, refused=("z", "w, q"), accepted="w"),
    "ag_step": links.Int(0, 0, 200),
}

links.bind(PARAMS)
header("Autograd graph", "Every operation on a tensor that requires grad is **recorded**: `out.grad_fn` is the last "
       "node, and each node's `next_functions` point back to the nodes that made its inputs. `backward()` walks "
       "this graph from the output to the leaves. Type an expression, then step through the backward pass one "
       "node at a time.")
ss = st.session_state


def _use_example():
    choice = ss.get("ag_example")
    if choice in autograd_graph.EXAMPLES:
        ss["ag_expr"], ss["ag_vars"], ss["ag_vals"], ss["ag_req"] = autograd_graph.EXAMPLES[choice]
        ss["ag_step"] = 0
    ss["ag_example"] = None


st.pills("Examples", list(autograd_graph.EXAMPLES), key="ag_example", on_change=_use_example)
st.text_input("Expression (variables, numbers, + - * / **, and sin, cos, tanh, exp, log, sqrt, abs, sigmoid, relu, "
              "detach ...)", key="ag_expr")
c = st.columns(3)
c[0].text_input("Variables", key="ag_vars", help="Names separated by commas, at most 10")
c[1].text_input("Their values", key="ag_vals")
c[2].text_input("requires_grad=True for", key="ag_req", help="The leaves whose .grad you want")
try:
    values, requires = autograd_graph.parse_setup(ss["ag_vars"], ss["ag_vals"], ss["ag_req"])
    graph = autograd_graph.trace(ss["ag_expr"], values, requires)
except InputError as exc:
    fail(str(exc))

steps = graph.steps
ss["ag_step"] = min(ss["ag_step"], len(steps))
out = graph.nodes[graph.output]
m = st.columns([1, 1.6, 1, 1])
m[0].metric("out", f"{out.value:.6g}")
m[1].metric("out.grad_fn", out.grad_fn or "None")
m[2].metric("graph nodes", sum(1 for n in graph.nodes if not n.leaf), help="operations recorded (leaves not counted)")
m[3].metric("backward steps", len(steps))
if not steps:
    st.info("Nothing requires grad, so autograd recorded nothing to walk back: set `requires_grad=True` for a "
            "variable.", icon=":material/info:")
else:
    st.slider("Backward step (0: the forward pass only)", 0, len(steps), key="ag_step")
k = ss["ag_step"]
st.graphviz_chart(autograd_graph.dot(graph, k))
st.caption("Ellipses: leaves (blue: requires grad). Boxes: recorded operations with autograd's node name, their "
           "value and, once the backward pass reaches them, their gradient. Edge labels: the local derivative, "
           "and what the node sent back along that edge.")
if k:
    step = steps[k - 1]
    node = graph.nodes[step.node]
    sent = ", ".join(f"**{v:.4g}** to `{graph.nodes[i].op}`" + (" (a leaf: added to its .grad)"
                                                                    if graph.nodes[i].leaf else "")
                     for i, v in step.sent)
    local = ", ".join(f"{d:.4g}" for d in node.local)
    st.markdown(f"**Step {k} of {len(steps)}**: `{node.grad_fn}` ({escape_markdown(node.op)}, value "
                f"{node.value:.4g}) receives the upstream gradient **{step.upstream:.4g}** = d out / d(this node). "
                f"It multiplies it by its local derivative{'s' if len(node.local) > 1 else ''} ({local}) and sends "
                f"{sent}.")
    targets = [i for i, _ in step.sent]
    twice = [i for i in set(targets) if targets.count(i) > 1 or any(
        i in [t for t, _ in s.sent] for s in steps[:k - 1])]
    if twice:
        st.caption("A node reached along two paths adds up what arrives: gradients **accumulate** "
                   f"({', '.join(graph.nodes[i].op for i in twice)}).")
if requires:
    rows = [{"leaf": name, "replayed step by step": graph.leaf_grads.get(name),
             "torch.autograd.grad": graph.torch_grads.get(name)} for name in values if name in requires]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="ag_grads",
                 column_config={c: st.column_config.NumberColumn(format="%.10g")
                                for c in ("replayed step by step", "torch.autograd.grad")})
with st.expander("retain_grad, detach and retain_graph", icon=":material/lightbulb:"):
    st.markdown("- After `backward()` only **leaves** that require grad keep a `.grad`; an intermediate `t` keeps "
                "one only after `t.retain_grad()` (reading it otherwise gives None and a warning).\n"
                "- `detach(t)` returns the same value **outside** the graph: nothing flows back through it (try "
                "the *detach* example: x's gradient counts only the first factor).\n"
                "- `backward()` frees the values the nodes saved for it. Run it a second time and torch says: "
                f"*{escape_markdown(graph.second_backward or 'nothing (this graph saved no values)')}* "
                "Pass `retain_graph=True` to the first call to keep them.")
code_panel(autograd_graph.graph_code(graph, values, requires))
