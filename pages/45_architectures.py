import pandas as pd
import streamlit as st

from core import architectures, block_diagrams
from ui import figures_architectures as figures
from ui import links
from ui.common import code_panel, header

NAMES = tuple(architectures.ARCHITECTURES)
DETAIL = {"blocks": 2, "every layer": None, "top level": 1}
PARAMS = {
    "ar_arch": links.Choice("ResNet-18", NAMES),
    "ar_detail": links.Choice("blocks", tuple(DETAIL)),
}

links.bind(PARAMS)
header("Architectures",
       "Landmark networks from `torchvision.models`, built **without weights** on PyTorch's `meta` device: "
       "every shape and parameter count is real, yet not one weight is allocated (VGG-16's 138 million "
       "parameters would take 550 MB). One forward pass with hooks gives each layer's output shape and its "
       "multiply-accumulates.")
c1, c2 = st.columns([2, 3])
c1.selectbox("Architecture", NAMES, key="ar_arch")
c2.radio("Layer table", list(DETAIL), key="ar_detail", horizontal=True,
         help="blocks: modules two levels deep (e.g. layer1.0); every layer: each leaf module")
ss = st.session_state
name = ss.ar_arch
arch = architectures.ARCHITECTURES[name]


@st.cache_data(max_entries=32, show_spinner="Tracing the architecture on the meta device ...")
def _summary(name: str, depth: int | None) -> architectures.ArchSummary:
    return architectures.summarize(name, depth=depth)


@st.cache_data(max_entries=16, show_spinner=False)
def _diagram(name: str) -> str:
    return block_diagrams.block_diagram(name)


summary = _summary(name, DETAIL[ss.ar_detail])
st.markdown(f"**{name}** ({arch.year}). {arch.about}")
m = st.columns(4)  # two aligned rows of metrics
m[0].metric("Parameters", f"{summary.params:,}", help="sum(p.numel() for p in model.parameters())")
if summary.reference_params is not None:
    same = summary.params == summary.reference_params
    m[1].metric("torchvision documents", f"{summary.reference_params:,}",
                delta="same count" if same else "differs", delta_color="normal" if same else "inverse",
                help=f"torchvision.models.{arch.weights}.IMAGENET1K_V1.meta['num_params']")
else:
    m[1].metric("From", "core.models", help="the LeNet-5 the Training studio trains")
m[2].metric("Weights in float32", f"{summary.params * 4 / 2**20:,.1f} MB")
m = st.columns(4)
big = summary.macs > 1e8
m[0].metric("Multiply-accumulates", f"{summary.macs / 1e9:.3f} G" if big else f"{summary.macs:,}",
            help="per image, summed over conv and linear layers: each output value is one dot product")
m[1].metric("FLOPs (about 2 x MACs)", f"{2 * summary.macs / 1e9:.2f} G" if big else f"{2 * summary.macs:,}")
m[2].metric("Input", "x".join(map(str, summary.input_shape)), help="one image: channels x height x width")
m[3].metric("Output", f"{summary.output_shape[0]:,}", help="one score per class")
if summary.reference_gflops is not None:
    st.caption(f"torchvision documents {summary.reference_gflops} GFLOPS for {name} (it counts "
               f"multiply-accumulates): the hooks here count {summary.macs / 1e9:.3f} G.")

st.subheader(f"Key idea: {arch.block}")
dot = _diagram(name)
# wide diagrams (left to right) fill the page; tall ones keep their natural size
st.graphviz_chart(dot, width="stretch" if "rankdir=LR" in dot else "content")
st.caption("Shapes are the real outputs (channels x height x width) traced through the block for one "
           f"{'x'.join(map(str, summary.input_shape))} image.")

st.subheader("Layer table")
table = pd.DataFrame([{"layer": r.name, "type": r.kind, "output shape": " x ".join(map(str, r.output_shape)),
                       "parameters": r.params, "MACs": r.macs, "settings": r.detail} for r in summary.rows])
st.dataframe(table, hide_index=True, width="stretch", height=min(600, 38 + 35 * len(table)), key="ar_table",
             column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                            "MACs": st.column_config.NumberColumn(format="localized")})
st.caption(f"{len(table)} rows; their parameters add up to {int(table['parameters'].sum()):,} and their "
           f"multiply-accumulates to {int(table['MACs'].sum()):,}.")

c1, c2 = st.columns(2)
with c1:
    st.markdown("**Where the parameters are**")
    st.plotly_chart(figures.params_by_kind(_summary(name, None).rows), key="ar_kinds")
with c2:
    st.markdown("**All seven side by side**")
    everyone = [_summary(n, 1) for n in NAMES]
    st.plotly_chart(figures.architecture_bubbles(everyone, name), key="ar_bubbles")
st.caption("VGG spends most of its parameters in the fully connected layers; GoogLeNet, ResNet and DenseNet end "
           "with global average pooling and one small linear layer, so their parameters sit in convolutions.")

code_panel(architectures.architecture_code(summary))
