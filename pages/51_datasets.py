import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from core import batches, datasets, image_folders, shared_server
from core.image_data import DataError, DataUnavailable, ImageData
from ui import figures_training as figures
from ui import links, uploads
from ui.common import code_panel, escape_markdown, halt, header
from ui.plots import COLORS, plain, style

SOURCES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "custom": "My images"}
SIZES = (16, 28, 32, 48, 64)
PARAMS = {
    "dsb_dataset": links.Choice("mnist", tuple(SOURCES)),
    "dsb_per_class": links.Int(8, 4, 16),
    "dsb_seed": links.Int(0, 0, 10_000),
    "dsb_split": links.Choice("train", ("train", "test")),
    "dsb_cifar_path": links.Text("", max_len=300),
    "dsb_size": links.Choice(32, SIZES),
    "dsb_gray": links.Bool(False),
}

links.bind(PARAMS)
header("Datasets", "The images the Training studio learns from, as PyTorch holds them: **uint8 tensors** of shape "
       "`(N, C, H, W)`, decoded once and kept in memory, so a training step only indexes a batch and normalises "
       "it. MNIST ships inside the app; Fashion-MNIST and CIFAR-10 are read from disk when present; your own "
       "images load from a folder or a zip, like `torchvision.datasets.ImageFolder('path')`.")
ss = st.session_state

st.subheader("Where the data comes from")
st.dataframe(pd.DataFrame([{"dataset": s.dataset, "available": "yes" if s.available else "no", "source": s.where}
                           for s in datasets.sources(ss["dsb_cifar_path"] or None)]),
             hide_index=True, width="stretch", key="dsb_sources")

st.segmented_control("Dataset", list(SOURCES), format_func=SOURCES.get, key="dsb_dataset", required=True)
name = ss["dsb_dataset"]

# --- your own images -----------------------------------------------------------------------------------------
if name == "custom":
    st.markdown("A folder with one sub-folder per class (`pets/cat/*.jpg`, `pets/dog/*.jpg`), or a zip of it. "
                "With `train/` and `test/` sub-folders those splits are used; otherwise 20% of each class becomes "
                "the test set. Every image is resized (squashed) to the size you choose.")
    c1, c2 = st.columns(2)
    c1.select_slider("Image size", SIZES, format_func=lambda s: f"{s} x {s}", key="dsb_size")
    c2.toggle("Grayscale (1 channel)", key="dsb_gray")
    tab_zip, tab_folder = st.tabs(["Upload a zip", "Folder on this machine"])
    source = None
    with tab_zip:
        upload = st.file_uploader("Zip of class folders", type=["zip"], key="dsb_zip", max_upload_size=200)
        if upload is not None and st.button("Load the zip", key="dsb_load_zip", type="primary"):
            source = upload
    with tab_folder:
        if shared_server.shared():
            st.caption("This app runs on a shared server: it reads folders only from the data folders its host set "
                       "up. To use your own images, upload a zip.")
        st.text_input("Folder path", key="dsb_folder", placeholder="/path/to/pets")
        if st.button("Load the folder", key="dsb_load_folder", disabled=not ss.get("dsb_folder")):
            source = ss["dsb_folder"]
    if source is not None:
        bar = st.progress(0.0, text="Decoding images ...")
        options = dict(size=int(ss["dsb_size"]), channels=1 if ss["dsb_gray"] else 3,
                       progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg))
        try:
            if isinstance(source, str):  # a typed folder (on a shared server only inside its data folders)
                folder = shared_server.allowed_folder(source)
                ss["dsb_custom"] = image_folders.load_image_folder(folder, **options)
                ss["dsb_custom_note"] = folder.name or "the folder"
            else:  # unpacked into this session's own folder, which is emptied as soon as the images are decoded
                with uploads.unpack_folder() as folder:
                    report = image_folders.extract_image_zip(source.getvalue(), folder)
                    ss["dsb_custom"] = image_folders.load_image_folder(report.root, label=source.name, **options)
                ss["dsb_custom_note"] = f"{source.name}: {report.images:,} images" + (
                    f" ({report.skipped} other files skipped)" if report.skipped else "")
        except DataError as exc:
            st.error(str(exc), icon=":material/image_not_supported:")
        finally:
            bar.empty()
    data = ss.get("dsb_custom")
    if data is None:
        st.info("No images loaded yet.", icon=":material/photo_library:")
        halt()
    st.success(f"Loaded {escape_markdown(ss.get('dsb_custom_note', data.name))}: {len(data.y_train):,} training and "
               f"{len(data.y_test):,} test images in {data.num_classes} classes. Train on them in the "
               "Training studio (dataset: My images).", icon=":material/check_circle:")
    st.page_link("pages/50_training_studio.py", label="Open the Training studio", icon=":material/model_training:")
else:
    if name == "cifar10":
        st.text_input("CIFAR-10 folder (optional)", key="dsb_cifar_path",
                      placeholder="auto: $PYLAB_CIFAR10_DIR or the cache")
    try:
        with st.spinner("Loading (decoded once, then kept in memory) ..."):
            data = datasets.load_shared(name, ss["dsb_cifar_path"] if name == "cifar10" else "")
    except (DataUnavailable, DataError) as exc:
        st.warning(str(exc), icon=":material/dataset:")
        halt()

# --- what the tensors hold -----------------------------------------------------------------------------------
c1, c2, c3 = st.columns([1, 1, 2])
c1.radio("Split", ["train", "test"], key="dsb_split", horizontal=True)
c2.number_input("Sample", 0, 10_000, step=1, key="dsb_seed", help="Another random choice of images.")
c3.slider("Images per class", 4, 16, key="dsb_per_class")
x = data.x_train if ss["dsb_split"] == "train" else data.x_test
y = data.y_train if ss["dsb_split"] == "train" else data.y_test

m = st.columns(4)
m[0].metric("Training images", f"{len(data.y_train):,}")
m[1].metric("Test images", f"{len(data.y_test):,}")
m[2].metric("Image shape", " x ".join(map(str, x.shape[1:])),
            help=f"The {ss['dsb_split']} tensor: ({len(x):,}, {', '.join(map(str, x.shape[1:]))}), dtype {x.dtype}")
m[3].metric("Memory", f"{(data.x_train.numel() + data.x_test.numel()) / 2**20:.0f} MB", help="uint8: one byte per pixel")
st.caption(f"Source: {data.source}. Channel mean {', '.join(f'{v:.4f}' for v in data.mean)}, std "
           f"{', '.join(f'{v:.4f}' for v in data.std)} (of the training images, in [0, 1]): the values "
           "`normalize` subtracts and divides by.")


@st.cache_data(show_spinner=False, max_entries=32)
def _preview(_data: ImageData, key: tuple, split: str, per_class: int, seed: int):
    xs = _data.x_train if split == "train" else _data.x_test
    ys = _data.y_train if split == "train" else _data.y_test
    idx = batches.class_examples(ys, _data.num_classes, per_class, seed=seed)  # (classes, per_class)
    flat = idx.flatten()
    images = torch.zeros((len(flat), *xs.shape[1:]), dtype=torch.uint8)
    images[flat >= 0] = xs[flat[flat >= 0]]
    pad = 2
    return batches.tile(images, per_class, pad=pad), pad


data_key = (data.name, data.source, len(data.y_train), len(data.y_test))
grid, pad = _preview(data, data_key, ss["dsb_split"], int(ss["dsb_per_class"]), int(ss["dsb_seed"]))
st.plotly_chart(figures.class_grid(grid, data.classes, data.image_shape[1], pad,
                             title=f"{int(ss['dsb_per_class'])} random {ss['dsb_split']} images per class"),
                key="dsb_grid_fig")

counts = torch.bincount(y, minlength=data.num_classes).tolist()
fig = go.Figure(go.Bar(x=[plain(c[:14]) for c in data.classes], y=counts, marker_color=COLORS[1], text=counts,
                       textposition="outside", cliponaxis=False))
fig.update_xaxes(type="category")
fig.update_yaxes(title="images", rangemode="tozero")
st.plotly_chart(style(fig, height=300, title=f"Images per class ({ss['dsb_split']})"), key="dsb_counts_fig")

code_panel(datasets.datasets_code(name, data))
