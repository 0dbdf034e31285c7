"""In the real page: Markdown and HTML payloads in every lesson's link parameters and in uploaded file and folder
names make no link, image, heading, emphasis, colour or formula (the DOM is read, not the Python side); an
uploaded zip leaves no files behind once decoded, and its session's folder goes when the tab closes."""

import time
from urllib.parse import urlencode

import pytest

from tests.browser_support import MAIN, UPLOADS, exceptions, log_errors, log_size, open_lesson, settle, shows
from tests.test_injection import MARKER, NAME_PAYLOADS, PAYLOADS, _zip
from tests.test_robustness import declared_params
from ui import nav

# Elements a payload must never become (or sit inside): links, images, frames, scripts, headings, emphasis,
# strike-through, coloured text, KaTeX formulas; and no address of the payload's in any href or src.
MARKUP_JS = """(marker) => {
    const found = [];
    const active = 'a, img, iframe, script, object, embed, h1, h2, h3, h4, h5, h6, strong, b, em, i, del, s, mark, '
                 + '.katex, span[style*="color"], [data-testid="stHeadingWithActionElements"]';
    for (const el of document.querySelectorAll('[data-testid="stApp"] *')) {
        for (const name of ['href', 'src', 'xlink:href', 'srcset', 'action', 'formaction']) {
            const v = el.getAttribute(name);
            if (v && (v.includes(marker) || /^\\s*javascript:/i.test(v))) found.push(`${el.tagName} ${name}=${v}`);
        }
        if (el.closest('code, pre, input, textarea, [data-testid="stCode"]')) continue;
        if (el.matches(active) && el.textContent.includes(marker))
            found.push(`${el.tagName}.${el.className}: ${el.textContent.slice(0, 80)}`);
    }
    return found;
}"""


def markup(page) -> list[str]:
    return page.evaluate(MARKUP_JS, MARKER)


# AppTest checks every lesson (tests/test_injection.py); in the browser, by link, a formula with numbers and
# learning rates, parts with shapes and indices, a folder box, and the studio's settings table; and
# tests/test_browser_refused.py types a payload into every lesson's first typed input.
BROWSER_LESSONS = [nav.by_url(url) for url in ("optimizer_lab", "creation_indexing", "datasets", "training_studio")]


@pytest.mark.browser
@pytest.mark.parametrize("lesson", BROWSER_LESSONS, ids=[lesson.url for lesson in BROWSER_LESSONS])
def test_link_payloads_make_no_markup_in_the_page(streamlit_server, page, lesson):
    since = log_size(streamlit_server)
    keys = sorted(declared_params(lesson.path))
    query = {key: PAYLOADS[i % len(PAYLOADS)] for i, key in enumerate(keys)}
    open_lesson(page, streamlit_server, lesson.url, "?" + urlencode(query))
    settle(page)
    assert page.locator(f"{MAIN} h1").count() >= 1  # the lesson is there
    assert markup(page) == []
    assert exceptions(page) == [] and log_errors(streamlit_server, since) == []


def _load_zip(page, name: str, data: bytes) -> None:
    page.locator(".st-key-dsb_zip input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "application/zip", "buffer": data}])
    # The Load button of an earlier upload is still drawn: click only once the uploader lists this file, or the
    # click may load the earlier one.
    listed = page.locator(".st-key-dsb_zip [data-testid='stFileChipName']")
    assert shows(lambda: listed.get_attribute("title", timeout=1000), name) == name
    settle(page)
    page.locator(".st-key-dsb_load_zip button").wait_for()
    page.locator(".st-key-dsb_load_zip button").click()
    page.wait_for_timeout(300)
    settle(page)


@pytest.mark.browser
def test_upload_names_make_no_markup_and_leave_no_files(streamlit_server, tabs):
    tab = tabs.new_page()
    since = log_size(streamlit_server)
    before = set(UPLOADS[streamlit_server].glob("*")) if UPLOADS[streamlit_server].exists() else set()
    try:
        open_lesson(tab, streamlit_server, "datasets", "?dsb_dataset=custom")
        settle(tab)
        _load_zip(tab, f"{NAME_PAYLOADS[0]}.zip", _zip(NAME_PAYLOADS, broken=True))
        assert shows(lambda: tab.locator(f"{MAIN} [data-testid='stAlertContentError']").count(), 1) == 1
        assert MARKER in tab.locator(f"{MAIN} [data-testid='stAlertContentError']").inner_text()
        assert markup(tab) == []
        _load_zip(tab, f"{NAME_PAYLOADS[1]}.zip", _zip(NAME_PAYLOADS))
        success = tab.locator(f"{MAIN} [data-testid='stAlertContentSuccess']")
        assert shows(lambda: success.count(), 1) == 1 and "in 6 classes" in success.inner_text()
        drawn = tab.locator(f"{MAIN} .js-plotly-plot").first  # the class names are drawn (plotly draws late)
        assert shows(lambda: MARKER in drawn.inner_text(), True), drawn.inner_text()
        assert markup(tab) == []
        sessions = set(UPLOADS[streamlit_server].glob("*")) - before
        assert len(sessions) == 1 and [p for s in sessions for p in s.rglob("*")] == []  # decoded, then removed
        assert exceptions(tab) == [] and log_errors(streamlit_server, since) == []
    finally:
        tab.close()
    deadline = time.monotonic() + 30
    while any(s.exists() for s in sessions) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(s.exists() for s in sessions), "the closed session's upload folder is still there"
