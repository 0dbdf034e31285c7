"""Speed of the Optimization section's computations (targets from the issue):

- 6 optimizers x 500 steps on Himmelblau (core.optim2d.run): <= 100 ms
- a 40 x 40 basin map, 500 steps (core.optim2d.basin_map): <= 1 s
- for reference: the same 6 runs as six plain one-optimizer loops (what run() replaces)
- page reruns of the Optimizer lab with a new start point every time (nothing cached): <= 200 ms

Median over --repeats runs after a warm-up. The page reruns (<= 200 ms) are measured by bench_pages.py:

    .venv/bin/python benchmarks/bench_optim2d.py
    .venv/bin/python benchmarks/bench_pages.py optimizer-lab basins
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median, min) wall time of fn() in ms, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def plain_loops(f, start, configs, steps):
    import torch

    for config in configs:
        p = torch.tensor([float(start[0]), float(start[1])], requires_grad=True)
        optimizer = getattr(torch.optim, config.kind.cls)([p], **config.kwargs())
        for _ in range(steps):
            optimizer.zero_grad()
            loss = f(p[0], p[1])
            loss.backward()
            optimizer.step()


def page_reruns(path: str, key: str, values: list, kind: str = "slider") -> tuple[float, float]:
    """(median, max) ms of AppTest reruns, each after setting widget `key` to a value not seen before."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(path)
    at.run()
    at.run()
    times = []
    for value in values:
        getattr(at, kind)(key=key).set_value(value)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    import torch

    from core import optim2d

    land = optim2d.LANDSCAPES["Himmelblau"]
    six = [optim2d.default_config(name, land) for name in ("SGD", "SGD+momentum", "Nesterov", "Adagrad", "RMSprop",
                                                               "Adam")]
    seven = [optim2d.default_config(name, land) for name in optim2d.OPTIMIZERS]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'measurement':<52} {'median ms':>10} {'min ms':>8} {'target':>8}")

    def row(label, fn, target="", repeats=args.repeats):
        median, best = timed(fn, repeats)
        print(f"{label:<52} {median:>10.1f} {best:>8.1f} {target:>8}")

    row("run: 6 optimizers x 500 steps", lambda: optim2d.run(land.f, (0, 0), six, 500, bound=land.bound), "100")
    row("run: 7 optimizers x 500 steps", lambda: optim2d.run(land.f, (0, 0), seven, 500, bound=land.bound))
    row("run: 6 optimizers x 500 steps, StepLR",
        lambda: optim2d.run(land.f, (0, 0), six, 500, bound=land.bound, schedule=optim2d.Schedule("step")))
    row("reference: 6 plain loops x 500 steps", lambda: plain_loops(land.f, (0, 0), six, 500), repeats=5)
    for name in ("SGD", "Adam"):
        config = optim2d.default_config(name, land)
        row(f"basin_map: 40 x 40 starts x 500 steps, {name}",
            lambda config=config: optim2d.basin_map(land.f, config, land.xlim, land.ylim, 40, 500, bound=land.bound),
            "1000", repeats=max(3, args.repeats // 3))
    rastrigin = optim2d.LANDSCAPES["Rastrigin"]
    row("basin_map: 40 x 40 starts x 500 steps, SGD, Rastrigin",
        lambda: optim2d.basin_map(rastrigin.f, optim2d.RunConfig("SGD", lr=1e-3), rastrigin.xlim, rastrigin.ylim, 40,
                                  500, bound=rastrigin.bound), "1000", repeats=max(3, args.repeats // 3))
    os.environ.setdefault("PYLAB_STRICT", "1")
    print(f"{'page (AppTest, server side)':<52} {'median ms':>10} {'max ms':>8} {'target':>8}")
    starts = [round(-4.9 + 0.37 * i, 2) for i in range(args.repeats)]
    median, worst = page_reruns("pages/30_optimizer_lab.py", "ol_x0", starts)
    print(f"{'page rerun, optimizer-lab, new start each time':<52} {median:>10.1f} {worst:>8.1f} {'200':>8}")
    median, worst = page_reruns("pages/31_basins.py", "bs_steps", [400 + 10 * i for i in range(5)])
    print(f"{'page rerun, basins, new steps each time (40 x 40)':<52} {median:>10.1f} {worst:>8.1f} {'':>8}")

if __name__ == "__main__":
    main()
