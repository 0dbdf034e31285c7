"""Server-side rerun time of lesson pages: the time Streamlit spends re-running a page after a widget changes.

For each page: open it through the app (st.navigation), warm up, then alternately move its first slider
(or number input) between two values and time each rerun. Reported: median and max over the reruns, in ms.
AppTest adds its own small overhead, so these figures are an upper bound on the real server-side time.

    .venv/bin/python benchmarks/bench_pages.py                  # every page
    .venv/bin/python benchmarks/bench_pages.py broadcasting gather --reruns 20
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _movable(at):
    for kind in ("slider", "number_input", "select_slider"):
        for widget in at.get(kind):
            if widget.key and not widget.disabled:
                return kind, widget
    return None, None


def _other_value(kind, widget, step):
    if kind == "select_slider":
        options = list(widget.options)
        return options[(options.index(str(widget.value)) + 1) % len(options)] if options else widget.value
    value = widget.value
    if isinstance(value, tuple | list):  # range slider: nudge the upper end
        lo, hi = value
        return (lo, hi - (widget.step or 1) * (1 if step % 2 == 0 else -1)) if hi > lo else value
    delta = widget.step or 1
    lo, hi = getattr(widget, "min", None), getattr(widget, "max", None)
    target = value + delta if step % 2 == 0 else value - delta
    if hi is not None and target > hi:
        target = value - delta
    if lo is not None and target < lo:
        target = value + delta
    return type(value)(target)


def bench(lesson, reruns: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(lesson.path)
    at.run()
    at.run()  # warm: caches filled, modules imported
    if at.exception:
        return {"page": lesson.url, "error": str(at.exception[0].value)[:80]}
    kind, widget = _movable(at)
    times = []
    for i in range(reruns):
        if widget is not None:
            kind, widget = _movable(at)
            widget.set_value(_other_value(kind, widget, i))
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            return {"page": lesson.url, "error": str(at.exception[0].value)[:80]}
    return {"page": lesson.url, "widget": f"{kind}:{widget.key}" if widget else "(none: plain rerun)",
            "median_ms": statistics.median(times), "max_ms": max(times)}


def main() -> None:
    from ui import nav

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="*", help="URL paths of pages (default: all)")
    parser.add_argument("--reruns", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("PYLAB_STRICT", "1")
    lessons = [lesson for lesson in nav.lessons() if not args.pages or lesson.url in args.pages]
    print(f"{'page':<22} {'widget moved':<34} {'median ms':>10} {'max ms':>8}")
    for lesson in lessons:
        r = bench(lesson, args.reruns)
        if "error" in r:
            print(f"{r['page']:<22} ERROR {r['error']}")
        else:
            print(f"{r['page']:<22} {r['widget']:<34} {r['median_ms']:>10.1f} {r['max_ms']:>8.1f}")


if __name__ == "__main__":
    main()
