"""Small Streamlit helpers every lesson uses: header, guard, code panel, and the app-wide error boundary."""

import logging
import os
import threading
from typing import NoReturn

import streamlit as st

from core.system import SetupError
from ui import links, nav, plots

log = logging.getLogger("pytorch_lab")

# Tests set PYLAB_STRICT=1 so that an unexpected exception fails the test instead of being explained politely.
STRICT = os.environ.get("PYLAB_STRICT") == "1"


class _Halt(BaseException):
    """A lesson ended its run early (see halt); run_page catches it. A BaseException like Streamlit's own stop
    signal, so that a lesson's `except Exception` does not swallow it."""


_inside = threading.local()  # is this script thread inside run_page? (each session's run has its own thread)


def run_page(page) -> None:
    """Run the selected page; an unexpected error becomes a short message, never a traceback.

    Whatever way the lesson's run ends, the settings it bound go to the URL (ui.links.finish).
    """
    _inside.page = True
    _inside.panels, _inside.text = [], ("", "")
    plots.capture(True)
    links.begin(nav.by_url(getattr(page, "url_path", "")))
    try:
        page.run()
    except _Halt:
        pass
    except SetupError as exc:  # the environment, not the app: say how to fix it (tests included)
        st.error(str(exc), icon=":material/build:")
    except Exception as exc:  # Streamlit's stop/rerun signals derive from BaseException and pass through
        if STRICT:
            raise
        log.exception("Unexpected error on page %s", getattr(page, "title", "?"))
        st.error(
            f"Something went wrong on this page ({type(exc).__name__}). Your settings are kept: "
            "change a value or reload the page to continue.",
            icon=":material/error:",
        )
    finally:
        _inside.page = False
        st.session_state[NOTEBOOK] = (_inside.text, list(_inside.panels), plots.capture(False),
                                      dict(st.query_params))
        links.finish()


NOTEBOOK = "_notebook_parts"  # session state: (title, intro), code panels, first figure, link of the last lesson run


def notebook_button(lesson) -> None:
    """A "Notebook" download of the lesson as it is now; the file is written only when clicked."""
    from core import notebook

    (title, intro), codes, fig, query = st.session_state.get(NOTEBOOK, (("", ""), [], None, {}))
    if not codes:
        return
    settings = {k: v for k, v in query.items() if k not in links.PRIVATE}

    def data() -> bytes:
        return notebook.build(title or lesson.title, intro, settings, codes,
                              fig.to_json() if fig is not None else None)

    st.download_button("Notebook", data, file_name=notebook.file_name(lesson.url), mime="application/x-ipynb+json",
                       icon=":material/download:", key=f"{lesson.prefix}_notebook",
                       help="This lesson as a Jupyter notebook: its code with these settings, and its first figure")


MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~:$&/=")


def escape_markdown(text: str) -> str:
    """Text from outside the app (a typed name, a file name) shown literally inside a Markdown message: every
    character Markdown, HTML, Streamlit's `:color[...]`/`:material/...:` directives, `$math$` or a bare web address
    could act on is escaped. Example: escape_markdown("[a](http://b)") -> "\\[a\\]\\(http\\:\\/\\/b\\)" """
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIAL else c for c in str(text)).replace("\n", " ")


def header(title: str, intro: str) -> None:
    """Lesson title and a short paragraph on what the learner will see."""
    _inside.text = (title, intro)
    st.title(title)
    st.markdown(intro)


def halt() -> NoReturn:
    """End this run of the lesson here, like st.stop(), except that app.py still draws what comes after the lesson
    (the share button). A lesson run on its own (AppTest switches to page scripts directly) uses st.stop()."""
    if getattr(_inside, "page", False):
        raise _Halt
    st.stop()


def fail(message: str) -> NoReturn:
    """Show a clear message for bad input and stop this run; widgets and session state stay as they were."""
    st.error(message, icon=":material/block:")
    halt()


def code_panel(code: str, *, title: str = "PyTorch code that ran", expanded: bool = False) -> None:
    """The exact PyTorch code behind the picture, copyable (st.code has a copy button)."""
    if getattr(_inside, "page", False):
        _inside.panels.append(code.strip("\n") + "\n")
    with st.expander(title, expanded=expanded, icon=":material/code:"):
        st.code(code.strip("\n"), language="python")
