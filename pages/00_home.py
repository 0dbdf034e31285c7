import streamlit as st

from core.system import runtime_info
from ui import nav

st.title("PyTorch Lab")
st.markdown(
    "Learn PyTorch by moving sliders and watching **real PyTorch** compute. Every picture here comes from "
    "`torch` itself: shapes, gradients, `torch.optim` trajectories and networks trained on real MNIST and "
    "CIFAR-10. Each lesson shows the exact PyTorch code that ran, ready to copy."
)


@st.cache_resource(show_spinner="Loading PyTorch ...")
def _info():
    return runtime_info()


info = _info()
cols = st.columns(4)
cols[0].metric("PyTorch", info.torch_version)
cols[1].metric("Device", info.device.upper(), help=info.device_name)
cols[2].metric("CPU threads", info.threads)
cols[3].metric("Python", info.python_version)
if info.device == "cpu":
    st.caption("No GPU here: everything runs on the CPU, which is all the lessons need.")

SECTION_TEXT = {
    "Tensors": "The operations that confuse learners most, drawn cell by cell.",
    "Functions & gradients": "Functions and their gradients, both computed by autograd.",
    "Optimization": "The real `torch.optim` optimizers racing across 2D landscapes.",
    "Playground": "A small network learning 2D points, every neuron drawn, in the spirit of TensorFlow Playground.",
    "Networks": "What a network is made of: convolution, pooling, normalisation, dropout, architectures.",
    "Sequences & attention": "Embeddings, recurrent networks, attention and a tiny transformer trained live.",
    "Training": "Train real models on MNIST and CIFAR-10 and look inside them.",
}

present = {lesson.path for lesson in nav.lessons()}
for section, group in nav.SECTIONS.items():
    group = [lesson for lesson in group if lesson.path in present]
    if not group:
        continue
    st.subheader(section)
    st.caption(SECTION_TEXT.get(section, ""))
    cols = st.columns(3)
    for i, lesson in enumerate(group):
        with cols[i % 3], st.container(border=True):
            st.page_link(str(nav.ROOT / lesson.path), label=lesson.title, icon=lesson.icon)
            st.caption(lesson.blurb)
