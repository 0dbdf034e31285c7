"""Speed of the Optimization section's computations (targets from the issue):

- 6 optimizers x 500 steps on Himmelblau (core.optimizer_lab.run): <= 100 ms
- a 40 x 40 basin map, 500 steps (core.basins.basin_map): <= 1 s
- for reference: the same 6 runs as six plain one-optimizer loops (what run() replaces), and a floor: how many
  aten operations one round of run() dispatches, times the price of one tiny in-place op on this machine
- page reruns of the Optimizer lab with a new start point every time (nothing cached): <= 200 ms

Median over --repeats runs after a warm-up, as wall time and as CPU time. On a shared machine the wall time
also counts the time other processes hold the cores; the CPU time of the measuring thread (process for pages) is
close to what the wall time is on an idle machine. Cached page reruns are measured by bench_pages.py:

    .venv/bin/python benchmarks/bench_optim2d.py
    .venv/bin/python benchmarks/bench_pages.py optimizer_lab basins
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
    """(median wall, median CPU) time of fn() in ms, after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


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


def aten_ops_per_round(f, start, configs, rounds: int = 100) -> float:
    """How many aten operations one round of run() dispatches (forward, backward, every step, bookkeeping)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from core import optimizer_lab

    count = 0

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            nonlocal count
            count += 1
            return func(*args, **(kwargs or {}))

    with Count():
        optimizer_lab.run(f, start, configs, rounds)
    return count / rounds


def tiny_ops(n: int = 1000) -> None:
    """n in-place operations on a 2-element tensor: the price of one dispatch on this machine (1000 of them take
    as many ms as one takes us)."""
    import torch

    x = torch.zeros(2)
    with torch.no_grad():
        for _ in range(n):
            x.mul_(0.5)


def page_reruns(path: str, key: str, values: list, kind: str = "slider") -> tuple[float, float]:
    """(median wall, median CPU of the process) ms of AppTest reruns, each after setting widget `key` to a value
    not seen before (so nothing comes from the cache)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(path)
    at.run()
    at.run()
    wall, cpu = [], []
    for value in values:
        getattr(at, kind)(key=key).set_value(value)
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    import torch

    from core import basins, landscapes, optimizer_lab
    from core.optim_config import OPTIMIZERS, RunConfig, Schedule, default_config

    land = landscapes.LANDSCAPES["Himmelblau"]
    six = [default_config(name, land) for name in ("SGD", "SGD+momentum", "Nesterov", "Adagrad", "RMSprop",
                                                   "Adam")]
    seven = [default_config(name, land) for name in OPTIMIZERS]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'measurement':<52} {'wall ms':>8} {'CPU ms':>8} {'target':>8}")

    def row(label, wall, cpu, target=""):
        print(f"{label:<52} {wall:>8.1f} {cpu:>8.1f} {target:>8}")

    def measure(label, fn, target="", repeats=args.repeats):
        row(label, *timed(fn, repeats), target)

    measure("run: 6 optimizers x 500 steps", lambda: optimizer_lab.run(land.f, (0, 0), six, 500, bound=land.bound), "100")
    measure("run: 7 optimizers x 500 steps", lambda: optimizer_lab.run(land.f, (0, 0), seven, 500, bound=land.bound))
    measure("run: 6 optimizers x 500 steps, StepLR",
        lambda: optimizer_lab.run(land.f, (0, 0), six, 500, bound=land.bound, schedule=Schedule("step")))
    measure("reference: 6 plain loops x 500 steps", lambda: plain_loops(land.f, (0, 0), six, 500), repeats=5)
    ops = aten_ops_per_round(land.f, (0, 0), six)
    op_wall, op_cpu = timed(tiny_ops, args.repeats)  # ms for 1000 ops = us for one
    row("one tiny in-place op (x.mul_ on 2 elements), us", op_wall, op_cpu)
    row(f"floor: 500 rounds x {ops:.0f} aten ops at that price", op_wall * ops * 500 / 1000,
        op_cpu * ops * 500 / 1000)
    for name in ("SGD", "Adam"):
        config = default_config(name, land)
        measure(f"basin_map: 40 x 40 starts x 500 steps, {name}",
            lambda config=config: basins.basin_map(land.f, config, land.xlim, land.ylim, 40, 500, bound=land.bound),
            "1000", repeats=max(3, args.repeats // 3))
    rastrigin = landscapes.LANDSCAPES["Rastrigin"]
    measure("basin_map: 40 x 40 starts x 500 steps, SGD, Rastrigin",
        lambda: basins.basin_map(rastrigin.f, RunConfig("SGD", lr=1e-3), rastrigin.xlim, rastrigin.ylim, 40,
                                 500, bound=rastrigin.bound), "1000", repeats=max(3, args.repeats // 3))
    os.environ.setdefault("PYLAB_STRICT", "1")
    starts = [round(-4.9 + 0.37 * i, 2) for i in range(args.repeats)]
    row("page rerun, optimizer_lab, new start each time", *page_reruns("pages/30_optimizer_lab.py", "ol_x0", starts),
        "200")
    row("page rerun, basins, new steps each time (40 x 40)",
        *page_reruns("pages/31_basins.py", "bs_steps", [400 + 10 * i for i in range(5)]))

if __name__ == "__main__":
    main()
