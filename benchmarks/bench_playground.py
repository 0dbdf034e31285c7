"""The playground's live update: the server-side cost of one update while it trains (the boundary and every neuron's
map on a 100 x 100 grid, the diagram, the curves, serialised as Streamlit sends them), and, with --browser, how
many times per second the boundary picture really changes in chromium while it plays.

    .venv/bin/python benchmarks/bench_playground.py [--updates 50] [--browser]

Target (issue "Neural network playground"): with a 2 x 8 hidden network and a 100 x 100 grid, one update costs
<= 120 ms on the server, and the learner sees >= 5 updates per second.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py sets it
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def server_side(updates: int) -> None:
    import plotly.io as pio
    import torch

    from core.playground import NetConfig, Playground, Settings
    from core.playground_data import DataConfig
    from ui import figures_playground as figures

    page = ROOT / "pages" / "35_playground.py"
    train_s = float(next(line.split("=")[1].split("#")[0] for line in page.read_text().splitlines()
                         if line.startswith("TRAIN_S")))
    for features in (("x1", "x2"), tuple(["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"])):
        play = Playground(DataConfig("spiral"), NetConfig(features, (8, 8)), Settings())
        rows = {"train (whole epochs)": [], "maps 100x100": [], "figures": [], "JSON": [], "update": []}
        epochs = 0
        for i in range(updates + 3):
            t0 = time.perf_counter()
            epochs += play.train_for(train_s, Settings())
            t1 = time.perf_counter()
            maps = play.maps(100)
            t2 = time.perf_counter()
            rgb = figures.output_colours(maps.output, False)
            figs = [figures.network(maps.features, maps.neurons, maps.dead, play.weights(), features, rgb),
                    figures.large_map(rgb, "the output"), figures.boundary(rgb, play.points, 2),
                    figures.losses(play.history, False)]
            t3 = time.perf_counter()
            sizes = [len(pio.to_json(f, validate=False)) for f in figs]
            t4 = time.perf_counter()
            if i >= 3:  # the first updates warm up
                for key, value in zip(rows, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t1), strict=True):
                    rows[key].append(value * 1000)
        print(f"\n2 x 8 hidden, {len(features)} features, {updates} updates, {epochs / (updates + 3):.1f} epochs "
              f"per update of 200 points, torch threads {torch.get_num_threads()}, "
              f"load {os.getloadavg()[0]:.2f}, {sum(sizes) / 1000:.0f} KB per update")
        print(f"{'ms':22} {'median':>8} {'p90':>8}")
        for key, values in rows.items():
            values.sort()
            print(f"{key:22} {statistics.median(values):8.1f} {values[int(0.9 * len(values))]:8.1f}")
    print("(update = maps + figures + JSON: the drawing; the training per update is the page's TRAIN_S budget)")


def browser(seconds: float) -> None:
    import shutil

    from playwright.sync_api import sync_playwright

    port = 8631
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                               str(port), "--server.headless", "true", "--server.fileWatcherType", "none"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        time.sleep(6)
        # The learner's browser runs on the learner's machine: here it shares the server's 2 cores, so it runs at
        # the lowest priority (nice 19) to leave the server what it would have alone.
        wrapper = Path(tempfile.mkdtemp()) / "chromium-nice"
        wrapper.write_text(f'#!/bin/sh\nexec nice -n {os.environ.get("BENCH_NICE", "19")} {shutil.which("chromium")} "$@"\n')
        wrapper.chmod(0o755)
        with sync_playwright() as p:
            chrome = p.chromium.launch(executable_path=str(wrapper),
                                       args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = chrome.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(f"http://localhost:{port}/playground?pg_layers=8,8&pg_data=spiral", timeout=120_000)
            page.locator('[class*="st-key-pg_map_"] .js-plotly-plot').first.wait_for(timeout=120_000)
            time.sleep(3)
            page.locator('.st-key-pg_play_button button').first.click()
            time.sleep(3)  # the first updates
            seen, last, changes = time.monotonic(), None, 0
            while time.monotonic() - seen < seconds:
                now = page.evaluate("""() => {
                    const p = document.querySelector('[class*="st-key-pg_map_"] .js-plotly-plot');
                    return p && p.layout && p.layout.images ? p.layout.images[0].source.length + ':' +
                        p.layout.images[0].source.slice(-40) : '';
                }""")
                if now != last:
                    changes += 1
                    last = now
                time.sleep(0.02)
            epoch = page.locator('[data-testid="stMetric"]').filter(has_text="Epoch").inner_text()
            print(f"\nbrowser: the boundary picture changed {changes} times in {seconds:.0f} s = "
                  f"{changes / seconds:.1f} updates/s ({epoch.split()[-1]} epochs by the end), load "
                  f"{os.getloadavg()[0]:.2f}")
            chrome.close()
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("--browser", action="store_true", help="also count the updates a browser sees")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    server_side(args.updates)
    if args.browser:
        browser(args.seconds)


if __name__ == "__main__":
    main()
