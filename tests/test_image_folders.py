"""Your own images: folders resized and split, zips unpacked safely."""

import io
import zipfile

import pytest
import torch

from core.image_data import DataError
from core.image_folders import extract_image_zip, load_image_folder

# --- your own images ------------------------------------------------------------------------------------------

def _png(color, size=(20, 12)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_load_image_folder_resizes_and_splits(tmp_path):
    for cls, color in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / "pets" / cls).mkdir(parents=True)
        for i in range(10):
            (tmp_path / "pets" / cls / f"{i}.png").write_bytes(_png(color, (20 + i, 12)))
    (tmp_path / "pets" / "red" / "notes.txt").write_text("not an image")
    ds = load_image_folder(tmp_path / "pets", size=16, test_fraction=0.2, seed=0)
    assert ds.classes == ("blue", "red")
    assert ds.x_train.shape == (16, 3, 16, 16) and ds.x_test.shape == (4, 3, 16, 16)
    assert torch.bincount(ds.y_test).tolist() == [2, 2]  # stratified
    red = ds.x_train[ds.y_train == 1]
    assert (red[:, 0] == 255).all() and (red[:, 2] == 0).all()
    gray = load_image_folder(tmp_path / "pets", size=8, channels=1)
    assert gray.image_shape == (1, 8, 8)
    with pytest.raises(DataError, match="at least two class folders"):
        load_image_folder(tmp_path / "pets" / "red")
    with pytest.raises(DataError, match="no folder called `missing`"):
        load_image_folder(tmp_path / "missing")


def test_a_folder_with_no_test_images_is_refused_before_decoding(tmp_path):
    for cls in ("cats", "dogs"):  # one image per class: nothing would be left to test on
        (tmp_path / "pets" / cls).mkdir(parents=True)
        (tmp_path / "pets" / cls / "0.png").write_bytes(_png((9, 9, 9)))
    with pytest.raises(DataError, match="none is left to test on"):
        load_image_folder(tmp_path / "pets")


def test_huge_and_unreadable_images_get_plain_messages(tmp_path):
    from PIL import Image

    big = io.BytesIO()
    Image.new("L", (6000, 6000)).save(big, format="PNG")  # ~35 KB on disk, 36 megapixels decoded
    assert len(big.getvalue()) < 100_000
    for cls in ("a", "b"):
        (tmp_path / "pets" / cls).mkdir(parents=True)
        for i in range(2):
            (tmp_path / "pets" / cls / f"{i}.png").write_bytes(_png((9, 9, 9)))
    (tmp_path / "pets" / "a" / "huge.png").write_bytes(big.getvalue())
    with pytest.raises(DataError, match="6,000 x 6,000 pixels"):
        load_image_folder(tmp_path / "pets")
    (tmp_path / "pets" / "a" / "huge.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError) as info:
        load_image_folder(tmp_path / "pets", label="pets.zip")
    message = str(info.value)
    assert "a/huge.png" in message and "not an image this app can read" in message
    assert "BytesIO" not in message and "0x" not in message and str(tmp_path) not in message
    with pytest.raises(DataError) as info:  # a folder that cannot be a dataset: named, never with its full path
        load_image_folder(tmp_path / "pets" / "a", label="pets.zip")
    assert "pets.zip" in str(info.value).lower() and str(tmp_path) not in str(info.value)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return buf.getvalue()


def test_extract_image_zip_safe(tmp_path):
    good = _zip({"shapes/a/1.png": _png((1, 2, 3)), "shapes/b/1.png": _png((9, 9, 9)),
                 "shapes/b/readme.md": b"hi", "__MACOSX/shapes/._1.png": b"junk"})
    report = extract_image_zip(good, tmp_path / "up")
    assert report.images == 2 and report.skipped == 2
    assert report.root == (tmp_path / "up" / "shapes").resolve()
    assert sorted(p.name for p in report.root.iterdir()) == ["a", "b"]
    for evil in ("../evil.png", "/abs/evil.png", "a/../../evil.png"):
        with pytest.raises(DataError, match="unsafe path"):
            extract_image_zip(_zip({evil: _png((0, 0, 0))}), tmp_path / "evil")
    assert not (tmp_path / "evil.png").exists()
    bomb = _zip({"a/big.png": b"\0" * (3 * 2**20)})  # compresses to a few kB
    with pytest.raises(DataError, match="MB"):
        extract_image_zip(bomb, tmp_path / "bomb", max_file_mb=2)
    with pytest.raises(DataError, match="not a valid zip"):
        extract_image_zip(b"definitely not a zip", tmp_path / "x")
    with pytest.raises(DataError, match="no image files"):
        extract_image_zip(_zip({"a/readme.txt": b"text"}), tmp_path / "y")
    with pytest.raises(DataError, match="limit"):
        extract_image_zip(good, tmp_path / "z", max_files=1)
