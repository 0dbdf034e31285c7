"""Streamlit-side helpers shared by the pages (the only package besides pages/ and app.py that imports streamlit)."""

from ui.shell import adopt_app_navigation

adopt_app_navigation()  # runs once per server process, at the first import inside a script run
