"""Every lesson's code panel runs as shown and prints what its comments say it prints.

Each lesson (each part of a multi-part lesson) is opened with its default settings; the code of every panel on
the page is executed, and every `print(...)  # expected` line must print its comment (numbers within 1e-3).
The comments are written from the same values the page shows, so the panel is the page's computation, runnable.
"""

import pytest

from tests.helpers import open_page, panels, rerun, run_panel, same_output, widget
from ui import nav

# Lessons whose panel trains or loads a dataset: opened with settings that keep the run short.
QUICK = {"training_studio": {"ts_subset": 1000, "ts_epochs": 1}}


def part_options(at, lesson) -> list:
    """The parts of a multi-part lesson, as its part control offers them ([None] for a single-part lesson)."""
    if lesson.parts is None:
        return [None]
    return list(widget(at, lesson.parts).options)


@pytest.mark.parametrize("lesson", nav.lessons(), ids=lambda lesson: lesson.url)
def test_panels_run_and_print_what_they_say(app, lesson):
    at = open_page(app, lesson.path)
    for key, value in QUICK.get(lesson.url, {}).items():
        widget(at, key).set_value(value)
    rerun(at)
    checked = 0
    for part in part_options(at, lesson):
        if part is not None:
            widget(at, lesson.parts).set_value(part)
            rerun(at)
        for code in panels(at):
            results = run_panel(code)
            wrong = [f"line {line}: printed {printed!r}, the panel says {expected!r}"
                     for line, printed, expected in results if not same_output(printed, expected)]
            assert not wrong, f"{lesson.url} {part or ''}:\n" + "\n".join(wrong) + "\n\n" + code
            checked += len(results)
    assert checked, f"{lesson.url}: no panel prints a value it promises (print(...)  # value)"
