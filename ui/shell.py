"""Make a link straight to a lesson work on a freshly started server.

Streamlit treats a `pages/` folder next to app.py as its older, automatic multipage layout until app.py has
called st.navigation once in the server process. Until then a link such as /topk runs pages/12_topk.py alone,
without app.py around it (no page config, no menu, no error boundary). The first time this module is imported
inside a script run, it switches Streamlit to app.py's navigation and reruns the same page (page hashes are
derived from the URL path, which ui/nav.py keeps equal to Streamlit's own name for the file).
"""


def adopt_app_navigation() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:  # a Streamlit without these internals: nothing to adopt
        return
    if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        import streamlit as st

        st.rerun()
