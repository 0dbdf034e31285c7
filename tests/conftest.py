"""Fixtures shared by every test module (helpers are in tests/helpers.py)."""

import os

import pytest
from streamlit.runtime.pages_manager import PagesManager

from tests.helpers import ROOT, SHARED_CIFAR10

os.environ.setdefault("PYLAB_STRICT", "1")  # unexpected page errors fail tests instead of being explained
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported
if SHARED_CIFAR10.is_dir():  # the real CIFAR-10 copy beside the project, where there is one (CI has it)
    os.environ.setdefault("PYLAB_CIFAR10_DIR", str(SHARED_CIFAR10))

# One streamlit server and one chromium (one Playwright loop) for every browser test in the run.
pytest_plugins = ["tests.browser_support"]

# AppTest starts every run in Streamlit's folder mode when a pages/ folder sits beside app.py, and then runs a
# switched-to page alone. A real server uses app.py's st.navigation (ui/shell.py switches it); so do the tests,
# so that every lesson runs inside app.py: error boundary, share button, settings published to the URL.
_pages_manager_init = PagesManager.__init__


def _navigation_mode(self, *args, **kwargs):
    _pages_manager_init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False


PagesManager.__init__ = _navigation_mode


@pytest.fixture
def app():
    """An AppTest of the whole app (st.navigation), run once so pages can be switched."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="session")
def mnist():
    """Full MNIST as the app loads it (shared, read-only)."""
    from core.datasets import load_shared

    return load_shared("mnist")


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A fresh, empty dataset cache for one test."""
    monkeypatch.setenv("PYLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "data"
