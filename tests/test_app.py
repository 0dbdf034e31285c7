"""The app shell: navigation lists every lesson, every page renders without an exception."""

import pytest

from tests.helpers import ROOT, open_page
from ui import nav
from ui.common import STRICT


def test_every_registered_lesson_has_a_page_file():
    missing = [lesson.path for group in nav.SECTIONS.values() for lesson in group
               if not (ROOT / lesson.path).exists()]
    assert missing == []


def test_url_paths_are_unique():
    urls = [lesson.url for group in nav.SECTIONS.values() for lesson in group] + [nav.HOME.url]
    assert len(urls) == len(set(urls))


def test_url_paths_are_streamlits_own_names_for_the_files():
    # On a fresh server Streamlit finds a linked lesson by this name until app.py has run once (ui/shell.py).
    from streamlit.source_util import page_icon_and_name

    for lesson in nav.lessons():
        assert lesson.url == page_icon_and_name(ROOT / lesson.path)[1]


def test_home_shows_torch_version_and_device(app):
    import torch

    metrics = {m.label: m.value for m in app.metric}
    assert metrics["PyTorch"] == torch.__version__
    assert metrics["Device"] in {"CPU", "CUDA", "MPS"}
    assert int(metrics["CPU threads"]) == torch.get_num_threads()
    assert STRICT


@pytest.mark.parametrize("lesson", nav.lessons(), ids=lambda lesson: lesson.url)
def test_page_renders(app, lesson):
    at = open_page(app, lesson.path)
    assert at.title, f"{lesson.path} has no title"

