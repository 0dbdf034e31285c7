"""The real server as a learner meets it: `streamlit run app.py` (as `make run` starts it, on a free port and
headless) driven by headless Debian chromium.

Measured, for every lesson (after one warm-up visit of every lesson, so the server's imports and caches are warm):
- first paint, two ways: a click on the lesson in the sidebar (the in-app path a learner takes), and opening its
  URL in the tab (what a shared link does: a new session, the app's scripts from the browser's cache). Both end
  when the script run is over, no element is marked stale and the lesson's title is drawn.
- `--moves` moves of its main control (its first slider, one keyboard step each, towards values not seen yet;
  a few lessons have another main control, see MOVES): the time from the key press (or click) until the run is
  over, no stale mark is left and the picture (charts, metrics, images, code, text) differs from before;
  and the server's CPU seconds over that interaction, from /proc/<pid>/stat (user + system, all its threads).
- the cold start: from the command to the home page drawn in the browser (`--cold` times; the first may also
  read the virtual environment from disk).

Targets on 2 cores: p50 <= 250 ms and p95 <= 600 ms from input to updated picture; median server CPU per
interaction <= 80 ms; warm first paint <= 1.5 s; cold start <= 8 s. The table is printed as Markdown (for
BENCHMARKS.md) and kept as JSON in test-output/bench_browser.json.

    .venv/bin/python benchmarks/bench_browser.py [--moves 10] [--cold 3] [--only broadcasting,topk]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_support import CHROMIUM_ARGS, FINGERPRINT_JS, free_port, wait_healthy  # noqa: E402
from ui import nav  # noqa: E402

TARGETS = {"p50_ms": 250, "p95_ms": 600, "cpu_ms": 80, "paint_s": 1.5, "cold_s": 8.0}
TICK = os.sysconf("SC_CLK_TCK")
MAIN = '[data-testid="stMain"]'

# What "the picture" is: the tests' fingerprint (charts, metrics, images) plus code panels, tables and text.
PICTURE_JS = f"""() => ({FINGERPRINT_JS})() + '\\n' + [...document.querySelectorAll(
    '{MAIN} [data-testid="stCode"], {MAIN} [data-testid="stMarkdown"], {MAIN} [data-testid="stTable"], '
    + '{MAIN} [data-testid="stCaptionContainer"], {MAIN} [data-testid="stAlert"]')].map(e => e.innerText).join('\\n')"""
# Done: the run is over, nothing stale, the lesson's title drawn, and either the picture changed (from `old`) or
# a run started after the input and ended half a second ago with the picture unchanged (a move that changes
# nothing visible, e.g. a cap above every size). The moment it first holds is kept (window.__doneAt, the page's
# clock) with whether the picture changed.
DONE_JS = f"""(old) => {{
    const idle = document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning'
        && !document.querySelector('[data-stale="true"]') && document.querySelector('{MAIN} h1');
    if (!idle) return false;
    if (old === null || ({PICTURE_JS})() !== old) {{
        window.__doneAt = performance.now(); window.__changed = true; return true;
    }}
    const states = window.__states || [], ran = states.findIndex(([t, s]) => s === 'running');
    const end = ran < 0 ? null : states.slice(ran).find(([t, s]) => s === 'notRunning');
    if (end && performance.now() - end[0] > 500) {{
        window.__doneAt = end[0]; window.__changed = false; return true;
    }}
    return false;
}}"""
# Every change of the app's script state ("running", "notRunning") and the first key or pointer press after a
# reset, on the page's own clock: a move's time is from the press the page received to the picture drawn, and
# splits into input to the server starting its run, the run, and the run's end to the picture.
STATES_JS = """() => {
    window.__states = [];
    window.__pressAt = null;
    const pressed = () => { if (window.__pressAt === null) window.__pressAt = performance.now(); };
    for (const kind of ['keydown', 'pointerdown']) document.addEventListener(kind, pressed, true);
    new MutationObserver(() => {
        const app = document.querySelector('[data-testid="stApp"]');
        const state = app && app.dataset.testScriptState;
        const last = window.__states[window.__states.length - 1];
        if (state && (!last || last[1] !== state)) window.__states.push([performance.now(), state]);
    }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state'],
                          childList: true});
}"""


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def browser_cpu_s() -> float:
    """CPU seconds so far of every chromium process on the machine (the renderer draws the charts)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if "chromium" in (proc / "comm").read_text():
                    total += cpu_s(int(proc.name))
            except OSError:  # it just exited
                pass
    return total


def start_server(port: int) -> subprocess.Popen:
    """The app as `make run` starts it (.streamlit/config.toml: no file watcher), on a free port, headless."""
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable,
         "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def wait_done(page, old: str | None, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(DONE_JS, arg=old, polling="raf", timeout=timeout_ms)


# ------------------------------------------------------------------------------------------ moves


def slider_move(page) -> None:
    """One keyboard step of the first enabled slider: upward until its end, then downward until its start, ..."""
    thumb = page.locator(f'{MAIN} [data-testid="stSlider"] input[type="range"]:not([disabled])').first
    now, low, top = (float(v) for v in (thumb.input_value(), thumb.get_attribute("min"), thumb.get_attribute("max")))
    down = getattr(page, "_going_down", False)
    down = (down or now >= top) and now > low
    page._going_down = down
    thumb.focus()
    thumb.press("ArrowLeft" if down else "ArrowRight")


def cycle_options(key: str):
    """Click the next option of a segmented control (or pills) with this key."""
    def move(page) -> None:
        options = page.locator(f".st-key-{key}").get_by_role("radio")
        n = options.count()
        checked = [i for i in range(n) if options.nth(i).get_attribute("aria-checked") == "true"]
        options.nth((checked[0] + 1) % n if checked else 0).click()
    return move


def step_up(key: str):
    def move(page) -> None:
        page.locator(f'.st-key-{key} [data-testid="stNumberInputStepUp"]').click()
    return move


def next_option(key: str):
    """Pick the next option of a selectbox."""
    def move(page) -> None:
        page.locator(f'.st-key-{key} [role="combobox"]').click()
        options = page.get_by_role("option")
        chosen = next(i for i in range(options.count()) if options.nth(i).get_attribute("aria-selected") == "true")
        page.evaluate("() => { window.__pressAt = null; }")  # the move is the option's click, not the opening
        options.nth((chosen + 1) % options.count()).click()
    return move


def stroke(page) -> None:
    """One more stroke on the drawing canvas (its prediction is rerun)."""
    box = page.locator('[class*="st-key-dd_canvas"] canvas').last.bounding_box()
    n = getattr(page, "_strokes", 0)
    page._strokes = n + 1
    x, y = box["x"] + 60 + 12 * (n % 10), box["y"] + 50
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y + 150, steps=8)
    page.mouse.up()


# Lessons whose main control is not their first slider (as in the browser walk of the tests).
MOVES = {
    "gather": cycle_options("ga_dim"),
    "creation_indexing": step_up("cr_seed"),
    "combine_split": cycle_options("cs_dim"),
    "architectures": next_option("ar_arch"),
    "module_anatomy": step_up("an_hidden"),
    "inside_network": step_up("in_index"),
    "draw_digit": stroke,
}


# ------------------------------------------------------------------------------------------ measuring


def first_paints(page, base: str, lesson) -> tuple[float, float]:
    """(sidebar click, URL opened) seconds until the lesson is drawn."""
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{lesson.url}"]')
    start = time.perf_counter()
    link.click()
    page.wait_for_url(f"**/{lesson.url}*")
    wait_done(page, None)
    by_menu = time.perf_counter() - start
    start = time.perf_counter()
    page.goto(f"{base}/{lesson.url}")
    wait_done(page, None)
    return by_menu, time.perf_counter() - start


def interactions(page, server_pid: int, lesson, moves: int):
    """Per move: (latency s, server CPU s, chromium CPU s, whether the picture changed, (to run, run, draw) ms)."""
    move = MOVES.get(lesson.url, slider_move)
    out = []
    for _ in range(moves):
        page.wait_for_timeout(150)  # a learner's pause between moves; the server is idle
        old = page.evaluate(PICTURE_JS)
        cpu0, browser0 = cpu_s(server_pid), browser_cpu_s()
        page.evaluate("() => { window.__states = []; window.__pressAt = null; }")
        move(page)
        try:
            wait_done(page, old, timeout_ms=30_000)
        except Exception:  # playwright's TimeoutError: no run at all
            out.append((float("nan"), 0.0, 0.0, False, None))
            continue
        cpu, browser = cpu_s(server_pid) - cpu0, browser_cpu_s() - browser0
        press, states, done, changed = page.evaluate(
            "() => [window.__pressAt, window.__states, window.__doneAt, window.__changed]")
        runs = [t for t, state in states if state == "running"]
        ends = [t for t, state in states if state == "notRunning" and runs and t > runs[0]]
        split = (runs[0] - press, ends[-1] - runs[0], done - ends[-1]) if runs and ends and press else None
        out.append(((done - press) / 1000 if press else float("nan"), cpu, browser, changed, split))
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cold_start(browser, runs: int) -> list[float]:
    """Seconds from the command to the home page drawn, `runs` times (each a fresh server)."""
    times = []
    for _ in range(runs):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.perf_counter()
        server = start_server(port)
        try:
            wait_healthy(base, server, timeout_s=120)
            page.goto(base + "/")
            wait_done(page, None, timeout_ms=120_000)
            page.wait_for_function("() => (document.querySelector('[data-testid=\"stSidebarNav\"]')?.innerText"
                                   " || '').includes('Tensors')")
            times.append(time.perf_counter() - start)
        finally:
            page.close()
            server.terminate()
            server.wait(timeout=15)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated lesson URLs (default: every lesson)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 1
    lessons = [lesson for lesson in nav.lessons() if not args.only or lesson.url in args.only.split(",")]
    load0 = os.getloadavg()
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        colds = cold_start(browser, args.cold) if args.cold else []
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(port)
        try:
            wait_healthy(base, server, timeout_s=120)
            context = browser.new_context(viewport={"width": 1400, "height": 1600})
            context.add_init_script(f"({STATES_JS})()")
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(base + "/")
            wait_done(page, None)
            for lesson in lessons:  # warm-up: every lesson once (imports, caches, the data it loads)
                page.goto(f"{base}/{lesson.url}")
                wait_done(page, None, timeout_ms=120_000)
            page.goto(base + "/")
            wait_done(page, None)
            for lesson in lessons:
                by_menu, by_url = first_paints(page, base, lesson)
                page._going_down = False
                measured = interactions(page, server.pid, lesson, args.moves)
                done = [m for m in measured if m[0] == m[0]]  # (not NaN: a run that never came)
                latencies = [m[0] for m in done]
                cpus, browser_cpus = [m[1] for m in done], [m[2] for m in done]
                phases = [m[4] for m in done if m[4]]
                unchanged = sum(not m[3] for m in done)
                split = [statistics.median(column) for column in zip(*phases, strict=True)] if phases else [float("nan")] * 3
                row = {"lesson": lesson.url, "menu_s": by_menu, "url_s": by_url, "moves": len(latencies),
                       "unchanged": unchanged, "no_run": len(measured) - len(done),
                       "p50_ms": 1000 * pct(latencies, 0.5), "p95_ms": 1000 * pct(latencies, 0.95),
                       "cpu_ms": 1000 * statistics.median(cpus) if cpus else float("nan"),
                       "browser_cpu_ms": 1000 * statistics.median(browser_cpus) if browser_cpus else float("nan"),
                       "to_run_ms": split[0], "run_ms": split[1], "draw_ms": split[2],
                       "latencies_ms": [round(1000 * t) for t in latencies], "cpu_list_ms": [round(1000 * c) for c in cpus]}
                rows.append(row)
                print(f"{lesson.url:<20} menu {by_menu:5.2f} s  url {by_url:5.2f} s  moves {len(latencies):2d}"
                      f"{f' ({unchanged} with no visible change)' if unchanged else ''}  p50 {row['p50_ms']:5.0f} ms"
                      f"  p95 {row['p95_ms']:5.0f} ms  cpu {row['cpu_ms']:4.0f} ms, chromium {row['browser_cpu_ms']:4.0f} ms  (median: to run {split[0]:4.0f}, run"
                      f" {split[1]:4.0f}, draw {split[2]:4.0f} ms)", flush=True)
                page.goto(base + "/")  # the next lesson is reached from the menu of a fresh session
                wait_done(page, None)
        finally:
            server.terminate()
            server.wait(timeout=15)
            browser.close()
    load1 = os.getloadavg()
    report(rows, colds, load0, load1, args)
    return 0


def report(rows, colds, load0, load1, args) -> None:
    ok = lambda value, target: "yes" if value <= target else "**no**"  # noqa: E731
    print("\n| lesson | first paint: menu / URL (s) | moves | p50 (ms) | p95 (ms) | server CPU per move, median (ms) |"
          " meets |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        meets = all(r[k] <= TARGETS[k] for k in ("p50_ms", "p95_ms", "cpu_ms")) and r["menu_s"] <= TARGETS["paint_s"]
        unchanged = f" ({r['unchanged']} change nothing visible)" if r["unchanged"] else ""
        print(f"| {r['lesson']} | {r['menu_s']:.2f} / {r['url_s']:.2f} | {r['moves']}{unchanged} | {r['p50_ms']:.0f} |"
              f" {r['p95_ms']:.0f} | {r['cpu_ms']:.0f} | {'yes' if meets else '**no**'} |")
    every = [t for r in rows for t in r["latencies_ms"]]
    cpus = [c for r in rows for c in r["cpu_list_ms"]]
    print(f"\nall {len(every)} moves: p50 {pct(every, 0.5):.0f} ms (target {TARGETS['p50_ms']}: "
          f"{ok(pct(every, 0.5), TARGETS['p50_ms'])}), p95 {pct(every, 0.95):.0f} ms ({ok(pct(every, 0.95), TARGETS['p95_ms'])}),"
          f" server CPU median {statistics.median(cpus):.0f} ms ({ok(statistics.median(cpus), TARGETS['cpu_ms'])})")
    menus = [r["menu_s"] for r in rows]
    urls = [r["url_s"] for r in rows]
    print(f"first paint by the menu: median {statistics.median(menus):.2f} s, max {max(menus):.2f} s "
          f"({ok(max(menus), TARGETS['paint_s'])}); by URL: median {statistics.median(urls):.2f} s, max {max(urls):.2f} s")
    if colds:
        print(f"cold start to the home page drawn: {', '.join(f'{c:.1f}' for c in colds)} s "
              f"(median {statistics.median(colds):.1f} s, target {TARGETS['cold_s']:.0f} s: "
              f"{ok(statistics.median(colds), TARGETS['cold_s'])})")
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f}; {os.cpu_count()} cores; moves per lesson {args.moves}")
    out = ROOT / "test-output" / "bench_browser.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "cold_s": colds, "load": [load0, load1]}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
