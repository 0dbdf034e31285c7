import math

import pandas as pd
import streamlit as st

from core import recurrent, recurrent_code
from core.parsing import InputError
from core.recurrent import CELLS, GATES, TASKS, FlowConfig, SeqConfig
from ui import figures_sequences as figures
from ui import links
from ui.common import code_panel, fail, header

LABELS = {"train": "train on a toy task", "gradients": "gradients through time", "lstm": "inside an LSTM"}
CELL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
HIDDEN = (8, 16, 32, 48)
STEPS = (50, 100, 150, 200)
PARAMS = {
    "rn_part": links.Choice("train", tuple(LABELS)),
    "rn_task": links.Choice("parity", tuple(TASKS)),
    "rn_cell": links.Choice("lstm", tuple(CELLS)),
    "rn_len": links.Int(12, 4, 16),
    "rn_hidden": links.Choice(32, HIDDEN),
    "rn_delay": links.Int(3, 1, 10),
    "rn_steps": links.Choice(150, STEPS),
    "rn_seed": links.Int(0, 0, 10_000),
    "rn_example": links.Int(0, 0, 1000),
    "rn_flen": links.Int(40, 10, 100),
    "rn_fbias": links.Float(1.0, -3.0, 3.0),
    "rn_isize": links.Int(3, 1, 8),
    "rn_lhidden": links.Int(4, 1, 8),
}

links.bind(PARAMS)
header("Recurrent networks", "A recurrent net reads a sequence one step at a time and carries a **hidden state** "
       "from step to step: `h_t = f(x_t, h_(t-1))`. Train `nn.RNN`, `nn.LSTM` or `nn.GRU` on a toy task and watch "
       "the hidden state; then see why a plain RNN forgets (its gradient shrinks at every step back in time) and "
       "what the LSTM's four gates compute.")
st.segmented_control("Part", tuple(LABELS), key="rn_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


@st.cache_data(max_entries=32, show_spinner="Training (about a second) ...")
def _train(cfg: SeqConfig) -> dict:
    run = recurrent.train(cfg)
    return dict(run=run, code=recurrent_code.recurrent_code(cfg, run))


@st.cache_data(max_entries=64, show_spinner=False)
def _trained(cfg: SeqConfig, example_seed: int) -> dict:
    """The cached run and one fresh sequence through it (another example does not train again)."""
    r = _train(cfg)
    return dict(r, example=recurrent.example(r["run"], example_seed))


@st.cache_data(max_entries=32, show_spinner=False)
def _flows(cfg: FlowConfig) -> dict:
    flows = {cell: recurrent.gradient_flow(cell, cfg) for cell in CELLS}
    return dict(flows=flows, decay={cell: recurrent.decay_per_step(flow) for cell, flow in flows.items()},
                code={cell: recurrent_code.flow_code(cell, cfg, flows[cell]) for cell in ("rnn", "lstm")})


@st.cache_data(max_entries=32, show_spinner=False)
def _lstm(input_size: int, hidden: int, seed: int) -> dict:
    shapes = recurrent.lstm_parameter_shapes(input_size, hidden)
    step = recurrent.lstm_step(input_size, hidden, seed)
    lstm = recurrent.build_model("lstm", input_size, hidden, 1, seed, forget_bias=0.0).rnn  # lstm_step's weights
    return dict(shapes=shapes, step=step, w_ih=lstm.weight_ih_l0.detach(), w_hh=lstm.weight_hh_l0.detach(),
                code=recurrent_code.lstm_code(input_size, hidden, seed, shapes, step))


def train_part():
    c = st.columns([2.2, 1.4, 1, 1], vertical_alignment="bottom")
    c[0].selectbox("Task", tuple(TASKS), key="rn_task", format_func=lambda t: TASKS.get(t, t))
    c[1].segmented_control("Cell", tuple(CELLS), key="rn_cell", required=True,
                           format_func=lambda k: CELL_NAMES.get(k, k))
    c[2].number_input("seed", 0, 10_000, key="rn_seed", help="The first weights and the batches")
    c[3].number_input("example", 0, 1000, key="rn_example", help="Which fresh sequence to look inside")
    c = st.columns(4)
    c[0].slider("length T", 4, 16, key="rn_len")
    c[1].select_slider("hidden size H", HIDDEN, key="rn_hidden")
    c[2].select_slider("Adam steps", STEPS, key="rn_steps")
    c[3].slider("delay k (echo)", 1, 10, key="rn_delay", disabled=ss["rn_task"] != "echo",
                help="Echo only: the target at step t is the input at step t − k")
    echo = ss["rn_task"] == "echo"
    cfg = SeqConfig(task=ss["rn_task"], cell=ss["rn_cell"], seq_len=ss["rn_len"], hidden=ss["rn_hidden"],
                    delay=ss["rn_delay"] if echo else SeqConfig.delay, steps=ss["rn_steps"], seed=ss["rn_seed"])
    try:
        r = _trained(cfg, ss["rn_example"])
    except InputError as exc:
        fail(str(exc))
    run, ex = r["run"], r["example"]
    m = st.columns(5)
    m[0].metric("accuracy per step", f"{run.accuracy:.1%}", f"{run.accuracy - run.chance:+.1%} vs chance",
                help="On 1,000 fresh sequences; steps with nothing to predict (echo's first k) left out")
    m[1].metric("chance", f"{run.chance:.1%}", help="1 / classes: guessing")
    m[2].metric("whole sequences right", f"{run.sequence_accuracy:.1%}")
    m[3].metric("last loss", f"{run.losses[-1]:.4f}")
    m[4].metric("training time", f"{run.seconds:.1f} s")
    c = st.columns(2)
    classes = recurrent.task_sizes(cfg.task, cfg.seq_len)[1]
    c[0].plotly_chart(figures.loss_curve(run.losses, math.log(classes)), key="rn_loss_fig")
    c[1].plotly_chart(figures.hidden_state(ex.hidden, ex.x), key="rn_hidden_fig")
    st.plotly_chart(figures.answers(ex.x, ex.y, ex.pred, recurrent.IGNORE), key="rn_answers_fig")
    st.markdown(
        f"**What to notice.** {TASKS[cfg.task]}: the answer at step t depends on the inputs before it, so the net "
        "must keep what matters in h. Parity needs one bit carried through every step; the plain RNN often stalls "
        "near chance, while LSTM and GRU learn it in a few dozen steps. In the hidden state some units flip "
        "exactly when the running answer changes: that is the memory. Echo needs the last k inputs: raise the "
        "delay and the RNN loses track first.")
    code_panel(r["code"])


def gradients_part():
    c = st.columns([2, 1.3, 2, 1])
    c[0].slider("length T", 10, 100, key="rn_flen")
    c[1].select_slider("hidden size H", HIDDEN, key="rn_hidden")
    c[2].slider("LSTM forget-gate bias", -3.0, 3.0, step=0.5, key="rn_fbias",
                help="Added to the forget gate's bias at init: f starts near sigmoid(bias)")
    c[3].number_input("seed", 0, 10_000, key="rn_seed")
    cfg = FlowConfig(seq_len=ss["rn_flen"], hidden=ss["rn_hidden"], forget_bias=ss["rn_fbias"], seed=ss["rn_seed"])
    try:
        r = _flows(cfg)
    except InputError as exc:
        fail(str(exc))
    flows, far = r["flows"], min(20, cfg.seq_len - 1)
    m = st.columns(4)
    for i, cell in enumerate(CELLS):
        m[i].metric(f"{CELL_NAMES[cell]}: × per step", f"{r['decay'][cell]:.3f}",
                    help="The average factor the gradient norm shrinks by per step back, from 1 to T − 1 steps")
    ratio = (flows["lstm"].norms[far] / flows["rnn"].norms[far]).item()
    m[3].metric(f"LSTM ÷ RNN, {far} back", f"{ratio:.1e}" if math.isfinite(ratio) else "inf",
                help=f"How much more gradient reaches the input {far} steps back through the LSTM")
    chart = {CELL_NAMES[cell]: (flow.distance, flow.norms) for cell, flow in flows.items()}
    st.plotly_chart(figures.gradient_flow(chart), key="rn_flow_fig")
    st.markdown(
        "**Why.** The loss is computed at the last step only; autograd sends its gradient back to every input. "
        "Through a tanh RNN, each step back multiplies it by `Wₕₕᵀ · diag(1 − h²)`, a matrix whose norm is below 1 "
        f"here: the gradient shrinks by about {r['decay']['rnn']:.2f} per step, a straight line on this log scale, "
        f"and {far} steps back almost nothing is left to learn from. The LSTM's cell state is updated by "
        "`c_t = f ⊙ c_(t-1) + i ⊙ g`: along c the gradient is only multiplied by the forget gate f, close to 1 "
        "when its bias is high. Move the forget-gate bias: at −3 the LSTM forgets as fast as the RNN, at +3 it "
        "keeps nearly everything. (These are freshly initialised nets; training changes the factors.)")
    code_panel(r["code"]["rnn"], title="PyTorch code: the RNN's gradient through time")
    code_panel(r["code"]["lstm"], title="PyTorch code: the LSTM's gradient through time")


def lstm_part():
    c = st.columns([2, 2, 1])
    c[0].slider("input size I", 1, 8, key="rn_isize")
    c[1].slider("hidden size H", 1, 8, key="rn_lhidden")
    c[2].number_input("seed", 0, 10_000, key="rn_seed")
    size, hidden = ss["rn_isize"], ss["rn_lhidden"]
    r = _lstm(size, hidden, ss["rn_seed"])
    m = st.columns(4)
    m[0].metric("max difference", f"{r['step'].max_difference:.1e}",
                help="max |h, c by hand − nn.LSTM's own step|: float32 rounding only")
    m[1].metric("weight_ih_l0", str(r["shapes"][0].torch_shape))
    m[2].metric("weight_hh_l0", str(r["shapes"][1].torch_shape))
    m[3].metric("parameters", f"{sum(math.prod(row.torch_shape) for row in r['shapes']):,}",
                help="4H(I + H) + 8H: two biases of 4H")
    st.dataframe(pd.DataFrame({"parameter": [row.name for row in r["shapes"]],
                               "shape (4 gate blocks)": [str(row.shape) for row in r["shapes"]],
                               "nn.LSTM's shape": [str(row.torch_shape) for row in r["shapes"]],
                               "applied to": [row.multiplies for row in r["shapes"]]}),
                 hide_index=True, key="rn_shapes")
    blocks = r["shapes"][0].blocks
    st.markdown("Each parameter stacks the four gates' blocks of H rows, in this order:\n\n"
                "| gate | rows | what it does |\n|---|---|---|\n"
                + "\n".join(f"| **{g}** ({GATES[k][1]}) | {lo}:{hi} | {meaning} |"
                            for k, (g, lo, hi, meaning) in enumerate(blocks)))
    gates = [f"{g} ({name})" for g, name, _ in GATES]
    c = st.columns([size + 4, hidden + 4])
    c[0].plotly_chart(figures.lstm_weights(r["w_ih"], gates, "input x_t", "weight_ih_l0 (4H × I)"),
                      key="rn_wih_fig")
    c[1].plotly_chart(figures.lstm_weights(r["w_hh"], gates, "h_(t-1)", "weight_hh_l0 (4H × H)"),
                      key="rn_whh_fig")
    st.latex(r"\begin{aligned} z &= W_{ih}\,x_t + b_{ih} + W_{hh}\,h_{t-1} + b_{hh} = [z_i;\ z_f;\ z_g;\ z_o] \\ "
             r"i,\ f,\ o &= \sigma(z_i),\ \sigma(z_f),\ \sigma(z_o), \qquad g = \tanh(z_g) \\ "
             r"c_t &= f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t) \end{aligned}")
    st.plotly_chart(figures.gate_values(r["step"], [*gates, "c_t (new cell)", "h_t (new hidden)"]),
                    key="rn_gates_fig")
    st.caption("One step from a random x_t, h_(t-1) and c_(t-1), computed from the stacked weights with "
               "`z.chunk(4)`, equal to `nn.LSTM`'s own step. i, f and o lie in (0, 1): they are fractions. "
               "g and h lie in (−1, 1); c is not squashed and can grow, which is what lets it carry information.")
    code_panel(r["code"])


PARTS = {"train": train_part, "gradients": gradients_part, "lstm": lstm_part}
PARTS[ss["rn_part"] or "train"]()
