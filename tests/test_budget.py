"""The compute budget: work estimated above budget.HEAVY_S runs with progress and a Cancel button; cancelled
settings are not started again until the learner asks; results are kept for every session."""

import uuid

from streamlit.testing.v1 import AppTest

from core import basins, optimizer_lab
from tests.helpers import open_page
from ui import budget


def _script():
    import streamlit as st

    from ui import budget

    calls = st.session_state.setdefault("calls", [])

    def work(progress):
        reports = []
        for i in range(4):
            if progress is not None:
                progress(i / 4)
                reports.append(i / 4)
        calls.append(reports)
        return sum(range(st.session_state["n"]))

    result = budget.compute(("test", st.session_state["tag"], st.session_state["n"]), work,
                            seconds=st.session_state["seconds"], label="Counting", key="t_cancel")
    st.write(f"result {result}")


def _app(n: int, seconds: float) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["tag"], at.session_state["n"], at.session_state["seconds"] = uuid.uuid4().hex, n, seconds
    return at


def test_quick_work_runs_without_progress_and_heavy_work_reports_it():
    at = _app(10, 0.1).run()
    assert at.markdown[0].value == "result 45" and at.session_state["calls"] == [[]]
    at = _app(10, 5.0).run()
    assert at.markdown[-1].value == "result 45" and at.session_state["calls"] == [[0.0, 0.25, 0.5, 0.75]]
    assert not at.button  # the bar and the Cancel button are gone once the result is there


def test_a_result_is_kept_for_the_next_run_and_session():
    at = _app(7, 5.0).run()
    tag = at.session_state["tag"]
    other = AppTest.from_function(_script, default_timeout=30)
    other.session_state["tag"], other.session_state["n"], other.session_state["seconds"] = tag, 7, 5.0
    other.run()
    assert other.markdown[-1].value == "result 21" and other.session_state["calls"] == []  # not computed again


def test_cancelled_settings_wait_for_run_them_anyway():
    at = _app(5, 5.0)
    at.session_state["t_cancel_what"] = ("test", at.session_state["tag"], 5)  # what the Cancel button's callback sets
    at.run()
    assert "Stopped: these settings take about 5 s" in at.info[0].value
    assert at.session_state["calls"] == [] and not at.markdown  # nothing computed, nothing below
    at.button(key="t_cancel_anyway").click().run()
    assert at.markdown[-1].value == "result 10" and len(at.session_state["calls"]) == 1
    assert "t_cancel_what" not in at.session_state


def test_estimates_put_the_long_links_behind_progress_and_the_defaults_not():
    assert basins.basin_seconds(80, 3000) > 5 > 1 > basins.basin_seconds(40, 300)
    assert optimizer_lab.run_seconds(7, 5000) > 2 > 1 > optimizer_lab.run_seconds(6, 500)


def test_a_heavy_basins_link_shows_its_map_after_progress(app):
    assert basins.basin_seconds(70, 500) > budget.HEAVY_S
    app.query_params.update({"bs_n": "70", "bs_steps": "500"})  # estimated just above budget.HEAVY_S
    at = open_page(app, "pages/31_basins.py")
    assert at.get("plotly_chart") and not [b for b in at.button if b.key == "bs_cancel"]
