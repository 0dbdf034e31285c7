"""Your own images, like torchvision's ImageFolder: decode a folder of class sub-folders (or an uploaded zip of
one) into `ImageData`, with limits on counts, sizes and image dimensions checked before anything is decoded.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core import system
from core.image_data import DataError, ImageData, Progress, make_data, user_path
from core.parsing import quoted

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
MAX_PIXELS = 4096 * 4096  # larger images are refused from their header, before a single pixel is decoded
UNREADABLE = "it is not an image this app can read (JPEG, PNG, GIF, WebP or BMP), or it is damaged"


def check_dimensions(data: bytes, name: str) -> None:
    """Refuse an image whose header says it is huge (a small PNG can hold 6000 x 6000 pixels), or no image."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:  # reads the header only
            width, height = im.size
    except Exception:  # Pillow raises many kinds on bytes that are not an image
        raise DataError(f"Cannot read {quoted(name, 80)}: {UNREADABLE}.") from None
    if width * height > MAX_PIXELS:
        raise DataError(f"{quoted(name, 80)} is {width:,} x {height:,} pixels; images of up to {MAX_PIXELS / 1e6:.0f} "
                        "megapixels are read. Shrink it first.")


def list_images(folder: Path) -> dict[str, list[Path]]:
    """ImageFolder's rule: every sub-folder is a class; its image files (sorted) are the examples."""
    out = {}
    with os.scandir(folder) as entries:
        subs = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    for sub in subs:
        with os.scandir(folder / sub) as entries:  # scandir's is_file needs no stat call: 60,000 files in ~0.1 s
            names = sorted(e.name for e in entries if e.is_file() and not e.name.startswith(".")
                           and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS)
        if names:
            out[sub] = [folder / sub / name for name in names]
    return out


def decode_image(data: bytes, size: int | None, channels: int) -> torch.Tensor:
    """One encoded image (JPEG, PNG, GIF, WebP, BMP) -> (channels, size, size) uint8, resized (squashed) if needed."""
    tvio = system.torchvision().io
    mode = tvio.ImageReadMode.RGB if channels == 3 else tvio.ImageReadMode.GRAY
    try:
        img = tvio.decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=mode)
        if img.ndim == 4:  # an animated GIF: its first frame
            img = img[0]
    except RuntimeError:  # BMP and other formats torchvision does not decode: Pillow does
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB" if channels == 3 else "L")
            img = torch.from_numpy(np.asarray(im).copy())
        img = img.permute(2, 0, 1) if img.ndim == 3 else img.unsqueeze(0)
    if size is not None and tuple(img.shape[1:]) != (size, size):
        img = torch.nn.functional.interpolate(img[None].float(), size=(size, size), mode="bilinear",
                                              antialias=True, align_corners=False)[0]
        img = img.round().clamp(0, 255).to(torch.uint8)
    return img


def decode_files(files: dict[str, list[Path]], classes, size: int, channels: int, progress: Progress | None,
                  lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every file once (JPEGs in batches through libjpeg, the rest one by one) -> uint8 (N, C, S, S)."""
    tvio = system.torchvision().io
    items = [(p, classes.index(c)) for c in files for p in files[c] if c in classes]
    x = torch.empty((len(items), channels, size, size), dtype=torch.uint8)
    y = torch.tensor([k for _, k in items], dtype=torch.long)
    mode = tvio.ImageReadMode.RGB if channels == 3 else tvio.ImageReadMode.GRAY
    chunk, t0 = 2000, time.perf_counter()
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        raw = [p.read_bytes() for p, _ in part]
        for (p, _), data in zip(part, raw, strict=True):
            check_dimensions(data, f"{p.parent.name}/{p.name}")
        jpeg = [i for i, (p, _) in enumerate(part) if p.suffix.lower() in (".jpg", ".jpeg")]
        decoded: dict[int, torch.Tensor] = {}
        if jpeg:
            try:
                imgs = tvio.decode_jpeg([torch.frombuffer(bytearray(raw[i]), dtype=torch.uint8) for i in jpeg], mode=mode)
                decoded = dict(zip(jpeg, imgs, strict=True))
            except RuntimeError:
                decoded = {}  # one bad file: fall back to decoding each one and name the culprit
        for i in range(len(part)):
            img = decoded.get(i)
            try:
                if img is None or tuple(img.shape[1:]) != (size, size):
                    img = decode_image(raw[i], size, channels)
            except Exception:  # the library's own words name internals (memory addresses, temp paths)
                raise DataError(f"Cannot read {quoted(part[i][0].parent.name + '/' + part[i][0].name, 80)}: {UNREADABLE}.") from None
            x[start + i] = img
        if progress:
            done = min(start + chunk, len(items))
            progress(lo + (hi - lo) * done / len(items),
                     f"Decoding images: {done:,} of {len(items):,} ({time.perf_counter() - t0:.0f} s)")
    return x, y


def load_image_folder(path: str | Path, *, size: int = 32, channels: int = 3, test_fraction: float = 0.2,
                      seed: int = 0, max_images: int = 20_000, progress: Progress | None = None,
                      label: str | None = None) -> ImageData:
    """Your own dataset, like torchvision's ImageFolder('path'): `path/<class>/*.jpg`, resized to size x size.

    With `path/train/<class>` and `path/test/<class>` those splits are used; otherwise a seeded random
    `test_fraction` of every class becomes the test set. `label` names the images in messages (e.g. the uploaded
    zip's name): messages never show where on the server they were unpacked.
    """
    root = user_path(path)
    label = quoted(label, 80) if label else (f"the folder {quoted(root.name, 80)}" if root.name else "the folder")
    try:
        if not root.is_dir():
            raise DataError(f"There is no folder called {quoted(root.name, 80) if root.name else 'that'} there: "
                            "check the path.")
        if (root / "train").is_dir() and (root / "test").is_dir():
            train_files, test_files = list_images(root / "train"), list_images(root / "test")
        else:
            train_files, test_files = list_images(root), {}
    except OSError as exc:  # a name too long, a folder we may not read
        raise DataError(f"Cannot read {label}: {exc.strerror or 'it cannot be opened'}.") from None
    classes = tuple(sorted(train_files))
    if len(classes) < 2:
        raise DataError(f"{label[:1].upper()}{label[1:]} needs at least two class folders with images in them "
                        f"(<class>/*.jpg); found {len(classes)}.")
    total = sum(map(len, train_files.values())) + sum(map(len, test_files.values()))
    if total > max_images:
        raise DataError(f"{total:,} images is more than this app decodes at once ({max_images:,}).")
    if not test_files and not any(len(files) > 1 for files in train_files.values()):
        raise DataError(f"Every class in {label} has a single image, so none is left to test on: each class "
                        "needs at least two images (or add a test/ folder).")
    x, y = decode_files(train_files, classes, size, channels, progress, 0.0, 0.8 if test_files else 1.0)
    if test_files:
        x_test, y_test = decode_files(test_files, classes, size, channels, progress, 0.8, 1.0)
        x_train, y_train = x, y
    else:
        g = torch.Generator().manual_seed(seed)
        test_mask = torch.zeros(len(y), dtype=torch.bool)
        for k in range(len(classes)):
            idx = (y == k).nonzero().flatten()
            n_test = int(round(len(idx) * test_fraction))
            if len(idx) > 1:
                n_test = min(max(n_test, 1), len(idx) - 1)
            test_mask[idx[torch.randperm(len(idx), generator=g)[:n_test]]] = True
        x_train, y_train, x_test, y_test = x[~test_mask], y[~test_mask], x[test_mask], y[test_mask]
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return make_data(root.name or "images", classes, arrays, f"{label}, resized to {size}x{size}")


@dataclass(frozen=True)
class ZipReport:
    root: Path  # the folder to pass to load_image_folder
    images: int
    skipped: int  # files that are not images (or hidden, e.g. __MACOSX) and were left out


SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
                         zipfile.ZIP_LZMA: "lzma"}
MAX_NAME_BYTES = 255  # one file or folder name, on the common file systems


def _plan(entries: list[zipfile.ZipInfo], max_file_mb: int) -> tuple[list, int, int]:
    """The image members to unpack (with their path parts), how many entries are skipped, and the images' total
    uncompressed size; a DataError for the first member that cannot be unpacked safely."""
    images, skipped, total = [], 0, 0
    for m in entries:
        if m.is_dir():
            continue
        name = m.filename.replace("\\", "/")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if name.startswith("/") or ".." in parts or (parts and parts[0][1:2] == ":") or "\0" in name:
            raise DataError(f"The zip contains an unsafe path ({quoted(m.filename, 80)}); nothing was extracted.")
        if any(p.startswith(".") or p == "__MACOSX" for p in parts) or \
                Path(name).suffix.lower() not in IMAGE_EXTENSIONS or (m.external_attr >> 16) & 0o170000 == 0o120000:
            skipped += 1
            continue
        if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts):
            raise DataError(f"The zip holds a name longer than {MAX_NAME_BYTES} bytes ({quoted(parts[-1], 40)}...): "
                            "rename it and zip the folder again.")
        if m.flag_bits & 0x1:
            raise DataError("The zip is encrypted; upload an unencrypted archive.")
        if m.compress_type not in SUPPORTED_COMPRESSION:
            method = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 98: "PPMd"}.get(m.compress_type,
                                                                                          f"method {m.compress_type}")
            raise DataError(f"{quoted(parts[-1], 80)} is compressed with {method}, which this app cannot unpack. "
                            "Zip the folder again with the standard (deflate) compression.")
        if m.file_size > max_file_mb * 2**20:
            raise DataError(f"{quoted(parts[-1], 80)} is larger than {max_file_mb} MB uncompressed.")
        total += m.file_size
        images.append((m, parts))
    files = {tuple(parts) for _, parts in images}
    folders = {tuple(parts[:k]) for _, parts in images for k in range(1, len(parts))}
    clash = sorted(files & folders)
    if clash:
        raise DataError(f"The zip holds a file and a folder both called {quoted('/'.join(clash[0]), 80)}: rename "
                        "one of them.")
    return images, skipped, total


def extract_image_zip(data: bytes, dest: str | Path, *, max_files: int = 20_000, max_total_mb: int = 300,
                      max_file_mb: int = 20, max_entries: int = 50_000) -> ZipReport:
    """Unpack the image files of an uploaded zip into `dest`, safely.

    Everything is checked from the archive's directory before a byte is written: paths that leave `dest`
    (absolute, `..`), names too long for a file system, a file and a folder of the same name, compression methods
    Python cannot unpack (Deflate64), encrypted entries, the number of entries and images, each image's and all
    images' uncompressed size (zip bombs are judged by it). Non-image and hidden files are skipped. A member that
    turns out damaged while unpacking (its directory entry lies) ends in a DataError naming it. The caller owns
    `dest` and removes it (ui.uploads.unpack_folder does).
    """
    dest = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise DataError("That file is not a valid zip archive (or it is damaged).") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > max_entries:
            raise DataError(f"The zip holds {len(entries):,} entries; the limit is {max_entries:,}.")
        images, skipped, total = _plan(entries, max_file_mb)
        if not images:
            raise DataError("The zip holds no image files (.jpg, .png, .bmp, .gif, .webp) in class folders.")
        if len(images) > max_files:
            raise DataError(f"The zip holds {len(images):,} images; the limit is {max_files:,}.")
        if total > max_total_mb * 2**20:
            raise DataError(f"The zip unpacks to {total / 2**20:.0f} MB; the limit is {max_total_mb} MB.")
        for m, parts in images:
            target = dest.joinpath(*parts)
            if not target.resolve().is_relative_to(dest):
                raise DataError("The zip contains an unsafe path; nothing more was extracted.")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(m) as src, open(target, "wb") as out:
                    out.write(src.read(max_file_mb * 2**20 + 1))  # bounded even if the header lies
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
                raise DataError(f"The zip is damaged: {quoted(m.filename, 80)} cannot be unpacked. Zip the "
                                "folder again.") from None
    root = dest
    while True:  # a zip of one folder `pets/cat/..`, `pets/dog/..`: descend to the class folders
        subs = [p for p in root.iterdir() if p.is_dir()]
        files = [p for p in root.iterdir() if p.is_file()]
        if len(subs) == 1 and not files and subs[0].name not in ("train", "test"):
            inner = [p for p in subs[0].iterdir() if p.is_dir()]
            if inner:
                root = subs[0]
                continue
        break
    return ZipReport(root, len(images), skipped)
