"""Every lesson as a notebook: built from the page's own run (its text, its code panels with the current settings,
its first figure) and valid; the first lesson of each section is executed in a real Jupyter kernel, where every
number a code cell promises to print is printed. (Every lesson's code panels already run and are checked in-process
by tests/test_code_panels.py; a kernel per lesson cost minutes of the suite. PYLAB_ALL_NOTEBOOKS=1 executes all.)"""

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from core import notebook
from tests.helpers import _PRINTED, ROOT, open_page, rerun, same_output, widget
from ui import nav
from ui.common import NOTEBOOK

QUICK = {"training_studio": {"ts_subset": 1000, "ts_epochs": 1}}
EXECUTED = {group[0].url for group in nav.SECTIONS.values() if group}  # one lesson per section runs in a kernel
ALL = os.environ.get("PYLAB_ALL_NOTEBOOKS") == "1"


def notebook_of(app, lesson) -> dict:
    at = open_page(app, lesson.path)
    for key, value in QUICK.get(lesson.url, {}).items():
        widget(at, key).set_value(value)
    rerun(at)
    (title, intro), codes, fig, query = at.session_state[NOTEBOOK]
    assert title and codes, lesson.url
    data = notebook.build(title, intro, query, codes, fig.to_json() if fig is not None else None)
    return json.loads(data)


RECORD = """import builtins, json, sys
_printed = []


def print(*args, sep=" ", end="\\n", file=None, flush=False):  # records what each cell's line printed
    _printed.append((get_ipython().execution_count, sys._getframe(1).f_lineno, sep.join(str(a) for a in args)))
    builtins.print(*args, sep=sep, end=end, file=file, flush=flush)
"""


@pytest.mark.parametrize("lesson", nav.lessons(), ids=lambda lesson: lesson.url)
def test_every_lesson_runs_as_a_notebook(app, lesson):
    nb = nbformat.reads(json.dumps(notebook_of(app, lesson)), as_version=4)
    nbformat.validate(nb)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code_cells:
        compile(cell.source, lesson.url, "exec")  # every cell is Python as written
    if not ALL and lesson.url not in EXECUTED:
        assert any(_PRINTED.match(line) for c in code_cells for line in c.source.splitlines()), lesson.url
        return
    # test only: a first cell that records every print by (cell, line), a last one that reports them
    nb.cells.insert(0, nbformat.v4.new_code_cell(RECORD))
    nb.cells.append(nbformat.v4.new_code_cell('builtins.print("PRINTED" + json.dumps(_printed))'))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, (lesson.url, errors[0].get("evalue"))
    report = next(o.text for o in nb.cells[-1].outputs if o.output_type == "stream" and "PRINTED" in o.text)
    printed = {(cell, line): text for cell, line, text in json.loads(report.split("PRINTED", 1)[1])}
    checked = 0
    for number, cell in enumerate(code_cells, start=3):  # the count a cell sees: its place + 1 (1: recording)
        for line, source in enumerate(cell.source.splitlines(), start=1):
            m = _PRINTED.match(source)
            if m and (number, line) in printed:
                assert same_output(printed[(number, line)], m["expected"]), (lesson.url, source, printed[(number, line)])
                checked += 1
    assert checked, f"{lesson.url}: the notebook prints no number the page showed"
    figures = [c for c in code_cells if "pio.from_json" in c.source]
    assert not figures or any(o.output_type in ("display_data", "execute_result") for o in figures[0].outputs)
