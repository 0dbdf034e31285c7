import pandas as pd
import streamlit as st

from core import batchnorm
from ui import figures_batchnorm as figures
from ui import links
from ui.common import code_panel, header
from ui.figures_networks import lines

MOMENTA = ("0.01", "0.1", "0.3", "0.5", "0.9", "None")
INITS = (0.01, 0.02, 0.05, 0.0625, 0.1, 0.2, 0.5, 1.0)
PARAMS = {
    "bn_batch": links.Int(16, 2, 256),
    "bn_steps": links.Int(10, 1, 100),
    "bn_momentum": links.Choice("0.1", MOMENTA),
    "bn_mean": links.Float(5.0, -10.0, 10.0),
    "bn_std": links.Float(2.0, 0.1, 10.0),
    "bn_seed": links.Int(0, 0, 9999),
    "bn_feature": links.Int(0, 0, 2),
    "bn_depth": links.Int(10, 2, 20),
    "bn_act": links.Choice("tanh", tuple(batchnorm.ACTIVATIONS)),
    "bn_init": links.Choice(0.02, INITS),
    "bn_layer": links.Int(10, 1, 20),
}

links.bind(PARAMS)
header("BatchNorm",
       "`nn.BatchNorm1d` normalises each feature with the **mean and variance of the current batch** while "
       "training, and keeps a **running average** of them in two buffers. In `eval()` mode it uses those "
       "running statistics instead, so one sample's output no longer depends on the others in its batch. "
       "Below: the buffers step by step, train vs eval on the same batch, and what BN does to the activations "
       "of a deep network.")
ss = st.session_state

# ---------------------------------------------------------------------------------------------------------------
st.subheader("1 · Batch statistics vs running statistics")
c = st.columns(6)
c[0].slider("Batch size", 2, 256, key="bn_batch")
c[1].slider("Training steps", 1, 100, key="bn_steps")
c[2].select_slider("momentum", MOMENTA, key="bn_momentum",
                   help="None: a cumulative average (each batch weighs 1/number of batches seen)")
c[3].slider("Data mean", -10.0, 10.0, step=0.5, key="bn_mean", help="Feature j has mean (this + j)")
c[4].slider("Data std", 0.1, 10.0, step=0.1, key="bn_std")
c[5].number_input("Seed", 0, 9999, key="bn_seed")

momentum = None if ss.bn_momentum == "None" else float(ss.bn_momentum)
cfg = batchnorm.BatchNormConfig(features=3, batch=ss.bn_batch, steps=ss.bn_steps, momentum=momentum,
                                mean=ss.bn_mean, std=ss.bn_std, seed=ss.bn_seed)


@st.cache_data(max_entries=64, show_spinner=False)
def _bn(cfg: batchnorm.BatchNormConfig):
    return batchnorm.batchnorm_run(cfg)


run = _bn(cfg)
st.radio("Feature", [0, 1, 2], key="bn_feature", horizontal=True, format_func=lambda j: f"feature {j}")
f = ss.bn_feature
st.plotly_chart(figures.running_stats(run, f), key="bn_running")
k = cfg.steps
m = 1.0 / k if momentum is None else momentum
prev, batch, new = (float(run.running_mean[k - 1, f]), float(run.batch_mean[k - 1, f]),
                    float(run.running_mean[k, f]))
st.latex(rf"\text{{running\_mean}}_{{{k}}} = (1 - {m:.3g})\cdot{prev:.4f} + {m:.3g}\cdot"
         rf"\underbrace{{{batch:.4f}}}_{{\text{{batch mean}}}} = {new:.4f}")
st.caption("The buffers start at mean 0 and variance 1 and move towards the data's statistics at a pace set by "
           "`momentum` (PyTorch's momentum is the weight of the *new* batch). `running_var` is updated with the "
           "unbiased variance (divide by B-1), while the batch itself is normalised with the biased one "
           "(divide by B).")
table = pd.DataFrame({
    "feature": [0, 1, 2],
    "true mean": [cfg.mean + j for j in range(3)],
    "last batch mean": run.batch_mean[-1].tolist(),
    "running_mean (torch)": run.running_mean[-1].tolist(),
    "running_mean (update rule)": run.expected_running_mean[-1].tolist(),
    "last batch var (biased)": run.batch_var[-1].tolist(),
    "running_var (torch)": run.running_var[-1].tolist(),
    "running_var (update rule)": run.expected_running_var[-1].tolist(),
})
st.dataframe(table, hide_index=True, width="stretch", key="bn_table",
             column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns[1:]})
agree = (run.running_mean - run.expected_running_mean).abs().max().item() < 1e-4
st.caption(f"`bn.num_batches_tracked` = {run.num_batches_tracked}. The hand-computed update rule "
           + ("matches torch's buffers." if agree else "DIFFERS from torch's buffers!"))

# ---------------------------------------------------------------------------------------------------------------
st.subheader("2 · train() vs eval() on the same batch")
train_out, eval_out = run.train_out[:, f], run.eval_out[:, f]
mc = st.columns(4)
mc[0].metric("train mode: mean", f"{float(train_out.mean()):.4f}")
mc[1].metric("train mode: std", f"{float(train_out.std(unbiased=False)):.4f}")
mc[2].metric("eval mode: mean", f"{float(eval_out.mean()):.4f}")
mc[3].metric("eval mode: std", f"{float(eval_out.std(unbiased=False)):.4f}")
st.plotly_chart(figures.train_vs_eval(run, f), key="bn_modes")
eval_err = float((run.eval_out - run.eval_manual).abs().max())
train_err = float((run.train_out - run.train_manual).abs().max())
st.markdown(f"In **train** mode the batch comes out with mean 0 and a std just below 1: "
            f"(x - batch mean) / sqrt(batch var + eps) matches `bn(x)` to {train_err:.1e}, so its std is "
            "sqrt(var / (var + eps)), a hair under 1 (eps = 1e-5 matters only when the batch barely varies). "
            "In **eval** mode "
            f"`bn(x)` = (x - running_mean) / sqrt(running_var + eps) (to {eval_err:.1e}): after only {k} step"
            f"{'s' if k > 1 else ''} the running statistics are still far from the data's, so the output is not "
            "centred. Train longer or raise the momentum and the two modes agree.")
code_panel(batchnorm.batchnorm_code(run, f))

# ---------------------------------------------------------------------------------------------------------------
st.subheader("3 · Activations of a deep network, with and without BatchNorm")
st.markdown("A stack of `Linear(256, 256)` -> [`BatchNorm1d`] -> activation layers, weights drawn from "
            "N(0, std²), one batch of 512 random inputs. Without BN, small weights shrink the signal layer "
            "after layer and large ones saturate tanh/sigmoid; with BN every layer starts again from mean 0, "
            "std ≈ 1.")
c = st.columns(4)
c[0].slider("Depth (hidden layers)", 2, 20, key="bn_depth")
c[1].selectbox("Activation", list(batchnorm.ACTIVATIONS), key="bn_act")
c[2].select_slider("Weight std", INITS, key="bn_init", help="1/sqrt(256) = 0.0625 keeps the variance steady")
if ss.bn_layer > ss.bn_depth:
    ss.bn_layer = ss.bn_depth
c[3].slider("Layer to compare", 1, 20, key="bn_layer")

deep = batchnorm.DeepMLPConfig(depth=ss.bn_depth, width=256, activation=ss.bn_act, init_std=ss.bn_init,
                               batch=512, seed=ss.bn_seed)


@st.cache_data(max_entries=64, show_spinner="Running the deep network ...")
def _stats(deep: batchnorm.DeepMLPConfig, with_bn: bool):
    return batchnorm.activation_stats(deep, with_bn)


plain, normed = _stats(deep, False), _stats(deep, True)
cols = st.columns(2)
cols[0].plotly_chart(figures.activation_density(plain.edges, plain.counts, title="without BatchNorm"),
                     key="bn_dens_off")
cols[1].plotly_chart(figures.activation_density(normed.edges, normed.counts, title="with BatchNorm"),
                     key="bn_dens_on")
st.caption("Each row is one layer's histogram (darker = more units at that value).")
layer = ss.bn_layer - 1
cols = st.columns(2)
cols[0].plotly_chart(lines(list(range(1, deep.depth + 1)), {"without BN": plain.std.tolist(), "with BN": normed.std.tolist()},
                           x_title="layer", y_title="std of activations (log)", log_y=True,
                           title="Spread of the activations"), key="bn_std_fig")
cols[1].plotly_chart(figures.histogram_pair(plain.edges, plain.counts[layer], normed.counts[layer],
                                            ("without BN", "with BN"), title=f"Layer {layer + 1}"), key="bn_hist")
mc = st.columns(3)
mc[0].metric(f"Std at layer {deep.depth}, without BN", f"{float(plain.std[-1]):.2e}")
mc[1].metric(f"Std at layer {deep.depth}, with BN", f"{float(normed.std[-1]):.3f}")
if deep.activation != "relu":
    mc[2].metric(f"Saturated units at layer {deep.depth} without BN", f"{float(plain.saturated[-1]):.0%}",
                 help="within 2% of the activation's limits, where its gradient is almost 0")
code_panel(batchnorm.deep_code(deep, plain, normed), title="PyTorch code: the deep network")
