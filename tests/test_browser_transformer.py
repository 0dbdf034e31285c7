"""The tiny transformer in a real browser: Train trains it live (steps count up, the loss falls), Pause stops it,
and the server logs no error."""

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
)


def _step(page) -> int:
    return int(metric_value(page, "Step").first.inner_text().split("/")[0].replace(",", ""))


@pytest.mark.browser
def test_train_learns_and_pause_stops(streamlit_server, page):
    since = log_size(streamlit_server)
    open_lesson(page, streamlit_server, "tiny_transformer", "?tt_length=4&tt_max_steps=5000")
    assert _step(page) == 0
    page.locator(f"{MAIN} .st-key-tt_train button").first.click()
    deadline = time.monotonic() + 120
    while _step(page) < 40 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _step(page) >= 40, "Train did not train"
    loss = float(metric_value(page, "Loss").inner_text())
    assert loss < 2.0  # ln(11) = 2.4 is a uniform guess over the 11 characters of "=abcdefghij"

    page.locator(f"{MAIN} .st-key-tt_pause button").first.click()
    deadline = time.monotonic() + 30
    while not page.locator(f"{MAIN} .st-key-tt_train button").first.is_enabled() and time.monotonic() < deadline:
        time.sleep(0.3)
    paused_at = _step(page)
    time.sleep(2.5)
    assert _step(page) == paused_at, "it kept training after Pause"
    assert exceptions(page) == []
    assert log_errors(streamlit_server, since) == []
    screenshot(page, "tiny_transformer")
