"""Speed of the Optimization section's computations (targets from the issue):

- 6 optimizers x 500 steps on Himmelblau (core.optim2d.run): <= 100 ms
- a 40 x 40 basin map, 500 steps (core.optim2d.basin_map): <= 1 s
- for reference: the same 6 runs as six plain one-optimizer loops (what run() replaces)

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


if __name__ == "__main__":
    main()
