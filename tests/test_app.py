"""The app shell: navigation lists every lesson, every page renders without an exception."""

import pytest

from tests.helpers import ROOT, open_page
from ui import nav


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


@pytest.mark.parametrize("lesson", nav.lessons(), ids=lambda lesson: lesson.url)
def test_page_renders(app, lesson):
    at = open_page(app, lesson.path)
    assert at.title, f"{lesson.path} has no title"



def test_links_made_before_module_anatomy_had_its_own_prefix_still_open_it(app):
    """nn.Module anatomy's keys were once "ma_" (shared with Math & statistics by mistake); its old links work."""
    app.query_params.update({"ma_hidden": "12", "ma_seed": "42"})
    at = open_page(app, nav.by_url("module_anatomy").path)
    assert at.number_input(key="an_hidden").value == 12 and at.number_input(key="an_seed").value == 42
    assert "ma_seed" not in at.query_params and at.query_params["an_seed"] == "42"  # rewritten to the new keys
    math = open_page(at, nav.by_url("math").path)
    assert math.session_state["ma_seed"] == 0  # Math & statistics keeps its own seed
