"""Shareable links: a lesson's widget values round-trip through the URL's query parameters.

A "Share link" button on every lesson (drawn by app.py) shows the link.

Usage on a page (widgets get their value from session state, so pass no `value=`/`index=` to them):

    PARAMS = {"bc_a": links.Text("4,32,14,14"), "bc_seed": links.Int(0, 0, 10_000)}
    links.bind(PARAMS)                       # before the widgets: fills st.session_state from the URL
    st.text_input("Shape A", key="bc_a")

That is all: after every run of the lesson (also one that stopped early on bad input) app.py's `run_page`
writes the values that differ from the defaults to the URL (`publish`). Keys must start with the lesson's prefix
from ui/nav.py.

Values survive switching to another page and back, and runs that stop before drawing a widget (a refused input
above it): Streamlit forgets the state of widgets a run did not draw, so `bind` gives every bound key its value
again at the start of each run. A page whose widgets persist natively (`persist_state="session"`, as the Training
studio's do) calls `bind(PARAMS, persisted=True)`: then a value is set only from a link or when missing, so no run
sends a value back to the browser. Invalid or hostile URL values fall back to the default with a notice that names
the key and says, in the app's own words, what was expected (never the URL's text).
"""

import math
import threading
from dataclasses import dataclass
from typing import Any

import streamlit as st

_KEEP = "_links_keep"  # session-state dict: last value of every bound widget, across page switches
_SEEN = "_links_seen"  # query keys already applied in this session (a link applies once, then widgets rule)
PRIVATE = ("session",)  # query keys that stay in this tab: never part of a share link (ui.session_models.TOKEN)
_run = threading.local()  # the lesson of this script run and the params it bound (each run has its own thread)


def number(raw: str, kind: type):
    """int(raw) or float(raw), with a message in the app's words (Python's own quotes the raw text)."""
    try:
        return kind(raw)
    except (ValueError, TypeError, OverflowError):
        raise ValueError("must be a whole number" if kind is int else "must be a number") from None


@dataclass(frozen=True)
class Param:
    default: Any

    def parse(self, raw: str) -> Any:
        raise NotImplementedError

    def dump(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Float(Param):
    lo: float = -math.inf
    hi: float = math.inf

    def parse(self, raw: str) -> float:
        value = number(raw, float)
        if not math.isfinite(value) or not self.lo <= value <= self.hi:
            raise ValueError(f"must be a number in [{self.lo:g}, {self.hi:g}]")
        return value

    def dump(self, value: float) -> str:
        return f"{value:.6g}"


@dataclass(frozen=True)
class Int(Param):
    lo: int = -(2**31)
    hi: int = 2**31

    def parse(self, raw: str) -> int:
        value = number(raw, int)
        if not self.lo <= value <= self.hi:
            raise ValueError(f"must be an integer in [{self.lo}, {self.hi}]")
        return value


@dataclass(frozen=True)
class Bool(Param):
    def parse(self, raw: str) -> bool:
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise ValueError("must be true or false")

    def dump(self, value: bool) -> str:
        return "true" if value else "false"


@dataclass(frozen=True)
class Choice(Param):
    options: tuple = ()
    aliases: tuple = ()  # (value an older link used, the option it means now) pairs

    def parse(self, raw: str) -> Any:
        for option in self.options:
            if str(option) == raw:
                return option
        for old, option in self.aliases:
            if old == raw:
                return option
        raise ValueError("is not one of the choices")


@dataclass(frozen=True)
class Multi(Param):
    """A multiselect: a comma-separated subset of `options`."""

    options: tuple = ()

    def parse(self, raw: str) -> list:
        names = [part for part in raw.split(",") if part]
        by_name = {str(option): option for option in self.options}
        if any(name not in by_name for name in names):
            raise ValueError("has an unknown choice")
        return [by_name[name] for name in dict.fromkeys(names)]

    def dump(self, value: list) -> str:
        return ",".join(str(v) for v in value)


@dataclass(frozen=True)
class Range(Param):
    """A two-ended slider: `lo,hi` floats."""

    lo: float = -math.inf
    hi: float = math.inf

    def parse(self, raw: str) -> tuple[float, float]:
        parts = raw.split(",")
        if len(parts) != 2:
            raise ValueError(f"must be two increasing numbers in [{self.lo:g}, {self.hi:g}]")
        a, b = (number(part, float) for part in parts)
        if not (math.isfinite(a) and math.isfinite(b) and self.lo <= a <= b <= self.hi):
            raise ValueError(f"must be two increasing numbers in [{self.lo:g}, {self.hi:g}]")
        return (a, b)

    def dump(self, value) -> str:
        return f"{value[0]:.6g},{value[1]:.6g}"


@dataclass(frozen=True)
class Text(Param):
    """Typed text. A lesson declares inputs it refuses and one it accepts: the browser tests type two refused
    then two accepted entries and check that no other setting moved. `shown_with` are the other settings (query
    values) under which the text box is drawn, when the defaults do not draw it."""

    max_len: int = 300
    refused: tuple[str, ...] = ()
    accepted: str = ""
    shown_with: tuple[tuple[str, str], ...] = ()

    def parse(self, raw: str) -> str:
        if len(raw) > self.max_len or any(ord(c) < 32 for c in raw):
            raise ValueError(f"must be plain text of at most {self.max_len} characters")
        return raw


def begin(lesson) -> None:
    """A lesson's run starts (called by app.py's run_page): bind checks keys against `lesson.prefix`."""
    _run.lesson, _run.params, _run.hidden = lesson, {}, set()


def hidden(key: str) -> bool:
    """Whether a teacher's link hides this bound control (a page draws its companions, e.g. buttons, accordingly)."""
    return key in getattr(_run, "hidden", set())


def finish() -> None:
    """A lesson's run ended, however it ended: publish what it bound (called by run_page)."""
    try:
        if getattr(_run, "params", None):
            publish(_run.params)
    finally:
        _run.lesson, _run.params, _run.hidden = None, {}, set()


def _legacy_query(key: str) -> str | None:
    """The query value of `key` under the lesson's older prefix (links made before it had its own)."""
    lesson = getattr(_run, "lesson", None)
    old = getattr(lesson, "legacy_prefix", None)
    if not old or not key.startswith(f"{lesson.prefix}_"):
        return None
    return st.query_params.get(f"{old}_{key[len(lesson.prefix) + 1:]}")


def bind(params: dict[str, Param], *, persisted: bool = False) -> None:
    """Give every bound widget key its value before the widgets are drawn: URL, then current, kept, default.

    `persisted`: the page draws these widgets with `persist_state="session"`, so Streamlit itself keeps their values
    when they are not drawn and across pages; then a value is set here only from a link or when it is missing, and
    never set again (a value set through the session-state API goes back to the browser with the run's drawing,
    where the learner may already have moved the widget on)."""
    lesson = getattr(_run, "lesson", None)
    if lesson is not None and lesson.prefix:
        foreign = [key for key in params if not key.startswith(f"{lesson.prefix}_")]
        if foreign:
            raise ValueError(f"{lesson.path} binds {foreign}: its keys must start with {lesson.prefix}_")
    if getattr(_run, "params", None) is not None:
        _run.params.update(params)
    keep = st.session_state.setdefault(_KEEP, {})
    seen = st.session_state.setdefault(_SEEN, set())
    rejected = []
    for key, param in params.items():
        raw = st.query_params.get(key)
        if raw is None:
            raw = _legacy_query(key)
        if raw is not None and key not in seen:
            seen.add(key)
            try:
                st.session_state[key] = param.parse(raw)
                continue
            except (ValueError, TypeError) as exc:
                reason = str(exc)  # the app's own words; a reason that quotes the link's text is not shown
                leaks = len(raw.strip()) >= 3 and raw.strip()[:12] in reason
                rejected.append(f"`{key}` {reason if reason and not leaks else 'is invalid'}")
                st.session_state[key] = param.default
                continue
        if key not in st.session_state:
            st.session_state[key] = keep.get(key, param.default)
        elif not persisted and st.session_state[key] == keep.get(key, param.default):
            # Unchanged: set again through the session-state API, so that it outlives a run that does not draw its
            # widget (Streamlit drops the widget's own state then, e.g. below a refused input).
            st.session_state[key] = st.session_state[key]
        # Changed by the learner in this run: left to the widget. Setting it would send this value back to the
        # browser, which may already show a newer one (a slider moved with the keyboard while a run is going).
    if rejected:
        st.info("Some values in the link were not valid and were reset to their defaults: " + "; ".join(rejected),
                icon=":material/link_off:")
    _teacher(params, lesson)


TEACHER = ("hide", "lock")  # query keys of a teacher's link: controls not shown / shown but fixed
_FULL = "_links_full"  # session-state set: lessons whose learner chose the full lesson over the teacher's link


def teacher_keys(params: dict[str, Param], prefix: str = "") -> tuple[list[str], list[str]]:
    """The bound keys a link hides and locks: `hide=ma_seed,ma_p&lock=ma_part`, or without the lesson's prefix
    (`hide=seed,p`); unknown keys are ignored."""
    out = []
    for name in TEACHER:
        wanted = [k.strip() for k in (st.query_params.get(name) or "").split(",")]
        keys = [k if k in params else f"{prefix}_{k}" for k in wanted if k]
        out.append(list(dict.fromkeys(k for k in keys if k in params)))
    return out[0], out[1]


def _teacher(params: dict[str, Param], lesson) -> None:
    """A teacher's link: hidden controls are not shown, locked ones are shown greyed and keep the link's value (set
    again on every run, so no keyboard or stale click can change them); the learner can go back to the full lesson."""
    hidden, locked = teacher_keys(params, getattr(lesson, "prefix", "") or "")
    page = getattr(lesson, "path", "")
    if not (hidden or locked) or page in st.session_state.get(_FULL, set()):
        return
    _run.hidden = set(hidden)
    for key in locked:
        raw = st.query_params.get(key)
        try:
            st.session_state[key] = params[key].parse(raw) if raw is not None else params[key].default
        except (ValueError, TypeError):
            st.session_state[key] = params[key].default
    rules = [f".st-key-{k} {{display: none !important;}}" for k in hidden]  # keys: this lesson's own identifiers
    rules += [f".st-key-{k} {{pointer-events: none; opacity: 0.5;}}" for k in locked]
    st.html("<style>" + " ".join(rules) + "</style>")
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info("Some settings were fixed by your teacher's link"
            + (f" ({len(hidden)} hidden" if hidden else " (") + (", " if hidden and locked else "")
            + (f"{len(locked)} locked" if locked else "") + ").", icon=":material/school:")
    prefix = getattr(lesson, "prefix", "") or "links"
    if c2.button("Show the full lesson", key=f"{prefix}_full_lesson"):
        st.session_state.setdefault(_FULL, set()).add(page)
        for name in TEACHER:
            if name in st.query_params:
                del st.query_params[name]
        st.rerun()


def publish(params: dict[str, Param]) -> None:
    """Write the current values to the URL (only those that differ from the defaults) and keep a copy."""
    keep = st.session_state.setdefault(_KEEP, {})
    seen = st.session_state.setdefault(_SEEN, set())
    wanted = {}
    for key, param in params.items():
        value = st.session_state.get(key, param.default)
        keep[key] = value
        seen.add(key)
        if value != param.default:
            wanted[key] = param.dump(value)
    lesson = getattr(_run, "lesson", None)
    old = f"{lesson.legacy_prefix}_" if getattr(lesson, "legacy_prefix", None) else None
    for key in list(st.query_params):
        if (key in params and key not in wanted) or (old and key.startswith(old)):
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def share_button() -> None:
    """A popover with a link to this lesson as it is now (its query parameters), in a copyable code box."""
    from urllib.parse import urlencode

    base = st.context.url or ""
    query = urlencode({k: v for k, v in st.query_params.items() if k not in PRIVATE}, safe=",.-_")
    with st.popover("Share link", icon=":material/link:"):
        st.caption("This link opens the lesson with the settings you see now. Copy it with the button on the right.")
        st.code(f"{base}?{query}" if query else base, language=None, wrap_lines=True)
