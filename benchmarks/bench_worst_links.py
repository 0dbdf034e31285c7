"""The compute budget of a shared server: how long each lesson takes on its heaviest link.

For every lesson (and every part of a multi-part lesson): a link with each whole-number and number setting at its
maximum (for the part key: that part) opened in a fresh AppTest session, after one warm-up run of the lesson.
Reported: the seconds of that run, and how many of them went to work that ran with a progress bar and Cancel
(ui.budget.compute above budget.HEAVY_S). Time outside such work above BUDGET_S breaks the budget. A lesson whose
heaviest link takes more than 2 s without progress breaks the budget.

    .venv/bin/python benchmarks/bench_worst_links.py            # every lesson
    .venv/bin/python benchmarks/bench_worst_links.py basins optimizer_lab
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BUDGET_S = 2.0


def heaviest(params: dict) -> dict[str, str]:
    from ui import links

    out = {}
    for key, param in params.items():
        if isinstance(param, links.Int | links.Float) and abs(param.hi) < 1e9:
            out[key] = param.dump(param.hi)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", help="lesson URL paths (default: all)")
    args = parser.parse_args()
    from streamlit.testing.v1 import AppTest

    from ui import links, nav

    recorded: dict = {}
    original = links.bind

    def recording_bind(params):
        recorded.update(params)
        return original(params)

    links.bind = recording_bind
    from ui import budget

    inside = []  # seconds spent in work that showed progress and Cancel (estimated above budget.HEAVY_S)
    compute = budget.compute

    def timed_compute(what, work, *, seconds, **kwargs):
        t0 = time.perf_counter()
        try:
            return compute(what, work, seconds=seconds, **kwargs)
        finally:
            if seconds > budget.HEAVY_S:
                inside.append(time.perf_counter() - t0)

    budget.compute = timed_compute
    print(f"load {os.getloadavg()[0]:.2f}; budget {BUDGET_S:g} s without progress")
    print(f"{'lesson':<34} {'seconds':>8}  note")
    worst = []
    for lesson in nav.lessons():
        if args.lessons and lesson.url not in args.lessons:
            continue
        recorded.clear()
        warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        warm.run()
        warm.switch_page(lesson.path)
        warm.run()
        params = dict(recorded)
        parts = [None]
        if lesson.parts and isinstance(params.get(lesson.parts), links.Choice):
            parts = list(params[lesson.parts].options)
        for part in parts:
            query = heaviest(params)
            if part is not None:
                query[lesson.parts] = str(part)
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
            at.query_params.update(query)
            at.run()
            at.switch_page(lesson.path)
            inside.clear()
            t0 = time.perf_counter()
            at.run()
            seconds = time.perf_counter() - t0
            free = seconds - sum(inside)  # time without progress or Cancel
            name = lesson.url + (f" [{part}]" if part is not None else "")
            note = (f"{sum(inside):.2f} s behind progress + Cancel" if inside else "") + (
                "  OVER BUDGET" if free > BUDGET_S else "")
            if at.exception:
                note += " exception: " + at.exception[0].value[:60]
            print(f"{name:<34} {seconds:8.2f}  {note}", flush=True)
            worst.append((seconds, name))
    print("slowest:", ", ".join(f"{n} {s:.1f} s" for s, n in sorted(worst, reverse=True)[:5]))


if __name__ == "__main__":
    main()
