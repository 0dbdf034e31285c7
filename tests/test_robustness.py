"""Bad input never ends in a traceback.

1. Hostile shared links: every lesson opened with junk in every one of its query parameters at once. Each value
   is either read (a valid value) or replaced by its default, a notice names exactly the replaced ones, and every
   widget holds a value on its own scale.
2. Bad values typed into the lessons that take text or files: malformed shapes, huge sizes, out-of-range
   indices, NaN-producing formulas, hostile expressions, huge learning rates, damaged or foreign checkpoints.
   Each gives a clear message, and the rest of the page is still there when it should be.
"""

import ast
import io
import json
import math
import pickle
import re

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import checkpoints, landscapes, models
from tests.helpers import ROOT, codes, errors, metrics, numbers, open_page, plotly_specs, rerun
from ui import links, nav

LESSONS = nav.lessons()
NOTICE = "Some values in the link were not valid and were reset to their defaults"

# Junk for any kind of parameter: numbers out of range or not finite, code, SQL, unicode, very long strings ...
HOSTILE = [
    "nan", "inf", "-1e308", "1e999", "", "'; DROP TABLE runs; --", "__import__('os').system('id')", "9" * 500,
    "a,b,c", "ünï©ødé ☃ \u202e🔥\u200b\ufeff", "x" * 10_000, "１２", "-inf", "0x1F", "None", "[]", "1;2",
    "true", "-0", "\x00\n\t", "{{7*7}}<script>alert(1)</script>",
]
# Text that a Text parameter accepts (short, no control characters) and the lesson itself must refuse.
HOSTILE_TEXT = [
    "__import__('os').system('id')", "'; DROP TABLE runs; --", "a,b,c", "4,,3", "-1,2", "1e9,1e9",
    "ünï©ødé ☃ \u202e🔥", "~nosuchuser/x", "a" * 260, "[[1e999, nan], [inf, -1e308]]", "9" * 35,
    "../../../../etc/passwd", "", "((((", "1" * 38,
]
# Selectors that switch a lesson between parts: each part is opened once with junk in everything else.
PART_KEYS = tuple(lesson.parts for lesson in LESSONS if lesson.parts)  # declared in ui/nav.py
ROUNDS = 3


def declared_params(path: str) -> dict[str, str]:
    """The keys of a page's PARAMS dict and the ui.links class of each, read from its source (nothing runs).

    Keys a page adds in a loop (the optimizer lab's per-optimizer settings) are not here: `hostile_link` finds
    them when the page binds them.
    """
    tree = ast.parse((ROOT / path).read_text())
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "PARAMS" for t in targets) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Call):
                    func = value.func
                    found[key.value] = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return found


@pytest.fixture
def bound(monkeypatch) -> dict:
    """The PARAMS that the page of the last script run passed to links.bind (the real Param objects)."""
    seen: dict = {}
    original = links.bind

    def recording_bind(params, **kwargs):
        seen.clear()
        seen.update(params)
        return original(params, **kwargs)

    monkeypatch.setattr(links, "bind", recording_bind)
    return seen


def hostile_values(kinds: dict[str, str], round_: int) -> dict[str, str]:
    """One junk value per key; each round shifts the values, so that every key gets different ones."""
    out = {}
    for i, (key, kind) in enumerate(sorted(kinds.items())):
        pool = HOSTILE_TEXT if kind == "Text" else HOSTILE
        out[key] = pool[(i + 5 * round_) % len(pool)]
    return out


def open_with_link(path: str, query: dict[str, str]) -> AppTest:
    """A fresh session that opens `path` from a link carrying `query` (app.py first, as a browser does)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(query)
    at.run()
    at.switch_page(path)
    at.run()
    return at


def parsed(param: links.Param, raw: str):
    """What links.bind makes of `raw`: (value, accepted)."""
    try:
        return param.parse(raw), True
    except (ValueError, TypeError):
        return param.default, False


def notice_keys(at) -> set[str]:
    keys = set()
    for info in at.info:
        if info.value.startswith(NOTICE):
            keys |= set(re.findall(r"`([A-Za-z0-9_]+)`", info.value))
    return keys


def invalid_widgets(at, keys) -> list[str]:
    """Bound widgets whose value is off their own scale (out of [min, max], not one of the options)."""
    bad = []

    def check(widget, ok):
        if widget.key in keys and not ok:
            bad.append(f"{widget.type} {widget.key} = {widget.value!r}")

    for w in at.slider:
        values = w.value if isinstance(w.value, list | tuple) else [w.value]
        check(w, all(w.min <= v <= w.max for v in values))
    for w in at.number_input:
        check(w, w.value is not None and (w.min is None or w.value >= w.min) and (w.max is None or w.value <= w.max))
    for w in at.select_slider:
        values = w.value if isinstance(w.value, list | tuple) else [w.value]
        check(w, all(str(w.format_func(v)) in w.options for v in values))
    for w in [*at.selectbox, *at.radio]:
        try:
            check(w, w.value is None or w.index is not None)
        except ValueError:
            check(w, False)
    for w in [*at.multiselect, *at.segmented_control, *at.pills]:
        try:
            check(w, w.indices is not None)
        except ValueError:
            check(w, False)
    for w in [*at.toggle, *at.checkbox]:
        check(w, isinstance(w.value, bool))
    for w in [*at.text_input, *at.text_area]:
        check(w, isinstance(w.value, str))
    return bad


def hostile_link(path: str, bound: dict, round_: int, part: tuple[str, str] | None = None):
    """Open `path` with junk in all its parameters (and `part` = (key, option) set to a valid part)."""
    kinds = declared_params(path)
    for _ in range(2):  # a second time when the page binds keys its source does not spell out
        query = hostile_values(kinds, round_)
        if part:
            query[part[0]] = part[1]
        at = open_with_link(path, query)
        assert not at.exception, (path, query, [e.value for e in at.exception])
        params = dict(bound)
        missing = {key: type(p).__name__ for key, p in params.items() if key not in kinds}
        if not missing:
            break
        kinds |= missing
    assert params, f"{path} never called links.bind"
    assert set(params) <= set(query), f"{path}: keys without junk: {set(params) - set(query)}"
    return at, params, query


def check_fallbacks(at, params: dict, query: dict, *, changed_by_page: set = frozenset()):
    """Every key holds what links.bind made of its junk, and the notice names exactly the keys reset."""
    rejected = set()
    for key, param in params.items():
        value, ok = parsed(param, query[key])
        if not ok:
            rejected.add(key)
        if key in changed_by_page or key not in at.session_state:
            continue
        assert at.session_state[key] == value, (key, query[key][:40], at.session_state[key], value)
    assert notice_keys(at) == rejected
    assert invalid_widgets(at, set(params)) == []
    assert at.title, "the lesson's title is gone"


def _cases():
    for lesson in LESSONS:
        for round_ in range(ROUNDS):
            yield pytest.param(lesson.path, round_, id=f"{lesson.url}-{round_}")


# Keys a page moves on its own after reading them (e.g. a dim that the shape does not have, a k larger than
# the dim): their value is checked against the widget's scale only.
CHANGED_BY_PAGE = {"tk_dim", "tk_k", "cs_dim", "ma_dim", "ol_x0", "ol_y0", "ga_dim", "cv_oc", "cv_pos"}


@pytest.mark.parametrize(("path", "round_"), list(_cases()))
def test_hostile_link_falls_back_with_a_notice(bound, path, round_):
    at, params, query = hostile_link(path, bound, round_)
    check_fallbacks(at, params, query, changed_by_page=CHANGED_BY_PAGE)
    assert any(info.value.startswith(NOTICE) for info in at.info)  # every round has rejected values


def test_link_notices_use_the_apps_words_and_never_the_links_text():
    """A link's text never reaches the page: no clickable link, no image address, no Python error text."""
    evil = {"bc_cap": "[Your session expired - click here](https://evil.example/x)",
            "bc_a": "![pixel](https://evil.example/p.png)"}
    at = open_with_link("pages/10_broadcasting.py", evil)
    notices = [i.value for i in at.info if i.value.startswith(NOTICE)]
    assert len(notices) == 1 and "`bc_cap` must be a whole number" in notices[0]
    shown = " ".join(e.value for kind in ("info", "error", "warning", "markdown", "caption") for e in at.get(kind))
    assert "evil.example" not in shown and "invalid literal" not in shown


def _part_cases():
    for lesson in LESSONS:
        kinds = declared_params(lesson.path)
        for key in PART_KEYS:
            if key in kinds:
                yield pytest.param(lesson.path, key, id=f"{lesson.url}-{key}")


@pytest.mark.parametrize(("path", "key"), list(_part_cases()))
def test_hostile_link_in_every_part_of_a_lesson(bound, path, key):
    """Text boxes that only one part shows get their junk too: each part is opened with junk in the rest."""
    at = open_with_link(path, {})
    options = bound[key].options
    for i, option in enumerate(options[1:], start=1):  # the first option is the default: covered above
        at, params, query = hostile_link(path, bound, i, part=(key, str(option)))
        assert at.session_state[key] == option
        check_fallbacks(at, params, query, changed_by_page=CHANGED_BY_PAGE)


def _text_cases():
    for lesson in LESSONS:
        kinds = declared_params(lesson.path)
        if "Text" in kinds.values():
            yield pytest.param(lesson.path, id=lesson.url)


@pytest.mark.parametrize("path", list(_text_cases()))
def test_every_hostile_text_in_every_text_box(app, bound, path):
    """Each junk text that a link can carry (short enough, no control characters) in all text boxes of a lesson
    at once, in each of its parts: a message at most, never an exception."""
    at = open_page(app, path)
    params = dict(bound)
    texts = [key for key, param in params.items() if isinstance(param, links.Text)]
    parts = [(key, option) for key in PART_KEYS if key in params for option in params[key].options] or [(None, None)]
    for part_key, option in parts:
        for text in HOSTILE_TEXT:
            if part_key:
                at.session_state[part_key] = option
            for key in texts:
                at.session_state[key] = text[:params[key].max_len]
            at.run()
            assert not at.exception, (part_key, option, text[:40], [e.value for e in at.exception])
            assert at.title
            for box in [*at.text_input, *at.text_area]:
                if box.key in texts:
                    assert box.value == text[:params[box.key].max_len]


# ---------------------------------------------------------------------------------------------------------------
# Bad values typed into a lesson


def finite_figures(at) -> bool:
    """No NaN or infinity in any number of any figure on the page (what plotly would choke on)."""
    return all(math.isfinite(v) for spec in plotly_specs(at) for v in numbers(spec["data"]))


BAD_SHAPES = [  # (typed, words the message must contain)
    ("a,b", "`a` is not a size"),
    ("-1,2", "sizes cannot be negative"),
    ("1e9,1e9", "`1e9` is not a size"),
    ("100000,100000", "at most 1,000,000"),
    ("1,1,1,1,1,1,1,1,1", "at most 8"),
    ("", "Type a shape"),
    ("((((", "is not a size"),
    ("__import__('os')", "is not a size"),
    ("0,3", "size 0"),
    ("9" * 40, "is not a size"),
    ("３,⁴", "is not a size"),
]


@pytest.mark.parametrize(("path", "key", "limit"), [
    ("pages/10_broadcasting.py", "bc_a", "at most 1,000,000"),
    ("pages/12_topk.py", "tk_shape", "at most 10,000"),
    ("pages/13_creation_indexing.py", "cr_shape", "at most 1,000,000"),
])
def test_malformed_shapes_are_messages_and_the_page_recovers(app, path, key, limit):
    at = open_page(app, path)
    good = at.text_input(key=key).value
    for text, words in BAD_SHAPES:
        if path == "pages/12_topk.py" and text.count(",") > 2:
            words = "at most 3"  # topk draws 1 to 3 dims
        at.text_input(key=key).set_value(text)
        rerun(at)
        expected = limit if words == "at most 1,000,000" else words
        assert any(expected in e for e in errors(at)), (text, errors(at))
        assert not plotly_specs(at), text
    at.text_input(key=key).set_value("4,,3")  # empty parts between commas are skipped: (4, 3)
    rerun(at)
    assert not errors(at) and plotly_specs(at)
    at.text_input(key=key).set_value(good)
    rerun(at)
    assert not errors(at) and plotly_specs(at)


def test_gather_out_of_range_and_overflowing_indices(app):
    at = open_page(app, "pages/11_gather.py")
    at.segmented_control(key="ga_mode").set_value("Type your own")
    rerun(at)
    at.text_area(key="ga_input").set_value("[[1, 2], [3, 4]]")
    for index, words in [("[[-1, 0], [1, 0]]", "out of range"), ("[[99999, 0], [1, 0]]", "out of range"),
                         ("[[1e20, 0], [1, 0]]", "too large to be an index"), ("[[nan, 0], [1, 0]]", "not a whole number"),
                         ("[[0.5, 0], [1, 0]]", "not a whole number"), ("[[inf, 0], [1, 0]]", "not a whole number"),
                         ("[" * 20 + "0" + "]" * 20, "at most 8 dimensions"), ("[[0, 0], [1, 0]] junk", "Unexpected")]:
        at.text_area(key="ga_index").set_value(index)
        rerun(at)
        assert any(words in e for e in errors(at)), (index, errors(at))
    for values, words in [("[[1, 2], [3]]", "rectangular"), ("[[1, 2], [3, 4]", "never closed"),
                          ("[" + ", ".join(["1"] * 5000) + "]", "at most 4,096")]:
        at.text_area(key="ga_input").set_value(values)
        at.text_area(key="ga_index").set_value("[[0, 0], [1, 0]]")
        rerun(at)
        assert any(words in e for e in errors(at)), (values[:30], errors(at))
    at.text_area(key="ga_input").set_value("[[1e999, -1e308], [nan, 4]]")  # odd but valid values: drawn, no crash
    rerun(at)
    assert not errors(at) and plotly_specs(at)


def test_gather_dim_from_a_link_that_the_tensors_lack():
    at = open_with_link("pages/11_gather.py", {"ga_mode": "Type your own", "ga_dim": "-3",
                                               "ga_input": "[1, 2, 3]", "ga_index": "[2, 0]"})
    assert not at.exception
    assert at.session_state["ga_dim"] in (-1, 0)  # a 1-D tensor has dims -1 and 0
    assert codes(at)[0] == "out = [3, 1]"


def test_topk_k_and_dim_from_a_link_are_clamped_to_the_shape():
    at = open_with_link("pages/12_topk.py", {"tk_shape": "3,5", "tk_k": "4096", "tk_dim": "2"})
    assert not at.exception
    assert at.session_state["tk_dim"] == 1 and at.slider(key="tk_k").value == 5
    assert metrics(at)["values shape"] == "(3, 5)"


@pytest.mark.parametrize(("part", "setup", "key", "cases"), [
    ("Index", {"cr_iop": "slice"}, "cr_items", [
        ("9:1:-1", "step"), ("0,0,0,0,0,0,0,0,0", "more than this lesson allows"), ("x.__class__", "not an index item"),
        ("99999999999", "not an index item"), ("..., ...", "only once"), ("", "Type an index"),
        ("7", "out of bounds")]),
    ("Index", {"cr_iop": "index_select"}, "cr_isidx", [
        ("0, 99", "out of range"), ("a, b", "not a number"), ("0.5", "not a whole number"), ("nan", "whole")]),
    ("Index", {"cr_iop": "take"}, "cr_take", [("20", "out of range"), ("-21", "out of range"),
                                             ("1e99", "too large to be an index")]),
    ("View & strides", {}, "cr_new", [("-1,-1", "Only one size can be -1"), ("7,7", "elements"),
                                      ("a", "not a size")]),
    ("View & strides", {"cr_first": "permute"}, "cr_perm", [("0,0", "exactly once"), ("0,1,2", "exactly once"),
                                                            ("1", "exactly once")]),
])
def test_creation_and_indexing_bad_text(app, part, setup, key, cases):
    at = open_page(app, "pages/13_creation_indexing.py")
    at.segmented_control(key="cr_part").set_value(part)
    rerun(at)
    for k, v in setup.items():
        at.session_state[k] = v
    rerun(at)
    for text, words in cases:
        at.text_input(key=key).set_value(text)
        rerun(at)
        assert any(words.lower() in e.lower() for e in errors(at)), (text, errors(at))


def test_creation_huge_ranges_are_refused(app):
    at = open_page(app, "pages/13_creation_indexing.py")
    at.selectbox(key="cr_kind").set_value("arange")
    rerun(at)
    at.number_input(key="cr_start").set_value(-1e6)
    at.number_input(key="cr_end").set_value(1e6)
    at.number_input(key="cr_step").set_value(1e-6)
    rerun(at)
    assert any("1,000,000" in e for e in errors(at)), errors(at)
    at.number_input(key="cr_step").set_value(0.0)
    rerun(at)
    assert errors(at) and "step" in errors(at)[0]
    at.selectbox(key="cr_kind").set_value("logspace")
    rerun(at)
    at.number_input(key="cr_start").set_value(0.0)
    at.number_input(key="cr_end").set_value(1e6)  # base**1e6 overflows to inf: drawn as inf, never a crash
    at.number_input(key="cr_steps").set_value(1_000_000)
    rerun(at)
    shown = metrics(at)  # a million values, allowed; 10**1e6 overflows float32: drawn as inf, never an error
    assert shown["shape"] == "(1000000,)" and shown["min / max"] == "1 / inf" and not errors(at)


def test_combine_and_split_bad_text(app):
    at = open_page(app, "pages/14_combine_split.py")
    for text, words in [("2,3;" * 5, "between 1 and 4"), (";;;", "between 1 and 4"), ("2,3; a", "not a size"),
                        ("300,301; 300,300", "at most 50,000")]:
        at.text_input(key="cs_shapes").set_value(text)
        rerun(at)
        assert any(words in e for e in errors(at)), (text, errors(at))
    at.segmented_control(key="cs_part").set_value("split & chunk")
    rerun(at)
    at.radio(key="cs_mode").set_value("split([sizes])")
    rerun(at)
    for text, words in [("1, 1", "add up"), ("-1, 6", "negative"), ("a", "not a number"), ("0.5, 4.5", "whole")]:
        at.text_input(key="cs_sizes").set_value(text)
        rerun(at)
        assert any(words in e for e in errors(at)), (text, errors(at))


@pytest.mark.parametrize(("page", "key"), [("pages/21_losses.py", "loss_logits"), ("pages/22_softmax.py", "sm_logits")])
def test_logits_that_are_not_finite_or_too_many(app, page, key):
    at = open_page(app, page)
    for text, words in [("nan, 1", "finite"), ("inf, 1", "finite"), ("1e999, 0", "finite"), ("-1e308, 0", "finite"),
                        (", ".join(["1"] * 11), "more than this lesson allows"), ("1,, 2 ,,", None),
                        ("0x10, 1", "not a number"), ("1e5, 0", "finite")]:
        at.text_input(key=key).set_value(text)
        rerun(at)
        if words is None:
            assert not errors(at), (text, errors(at))  # separators repeated are fine
        else:
            assert any(words in e for e in errors(at)), (text, errors(at))


LAB, BASINS = "pages/30_optimizer_lab.py", "pages/31_basins.py"


def test_lab_hostile_and_degenerate_formulas(app):
    at = open_page(app, LAB)
    at.selectbox(key="ol_fn").set_value(landscapes.CUSTOM)
    rerun(at)
    refused = [
        ("x**y**99999", "exponent"), ("1/0 + x", "divides a number by zero"), ("a" * 10_000, "Unknown name"),
        ("(lambda: x)()", "lambda"), ("[x for x in y]", "comprehensions"), ("x if y else 1", "if/else"),
        ("sin(x, y)", "exactly one plain argument"), ("exp(1000) * x", "out of range"), ("9" * 60 + "*x", "too large"),
        ("open('/etc/passwd')", "not an allowed function"), ("x.__class__", "Attribute access"),
        ("'x' * 3", "Text in quotes"), ("x == y", "Comparisons"), ("-(" * 40 + "x" + ")" * 40, "nested too deeply"),
        ("x +* y", "Could not read"), ("7", "neither x nor y"), ("x\ny", "control characters"), ("", "Type a formula"),
        ("__builtins__", "Unknown name"), ("sin", "is a function"), ("(-8) ** (1/3) * x", "fractional power"),
        ("x @ y", "not allowed"),
    ]
    for text, words in refused:
        at.text_input(key="ol_expr").set_value(text)
        rerun(at)
        assert errors(at) and words in errors(at)[0], (text[:40], errors(at))
        assert not plotly_specs(at)
        assert at.selectbox(key="ol_fn").value == landscapes.CUSTOM  # the learner's choices stay
    # accepted, but not defined at the start: said so
    for text in ["log(x)", "sqrt(x - 10)", "1/(x - x)", "x/y"]:
        at.text_input(key="ol_expr").set_value(text)
        rerun(at)
        assert errors(at) and "not defined at the start point (0, 0)" in errors(at)[0], (text, errors(at))
        assert finite_figures(at), text
    # NaN or infinite on part of the map, or along the way: drawn without a crash, each path stops at its last
    # finite point
    for text in ["log(x + 1)", "sqrt(x) + y**2", "x**y**60", "exp(exp(exp(x)))", "0*x", "1/x**2 + y"]:
        at.text_input(key="ol_expr").set_value(text)
        rerun(at)
        assert finite_figures(at), text
        if errors(at):
            assert "not defined at the start point" in errors(at)[0], (text, errors(at))
        else:
            assert "minimum reached" in at.dataframe[0].value.columns


def test_lab_every_optimizer_at_the_largest_learning_rate(app):
    at = open_page(app, LAB)
    at.multiselect(key="ol_opts").set_value(list(T_OPTIMIZERS_2D))
    rerun(at)
    for slug in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"):
        at.select_slider(key=f"ol_lr_{slug}").set_value(10.0)
    rerun(at)
    rows = at.dataframe[0].value.set_index("optimizer")
    assert list(rows.index) == list(T_OPTIMIZERS_2D)
    diverged = [w.value for w in at.warning if "diverged at step" in w.value]
    assert any(w.startswith("**SGD**") for w in diverged)
    assert finite_figures(at)


def test_basins_nan_formula_is_drawn_without_a_crash(app):
    at = open_page(app, BASINS)
    at.selectbox(key="bs_fn").set_value(landscapes.CUSTOM)
    rerun(at)
    for text in ["sqrt(x - 10)", "log(x) + y**2", "1/(x - x)"]:
        at.text_input(key="bs_expr").set_value(text)
        rerun(at)
        assert not errors(at), (text, errors(at))
        assert finite_figures(at), text
    at.text_input(key="bs_expr").set_value("x**60 + y**60")  # every start but the centre diverges
    rerun(at)
    assert not errors(at) and finite_figures(at)
    assert any("diverged" in w.value for w in at.warning)


def test_gradient_descent_learning_rate_from_a_link_stays_on_the_slider():
    at = open_with_link("pages/23_gradient_descent.py", {"gd_lr": "1e3", "gd_steps": "1e9", "gd_x0": "nan"})
    assert not at.exception
    assert notice_keys(at) == {"gd_lr", "gd_steps", "gd_x0"}
    assert at.slider(key="gd_lr").value == 0.02 and at.slider(key="gd_steps").value == 60
    assert plotly_specs(at)


def test_gradient_descent_largest_learning_rate_on_every_function(app):
    at = open_page(app, "pages/23_gradient_descent.py")
    for name in at.selectbox(key="gd_fn").options:
        at.selectbox(key="gd_fn").set_value(name)
        at.slider(key="gd_lr").set_value(1.5)
        at.slider(key="gd_x0").set_value(6.0)
        at.slider(key="gd_steps").set_value(200)
        rerun(at)
        assert finite_figures(at), name
        messages = errors(at) + [w.value for w in at.warning] + [s.value for s in at.success] + \
            [i.value for i in at.info]
        assert messages, name


T_OPTIMIZERS_2D = ("SGD", "SGD+momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW")

# ---------------------------------------------------------------------------------------------------------------
# Training studio: a huge learning rate and damaged or foreign checkpoints

STUDIO = "pages/50_training_studio.py"


def _train_small(app, **settings):
    at = open_page(app, STUDIO)
    for key, value in {"ts_subset": 1000, "ts_epochs": 1, **settings}.items():
        at.session_state[key] = value
    rerun(at)
    at.button(key="ts_start").click()
    rerun(at)
    for _ in range(60):
        if at.button(key="ts_pause").disabled:
            break
        rerun(at)
    return rerun(at)


def test_studio_learning_rate_1000_diverges_with_a_message_and_finite_curves(app):
    at = _train_small(app, ts_lr=1000.0, ts_momentum=0.9)
    run = at.session_state["ts_history"].runs[-1]
    assert run.trainer.status == "diverged"
    assert any("diverged" in e and "1000" in e for e in errors(at))
    assert finite_figures(at)
    assert not at.button(key="ts_start").disabled  # a new run can start


class _Touch:
    """A pickle that would create a file when loaded without weights_only."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def _pt(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _shared_storage_state(cfg: models.ModelConfig) -> dict:
    """A state_dict with the right names and shapes for `cfg` whose tensors are all views of one storage."""
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in models.build_model(cfg, seed=None).state_dict().items()}
    storage = torch.zeros(max(math.prod(s) for s in shapes.values()))
    return {k: storage[:math.prod(s)].view(s) for k, s in shapes.items()}


def test_studio_damaged_foreign_and_hostile_checkpoints(app, tmp_path):
    at = _train_small(app)
    run = at.session_state["ts_history"].runs[-1]
    weights = checkpoints.weights_bytes(run.model)
    state = {k: v.clone() for k, v in run.model.state_dict().items()}
    marker = tmp_path / "pwned"
    nan_state = {k: torch.full_like(v, math.nan) for k, v in state.items()}
    big = models.ModelConfig("mlp", hidden=(2048,) * 16)
    cases = [
        ([("evil.pt", _pt({"w": _Touch(marker)}), "application/octet-stream")], "not a PyTorch weights file"),
        ([("evil.pt", pickle.dumps(_Touch(marker)), "application/octet-stream")], "not a PyTorch weights file"),
        ([("half.pt", weights[: len(weights) // 2], "application/octet-stream")], "damaged"),
        ([("empty.pt", b"", "application/octet-stream")], "damaged"),
        ([("tensor.pt", _pt(torch.zeros(3)), "application/octet-stream")], "holds no state_dict"),
        ([("ints.pt", _pt({1: torch.zeros(3)}), "application/octet-stream")], "holds no state_dict"),
        ([("nan.pt", _pt(nan_state), "application/octet-stream")], "NaN or infinite"),
        ([("m.pt", weights, "application/octet-stream"), ("m.json", b"{not json", "application/json")],
         "not valid JSON"),
        ([("m.pt", weights, "application/octet-stream"), ("m.json", b"[1, 2]", "application/json")],
         "no \"model\" section"),
        ([("m.pt", weights, "application/octet-stream"),
          ("m.json", json.dumps({"model": {"arch": "gpt-5"}}).encode(), "application/json")], "unknown architecture"),
        ([("m.pt", weights, "application/octet-stream"),
          ("m.json", json.dumps({"model": {"arch": "mlp", "hidden": [1e9]}}).encode(), "application/json")],
         "positive integers"),
        # a config for a model of a billion parameters, with a small file: refused before the model is built
        ([("m.pt", weights, "application/octet-stream"),
          ("m.json", json.dumps({"model": {"arch": "mlp", "hidden": [4096] * 8}}).encode(), "application/json")],
         "do not fit the architecture 'mlp'"),
        # a config of 50,000 layers (once 29 s of building): refused from its size, before it is even parsed
        ([("m.pt", weights, "application/octet-stream"),
          ("m.json", json.dumps({"model": {"arch": "mlp", "hidden": [1] * 50_000}}).encode(), "application/json")],
         "under 4 KB"),
        ([("m.pt", weights, "application/octet-stream"),
          ("m.json", json.dumps({"model": {"arch": "mlp", "hidden": [1] * 20}}).encode(), "application/json")],
         "at most 16 hidden layers"),
        # every tensor such a model needs, all views of one storage: 16 MB on disk, 1 GB as a model
        ([("m.pt", _pt(_shared_storage_state(big)), "application/octet-stream"),
          ("m.json", json.dumps({"model": big.to_dict()}).encode(), "application/json")], "far smaller"),
        ([("only.json", checkpoints.config_json(run.model_cfg).encode(), "application/json")], "Add the weights file"),
    ]
    for files, words in cases:
        at.file_uploader(key="ts_upload").set_value(files)
        rerun(at)
        shown = errors(at) + [w.value for w in at.warning]
        assert any(words in m for m in shown), (files[0][0], words, shown)
        assert metrics(at)["Test accuracy"]  # the trained run's results are still on the page
        assert len(at.session_state["ts_history"].runs) == 1
    assert not marker.exists()  # nothing inside a file ran


# ---------------------------------------------------------------------------------------------------------------
# 3. A broken install: a torchvision built for another torch fails on import (e.g. "operator torchvision::nms
#    does not exist"). The lessons that need it say what to do; the others do not notice.


@pytest.fixture
def broken_torchvision(monkeypatch, tmp_path):
    """`import torchvision` fails the way a torchvision built for another torch does."""
    import sys

    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_broken_torchvision_gives_a_setup_message(broken_torchvision):
    from core import system

    with pytest.raises(system.SetupError) as caught:
        system.torchvision()
    message = str(caught.value)
    assert "operator torchvision::nms does not exist" in message
    assert torch.__version__ in message and "pip install -r requirements.txt" in message


def test_architectures_with_a_broken_torchvision_raise_the_setup_message(broken_torchvision):
    from core import architectures, system

    with pytest.raises(system.SetupError, match="requirements.txt"):
        architectures.summarize("ResNet-18")
    assert architectures.summarize("LeNet-5").params == 61_706  # LeNet-5 comes from core.models: no torchvision needed


def test_the_error_boundary_turns_an_unexpected_error_into_a_short_message(monkeypatch):
    # Outside tests (PYLAB_STRICT unset) a bug in a page shows one line, never a traceback.
    from ui import common

    monkeypatch.setattr(common, "STRICT", False)

    def script():
        from ui.common import run_page

        class Page:
            title = "A page with a bug"

            def run(self):
                return 1 / 0

        run_page(Page())

    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    assert not at.exception
    assert errors(at) == [
        "Something went wrong on this page (ZeroDivisionError). Your settings are kept: change a value or reload "
        "the page to continue."]


def test_a_lesson_stopped_by_a_message_still_gets_what_app_py_draws_after_it():
    # fail() (bad input) ends the lesson's run; app.py still draws the share button after run_page.
    def script():
        import streamlit as st

        from ui.common import fail, run_page

        class Page:
            def run(self):
                st.markdown("the lesson's first part")
                fail("That shape is not valid.")
                st.markdown("never drawn")

        run_page(Page())
        st.markdown("drawn after the lesson, like the share button")

    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    assert not at.exception
    assert errors(at) == ["That shape is not valid."]
    assert [m.value for m in at.markdown] == ["the lesson's first part", "drawn after the lesson, like the share button"]


def test_the_error_boundary_shows_a_setup_message_in_strict_mode_too(monkeypatch):
    # The app's boundary (ui.common.run_page, called by app.py) around a page that needs a broken torchvision.
    # (AppTest runs a switched-to page without app.py, so the boundary is exercised on its own here.)
    monkeypatch.setenv("PYLAB_STRICT", "1")

    def script():
        from core.system import SetupError
        from ui.common import run_page

        class Page:
            def run(self):
                raise SetupError("This lesson needs torchvision, and it could not be loaded.")

        run_page(Page())

    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    assert not at.exception
    assert errors(at) == ["This lesson needs torchvision, and it could not be loaded."]
