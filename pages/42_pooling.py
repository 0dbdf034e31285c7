import streamlit as st

from core import images, pooling
from core.convolution import conv_output_size
from ui import figures_networks as figures
from ui import links
from ui.common import code_panel, fail, halt, header

SOURCES = ("MNIST", "CIFAR-10", "Upload")
SAMPLES = 40
KINDS = pooling.MODULES
SCALES = (1.5, 2.0, 3.0, 4.0)
PARAMS = {
    "pl_source": links.Choice("MNIST", SOURCES),
    "pl_index": links.Int(0, 0, SAMPLES - 1),
    "pl_kind": links.Choice("max", tuple(KINDS)),
    "pl_kernel": links.Int(2, 1, 8),
    "pl_stride": links.Int(2, 1, 8),
    "pl_padding": links.Int(0, 0, 3),
    "pl_out": links.Int(7, 1, 16),
    "pl_scale": links.Choice(2.0, SCALES),
    "pl_seed": links.Int(0, 0, 9999),
}

links.bind(PARAMS)
header("Pooling & upsampling",
       "**Pooling** shrinks a feature map: each window of the input becomes one number, its **max** or its "
       "**average**. **Adaptive** pooling picks the windows itself so the output has the size you ask for. "
       "**Upsampling** (`F.interpolate`) goes the other way: **nearest** repeats pixels, **bilinear** blends "
       "neighbours.")

ss = st.session_state


@st.cache_data(show_spinner="Reading sample images ...", max_entries=4)
def _samples(dataset: str):
    return images.sample_images(dataset, SAMPLES)


@st.cache_data(max_entries=8, show_spinner=False)
def _decode(raw: bytes):
    return images.decode_upload(raw)


# ---------------------------------------------------------------------------------------------------------------
st.subheader("1 · Pooling, cell by cell")
st.caption("A 6x6 grid of whole numbers, pooled with 2x2 windows and stride 2. Outlined: the cell each window's "
           "maximum comes from (`return_indices=True`).")


@st.cache_data(max_entries=32, show_spinner=False)
def _small(seed: int):
    return pooling.small_grid(seed)


c1, _ = st.columns([1, 5])
c1.number_input("Seed of the grid", 0, 9999, key="pl_seed")
grid, values, idx, avg = _small(ss.pl_seed)
winners = [divmod(int(i), 6) for i in idx.flatten()]
cols = st.columns(3)
cols[0].plotly_chart(figures.grid(grid, title="input 6x6", highlight=winners, width=330), key="pl_grid_in")
cols[1].plotly_chart(figures.grid(values, title="max pool 2x2 -> 3x3", width=330), key="pl_grid_max")
cols[2].plotly_chart(figures.grid(avg, title="avg pool 2x2 -> 3x3", width=330), key="pl_grid_avg")

# ---------------------------------------------------------------------------------------------------------------
st.subheader("2 · Pooling a real image")
c1, c2 = st.columns([2, 3])
c1.radio("Image", SOURCES, key="pl_source", horizontal=True)
source = ss.pl_source
upload = None
if source == "Upload":
    upload = c2.file_uploader("Your image (shrunk to at most 96 px a side)", key="pl_upload",
                              type=["png", "jpg", "jpeg", "gif", "webp", "bmp"])
else:
    c2.slider("Test image number", 0, SAMPLES - 1, key="pl_index")
c = st.columns(5)
c[0].selectbox("Pooling", list(KINDS), key="pl_kind")
adaptive = ss.pl_kind.startswith("adaptive")
c[1].slider("kernel_size", 1, 8, key="pl_kernel", disabled=adaptive)
c[2].slider("stride", 1, 8, key="pl_stride", disabled=adaptive)
c[3].slider("padding", 0, 3, key="pl_padding", disabled=adaptive)
c[4].slider("output_size (adaptive)", 1, 16, key="pl_out", disabled=not adaptive)
st.select_slider("Upsampling scale_factor (section 3)", SCALES, key="pl_scale")

if source == "Upload":
    if upload is None:
        st.info("Upload an image to pool it, or pick MNIST or CIFAR-10 above.", icon=":material/upload:")
        halt()
    try:
        image = _decode(upload.getvalue())
    except ValueError as exc:
        fail(f"{upload.name}: {exc}")
    label = upload.name
else:
    from core.image_data import DataUnavailable

    try:
        samples, labels = _samples(source)
    except DataUnavailable as exc:
        fail(str(exc))
    image, label = samples[ss.pl_index], f"{source} test image {ss.pl_index}: {labels[ss.pl_index]}"

channels, h, w = image.shape
k, s, p, out_size = ss.pl_kernel, ss.pl_stride, ss.pl_padding, ss.pl_out
if not adaptive:
    problem = pooling.pool_problem(min(h, w), k, s, p)
    if problem:
        fail(f"{KINDS[ss.pl_kind]}({k}, stride={s}, padding={p}) on a {h}x{w} image: {problem}")
pooled = pooling.pool(image, ss.pl_kind, kernel=k, stride=s, padding=p, output_size=out_size)
ph, pw = pooled.shape[1:]

if adaptive:
    call = f"{KINDS[ss.pl_kind]}({out_size})"
    rows = pooling.adaptive_windows(h, out_size)
    sizes = sorted({b - a for a, b in rows})
    how = (f"Adaptive pooling cuts the {h} rows into {out_size} windows: output row i reads input rows "
           f"floor(i*{h}/{out_size}) to ceil((i+1)*{h}/{out_size}); here windows of "
           f"{' or '.join(map(str, sizes))} rows" + (", some overlapping." if any(
               rows[i][1] > rows[i + 1][0] for i in range(len(rows) - 1)) else "."))
else:
    call = f"{KINDS[ss.pl_kind]}(kernel_size={k}, stride={s}, padding={p})"
    how = (f"Output size by the formula: floor(({h} + 2·{p} - {k}) / {s}) + 1 = "
           f"{conv_output_size(h, k, s, p)} rows, floor(({w} + 2·{p} - {k}) / {s}) + 1 = "
           f"{conv_output_size(w, k, s, p)} columns; "
           + ("with stride < kernel the windows overlap." if s < k else
              "with stride > kernel some pixels are skipped." if s > k else "the windows tile the image."))
m = st.columns(3)
m[0].metric("Input", f"{channels}x{h}x{w}")
m[1].metric("Output", f"{channels}x{ph}x{pw}")
m[2].metric("Values kept", f"{pooled[0].numel() / image[0].numel():.1%}")
st.markdown(how)
cols = st.columns(2)
cols[0].plotly_chart(figures.image(image, title=f"input {h}x{w}", height=300), key="pl_img_in")
cols[0].caption(label)
cols[1].plotly_chart(figures.image(pooled, title=f"{ss.pl_kind} pool -> {ph}x{pw}", height=300), key="pl_img_out")
cols[1].caption("Max pooling keeps the strongest pixel of each window (strokes survive); average pooling "
                "blurs them.")

# ---------------------------------------------------------------------------------------------------------------
st.subheader("3 · Upsampling with F.interpolate")
scale = ss.pl_scale
near = pooling.upsample(pooled, scale, "nearest")
bil = pooling.upsample(pooled, scale, "bilinear")
uh, uw = near.shape[1:]
st.markdown(f"The pooled {ph}x{pw} image, interpolated by scale_factor={scale:g} to **{uh}x{uw}**: "
            "`nearest` copies each pixel into a block, `bilinear` blends the four nearest pixels.")
cols = st.columns(2)
cols[0].plotly_chart(figures.image(near, title=f"nearest -> {uh}x{uw}", height=300), key="pl_up_near")
cols[1].plotly_chart(figures.image(bil, title=f"bilinear -> {uh}x{uw}", height=300), key="pl_up_bil")
if (uh, uw) == (h, w):
    mse = {mode: pooling.reconstruction_error(image, up) for mode, up in (("nearest", near), ("bilinear", bil))}
    m = st.columns(2)
    m[0].metric("Error vs the original (nearest)", f"{mse['nearest']:.4f}", help="mean squared difference")
    m[1].metric("Error vs the original (bilinear)", f"{mse['bilinear']:.4f}", help="mean squared difference")
    st.caption("Back at the original size: what pooling threw away does not come back.")
else:
    st.caption(f"Choose a scale that brings the {ph}x{pw} image back to {h}x{w} to compare with the original.")

image_code = images.image_code(source, ss.pl_index, tuple(image.shape), count=SAMPLES,
                               upload_name=upload.name if upload is not None else None)
code_panel(pooling.pooling_code(ss.pl_seed, image_code, image, pooled, near, bil, ss.pl_kind, kernel=k, stride=s,
                                padding=p, output_size=out_size, scale=scale))
