"""core.data: the real datasets (facts about MNIST, the shared CIFAR-10 copy), batch augmentation checked
pixel by pixel, normalisation against torchvision's transforms, IDX and CIFAR-batch readers, safe zip upload."""

import gzip
import io
import pickle
import zipfile

import numpy as np
import pytest
import torch

from core import data

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PYLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "data"


def test_embedded_mnist_is_the_real_mnist(mnist):
    assert mnist.x_train.shape == (60000, 1, 28, 28) and mnist.x_train.dtype == torch.uint8
    assert mnist.x_test.shape == (10000, 1, 28, 28) and mnist.y_test.dtype == torch.int64
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the first digits every MNIST tutorial shows
    assert mnist.y_test[0].item() == 7
    assert torch.bincount(mnist.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert torch.bincount(mnist.y_test).tolist() == MNIST_TEST_COUNTS
    assert mnist.classes == tuple("0123456789") and mnist.image_shape == (1, 28, 28)
    # the textbook normalisation constants are this set's statistics
    (mean,), (std,) = data.channel_stats(mnist.x_train)
    assert round(mean, 4) == 0.1307 and round(std, 4) == 0.3081
    assert mnist.mean == (pytest.approx(mean, abs=1e-5),)
    # digits are white on black, with the classic 20x20 box centred in 28x28: the border is empty
    assert mnist.x_train[:, :, :2, :].float().mean() < 0.5
    assert mnist.x_train.max() == 255


def test_mnist_cache_round_trip(tmp_cache):
    first = data.load_mnist()
    files = list(tmp_cache.glob("mnist-*.pt"))
    assert len(files) == 1
    second = data.load_mnist()  # from the cache file
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)
    archive = data.read_mnist_archive(data.mnist_archive())
    assert torch.equal(archive["x_test"], second.x_test)


def test_torchvision_mnist_without_download_says_so(tmp_path):
    with pytest.raises(data.DataUnavailable, match="download"):
        data.load_mnist("torchvision", root=tmp_path, download=False)


def test_torchvision_mnist_folder_is_read(tmp_path, mnist):
    """A torchvision MNIST folder (raw IDX files, as its download leaves them) gives the same arrays."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for key, stem in data._IDX_FILES.items():
        arr = getattr(mnist, key)
        arr = arr[:, 0] if arr.dim() == 4 else arr
        (raw / stem).write_bytes(_idx_bytes(arr.to(torch.uint8)))
    tv = data.load_mnist("torchvision", root=tmp_path)
    assert torch.equal(tv.x_train, mnist.x_train) and torch.equal(tv.y_test, mnist.y_test)


def _idx_bytes(t: torch.Tensor) -> bytes:
    head = bytes([0, 0, 0x08, t.dim()]) + b"".join(d.to_bytes(4, "big") for d in t.shape)
    return head + t.numpy().tobytes()


def test_read_idx_plain_gzip_and_truncated():
    t = torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4)
    raw = _idx_bytes(t)
    assert torch.equal(data.read_idx(raw), t)
    assert torch.equal(data.read_idx(gzip.compress(raw)), t)
    with pytest.raises(data.DataError, match="truncated"):
        data.read_idx(raw[:-1])
    with pytest.raises(data.DataError):
        data.read_idx(b"PK\x03\x04 not idx")


@pytest.mark.skipif(data.fashion_mnist_folder() is None, reason="Fashion-MNIST not installed")
def test_fashion_mnist():
    fm = data.load_fashion_mnist()
    assert fm.x_train.shape == (60000, 1, 28, 28) and fm.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(fm.y_train).tolist() == [6000] * 10  # perfectly balanced, unlike MNIST
    assert torch.bincount(fm.y_test).tolist() == [1000] * 10
    assert fm.classes[9] == "Ankle boot" and fm.y_train[0].item() == 9  # the first image is an ankle boot


def test_missing_fashion_mnist_explains(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nothing")
    monkeypatch.setenv("PYLAB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(data.DataUnavailable, match="dataset-fashion-mnist"):
        data.load_fashion_mnist()


# --- CIFAR-10 -------------------------------------------------------------------------------------------------

needs_cifar = pytest.mark.skipif(not data.SHARED_CIFAR10.is_dir(), reason="shared CIFAR-10 copy not present")


def _small_cifar(tmp_path, per_class=(6, 3)):
    """A small ImageFolder copy of the shared CIFAR-10 (links to the real JPEGs)."""
    root = tmp_path / "cifar-small"
    for split, n in zip(("train", "test"), per_class, strict=True):
        for cls in data.CIFAR10_CLASSES:
            folder = root / split / cls
            folder.mkdir(parents=True)
            for f in sorted((data.SHARED_CIFAR10 / split / cls).iterdir())[:n]:
                (folder / f.name).symlink_to(f)
    return root


@needs_cifar
def test_cifar_loader_reads_the_shared_copy_pixel_exact(tmp_path, tmp_cache):
    from PIL import Image

    root = _small_cifar(tmp_path)
    cifar = data.load_cifar10(root)
    assert cifar.x_train.shape == (60, 3, 32, 32) and cifar.x_test.shape == (30, 3, 32, 32)
    assert cifar.classes == data.CIFAR10_CLASSES
    assert torch.bincount(cifar.y_train).tolist() == [6] * 10
    # the same pixels as PIL's decoder gives (libjpeg in both)
    first_cat = sorted((root / "train" / "cat").iterdir())[0]
    expected = torch.from_numpy(np.array(Image.open(first_cat).convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(cifar.x_train[cifar.y_train == 3][0], expected)
    assert len(list(tmp_cache.glob("cifar10-*.pt"))) == 1
    again = data.load_cifar10(root)  # from the cache
    assert torch.equal(again.x_test, cifar.x_test) and again.mean == cifar.mean


@needs_cifar
def test_cifar_full_shared_copy():
    found = data.find_cifar10()
    assert found is not None and found.layout == "imagefolder"
    cifar = data.load_cifar10()
    assert cifar.x_train.shape == (50000, 3, 32, 32) and cifar.x_test.shape == (10000, 3, 32, 32)
    assert torch.bincount(cifar.y_test).tolist() == [1000] * 10
    assert cifar.mean == pytest.approx((0.4914, 0.4822, 0.4465), abs=2e-3)  # the well-known CIFAR-10 means


@needs_cifar
def test_cifar_batches_layout_and_env_var(tmp_path, tmp_cache, monkeypatch):
    """A cifar-10-batches-py folder (the official pickles) is read with a restricted unpickler."""
    small = data.load_cifar10(_small_cifar(tmp_path))
    batches = tmp_path / "dl" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    parts = torch.arange(60).chunk(5)
    for i, idx in enumerate(parts, start=1):
        _write_batch(batches / f"data_batch_{i}", small.x_train[idx], small.y_train[idx])
    _write_batch(batches / "test_batch", small.x_test, small.y_test)
    monkeypatch.setenv("PYLAB_CIFAR10_DIR", str(tmp_path / "dl"))
    found = data.find_cifar10()
    assert found == data.Found(batches, "batches")
    from_batches = data.load_cifar10()
    assert torch.equal(from_batches.x_train, small.x_train) and torch.equal(from_batches.y_test, small.y_test)


def _write_batch(path, x, y):
    d = {b"data": x.reshape(len(x), -1).numpy(), b"labels": y.tolist()}
    path.write_bytes(pickle.dumps(d, protocol=2))


def test_hostile_cifar_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}))
    with pytest.raises(data.DataError, match="not a CIFAR-10 batch file"):
        data.load_cifar10(tmp_path)


def test_missing_cifar_says_how_to_get_it(tmp_path):
    with pytest.raises(data.DataUnavailable, match="ImageFolder layout"):
        data.load_cifar10(tmp_path / "nowhere")


# --- batches, augmentation, normalisation ----------------------------------------------------------------------

def test_batches_cover_every_index_once_and_follow_the_seed():
    got = list(data.batches(10, 4, torch.Generator().manual_seed(3)))
    assert [len(b) for b in got] == [4, 4, 2]
    assert sorted(torch.cat(got).tolist()) == list(range(10))
    again = list(data.batches(10, 4, torch.Generator().manual_seed(3)))
    assert all(torch.equal(a, b) for a, b in zip(got, again, strict=True))
    assert [len(b) for b in data.batches(10, 4, drop_last=True)] == [4, 4]


def test_normalize_matches_torchvision_transforms(mnist):
    from torchvision.transforms import v2

    x = mnist.x_train[:8]
    ours = data.normalize(x, mnist.mean, mnist.std)
    ref = v2.Normalize(mnist.mean, mnist.std)(v2.ToDtype(torch.float32, scale=True)(x))
    assert torch.allclose(ours, ref, atol=1e-5)
    rgb = torch.randint(0, 256, (4, 3, 5, 5), dtype=torch.uint8)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    ref = (rgb.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(data.normalize(rgb, mean, std), ref, atol=1e-5)


def test_augment_is_a_crop_of_the_padded_image_and_a_flip():
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    out = data.augment(x, torch.Generator().manual_seed(0), crop_padding=2, flip=True)
    g = torch.Generator().manual_seed(0)  # replay the same draws
    dy = torch.randint(0, 5, (16,), generator=g)
    dx = torch.randint(0, 5, (16,), generator=g)
    flips = torch.rand(16, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(16):
        expected = padded[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
        if flips[i]:
            expected = expected.flip(2)
        assert torch.equal(out[i], expected)
    assert out.dtype == torch.uint8 and 0 < flips.sum() < 16
    only_flip = data.augment(x, torch.Generator().manual_seed(1), crop_padding=0, flip=True)
    assert all(torch.equal(a, b) or torch.equal(a, b.flip(2)) for a, b in zip(only_flip, x, strict=True))


def test_subset_and_class_examples(mnist):
    sub = mnist.subset(1000, 200, seed=1)
    assert len(sub.y_train) == 1000 and len(sub.y_test) == 200
    assert torch.equal(sub.y_train, mnist.subset(1000, 200, seed=1).y_train)
    idx = data.class_examples(mnist.y_test, 10, 5, seed=0)
    assert idx.shape == (10, 5)
    assert all((mnist.y_test[idx[k]] == k).all() for k in range(10))
    grid = data.tile(mnist.x_test[idx.flatten()], nrow=5, pad=1)
    assert grid.shape == (10 * 29 + 1, 5 * 29 + 1, 1) and grid.dtype == np.uint8
    assert np.array_equal(grid[1:29, 1:29, 0], mnist.x_test[idx[0, 0], 0].numpy())


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
    ds = data.load_image_folder(tmp_path / "pets", size=16, test_fraction=0.2, seed=0)
    assert ds.classes == ("blue", "red")
    assert ds.x_train.shape == (16, 3, 16, 16) and ds.x_test.shape == (4, 3, 16, 16)
    assert torch.bincount(ds.y_test).tolist() == [2, 2]  # stratified
    red = ds.x_train[ds.y_train == 1]
    assert (red[:, 0] == 255).all() and (red[:, 2] == 0).all()
    gray = data.load_image_folder(tmp_path / "pets", size=8, channels=1)
    assert gray.image_shape == (1, 8, 8)
    with pytest.raises(data.DataError, match="at least two class folders"):
        data.load_image_folder(tmp_path / "pets" / "red")
    with pytest.raises(data.DataError, match="No folder"):
        data.load_image_folder(tmp_path / "missing")


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return buf.getvalue()


def test_extract_image_zip_safe(tmp_path):
    good = _zip({"shapes/a/1.png": _png((1, 2, 3)), "shapes/b/1.png": _png((9, 9, 9)),
                 "shapes/b/readme.md": b"hi", "__MACOSX/shapes/._1.png": b"junk"})
    report = data.extract_image_zip(good, tmp_path / "up")
    assert report.images == 2 and report.skipped == 2
    assert report.root == (tmp_path / "up" / "shapes").resolve()
    assert sorted(p.name for p in report.root.iterdir()) == ["a", "b"]
    for evil in ("../evil.png", "/abs/evil.png", "a/../../evil.png"):
        with pytest.raises(data.DataError, match="unsafe path"):
            data.extract_image_zip(_zip({evil: _png((0, 0, 0))}), tmp_path / "evil")
    assert not (tmp_path / "evil.png").exists()
    bomb = _zip({"a/big.png": b"\0" * (3 * 2**20)})  # compresses to a few kB
    with pytest.raises(data.DataError, match="MB"):
        data.extract_image_zip(bomb, tmp_path / "bomb", max_file_mb=2)
    with pytest.raises(data.DataError, match="not a valid zip"):
        data.extract_image_zip(b"definitely not a zip", tmp_path / "x")
    with pytest.raises(data.DataError, match="no image files"):
        data.extract_image_zip(_zip({"a/readme.txt": b"text"}), tmp_path / "y")
    with pytest.raises(data.DataError, match="limit"):
        data.extract_image_zip(good, tmp_path / "z", max_files=1)


def test_sources_report():
    status = {s.dataset: s for s in data.sources()}
    assert status["MNIST"].available and "embedded" in status["MNIST"].where
    assert set(status) == {"MNIST", "Fashion-MNIST", "CIFAR-10"}


def test_without_the_embedded_copy_mnist_says_so_then_uses_a_torchvision_copy(tmp_path, monkeypatch, mnist):
    monkeypatch.setattr(data, "mnist_archive", lambda: None)
    monkeypatch.setenv("PYLAB_CACHE_DIR", str(tmp_path))
    data.load_shared.cache_clear()
    try:
        with pytest.raises(data.DataUnavailable, match="download"):
            data.load_shared("mnist")
        raw = tmp_path / "data" / "torchvision" / "MNIST" / "raw"  # where download("mnist") puts it
        raw.mkdir(parents=True)
        for key, stem in data._IDX_FILES.items():
            arr = getattr(mnist, key)
            (raw / stem).write_bytes(_idx_bytes((arr[:, 0] if arr.dim() == 4 else arr).to(torch.uint8)))
        assert torch.equal(data.load_shared("mnist").x_test, mnist.x_test)
    finally:
        data.load_shared.cache_clear()
