import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import loader, pipeline, system
from core.parsing import InputError
from ui import figures_networks as figures
from ui import links
from ui.common import code_panel, fail, header

LABELS = {"datasets": "Dataset", "transforms": "transforms", "loader": "DataLoader", "custom": "your own Dataset"}
PARAMS = {
    "dp_part": links.Choice("datasets", tuple(LABELS)),
    "dp_source": links.Choice("mnist", tuple(pipeline.SOURCES)),
    "dp_index": links.Int(0, 0, 59_999),
    "dp_aug": links.Multi(["crop", "rotate"], tuple(pipeline.AUGMENTS)),
    "dp_deg": links.Float(15.0, 0.0, 180.0),
    "dp_jitter": links.Float(0.4, 0.0, 1.0),
    "dp_norm": links.Bool(True),
    "dp_seed": links.Int(0, 0, 10_000),
    "dp_row": links.Int(14, 0, 47),
    "dp_col": links.Int(14, 0, 47),
    "dp_batch": links.Int(64, 1, 1024),
    "dp_shuffle": links.Bool(True),
    "dp_drop": links.Bool(False),
    "dp_lseed": links.Int(0, 0, 10_000),
    "dp_item": links.Int(0, 0, 299),
}

links.bind(PARAMS)
header("Data pipeline", "Every training script starts the same way: a **Dataset** that returns one `(image, label)` "
       "pair, **transforms** that turn each image into a normalised (and randomly augmented) tensor, and a "
       "**DataLoader** that stacks them into batches `(b, c, h, w)`. Here they run on real images from disk.")
st.segmented_control("Part", tuple(LABELS), key="dp_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


@st.cache_resource(show_spinner="Writing the dataset in torchvision's format ...", max_entries=8)
def _dataset(source: str, transformed: bool):
    """The torchvision dataset (read-only, shared by every session); with ToTensor + Normalize if `transformed`."""
    transform = pipeline.compose(pipeline.Spec(), source, 28) if transformed else None
    return pipeline.dataset(source, transform=transform)


def _source():
    st.segmented_control("Dataset", tuple(pipeline.SOURCES), key="dp_source", required=True,
                         format_func=lambda s: pipeline.SOURCES.get(s, s))
    source = ss["dp_source"] or "mnist"
    if source not in pipeline.available_sources():
        fail("CIFAR-10's JPEG copy is not on this machine (set $PYLAB_CIFAR10_DIR to a folder with "
             "train/<class>/*.jpg); choose MNIST or the folder of digits.")
    try:
        ds = _dataset(source, False)
    except (InputError, RuntimeError, OSError) as exc:
        fail(f"The dataset could not be read: {exc}")
    return source, ds


def _index(ds, key: str = "dp_index") -> int:
    ss[key] = min(ss[key], len(ds) - 1)
    st.columns([1, 2])[0].number_input(f"Index (0 to {len(ds) - 1:,})", 0, len(ds) - 1, key=key)
    return ss[key]


def _show(img: torch.Tensor, title: str, key: str, height: int = 240) -> None:
    st.plotly_chart(figures.image(img, title=title, height=height), key=key)


def datasets_part():
    source, ds = _source()
    i = _index(ds)
    image, label = ds[i]
    m = st.columns(4)
    m[0].metric("len(ds)", f"{len(ds):,}")
    m[1].metric("classes", len(ds.classes), help=", ".join(ds.classes))
    m[2].metric("ds[i] returns", f"{type(image).__name__}, int", help="(image, label): a PIL image, not a tensor")
    m[3].metric("label", label, help=f"ds.classes[{label}] = {ds.classes[label]!r}")
    c1, c2 = st.columns([1, 2])
    with c1:
        _show(torch.from_numpy(np.asarray(image).copy()).float().div(255).permute(2, 0, 1) if image.mode == "RGB"
              else torch.from_numpy(np.asarray(image).copy()).float().div(255)[None], f"ds[{i}]", "dp_ds_fig")
    with c2:
        st.markdown(f"- `ds[{i}]` is `(image, label)`: a **PIL image** (mode `{image.mode}`, {image.size[0]} x "
                    f"{image.size[1]}) and an `int`. Nothing is a tensor until a transform makes it one.\n"
                    + ("- MNIST keeps all images in one uint8 tensor, `ds.data` of shape "
                       f"{tuple(ds.data.shape)}, and the labels in `ds.targets`; `ds[i]` makes a PIL image of "
                       "one row." if source == "mnist" else
                       "- `ImageFolder` lists `root/<class>/<file>` once; `ds[i]` opens one file from disk "
                       f"(`ds.samples[{i}]`) and converts it to RGB, so grey digits come back with 3 channels. "
                       "Labels are the class folders' positions in `ds.classes`."))
        if source != "mnist":
            path, _ = ds.samples[i]
            st.code(f"ds.samples[{i}] = ('.../{'/'.join(path.split('/')[-2:])}', {label})\nds.class_to_idx = "
                    f"{dict(list(ds.class_to_idx.items())[:4])} ...", language="python")
    code_panel(f"""import torchvision

ds = {pipeline.dataset_call(source)}
print(len(ds))  # {len(ds)}
image, label = ds[{i}]
print(type(image).__name__, image.mode, image.size, label)  # {type(image).__name__} {image.mode} {image.size} {label}
""")


def transforms_part():
    source, ds = _source()
    i = _index(ds)
    st.multiselect("Augmentations (random, on the PIL image, before ToTensor)", tuple(pipeline.AUGMENTS),
                   key="dp_aug", format_func=lambda a: pipeline.AUGMENTS.get(a, a))
    c = st.columns(4)
    c[0].slider("rotation degrees", 0.0, 180.0, key="dp_deg", step=5.0)
    c[1].slider("jitter strength", 0.0, 1.0, key="dp_jitter", step=0.1)
    c[2].toggle("Normalize", key="dp_norm")
    c[3].number_input("seed", 0, 10_000, key="dp_seed")
    spec = pipeline.Spec(tuple(ss["dp_aug"]), ss["dp_deg"], ss["dp_jitter"], ss["dp_norm"])
    image, _ = ds[i]
    size = image.size[1]
    plain = pipeline.compose(pipeline.Spec(normalize=False), source, size)(image)
    copies = pipeline.augmented(ds, i, spec, source, size, ss["dp_seed"], 8)
    shown = [pipeline.denormalize(x, source) if spec.normalize else x for x in copies]
    grid = system.torchvision().utils.make_grid(shown, nrow=4, padding=2, pad_value=1.0)
    c1, c2 = st.columns([1, 2])
    with c1:
        _show(plain, "ToTensor() only", "dp_plain_fig")
    with c2:
        _show(grid if grid.shape[0] in (1, 3) else grid[:1], "8 draws of the whole pipeline (seed, seed+1, ...)",
              "dp_aug_fig")
    st.caption("Each epoch draws new random augmentations for every image: the model never sees exactly the same "
               "picture twice. Normalized tensors are shown un-normalised (x · std + mean) to be viewable.")
    ss["dp_row"], ss["dp_col"] = min(ss["dp_row"], size - 1), min(ss["dp_col"], size - 1)
    s = st.columns(3)
    s[0].number_input("pixel row", 0, size - 1, key="dp_row")
    s[1].number_input("pixel column", 0, size - 1, key="dp_col")
    try:
        px = pipeline.pixel_path(image, source, ss["dp_row"], ss["dp_col"])
    except InputError as exc:
        fail(str(exc))
    s[2].markdown(f"**{px.raw}** (uint8) → ToTensor **{px.to_tensor:.4f}** (= {px.raw}/255) → Normalize "
                  f"**{px.normalized:.4f}** (= ({px.to_tensor:.4f} − {px.mean}) / {px.std})")
    x = copies[0]
    st.dataframe(pd.DataFrame([{"tensor": "ToTensor()", **pipeline.finite_summary(plain)},
                               {"tensor": "the whole pipeline (seed)", **pipeline.finite_summary(x)}]),
                 hide_index=True, width="stretch", key="dp_summary")
    steps = "\n    ".join(pipeline.compose_code(spec, source, size))
    code_panel(f"""import torch
import torchvision
from torchvision import transforms

ds = {pipeline.dataset_call(source)}
image, label = ds[{i}]
transform = transforms.Compose([
    {steps}
])
torch.manual_seed({ss["dp_seed"]})  # random transforms draw from torch's global generator
x = transform(image)
print(x.shape, x.dtype)  # {x.shape} {x.dtype}
print(round(transforms.ToTensor()(image)[0, {ss["dp_row"]}, {ss["dp_col"]}].item(), 4))  # {px.to_tensor:.4f}
""")


def loader_part():
    source = "mnist"
    ds = _dataset(source, True)
    c = st.columns(4)
    c[0].slider("batch_size", 1, 512, key="dp_batch")
    c[1].toggle("shuffle", key="dp_shuffle")
    c[2].toggle("drop_last", key="dp_drop", help="Drop the last, smaller batch")
    c[3].number_input("generator seed", 0, 10_000, key="dp_lseed")
    b = ss["dp_batch"]
    f, images = loader.facts(ds, b, ss["dp_shuffle"], ss["dp_drop"], ss["dp_lseed"])
    m = st.columns(4)
    m[0].metric("len(loader)", f"{f.batches:,}", help=f"{f.samples:,} images / batch_size {b}, "
                + ("rounded down (drop_last)" if ss["dp_drop"] else "rounded up"))
    m[1].metric("last batch", f.last_batch)
    m[2].metric("images.shape", str(f.images_shape).replace(" ", ""))
    m[3].metric("labels.dtype", f.labels_dtype)
    shown = pipeline.denormalize(images[:64], source)
    grid = system.torchvision().utils.make_grid(shown, nrow=16, padding=2, pad_value=1.0)[:1]
    _show(grid, f"make_grid of the first batch ({min(b, 64)} of {b} shown)", "dp_batch_fig",
          height=140 + 60 * (min(b, 64) // 16))
    st.caption(f"labels: {f.labels[:32]}{' ...' if len(f.labels) > 32 else ''}")
    st.subheader("DataLoader vs batches cut from memory")
    if st.button("Measure on this server (30 batches each)", key="dp_measure"):
        from core.datasets import load_shared

        data = load_shared("mnist")
        ss["dp_timing"] = loader.measure(ds, data.x_train, *(s[0] for s in pipeline.stats(source)), batch_size=64)
    if ss.get("dp_timing"):
        t = ss["dp_timing"]
        st.dataframe(pd.DataFrame([{"how": x.how, "seconds": round(x.seconds, 4), "images/s": round(x.per_second)}
                                   for x in t]), hide_index=True, width="stretch", key="dp_timing_table")
        st.caption(f"The in-memory slice is **{t[0].seconds / max(t[1].seconds, 1e-9):.0f}x** faster here: the "
                   "DataLoader builds a PIL image and runs the transforms for every sample in Python. That is why "
                   "the Training studio keeps each dataset as one uint8 tensor; `num_workers=2` spreads the "
                   "per-sample work over processes (see BENCHMARKS.md).")
    code_panel(f"""import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

ds = {pipeline.dataset_call(source)}
ds.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize{pipeline.stats(source)}])
loader = DataLoader(ds, batch_size={b}, shuffle={ss["dp_shuffle"]}, drop_last={ss["dp_drop"]}, num_workers=0,
                    generator=torch.Generator().manual_seed({ss["dp_lseed"]}))
print(len(loader))  # {f.batches}
images, labels = next(iter(loader))
print(images.shape, labels.dtype)  # {torch.Size(f.images_shape)} torch.{f.labels_dtype}
print(labels[:8].tolist())  # {f.labels[:8]}
""")


def custom_part():
    root = pipeline.write_digit_folder()
    tv = system.torchvision()
    ds = loader.FolderDataset(root, transform=tv.transforms.ToTensor())
    ref = _dataset("folder", False)
    i = _index(ds, "dp_item")
    image, label = ds[i]
    m = st.columns(4)
    m[0].metric("len(ds)", len(ds), help=f"ImageFolder on the same folder: {len(ref)}")
    m[1].metric("image.shape", str(tuple(image.shape)).replace(" ", ""))
    m[2].metric("label", label, help=f"ImageFolder says {ref[i][1]}")
    m[3].metric("same as ImageFolder", str(len(ds) == len(ref) and label == ref[i][1]))
    _show(image, f"ds[{i}]", "dp_custom_fig", height=220)
    st.markdown("A `Dataset` needs two methods: `__len__` (how many samples) and `__getitem__(i)` (one sample). "
                "The DataLoader calls them; the class decides how a sample is read. This one opens one PNG per call "
                "and keeps one grey channel, where `ImageFolder` converts to RGB (3 channels).")
    code_panel(loader.custom_code(pipeline.folder_name(root), i, tuple(image.shape), label, len(ds)), expanded=True)


PARTS = {"datasets": datasets_part, "transforms": transforms_part, "loader": loader_part, "custom": custom_part}
PARTS[ss["dp_part"] or "datasets"]()
