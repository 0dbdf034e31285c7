"""A long computation in the real server shows its progress and stops when Cancel is pressed."""

import time

import pytest

from tests.browser_support import MAIN, exceptions, log_errors, log_size, open_lesson, shows


@pytest.mark.browser
def test_cancel_stops_a_long_basins_map(streamlit_server, page):
    since = log_size(streamlit_server)
    open_lesson(page, streamlit_server, "basins", "?bs_n=80&bs_steps=3000&bs_fn=Rastrigin", wait=False)
    cancel = page.locator(".st-key-bs_cancel button")
    cancel.wait_for(timeout=60_000)
    assert "Running every start" in page.locator(f"{MAIN} [data-testid='stProgress']").inner_text()
    clicked = time.monotonic()
    cancel.click()
    stopped = page.locator(f"{MAIN} [data-testid='stAlertContentInfo']").filter(has_text="Stopped")
    stopped.wait_for(timeout=30_000)
    assert time.monotonic() - clicked < 5  # the map alone takes ~9 s: the run was cut short, not finished
    page.locator(".st-key-bs_cancel_anyway button").wait_for(timeout=10_000)  # drawn just after the message
    assert shows(lambda: page.locator(f"{MAIN} .js-plotly-plot").count(), 0) == 0  # no map was drawn
    assert exceptions(page) == [] and log_errors(streamlit_server, since) == []
