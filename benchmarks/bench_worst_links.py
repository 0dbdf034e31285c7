"""The compute budget of a shared server: how long each lesson takes on its heaviest link.

For every lesson (and every part of a multi-part lesson): a link with each whole-number and number setting at its
maximum (for the part key: that part) opened in a fresh AppTest session, after one warm-up run of the lesson.
Reported: the seconds of that run. The basins map and the optimizer lab run their long work through ui.budget
(a progress bar and Cancel above budget.HEAVY_S), so their long links are within the budget. A lesson whose
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
            t0 = time.perf_counter()
            at.run()
            seconds = time.perf_counter() - t0
            name = lesson.url + (f" [{part}]" if part is not None else "")
            note = "behind progress + Cancel" if seconds > 1 and _heavy(lesson.url) else (
                "OVER BUDGET" if seconds > BUDGET_S else "")
            if at.exception:
                note += " exception: " + at.exception[0].value[:60]
            print(f"{name:<34} {seconds:8.2f}  {note}", flush=True)
            worst.append((seconds, name))
    print("slowest:", ", ".join(f"{n} {s:.1f} s" for s, n in sorted(worst, reverse=True)[:5]))


def _heavy(url: str) -> bool:
    """Lessons whose long runs go through ui.budget (progress and Cancel)."""
    return url in ("basins", "optimizer_lab")


if __name__ == "__main__":
    main()
