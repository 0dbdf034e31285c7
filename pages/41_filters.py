import streamlit as st

from core import filters, images
from ui import figures_networks as figures
from ui import links
from ui.common import code_panel, escape_markdown, fail, halt, header

SOURCES = ("MNIST", "CIFAR-10", "Upload")
SAMPLES = 40
DEFAULT_FILTERS = ["edge: vertical (Sobel x)", "edge: horizontal (Sobel y)", "blur: Gaussian", "sharpen"]
PARAMS = {
    "fl_source": links.Choice("MNIST", SOURCES),
    "fl_index": links.Int(0, 0, SAMPLES - 1),
    "fl_filters": links.Multi(DEFAULT_FILTERS, tuple(filters.FILTERS)),
    "fl_random": links.Int(2, 0, 8),
    "fl_seed": links.Int(0, 0, 9999),
    "fl_relu": links.Bool(False),
    "fl_grey": links.Bool(False),
}

links.bind(PARAMS)
header("Filters on an image",
       "A convolution layer is a bank of small kernels. Hand-made kernels find **edges**, **blur** or **sharpen**; "
       "a network *learns* its own. Here one `nn.Conv2d` holds the kernels you pick (and a few random ones, like "
       "an untrained network) and runs on a real MNIST or CIFAR-10 image, or on yours: one **feature map** per "
       "output channel.")


@st.cache_data(show_spinner="Reading sample images ...", max_entries=4)
def _samples(dataset: str):
    return images.sample_images(dataset, SAMPLES)


@st.cache_data(max_entries=8, show_spinner=False)
def _decode(raw: bytes, grey: bool):
    return images.decode_upload(raw, grey=grey)


c1, c2, c3 = st.columns([2, 3, 1])
c1.radio("Image", SOURCES, key="fl_source", horizontal=True)
source = st.session_state.fl_source
if source == "Upload":
    upload = c2.file_uploader("Your image (it is shrunk to at most 96 px a side)", key="fl_upload",
                              type=["png", "jpg", "jpeg", "gif", "webp", "bmp"])
else:
    upload = None
    c2.slider("Test image number", 0, SAMPLES - 1, key="fl_index")
c3.toggle("Grey", key="fl_grey", help="Filter the grey level only (one input channel)")
c1, c2, c3, c4 = st.columns([4, 2, 1, 1], vertical_alignment="bottom")
c1.multiselect("Hand-made kernels", list(filters.FILTERS), key="fl_filters", wrap=True)
c2.slider("Random kernels", 0, 8, key="fl_random", help="Like the filters of an untrained network")
c3.number_input("Seed", 0, 9999, key="fl_seed")
c4.toggle("ReLU", key="fl_relu", help="Apply ReLU to the maps, as a CNN does after each convolution")

ss = st.session_state
if source == "Upload":
    if upload is None:
        st.info("Upload an image to filter it, or pick MNIST or CIFAR-10 above.", icon=":material/upload:")
        halt()
    try:
        image = _decode(upload.getvalue(), ss.fl_grey)
    except ValueError as exc:
        fail(f"{escape_markdown(upload.name)}: {exc}")
    label = upload.name
else:
    from core.image_data import DataUnavailable

    try:
        samples, labels = _samples(source)
    except DataUnavailable as exc:
        fail(str(exc))
    image, label = samples[ss.fl_index], f"{source} test image {ss.fl_index}: {labels[ss.fl_index]}"
    if ss.fl_grey and image.shape[0] == 3:
        image = image.mean(0, keepdim=True)

names = tuple(ss.fl_filters) + (filters.RANDOM_FILTER,) * ss.fl_random
if not names:
    fail("Pick at least one kernel or add a random one.")
run = filters.apply_filters(image, names, seed=ss.fl_seed, relu=ss.fl_relu)
channels, height, width = image.shape
titles = filters.titles(names)

st.subheader("The image and the kernels")
c1, c2 = st.columns([1, 3])
c1.plotly_chart(figures.image(image, title=None, height=230), key="fl_image")
c1.caption(f"{label} · {channels}x{height}x{width}")
# A kernel as it acts on the grey level: its weights summed over the input channels.
c2.plotly_chart(figures.maps(run.weight.sum(1), titles, cols=min(6, len(names)), text=True, panel_height=150),
                key="fl_kernels")
c2.caption(f"`conv.weight` has shape {tuple(run.weight.shape)} (out_channels, in_channels, 3, 3); shown summed "
           "over the input channels. Red = positive, blue = negative weights.")

st.subheader(f"{len(names)} feature maps: one per output channel")
map_titles = [f"{t} (max {float(m.abs().max()):.2f})" for t, m in zip(titles, run.maps, strict=True)]
st.plotly_chart(figures.maps(run.maps, map_titles, cols=4, panel_height=200 if max(height, width) <= 40 else 240),
                key="fl_maps")
st.caption("Each map has its own colour range: red where the kernel responds positively, blue negatively, white "
           "near 0. Edge kernels light up where brightness changes; blur smooths; sharpen exaggerates. A frame "
           "along the border comes from `padding=1`: the zero padding looks like a black edge around the image.")
m = st.columns(3)
m[0].metric("Output shape", "x".join(map(str, (1, *run.maps.shape))))
m[1].metric("Parameters", f"{run.weight.numel():,}", help="out_channels x in_channels x 3 x 3, no bias")
m[2].metric("Strongest response", f"{float(run.maps.abs().max()):.3f}")

image_code = images.image_code(source, ss.fl_index, tuple(image.shape), count=SAMPLES, grey=ss.fl_grey,
                               upload_name=upload.name if upload is not None else None)
code_panel(filters.filters_code(run, image_code, seed=ss.fl_seed, relu=ss.fl_relu))
