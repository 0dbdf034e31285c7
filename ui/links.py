"""Shareable links: a lesson's widget values round-trip through the URL's query parameters.

A "Share link" button on every lesson (drawn by app.py) shows the link.

Usage on a page (widgets get their value from session state, so pass no `value=`/`index=` to them):

    PARAMS = {"bc_a": links.Text("4,32,14,14"), "bc_seed": links.Int(0, 0, 10_000)}
    links.bind(PARAMS)                       # before the widgets: fills st.session_state from the URL
    st.text_input("Shape A", key="bc_a")
    ...
    links.publish(PARAMS)                    # after the widgets: writes non-default values to the URL

Values also survive switching to another page and back (Streamlit drops the state of widgets that were
not drawn in a run; `publish` keeps a copy). Invalid or hostile URL values fall back to the default with a notice.
"""

import math
from dataclasses import dataclass
from typing import Any

import streamlit as st

_KEEP = "_links_keep"  # session-state dict: last value of every bound widget, across page switches
_SEEN = "_links_seen"  # query keys already applied in this session (a link applies once, then widgets rule)


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
        value = float(raw)
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
        value = int(raw)
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

    def parse(self, raw: str) -> Any:
        for option in self.options:
            if str(option) == raw:
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
        a, b = (float(part) for part in raw.split(","))
        if not (math.isfinite(a) and math.isfinite(b) and self.lo <= a <= b <= self.hi):
            raise ValueError(f"must be two increasing numbers in [{self.lo:g}, {self.hi:g}]")
        return (a, b)

    def dump(self, value) -> str:
        return f"{value[0]:.6g},{value[1]:.6g}"


@dataclass(frozen=True)
class Text(Param):
    max_len: int = 300

    def parse(self, raw: str) -> str:
        if len(raw) > self.max_len or any(ord(c) < 32 for c in raw):
            raise ValueError(f"must be plain text of at most {self.max_len} characters")
        return raw


def bind(params: dict[str, Param]) -> None:
    """Give every bound widget key its value before the widgets are drawn: URL, then kept value, then default."""
    keep = st.session_state.setdefault(_KEEP, {})
    seen = st.session_state.setdefault(_SEEN, set())
    rejected = []
    for key, param in params.items():
        raw = st.query_params.get(key)
        if raw is not None and key not in seen:
            seen.add(key)
            try:
                st.session_state[key] = param.parse(raw)
                continue
            except (ValueError, TypeError) as exc:
                rejected.append(f"`{key}` {exc if str(exc) else 'is invalid'}")
                st.session_state[key] = param.default
                continue
        if key not in st.session_state:
            st.session_state[key] = keep.get(key, param.default)
    if rejected:
        st.info("Some values in the link were not valid and were reset to their defaults: " + "; ".join(rejected),
                icon=":material/link_off:")


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
    for key in list(st.query_params):
        if key in params and key not in wanted:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def share_button() -> None:
    """A popover with a link to this lesson as it is now (its query parameters), in a copyable code box."""
    from urllib.parse import urlencode

    base = st.context.url or ""
    query = urlencode(dict(st.query_params.items()), safe=",.-_")
    with st.popover("Share link", icon=":material/link:"):
        st.caption("This link opens the lesson with the settings you see now. Copy it with the button on the right.")
        st.code(f"{base}?{query}" if query else base, language=None, wrap_lines=True)
