"""A refused input never moves another setting, however many times in a row, in a real browser.

Streamlit forgets the state of widgets a run did not draw, and a lesson that refuses an input stops drawing
below its message. For every typed input the lessons declare (`links.Text(..., refused=..., accepted=...)`),
the lesson is opened with other settings away from their defaults; two refused entries and two accepted ones
are typed (and a Markdown/HTML payload, which must show as plain text); every other widget must show what it
showed before, and the link must carry the same settings.
"""

import ast
import importlib
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.browser_support import MAIN, exceptions, open_lesson, settle, shows, wait_idle
from tests.helpers import ROOT
from tests.test_browser_injection import markup
from tests.test_injection import PAYLOADS
from ui import links, nav

# What each keyed widget shows, by key: text and number boxes their text, sliders their thumbs, selects their
# choice, toggles their state, multiselects their chips, segmented controls and pills their pressed button.
WIDGETS_JS = """(prefix) => {
    const out = {};
    for (const el of document.querySelectorAll(`[data-testid="stMain"] [class*="st-key-${prefix}_"]`)) {
        const key = [...el.classList].find(c => c.startsWith('st-key-')).slice(7);
        const input = el.querySelector('input[type="text"], input[type="number"], textarea, [role="combobox"]');
        const thumbs = [...el.querySelectorAll('[data-testid="stSliderThumbValue"]')].map(t => t.innerText);
        const checked = el.querySelector('input[type="checkbox"]');
        const radio = el.querySelector('input[type="radio"]:checked');
        const chips = [...el.querySelectorAll('[data-tag]')].map(t => t.ariaLabel);
        const pressed = [...el.querySelectorAll('button[aria-checked="true"]')].map(b => b.innerText);
        if (thumbs.length) out[key] = thumbs.join(',');
        else if (chips.length) out[key] = chips.join(',');
        else if (radio) out[key] = radio.closest('label').innerText;
        else if (input) out[key] = input.value;
        else if (checked) out[key] = String(checked.checked);
        else if (pressed.length) out[key] = pressed.join(',');
    }
    return out;
}"""


def _resolve(node: ast.AST, aliases: dict[str, str]):
    """A literal, or `module.NAME` from the page's imports (e.g. landscapes.CUSTOM)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return getattr(importlib.import_module(aliases[node.value.id]), node.attr)
    if isinstance(node, ast.Tuple):
        return tuple(_resolve(n, aliases) for n in node.elts)
    return ast.literal_eval(node)


def declared(lesson: nav.Lesson) -> dict[str, links.Param]:
    """The lesson's PARAMS whose arguments can be read without running the page (literals, module constants)."""
    tree = ast.parse((ROOT / lesson.path).read_text())
    aliases = {a.asname or a.name: f"{node.module}.{a.name}" if node.module in ("core", "ui") else node.module
               for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            kind = getattr(value.func, "attr", None) if isinstance(value, ast.Call) else None
            if isinstance(key, ast.Constant) and kind in ("Text", "Int", "Float"):
                try:
                    args = [_resolve(a, aliases) for a in value.args]
                    kwargs = {k.arg: _resolve(k.value, aliases) for k in value.keywords}
                except (ValueError, KeyError, AttributeError, ImportError):  # computed arguments: not needed here
                    continue
                found[key.value] = getattr(links, kind)(*args, **kwargs)
    return found


TEXTS = [(lesson, key, param) for lesson in nav.lessons() for key, param in declared(lesson).items()
         if isinstance(param, links.Text) and param.refused]
# In the browser, one typed input per lesson (the first it declares): the rule is the lesson's, not the box's.
FIRST = list({lesson.url: (lesson, key, text) for lesson, key, text in reversed(TEXTS)}.values())[::-1]


def nudged(lesson: nav.Lesson, skip: str) -> dict[str, str]:
    """Whole numbers and numbers of the lesson one step off their defaults: a reset to a default or to a
    slider's minimum would show."""
    out = {}
    for key, param in declared(lesson).items():
        if key == skip or isinstance(param, links.Text):
            continue
        value = param.default + (1 if isinstance(param, links.Int) else (param.hi - param.lo) / 10)
        if param.lo <= value <= param.hi and (isinstance(param, links.Int) or abs(param.hi - param.lo) < 1e6):
            out[key] = param.dump(value)
    return out


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def box(page, key: str):
    return page.locator(f".st-key-{key}").locator("input, textarea")


def type_into(page, key: str, text: str) -> None:
    field = box(page, key)
    field.fill(text)
    field.press("Control+Enter" if field.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    page.wait_for_timeout(300)
    wait_idle(page)


def test_every_typed_input_declares_what_it_refuses():
    keys = {key for _, key, _ in TEXTS}
    assert {lesson.url for lesson, _, _ in FIRST} >= {"broadcasting", "gather", "topk", "creation_indexing",
                                                       "combine_split", "math", "losses", "softmax",
                                                       "optimizer_lab", "basins"}
    assert len(TEXTS) >= 20 and {"ol_expr", "tk_shape", "ma_a", "cr_ishape", "cs_sizes", "bs_expr"} <= keys
    for lesson, key, text in TEXTS:
        assert key.startswith(f"{lesson.prefix}_") and len(text.refused) == 2 and text.accepted, key
        assert text.accepted != text.default and text.default not in text.refused, key


@pytest.mark.browser
@pytest.mark.parametrize(("lesson", "key", "text"), FIRST, ids=[key for _, key, _ in FIRST])
def test_refused_inputs_leave_every_other_setting_alone(streamlit_server, page, lesson, key, text):
    link = {**nudged(lesson, key), **dict(text.shown_with)}
    open_lesson(page, streamlit_server, lesson.url, "?" + urlencode(link) if link else "")
    settle(page)
    assert shows(lambda: box(page, key).count(), 1) == 1, f"{key} is not drawn with {link}"
    before = page.evaluate(WIDGETS_JS, lesson.prefix)
    url_before = query(page)
    assert len(before) >= 2, before  # the typed input and at least one other setting
    messages = page.locator(f'{MAIN} [data-testid="stAlertContentError"], {MAIN} [data-testid="stAlertContentWarning"]')
    payload = PAYLOADS[FIRST.index((lesson, key, text)) % len(PAYLOADS)]  # Markdown/HTML typed in: refused as text
    for entry in (*text.refused, payload):
        type_into(page, key, entry)
        # polled: on a busy machine the rerun may start after `type_into` returned
        assert shows(lambda: messages.count() >= 1, True), f"{key}={entry!r} was not refused with a message"
    assert markup(page) == [], f"{key}={payload!r} became markup"
    for entry in (text.accepted, text.default):
        type_into(page, key, entry)
    settle(page)
    after = page.evaluate(WIDGETS_JS, lesson.prefix)
    moved = {k: (before[k], after.get(k)) for k in before if k != key and after.get(k) != before[k]}
    assert moved == {}, f"{lesson.url}: settings that moved: {moved}"
    assert {k: v for k, v in query(page).items() if k != key} == {k: v for k, v in url_before.items() if k != key}
    assert exceptions(page) == []
