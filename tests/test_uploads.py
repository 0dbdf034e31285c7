"""Uploaded zips on a shared server: every broken or hostile archive gets a clear message, nothing is written
outside the session's folder, and the unpacked files are removed as soon as the images are decoded."""

import io
import struct
import zipfile

import pytest

from core.image_data import DataError
from core.image_folders import extract_image_zip
from tests.helpers import open_page
from tests.test_image_folders import _png
from ui import uploads

DATASETS = "pages/51_datasets.py"


def _zip(entries: dict[str, bytes], method=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return buf.getvalue()


def _classes(n: int = 3) -> dict[str, bytes]:
    return {f"pets/{c}/{i}.png": _png((40 * i, 90, 200 if c == "cat" else 10)) for c in ("cat", "dog") for i in range(n)}


def _with_method(data: bytes, method: int) -> bytes:
    """The archive with every member's compression method set to `method` in its local and central headers."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = raw.find(signature)
        while at >= 0:
            struct.pack_into("<H", raw, at + offset, method)
            at = raw.find(signature, at + 4)
    return bytes(raw)


def _lying(data: bytes) -> bytes:
    """The archive with one member's bytes changed: its directory entry (CRC, sizes) no longer tells the truth."""
    raw = bytearray(data)
    png = raw.find(b"\x89PNG")
    raw[png + 20:png + 28] = b"\xff" * 8
    return bytes(raw)


@pytest.mark.parametrize(("archive", "message"), [
    (_lying(_zip(_classes())), "damaged: `pets/cat/0.png` cannot be unpacked"),
    (_with_method(_zip(_classes()), 9), "compressed with Deflate64, which this app cannot unpack"),
    (_zip({**_classes(), f"pets/cat/{'a' * 300}.png": _png((1, 1, 1))}), "name longer than 255 bytes"),
    (_zip({**_classes(), "pets/cat/0.png/inner.png": _png((1, 1, 1))}), "a file and a folder both called `pets/cat/0.png`"),
    (_zip({**_classes(), "pets/../../escape.png": _png((1, 1, 1))}), "unsafe path (`pets/../../escape.png`)"),
], ids=["directory-lies", "deflate64", "long-name", "file-and-folder", "escaping-path"])
def test_each_broken_zip_gets_its_own_clear_message(tmp_path, archive, message):
    dest = tmp_path / "session" / "upload"
    dest.mkdir(parents=True)
    with pytest.raises(DataError) as info:
        extract_image_zip(archive, dest)
    assert message in str(info.value)
    assert str(tmp_path) not in str(info.value)
    assert {p.parent for p in tmp_path.rglob("*") if p.is_file()} <= {d for d in dest.rglob("*")} | {dest}


def test_limits_are_checked_before_anything_is_written(tmp_path):
    many = _zip({**_classes(), **{f"pets/notes/{i}.txt": b"" for i in range(40)}})
    with pytest.raises(DataError, match="46 entries; the limit is 45"):
        extract_image_zip(many, tmp_path, max_entries=45)
    big = _zip({f"pets/{c}/{i}.bmp": b"\0" * 2**20 for c in ("cat", "dog") for i in range(3)}, zipfile.ZIP_DEFLATED)
    assert len(big) < 100_000  # 6 MB that compresses to a few kB: judged by its uncompressed size
    with pytest.raises(DataError, match="unpacks to 6 MB; the limit is 5 MB"):
        extract_image_zip(big, tmp_path, max_total_mb=5)
    assert list(tmp_path.iterdir()) == []


def test_unpack_folder_is_emptied_after_use_and_on_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "session_folder", lambda: str(tmp_path / "pylab-upload-x"))
    with uploads.unpack_folder() as folder:
        report = extract_image_zip(_zip(_classes()), folder)
        assert report.images == 6 and (folder / "pets" / "cat" / "0.png").is_file()
    assert not folder.exists() and (tmp_path / "pylab-upload-x").is_dir()
    with pytest.raises(DataError), uploads.unpack_folder() as folder:
        extract_image_zip(_lying(_zip(_classes())), folder)
    assert list((tmp_path / "pylab-upload-x").iterdir()) == []


def _upload(at, name: str, data: bytes):
    at.segmented_control(key="dsb_dataset").set_value("custom")
    at.run()
    at.select_slider(key="dsb_size").set_value(16)
    at.file_uploader(key="dsb_zip").set_value((name, data, "application/zip"))
    at.run()
    at.button(key="dsb_load_zip").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_failed_upload_keeps_the_images_loaded_before_and_leaves_no_files(app, tmp_path, monkeypatch):
    folder = tmp_path / f"{uploads.PREFIX}session"  # the session's folder (the browser suite sees the real one)
    monkeypatch.setattr(uploads, "session_folder", lambda: str(folder))
    at = open_page(app, DATASETS)
    _upload(at, "pets.zip", _zip(_classes()))
    assert any("4 training and 2 test images in 2 classes" in s.value for s in at.success)
    _upload(at, "broken.zip", _with_method(_zip(_classes()), 9))
    assert any("Deflate64" in e.value for e in at.error)
    assert any("4 training and 2 test images in 2 classes" in s.value for s in at.success)  # still there
    assert list(tmp_path.iterdir()) == [folder] and list(folder.iterdir()) == []  # unpacked files gone, both times
