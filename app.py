"""PyTorch Lab: learn PyTorch by moving sliders and watching real PyTorch compute.

Run with `make run` (or `streamlit run app.py` inside the project's venv).
"""

import os

# torch's OpenMP threads wait for each other passively instead of spinning: on a shared CPU (Community Cloud,
# a busy laptop) spinning made small convolutions 10-100x slower (BENCHMARKS.md, Networks). Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st

from ui import links, nav
from ui.common import notebook_button, run_page
from ui.session_models import keep_runs, watch_session

st.set_page_config(page_title="PyTorch Lab", page_icon=":material/local_fire_department:", layout="wide")


def _page(lesson: nav.Lesson, default: bool = False) -> st.Page:
    return st.Page(str(nav.ROOT / lesson.path), title=lesson.title, icon=lesson.icon,
                   url_path=lesson.url, default=default)


pages = {"": [_page(nav.HOME, default=True)]}
for section, group in nav.SECTIONS.items():
    present = [_page(lesson) for lesson in group if (nav.ROOT / lesson.path).exists()]
    if present:
        pages[section] = present

page = st.navigation(pages)
if page.url_path == "":  # home
    run_page(page)
else:
    share = st.container(horizontal=True, horizontal_alignment="right")  # above the lesson, filled after it ran
    run_page(page)
    with share:
        links.share_button()
        notebook_button(nav.by_url(page.url_path))
keep_runs()  # a reloaded tab finds this session's training runs again
watch_session()  # when the tab closes, what its session left is given back
