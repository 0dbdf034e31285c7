"""The playground in a real browser: Play trains (the epoch counter and the boundary picture change), Pause stops
it, a click on the map adds a point of the chosen class that the link then carries, and the server logs no error."""

import re
import time

import pytest

from tests.browser_support import (
    MAIN,
    exceptions,
    log_errors,
    log_size,
    metric_value,
    open_lesson,
    screenshot,
    wait_idle,
)

MAP = f'{MAIN} [class*="st-key-pg_map_"] .js-plotly-plot'  # the boundary map (its key counts the clicks)


def _epoch(page) -> int:
    return int(metric_value(page, "Epoch").inner_text().replace(",", ""))


def _boundary_image(page) -> str:
    """The decision boundary's picture (a data URI laid under the map): it changes when the model does."""
    selector = MAP.replace('"', '\\"')
    return page.wait_for_function(f"""() => {{
        const p = document.querySelector("{selector}");  // plotly sets its layout once it has drawn
        return p && p.layout && p.layout.images && p.layout.images[0].source;
    }}""", timeout=60_000).json_value()


@pytest.mark.browser
def test_play_trains_pause_stops_and_a_click_adds_a_point(streamlit_server, page):
    since = log_size(streamlit_server)
    open_lesson(page, streamlit_server, "playground")
    assert _epoch(page) == 0
    before = _boundary_image(page)
    assert before.startswith("data:image/png;base64,")

    page.locator(f"{MAIN} .st-key-pg_play_button button").first.click()
    deadline = time.monotonic() + 60
    while _epoch(page) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _epoch(page) >= 3, "Play did not train"
    time.sleep(1.0)
    assert _boundary_image(page) != before  # the picture follows the model

    page.locator(f"{MAIN} .st-key-pg_pause_button button").first.click()
    time.sleep(2.5)
    wait_idle(page)
    paused_at = _epoch(page)
    time.sleep(2.0)
    assert _epoch(page) == paused_at, "it kept training after Pause"

    # a click on an empty spot of the map adds a point of class 1 there
    page.locator(f"{MAIN} .st-key-pg_click label").filter(has_text="adds class 1").click()
    wait_idle(page)
    plot = page.locator(MAP).locator(".nsewdrag").first
    box = plot.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.1)  # top right: (about 4.8, 4.8)
    deadline = time.monotonic() + 30
    while "pg_points=" not in page.url and time.monotonic() < deadline:
        time.sleep(0.3)
    wait_idle(page)
    match = re.search(r"pg_points=([^&]+)", page.url)
    assert match, page.url
    x1, x2, label = (float(v) for v in match.group(1).replace("%2C", ",").split(","))
    assert x1 > 3 and x2 > 3 and label == 1
    assert page.locator(MAIN).get_by_text("1 point(s) of yours").count() == 1
    assert _epoch(page) == 0  # new data, a new model
    assert exceptions(page) == []
    assert log_errors(streamlit_server, since) == []
    screenshot(page, "playground")
