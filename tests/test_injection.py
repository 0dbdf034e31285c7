"""Text from a user never acts as Markdown or HTML: a share link, a typed box, an uploaded file's name or its
folders' names can show a link, an image, a heading or a colour only as plain characters.

Every lesson is opened with Markdown and HTML payloads in every parameter it declares (the keys come from the
lessons' own `links.bind` calls, found as tests/test_robustness.py finds them), and every message, label, caption
and figure text of the page is read. The browser suite checks the same payloads in the real page's DOM
(tests/test_browser_injection.py).
"""

import io
import json
import re
import zipfile

import pytest

from tests.helpers import open_page
from tests.test_image_folders import _png
from tests.test_robustness import bound, declared_params, open_with_link  # noqa: F401 (bound is a fixture)
from ui import nav

MARKER = "evil"
# Each payload holds MARKER inside what it tries to make: a link, an image, a script, a heading, a colour ...
PAYLOADS = [
    "[click evil](https://evil.example/x)", "![evil pixel](https://evil.example/p.png)",
    "[evil js](javascript:alert(1))", "<img src=https://evil.example/i.png>", "<b>evil</b><script>alert(1)</script>",
    "# evil heading", "https://evil.example/bare www.evil.example", ":red[evil] $evil^2$", "**evil** ~~evil~~",
]
ROUNDS = 3  # each key gets a different payload in each round
# Element kinds whose text Streamlit renders as Markdown; every element's label and help are Markdown too.
MARKDOWN_KINDS = {"title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success",
                  "exception", "toast"}
ACTIVE = {  # what Markdown (GitHub's flavour, with Streamlit's additions) would make of MARKER's neighbourhood
    "link or image": r"\]\([^)]*evil|\[[^\]\n]*evil[^\]\n]*\]\(",
    "HTML tag": r"<[A-Za-z!/][^>\n]*evil|<[A-Za-z][^>\n]*>[^<\n]*evil",
    "web address": r"(https?:|www\.)\S*evil",
    "heading": r"(?m)^\s{0,3}#{1,6}\s[^\n]*evil",
    "colour or icon": r":[a-z]+\[[^\]\n]*evil",
    "math": r"\$[^$\n]*evil[^$\n]*\$",
    "emphasis": r"(\*\*|__|~~)evil",
}
# Plotly reads a few HTML tags in any text it draws (<a href>, <b>, <span style>, <sup> ...).
PLOTLY_ACTIVE = r"<(a|img|b|i|em|span|sup|sub|script)\b[^>]*>[^<]*evil|<[^>]*evil[^>]*>"


def active_markup(text: str) -> list[str]:
    """The constructs around MARKER that would render as markup (code spans and escaped characters are literal)."""
    plain = re.sub(r"(`+)(.+?)\1", " ", text, flags=re.S)
    plain = re.sub(r"\\[^\s]", "\x01", plain)
    return [f"{name}: {text[:120]!r}" for name, pattern in ACTIVE.items() if re.search(pattern, plain)]


def test_the_detector_sees_each_payload_raw_and_none_escaped_or_quoted():
    from core.parsing import quoted
    from ui.common import escape_markdown

    for payload in PAYLOADS:
        assert active_markup(payload), payload
        assert active_markup(f"No folder at {escape_markdown(payload)}.") == [], payload
        assert active_markup(f"No folder at {quoted(payload)}.") == [], payload


def _texts(node, out: list[str]) -> list[str]:
    kind = getattr(node, "type", None)
    for attr in ("label", "help", *(("body",) if kind in MARKDOWN_KINDS else ())):
        value = getattr(node, attr, None)
        if isinstance(value, str) and MARKER in value:
            out.append(value)
    if kind == "tabs" or type(node).__name__ == "Tab":
        out.append(str(getattr(node, "label", "")))
    for child in (node.children.values() if isinstance(getattr(node, "children", None), dict) else ()):
        _texts(child, out)
    return out


def _figure_texts(spec) -> list[str]:
    out = []
    if isinstance(spec, dict):
        for value in spec.values():
            out += _figure_texts(value)
    elif isinstance(spec, list):
        for value in spec:
            out += _figure_texts(value)
    elif isinstance(spec, str) and MARKER in spec:
        out.append(spec)
    return out


def page_markup(at) -> list[str]:
    """Every place on the page where MARKER would be drawn as markup rather than as its characters."""
    found = [hit for text in _texts(at._tree, []) for hit in active_markup(text)]
    for chart in at.get("plotly_chart"):
        found += [f"figure: {t[:120]!r}" for t in _figure_texts(json.loads(chart.proto.spec))
                  if re.search(PLOTLY_ACTIVE, t)]
    return found


def _cases():
    for lesson in nav.lessons():
        for round_ in range(ROUNDS):
            yield pytest.param(lesson.path, round_, id=f"{lesson.url}-{round_}")


@pytest.mark.parametrize(("path", "round_"), list(_cases()))
def test_link_payloads_never_become_markup(bound, path, round_):  # noqa: F811 (the fixture)
    kinds = declared_params(path)
    for _ in range(2):  # again with the keys a page binds in a loop (the optimizer lab's per-optimizer ones)
        query = {key: PAYLOADS[(i + 3 * round_) % len(PAYLOADS)] for i, key in enumerate(sorted(kinds))}
        at = open_with_link(path, query)
        assert not at.exception, [e.value for e in at.exception]
        assert page_markup(at) == [], query
        if set(bound) <= set(kinds):
            break
        kinds |= {key: type(p).__name__ for key, p in bound.items()}


# Typed text that each lesson reads as text (not through a link): the folder boxes and formulas.
TYPED = [("pages/51_datasets.py", {"dsb_dataset": "custom"}, "dsb_folder", "dsb_load_folder"),
         ("pages/51_datasets.py", {"dsb_dataset": "cifar10"}, "dsb_cifar_path", None),
         ("pages/50_training_studio.py", {"ts_dataset": "cifar10"}, "ts_cifar_path", None)]


@pytest.mark.parametrize(("path", "query", "key", "button"), TYPED, ids=[t[2] for t in TYPED])
@pytest.mark.parametrize("payload", [*PAYLOADS, "~/[evil](https://evil.example)", "/tmp/<b>evil</b>"])
def test_typed_folder_payloads_never_become_markup(path, query, key, button, payload):
    at = open_with_link(path, query)
    at.text_input(key=key).input(payload)
    at.run()
    if button:
        at.button(key=button).click()
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [*at.error, *at.warning], "the folder was not refused with a message"
    assert page_markup(at) == []


# Names of uploaded files and of the folders inside an uploaded zip.
NAME_PAYLOADS = ["[evil](javascript:alert(1))", "<b>evil<b>", "![evil](x.png)", ":red[evil]", "$evil$", "**evil**"]


def _zip(names: list[str], broken: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, name in enumerate(names):
            for k in range(3):
                z.writestr(f"{name}/{k}.png", _png((60 * i, 40 * k, 90)))
        if broken:
            z.writestr(f"{names[0]}/0.png/inner.png", b"")  # a file and a folder of one name
    return buf.getvalue()


@pytest.mark.parametrize("broken", [False, True], ids=["loaded", "refused"])
def test_upload_and_folder_names_never_become_markup(app, broken):
    at = open_page(app, "pages/51_datasets.py")
    at.segmented_control(key="dsb_dataset").set_value("custom")
    at.run()
    at.file_uploader(key="dsb_zip").set_value((f"{NAME_PAYLOADS[0]}.zip", _zip(NAME_PAYLOADS, broken), "application/zip"))
    at.run()
    at.button(key="dsb_load_zip").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [m.value for m in [*at.success, *at.error]]
    assert any(MARKER in m for m in shown), shown
    assert page_markup(at) == []
    if not broken:  # the class names in the figures and in the Training studio's pictures
        assert any(MARKER in t for chart in at.get("plotly_chart") for t in _figure_texts(json.loads(chart.proto.spec)))
