"""Shared-server mode: folder boxes read only the host's data folders, with one message that tells nothing about
the path; tables and captions show no server paths. On a learner's own machine every folder can be read."""

import pytest

from core import shared_server
from core.image_data import DataError
from tests.helpers import open_page, set_widgets, table
from tests.test_image_folders import _png

DATASETS = "pages/51_datasets.py"
STUDIO = "pages/50_training_studio.py"


@pytest.fixture
def images(tmp_path):
    """A data root with one image folder in it (two classes), and a folder outside it."""
    root = tmp_path / "data"
    for c in ("cat", "dog"):
        (root / "pets" / c).mkdir(parents=True)
        for i in range(3):
            (root / "pets" / c / f"{i}.png").write_bytes(_png((80 * i, 60, 200 if c == "cat" else 0)))
    (tmp_path / "private" / "a").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "private")
    (root / "escape").symlink_to(tmp_path / "private")
    return tmp_path


@pytest.fixture
def shared(monkeypatch, images):
    monkeypatch.setenv("PYLAB_SHARED", "1")
    monkeypatch.setenv("PYLAB_DATA_ROOTS", str(images / "data"))
    return images


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("0", False), ("off", False)])
def test_the_setting_decides(monkeypatch, value, expected):
    monkeypatch.setenv("PYLAB_SHARED", value)
    assert shared_server.shared() is expected


def test_unset_means_a_learners_own_machine_here(monkeypatch):
    monkeypatch.delenv("PYLAB_SHARED", raising=False)
    assert shared_server.shared() is False  # this checkout is not under Community Cloud's /mount/src/


def test_only_folders_inside_a_data_root_are_allowed(shared):
    assert shared_server.allowed_folder(shared / "data" / "pets") == (shared / "data" / "pets").resolve()
    assert shared_server.allowed_folder(shared / "data" / "pets" / "missing").name == "missing"  # said later
    for path in ("/proc", "/etc/passwd", "/no/such/folder", str(shared / "private"), str(shared / "link"),
                 str(shared / "data" / "escape"), str(shared / "data" / ".." / "private"), "pets", "~", "",
                 "/usr/share/icons/Adwaita/48x48", "a\0b"):
        with pytest.raises(DataError) as info:
            shared_server.allowed_folder(path)
        assert str(info.value) == shared_server.REFUSED, path  # the same words, whatever the path


def test_a_learners_own_machine_reads_any_folder(monkeypatch, images):
    monkeypatch.setenv("PYLAB_SHARED", "0")
    assert shared_server.allowed_folder(images / "private") == images / "private"
    assert shared_server.shown(images / "private") == str(images / "private")


def test_server_paths_are_shown_by_their_data_root_only(shared):
    assert shared_server.shown(shared / "data" / "pets") == "data folder data/pets"
    assert shared_server.shown(shared / "data") == "data folder data"
    assert shared_server.shown("/usr/lib") == "a folder on the server"


def _custom(at):
    at.segmented_control(key="dsb_dataset").set_value("custom")
    at.run()


def _load_folder(at, path: str):
    at.text_input(key="dsb_folder").input(path)
    at.run()
    at.button(key="dsb_load_folder").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_datasets_page_in_shared_mode(app, shared):
    at = open_page(app, DATASETS)
    sources = table(at, "source")["source"].tolist()
    assert not any("/" in s.replace("train/<class>", "").replace("test/<class>", "") for s in sources), sources
    _custom(at)
    assert any("shared server" in c.value for c in at.caption)
    for path in ("/proc", "/usr/share/icons/Adwaita/48x48", str(shared / "private"), "/nonexistent"):
        _load_folder(at, path)
        assert [e.value for e in at.error] == [shared_server.REFUSED], path
    _load_folder(at, str(shared / "data" / "pets"))
    assert at.error == [] and any("4 training and 2 test images in 2 classes" in s.value for s in at.success)


def test_cifar_folder_boxes_in_shared_mode(app, shared):
    at = set_widgets(open_page(app, DATASETS), dsb_dataset="cifar10")
    set_widgets(at, dsb_cifar_path="/etc")
    assert [w.value for w in at.warning] == [shared_server.REFUSED]
    assert shared_server.REFUSED in table(at, "source")["source"].tolist()
    at = set_widgets(open_page(at, STUDIO), ts_dataset="cifar10")
    set_widgets(at, ts_cifar_path="/proc")
    assert any(shared_server.REFUSED in w.value for w in [*at.warning, *at.error, *at.info])


def test_a_learners_own_machine_loads_any_folder(app, images, monkeypatch):
    monkeypatch.setenv("PYLAB_SHARED", "0")
    at = open_page(app, DATASETS)
    _custom(at)
    _load_folder(at, str(images / "data" / "pets"))
    assert any("4 training and 2 test images in 2 classes" in s.value for s in at.success)
    _load_folder(at, str(images / "nothing-here"))
    assert [e.value for e in at.error] == ["There is no folder called `nothing-here` there: check the path."]
