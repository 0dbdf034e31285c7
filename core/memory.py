"""Memory handed back to the system once learners leave.

The server runs with Streamlit's collection after every script run turned off (.streamlit/config.toml: it was half
the CPU of a slider move), so after a class closes its tabs nothing collects the cyclic garbage their sessions
left, and glibc keeps freed memory in its arenas. `tidy_after` plans one collection and trim for when the closed
sessions have been dropped; a class leaving closes many sessions, and the tidy runs once, after the last.

    tidy_after(50.0)    # in 50 s (again from now on every call): gc.collect(), then malloc_trim
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading

_lock = threading.Lock()
_timer: threading.Timer | None = None


def trim() -> None:
    """Hand memory freed by Python and torch back to the system (glibc keeps it in its arenas otherwise)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): the allocator keeps it
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def tidy() -> None:
    gc.collect()
    trim()


def tidy_after(seconds: float) -> None:
    """Tidy once, `seconds` after the last call."""
    global _timer
    with _lock:
        if _timer is not None:
            _timer.cancel()
        _timer = threading.Timer(seconds, tidy)
        _timer.daemon = True
        _timer.start()
