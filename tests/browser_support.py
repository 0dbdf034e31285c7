"""Fixtures for real-browser tests: the app served by streamlit on a free port, driven by Debian's chromium.

tests/conftest.py registers this module as a plugin, so every test module shares one server and one chromium
(two Playwright sync loops in one process cannot coexist). Use in a test module:

    from tests.browser_support import open_lesson, screenshot

    @pytest.mark.browser
    def test_something(streamlit_server, page):
        open_lesson(page, streamlit_server, "topk")
        ...
        screenshot(page, "topk")

Without chromium the tests are skipped with the reason; with PYLAB_REQUIRE_BROWSER=1 they fail instead.
Never run `playwright install` (it downloads a browser): the Debian `chromium` package is the browser.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_LOG: dict[str, Path] = {}  # base URL -> the server's log file
UPLOADS: dict[str, Path] = {}  # base URL -> the folder that holds the server's sessions' upload folders
LOG_ERRORS = ("Traceback", "Exception", "Error:", "Inotify")  # lines that must never appear in the server log
START_TIMEOUT_S = 120  # a cold start imports streamlit and torch on a busy machine
PAGE_TIMEOUT_MS = 90_000


def _unavailable(reason: str):
    if os.environ.get("PYLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (PYLAB_REQUIRE_BROWSER=1 makes this a failure)")
    pytest.skip(f"{reason}; install Debian's chromium to run browser tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll streamlit's health endpoint until it answers 'ok' (or the server died, or time ran out)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"streamlit did not become healthy at {url} within {timeout_s:.0f} s")


@pytest.fixture(scope="session")
def streamlit_server():
    """`streamlit run app.py` on a free port (headless); yields the base URL and stops the server after."""
    if shutil.which("chromium") is None:
        _unavailable("chromium is not installed")  # no point starting a server nobody can open
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = ROOT / "test-output"
    log.mkdir(exist_ok=True)
    UPLOADS[url] = log / f"uploads-{port}"  # the sessions' upload folders, where a test can look at them
    env = dict(os.environ, PYLAB_STRICT="1",  # an unexpected page error shows as an exception element
               PYLAB_UPLOAD_DIR=str(UPLOADS[url]))
    SERVER_LOG[url] = log / f"streamlit-{port}.log"
    with open(SERVER_LOG[url], "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_healthy(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium through Playwright (never a downloaded browser)."""
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_idle(page, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    """Wait until the script run finished and the navigation (sidebar) has arrived."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_function(  # the app's own menu (with its sections) replaces Streamlit's placeholder one
        "() => (document.querySelector('[data-testid=\"stSidebarNav\"]')?.innerText || '').includes('Tensors')",
        timeout=timeout_ms)


@pytest.fixture(scope="session")
def tabs(browser):
    """One browser context for the whole run: its tabs share the HTTP cache. Each tab is its own Streamlit
    session."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        yield context
    finally:
        context.close()


_TAB: list = []  # the tab the tests share


@pytest.fixture
def page(tabs):
    """The browser tab (1400x1600) the tests share, as one learner's tab going from lesson to lesson: every
    `open_lesson` navigates, which starts a new Streamlit session, and a warm tab loads a lesson in about half
    the time of a new one (~2.5 s against ~6 s on 2 cores). A closed or crashed tab is replaced."""
    if not _TAB or _TAB[0].is_closed():
        _TAB[:] = [tabs.new_page()]
    tab = _TAB[0]
    tab.set_default_timeout(PAGE_TIMEOUT_MS)
    yield tab
    if not tab.is_closed():
        tab.keyboard.press("Escape")  # a popover or menu left open does not follow the next test
        tab.mouse.move(0, 0)


_WARMED: set[str] = set()


def open_lesson(page, base_url: str, url_path: str, query: str = "", *, wait: bool = True):
    """Show one lesson (its URL path from ui/nav.py, optional '?a=1&b=2') and wait for its first run (with
    `wait=False` only for its title: the run may still be going).

    The first visit of a fresh server goes to the home page first: until a session has opened the app's main
    URL, Streamlit serves deep links with its placeholder `pages/` menu and default layout.
    """
    if base_url not in _WARMED:
        page.goto(f"{base_url}/")
        page.wait_for_selector("h1", timeout=PAGE_TIMEOUT_MS)
        wait_idle(page)
        _WARMED.add(base_url)
    page.goto(f"{base_url}/{url_path}{query}")
    page.wait_for_selector("h1", timeout=PAGE_TIMEOUT_MS)
    if wait:
        wait_idle(page)
    return page


def exceptions(page) -> list[str]:
    """Texts of exception elements on the page (with PYLAB_STRICT=1 an unexpected error shows as one)."""
    return page.locator('[data-testid="stException"]').all_inner_texts()


def metric_value(page, label: str):
    """The locator of the value of the st.metric with this label."""
    return (page.locator('[data-testid="stMetric"]').filter(has_text=label)
            .locator('[data-testid="stMetricValue"]'))


def wait_for_change(locator, old: str, timeout_s: float = 60) -> str:
    """Poll until the locator's text differs from `old`; returns the new text."""
    deadline = time.monotonic() + timeout_s
    text = old
    while time.monotonic() < deadline:
        text = locator.inner_text()
        if text != old:
            return text
        time.sleep(0.2)
    raise AssertionError(f"text stayed {old!r} for {timeout_s:.0f} s")


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot into test-output/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


MAIN = '[data-testid="stMain"]'

# What the page shows, as one string: every plotly chart (its data, outlines, labels and images), every metric
# value and every image of the main area; not the widgets themselves, so a moved slider alone does not count.
FINGERPRINT_JS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const skip = (k, v) => (k === 'uid' || k.startsWith('_')) ? undefined : v;  // plotly adds random trace uids
    const parts = [];
    for (const p of main.querySelectorAll('.js-plotly-plot')) {
        const l = p.layout || {};
        parts.push(JSON.stringify([p.data, l.shapes, l.annotations, l.images, l.title], skip));
    }
    for (const m of main.querySelectorAll('[data-testid="stMetricValue"]')) parts.push(m.innerText);
    for (const i of main.querySelectorAll('img')) parts.push(i.src);
    return parts.join('\\n');
}"""


def fingerprint(page) -> str:
    return page.evaluate(FINGERPRINT_JS)


def settle(page, quiet_ms: int = 800) -> None:
    """The script run finished, no element is left stale, and the page stopped changing for `quiet_ms`.

    Streamlit reports a finished run before the browser has drawn everything: charts and some widgets load their
    code lazily and appear up to a second or two later, so the page is watched until it is quiet.
    """
    wait_idle(page)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')")
    snapshot = f"() => document.querySelector('{MAIN}').innerHTML.length + '|' + ({FINGERPRINT_JS})()"
    last, since = page.evaluate(snapshot), time.monotonic()
    deadline = since + 60
    while time.monotonic() - since < quiet_ms / 1000:
        assert time.monotonic() < deadline, "the page kept changing for a minute"
        page.wait_for_timeout(200)
        now = page.evaluate(snapshot)
        if now != last:
            last, since = now, time.monotonic()


def shows(read, expected, timeout_s: float = 30):
    """Poll `read()` until it gives `expected` (a widget may still be drawing after the page settled, most often
    on a busy machine); returns the last value, so `assert shows(...) == expected` reports what was seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = read()
        except Exception as exc:  # not drawn yet: playwright's errors, or a JS TypeError on a missing chart
            value = f"<{type(exc).__name__}>"
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def log_size(base_url: str) -> int:
    """Where the server's log ends now: pass it to `log_errors` to see only what a test caused."""
    return SERVER_LOG[base_url].stat().st_size


def log_errors(base_url: str, since: int = 0) -> list[str]:
    """Lines of the server's log (from byte `since`) that show an error: a traceback, an exception, a warning of
    the file watcher."""
    with open(SERVER_LOG[base_url], errors="replace") as f:
        f.seek(since)
        return [line.rstrip() for line in f if any(word in line for word in LOG_ERRORS)]
