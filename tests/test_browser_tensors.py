"""The topk lesson in a real browser: moving the k slider with the keyboard changes what torch returns."""

import pytest

from tests.browser_support import (
    exceptions,
    metric_value,
    open_lesson,
    screenshot,
    wait_for_change,
    wait_idle,
)


@pytest.mark.browser
def test_topk_slider_moves_the_result(streamlit_server, page):
    open_lesson(page, streamlit_server, "topk")
    shape = metric_value(page, "values shape")
    assert shape.inner_text() == "(4, 2)"
    grid_text = page.locator(".js-plotly-plot").first.inner_text()

    # the k slider, the lesson's first: its thumb is an <input type="range">, whose ARIA role is "slider"
    thumb = page.get_by_role("slider", name="k")
    assert thumb.input_value() == "2"
    thumb.focus()
    page.keyboard.press("ArrowRight")

    assert wait_for_change(shape, "(4, 2)") == "(4, 3)"
    wait_idle(page)
    assert metric_value(page, "indices shape").inner_text() == "(4, 3)"
    assert thumb.input_value() == "3"
    new_grid_text = page.locator(".js-plotly-plot").first.inner_text()
    assert new_grid_text != grid_text and "#3" in new_grid_text  # the chart now ranks a third winner per row
    assert page.url.endswith("/topk?tk_k=3")  # the setting is in the shareable link
    assert exceptions(page) == []
    screenshot(page, "topk")
