"""What every test module shares: opening lessons in AppTest, reading what a page shows, decoding plotly arrays.

Fixtures live in tests/conftest.py; helpers live here and are imported by name:

    from tests.helpers import metrics, open_page, set_widgets
"""

import base64
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_CIFAR10 = ROOT.parent / "shared" / "datasets" / "cifar10-jpg"  # a real CIFAR-10 copy, where there is one

WIDGET_KINDS = ("slider", "number_input", "selectbox", "toggle", "checkbox", "select_slider", "radio",
                "multiselect", "text_input", "text_area", "segmented_control", "pills", "color_picker")


def open_page(at, lesson_path: str):
    """Switch an AppTest of app.py to a lesson (path relative to the project root) and run it.

    The run goes through app.py as in a browser (tests/conftest.py makes AppTest use st.navigation), so the
    lesson runs inside the error boundary, its share button is drawn and its settings are published to the URL.
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


def widget(at, key: str):
    """The keyed widget, whatever its kind."""
    for kind in WIDGET_KINDS:
        for w in at.get(kind):
            if getattr(w, "key", None) == key:
                return w
    raise AssertionError(f"no widget with key {key!r} on the page")


def set_widgets(at, **values):
    """Set keyed widgets by key and rerun once."""
    for key, value in values.items():
        widget(at, key).set_value(value)
    return rerun(at)


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
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def figure(at, title_start: str) -> dict:
    """The plotly figure whose title starts with this text."""
    for spec in plotly_specs(at):
        title = ((spec.get("layout") or {}).get("title") or {}).get("text") or ""
        if title.startswith(title_start):
            return spec
    raise AssertionError(f"no figure titled {title_start!r}")


def trace(specs: list[dict], name: str) -> dict:
    """The first trace with this name in any of the figures, its x/y/z decoded to arrays."""
    for spec in specs:
        for t in spec["data"]:
            if t.get("name") == name:
                return {**t, **{k: decode(t[k]) for k in ("x", "y", "z") if k in t}}
    raise AssertionError(f"no trace named {name!r}")


def decode(value):
    """A plotly data array as a numpy array: plain lists, or plotly's base64 blocks {"dtype", "bdata", "shape"}.

    Other values (a number, a string, a dict without "bdata") come back as they are.
    """
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return arr.reshape([int(n) for n in str(shape).split(",")]) if shape else arr
    if isinstance(value, list | tuple):
        try:
            return np.array(value, dtype=float)
        except (TypeError, ValueError):
            return np.array(value, dtype=object)
    return value


def numbers(node):
    """Every number in a figure spec (data arrays decoded), to check that none is NaN or infinite."""
    if isinstance(node, dict) and "bdata" in node:
        node = decode(node)
    if isinstance(node, np.ndarray):
        if node.dtype != object:
            yield from node.astype(float).ravel()
            return
        node = node.tolist()
    if isinstance(node, dict):
        for v in node.values():
            yield from numbers(v)
    elif isinstance(node, list):
        for v in node:
            yield from numbers(v)
    elif isinstance(node, float):
        yield node


def codes(at) -> list[str]:
    """The code blocks of the lesson, in order (not the link box inside app.py's share button)."""
    share = {id(c) for pop in at.get("popover") for c in pop.get("code")}
    return [c.value for c in at.code if id(c) not in share]


# ---------------------------------------------------------------------------------------------------------------
# Code panels: run the code a lesson shows and compare what it prints with what the panel says it prints
# ---------------------------------------------------------------------------------------------------------------

PANEL_ICON = ":material/code:"  # ui.common.code_panel's expander
_PRINTED = re.compile(r"^\s*print\(.*\)\s+# (?P<expected>.+?)\s*$")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")


def panels(at) -> list[str]:
    """The code of every code panel (ui.common.code_panel) on the page, in order."""
    return [code.value for exp in at.get("expander") if exp.proto.icon == PANEL_ICON for code in exp.get("code")]


def same_output(printed: str, expected: str, *, rel: float = 1e-3, abs_: float = 1e-4) -> bool:
    """Whether a printed line matches the comment that promised it: the same text, numbers within tolerance."""
    a, b = " ".join(printed.split()), " ".join(expected.split())
    if a == b:
        return True
    if _NUMBER.sub("#", a).replace(" ", "") != _NUMBER.sub("#", b).replace(" ", ""):
        return False
    xs, ys = _NUMBER.findall(a), _NUMBER.findall(b)
    return len(xs) == len(ys) and all(
        math.isclose(float(x), float(y), rel_tol=rel, abs_tol=abs_) or (x == y) for x, y in zip(xs, ys, strict=True))


def run_panel(code: str) -> list[tuple[int, str, str]]:
    """Execute a panel's code; returns (line, printed, expected) for every `print(...)  # expected` line it ran.

    The code runs in a fresh namespace with the project importable (panels may use the project's data loaders).
    """
    expected = {i: m["expected"] for i, line in enumerate(code.splitlines(), 1) if (m := _PRINTED.match(line))}
    results = []

    def recording_print(*args, sep=" ", end="\n", file=None, flush=False):
        frame = sys._getframe(1)
        if frame.f_code.co_filename == "<panel>" and frame.f_lineno in expected:
            results.append((frame.f_lineno, sep.join(str(a) for a in args), expected[frame.f_lineno]))

    namespace = {"__name__": "__panel__", "print": recording_print}
    exec(compile(code, "<panel>", "exec"), namespace)  # the app's own generated code, in a test only
    return results


def panel_variables(code: str) -> dict:
    """Execute a panel's code silently and return its variables, to compare its tensors with the core's."""
    namespace = {"__name__": "__panel__", "print": lambda *args, **kwargs: None}
    exec(compile(code, "<panel>", "exec"), namespace)  # the app's own generated code, in a test only
    return namespace


def central_difference(f, x, h: float = 1e-6):
    """(f(x + h) - f(x - h)) / 2h: a derivative without autograd, to check autograd's."""
    return (f(x + h) - f(x - h)) / (2 * h)


def idx_bytes(t) -> bytes:
    """A uint8 tensor as an IDX file (MNIST's format): magic, sizes, then the bytes."""
    head = bytes([0, 0, 0x08, t.dim()]) + b"".join(d.to_bytes(4, "big") for d in t.shape)
    return head + t.numpy().tobytes()
