"""The page registry (ui/nav.py) and the rules it declares: one prefix per lesson, every key inside it."""

import ast
import re

import pytest

from tests.helpers import ROOT, WIDGET_KINDS, open_page
from ui import nav

LESSONS = nav.lessons()
PREFIXES = {lesson.prefix: lesson for lesson in LESSONS}
_KEYISH = re.compile(r"^([a-z]+)_[A-Za-z0-9_]+$")


def test_every_lesson_has_its_own_prefix():
    prefixes = [lesson.prefix for lesson in LESSONS]
    assert all(prefixes), [lesson.path for lesson in LESSONS if not lesson.prefix]
    assert len(prefixes) == len(set(prefixes)), sorted(p for p in prefixes if prefixes.count(p) > 1)
    assert all(re.fullmatch(r"[a-z]{2,5}", p) for p in prefixes)  # keys are f"{prefix}_...": none hides another


def test_math_and_module_anatomy_no_longer_share_keys():
    math, anatomy = nav.by_url("math"), nav.by_url("module_anatomy")
    assert math.prefix == "ma" and anatomy.prefix == "an" and anatomy.legacy_prefix == "ma"


def _key_strings(tree: ast.AST) -> tuple[list, list]:
    """(key= arguments, other state keys) of a page, as (line, text); for an f-string key its literal start."""
    keys, strings = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "key":
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                keys.append((value.lineno, value.value))
            elif isinstance(value, ast.JoinedStr) and value.values and isinstance(value.values[0], ast.Constant):
                keys.append((value.lineno, value.values[0].value))
        else:  # session-state subscripts, .get/.setdefault/.pop arguments, dict keys (PARAMS)
            if isinstance(node, ast.Subscript):
                candidates = [node.slice]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args and \
                    node.func.attr in ("get", "setdefault", "pop"):
                candidates = [node.args[0]]
            elif isinstance(node, ast.Dict):
                candidates = node.keys
            else:
                continue
            strings += [(c.lineno, c.value) for c in candidates if isinstance(c, ast.Constant)
                        and isinstance(c.value, str) and _KEYISH.match(c.value)]
    return keys, strings


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.url)
def test_page_keys_start_with_the_lessons_prefix(lesson):
    keys, strings = _key_strings(ast.parse((ROOT / lesson.path).read_text()))
    own = f"{lesson.prefix}_"
    wrong = [f"line {line}: key {key!r} is not {own}..." for line, key in keys if not key.startswith(own)]
    for line, text in strings:  # PARAMS keys, session-state keys
        other = PREFIXES.get(_KEYISH.match(text).group(1))
        if other is not None and other is not lesson:
            wrong.append(f"line {line}: {text!r} uses the prefix of {other.path}")
    assert not wrong, f"{lesson.path}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.url)
def test_widgets_on_the_page_carry_the_prefix(app, lesson):
    at = open_page(app, lesson.path)
    keys = [w.key for kind in WIDGET_KINDS for w in at.get(kind) if getattr(w, "key", None)]
    assert keys, f"{lesson.path} draws no keyed widget"
    assert [k for k in keys if not k.startswith(f"{lesson.prefix}_")] == []


def test_parts_keys_are_bound_choices():
    for lesson in LESSONS:
        if lesson.parts is not None:
            assert lesson.parts.startswith(f"{lesson.prefix}_"), lesson.path
            assert f'"{lesson.parts}"' in (ROOT / lesson.path).read_text(), lesson.path
