"""Every lesson's code panel runs as shown and prints what its comments say it prints.

Each lesson (each part of a multi-part lesson) is opened with its default settings; the code of every panel on
the page is executed, and every `print(...)  # expected` line must print its comment (numbers within 1e-3).
The comments are written from the same values the page shows, so the panel is the page's computation, runnable.
"""

import pytest

from tests.helpers import open_page, panels, rerun, run_panel, same_output, widget
from ui import links, nav

# Lessons whose panel trains or loads a dataset: opened with settings that keep the run short.
QUICK = {"training_studio": {"ts_subset": 1000, "ts_epochs": 1}}


@pytest.fixture
def bound(monkeypatch) -> dict:
    """The params the lesson passed to links.bind (the real Param objects, with their options)."""
    seen: dict = {}
    original = links.bind

    def recording_bind(params, **kwargs):
        seen.update(params)
        return original(params, **kwargs)

    monkeypatch.setattr(links, "bind", recording_bind)
    return seen


@pytest.mark.parametrize("lesson", nav.lessons(), ids=lambda lesson: lesson.url)
def test_panels_run_and_print_what_they_say(app, bound, lesson):
    at = open_page(app, lesson.path)
    for key, value in QUICK.get(lesson.url, {}).items():
        widget(at, key).set_value(value)
    rerun(at)
    checked = 0
    parts = bound[lesson.parts].options if lesson.parts else (None,)  # each part's options, as values
    for part in parts:
        if part is not None:
            at.session_state[lesson.parts] = part
            rerun(at)
        for code in panels(at):
            results = run_panel(code)
            wrong = [f"line {line}: printed {printed!r}, the panel says {expected!r}"
                     for line, printed, expected in results if not same_output(printed, expected)]
            assert not wrong, f"{lesson.url} {part or ''}:\n" + "\n".join(wrong) + "\n\n" + code
            checked += len(results)
    assert checked, f"{lesson.url}: no panel prints a value it promises (print(...)  # value)"
