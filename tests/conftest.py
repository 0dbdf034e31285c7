import base64
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PYLAB_STRICT", "1")  # unexpected page errors fail tests instead of being explained
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported

# One streamlit server and one chromium (one Playwright loop) for every browser test in the run.
pytest_plugins = ["tests.browser_support"]


@pytest.fixture
def app():
    """An AppTest of the whole app (st.navigation), run once so pages can be switched."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(at, lesson_path: str):
    """Switch an AppTest to a page (path relative to the project root) and run it.

    AppTest then runs the page script on its own, not through app.py: with a pages/ folder beside app.py it starts
    every run in Streamlit's folder-based page mode. So app.py's error boundary (ui.common.run_page) and share
    button are not in the AppTest tree; the browser tests (a real server, where app.py's st.navigation decides)
    and tests/test_robustness.py cover them.
    """
    at.switch_page(lesson_path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at):
    """Run the AppTest script once more; an exception on the page fails the test with its text."""
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at) -> list[str]:
    """The texts of the st.error boxes on the page."""
    return [e.value for e in at.error]


def metrics(at) -> dict[str, str]:
    """Every st.metric on the page: label -> value as shown."""
    return {m.label: m.value for m in at.metric}


def table(at, column: str):
    """The first dataframe on the page that has this column."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no dataframe with column {column!r}")


def plotly_specs(at) -> list[dict]:
    """The plotly figures on the page, as dicts (data + layout)."""
    import json

    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def decode(value):
    """Plotly writes numpy arrays as base64 'bdata' blocks; turn them (and plain lists) into float arrays."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).astype(float)
    return value


def numbers(node):
    """Every number in a figure spec (data arrays decoded), to check that none is NaN or infinite."""
    node = decode(node)
    if isinstance(node, np.ndarray):
        yield from node.ravel()
    elif isinstance(node, dict):
        for v in node.values():
            yield from numbers(v)
    elif isinstance(node, list):
        for v in node:
            yield from numbers(v)
    elif isinstance(node, float):
        yield node
