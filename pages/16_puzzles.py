import numpy as np
import streamlit as st
import torch

from core import puzzles
from core.parsing import InputError
from ui import figures_tensors as figures
from ui import links
from ui.common import code_panel, escape_markdown, header

NAMES = tuple(puzzles.PUZZLES)
PARAMS = {"pz_puzzle": links.Choice("outer", NAMES), "pz_seed": links.Int(0, 0, 10_000),
          # one answer per puzzle: the link carries what was solved
          **{f"pz_a_{n}": links.Text("", max_len=300, refused=("a.sum()", "__import__('os')") if n == "outer" else (),
                                     accepted="a[:, None] * b" if n == "outer" else "",
                                     shown_with=(("pz_puzzle", n),)) for n in NAMES}}

links.bind(PARAMS)
header("Tensor puzzles", "Write each loop below as **one expression, without a loop**: broadcasting, indexing, "
       "`arange(n)` and `where(cond, x, y)`, with `+ - * / // % @`, comparisons and `& | ~`. Your answer is "
       "checked on random inputs of random sizes; a wrong one shows the first input where it fails.")
ss = st.session_state


@st.cache_data(max_entries=512, show_spinner=False)
def _check(name: str, answer: str, seed: int):
    try:
        return puzzles.check(name, answer, seed), None
    except InputError as exc:
        return None, str(exc)


def _solved(name: str) -> bool:
    answer = ss.get(f"pz_a_{name}", "")
    return bool(answer.strip()) and bool((_check(name, answer, 0)[0] or puzzles.Result(False, 0, None)).solved)


done = [n for n in NAMES if _solved(n)]
c1, c2, c3 = st.columns([3, 1, 1])
c1.selectbox("Puzzle", NAMES, key="pz_puzzle",
             format_func=lambda n: f"{'✓ ' if n in done else ''}{NAMES.index(n) + 1}. {puzzles.PUZZLES[n].title}")
c2.metric("solved", f"{len(done)} of {len(NAMES)}")
c3.number_input("inputs seed", 0, 10_000, key="pz_seed", help="Check on another set of random inputs")
name = ss["pz_puzzle"] or "outer"
p = puzzles.PUZZLES[name]
left, right = st.columns([1, 1])
with left:
    st.markdown(f"**{p.title}**: given `{p.signature}`, compute `out`:")
    st.code(p.spec, language="python")
with right:
    inputs, expected = puzzles.example(name)
    st.markdown("**Example**")
    st.code("\n".join(f"{k} = {v.tolist() if isinstance(v, torch.Tensor) else v}" for k, v in inputs.items())
            + f"\nout = {expected.tolist()}", language="python", wrap_lines=True)
key = f"pz_a_{name}"
st.text_area("Your answer (one expression)", key=key, height=80, placeholder="e.g. a[:, None] * b[None, :]")
answer = ss[key]
if answer.strip():
    result, error = _check(name, answer, ss["pz_seed"])
    if error:
        st.error(f"{escape_markdown(error)}", icon=":material/block:")
    elif result.solved:
        st.success(f"Solved: {result.passed} random inputs of random sizes give exactly the loop's output.",
                   icon=":material/check_circle:")
    else:
        f = result.failure
        st.error(f"Input {result.passed + 1} of {puzzles.CASES} fails. {escape_markdown(f.message)}",
                 icon=":material/close:")
        tensors = {k: v for k, v in f.inputs.items() if isinstance(v, torch.Tensor)}
        sizes = {k: v for k, v in f.inputs.items() if not isinstance(v, torch.Tensor)}
        if sizes:
            st.caption("with " + ", ".join(f"{k} = {v}" for k, v in sizes.items()))
        cols = st.columns(len(tensors) + 2)
        for col, (k, v) in zip(cols, tensors.items(), strict=False):
            col.plotly_chart(figures.grid(v.numpy(), title=k), key=f"pz_in_{k}")
        diff = None
        if f.produced is not None and tuple(f.produced.shape) == tuple(f.expected.shape):
            diff = (f.produced.to(torch.float64) != f.expected.to(torch.float64)).numpy()
        cols[-2].plotly_chart(figures.grid(f.expected.numpy(), title="expected", colorscale="Greens",
                                           highlight=diff), key="pz_expected")
        if f.produced is not None:
            produced = f.produced.to(torch.float64) if f.produced.dtype == torch.bool else f.produced
            cols[-1].plotly_chart(figures.grid(np.asarray(produced), title="your answer", colorscale="Oranges",
                                               highlight=diff), key="pz_produced")
with st.expander("Hint 1", icon=":material/lightbulb:"):
    st.markdown(p.hints[0])
with st.expander("Hint 2", icon=":material/lightbulb:"):
    st.markdown(p.hints[1])
with st.expander("A solution", icon=":material/key:"):
    st.code(p.solution, language="python")
code_panel(puzzles.puzzle_code(name, answer, _solved(name)))
