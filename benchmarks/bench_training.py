"""Training speed, accuracy and memory of the app's presets, each run in a fresh process (so "wall" includes
starting Python, importing torch and loading the data). Medians over --runs; the machine's load average is
printed with every run because shared machines make timings noisy.

    .venv/bin/python benchmarks/bench_training.py mnist-fast --runs 5      # target: >= 99.0% in <= 45 s
    .venv/bin/python benchmarks/bench_training.py throughput --runs 3      # target: >= 2x the textbook loop
    .venv/bin/python benchmarks/bench_training.py cifar-default --runs 3   # target: >= 70% in <= 3 min
    .venv/bin/python benchmarks/bench_training.py cifar --runs 3           # target: >= 80% in <= 10 min
    .venv/bin/python benchmarks/bench_training.py rss --runs 3             # target: peak RSS <= 1.5 GB (MNIST)

Options: --fp32 (float32 even where bfloat16 is fast), --threads N (torch threads in the child; default: torch's
own choice), --seed S (first seed; run i uses S + i), --preset NAME (for `cifar`/`mnist-fast`: any preset of
core.presets.presets()).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T_START = time.perf_counter()


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


# --- child processes: one measured run each ------------------------------------------------------------------

def child_preset(preset_name: str, seed: int, precision: str = "") -> dict:
    """Load the data, train the preset to the end, evaluate on the test set; report times, accuracy, peak RSS."""
    import resource

    t0 = time.perf_counter()
    import torch

    from core.datasets import load
    from core.models import build_model
    from core.presets import presets
    from core.training import TrainConfig, Trainer

    t_import = time.perf_counter() - t0
    preset = presets()[preset_name]
    t1 = time.perf_counter()
    ds = load(preset.dataset)
    t_data = time.perf_counter() - t1
    cfg = TrainConfig(**{**preset.train.to_dict(), "seed": seed, **({"precision": precision} if precision else {})})
    t2 = time.perf_counter()
    model = build_model(preset.model, seed=seed)
    trainer = Trainer(model, ds, cfg)
    trainer.run()
    t_train = time.perf_counter() - t2
    last = trainer.history.epochs[-1]
    return {"preset": preset_name, "seed": seed, "precision": cfg.precision, "test_acc": last.test_acc,
            "status": trainer.status,
            "import_s": t_import, "data_s": t_data, "train_eval_s": t_train,
            "in_process_s": time.perf_counter() - T_START, "samples_per_s": trainer.samples_per_s(),
            "epochs": len(trainer.history.epochs), "threads": torch.get_num_threads(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_throughput(steps: int, warmup: int, seed: int, rounds: int = 3) -> dict:
    """Samples/s of the same model (the mnist-fast FastNet) fed by the textbook loop and by the app's loop.

    The loops take turns (`rounds` rounds of `steps` steps each), so a burst of load from elsewhere hits
    them alike; each loop's figure is the median of its rounds.
    """
    import torch
    import torch.nn.functional as F
    import torchvision
    from torchvision import transforms

    from core.mnist import _IDX_FILES, load_mnist
    from core.models import build_model
    from core.presets import presets
    from core.training import TrainConfig, Trainer

    preset = presets()["mnist-fast"]
    mnist = load_mnist()
    bs = preset.train.batch_size
    tmp = tempfile.TemporaryDirectory()
    raw = Path(tmp.name) / "MNIST" / "raw"  # MNIST as torchvision keeps it: raw IDX files
    raw.mkdir(parents=True)
    for key, stem in _IDX_FILES.items():
        t = getattr(mnist, key)
        t = t[:, 0] if t.dim() == 4 else t
        head = bytes([0, 0, 0x08, t.dim()]) + b"".join(d.to_bytes(4, "big") for d in t.shape)
        (raw / stem).write_bytes(head + t.to(torch.uint8).numpy().tobytes())
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = torchvision.datasets.MNIST(tmp.name, train=True, transform=tf)

    def textbook(workers: int):
        """The tutorial loop: a PIL image per sample, ToTensor + Normalize, DataLoader collating, float32."""
        model = build_model(preset.model, seed=seed)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        loader = torch.utils.data.DataLoader(train_set, batch_size=bs, shuffle=True, num_workers=workers,
                                             generator=torch.Generator().manual_seed(seed),
                                             persistent_workers=workers > 0)
        batches = iter(loader)

        def run(n: int) -> int:
            nonlocal batches
            done = 0
            for _ in range(n):
                try:
                    x, y = next(batches)
                except StopIteration:
                    batches = iter(loader)
                    x, y = next(batches)
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                done += len(y)
            return done
        return run

    def app(**overrides):
        """The app's Trainer: uint8 tensors in memory, whole-batch normalisation, seeded index batches."""
        model = build_model(preset.model, seed=seed)
        cfg = TrainConfig(**{**preset.train.to_dict(), "schedule": "constant", "lr": 1e-3, "epochs": 50,
                             "seed": seed, **overrides})
        trainer = Trainer(model, mnist, cfg)

        def run(n: int) -> int:
            before = trainer.step
            trainer.run(max_steps=n)
            return (trainer.step - before) * trainer.batch_size
        return run

    loops = {
        "textbook (DataLoader, 0 workers)": textbook(0),
        "textbook (DataLoader, 2 workers)": textbook(2),
        "app loop, float32": app(precision="fp32", channels_last=False),
        "app loop, float32 + channels-last": app(precision="fp32", channels_last=True),
        "app loop, as the preset runs it": app(),
    }
    for run in loops.values():
        run(warmup)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, run in loops.items():
            t0 = time.perf_counter()
            n = run(steps)
            rates[name].append(n / (time.perf_counter() - t0))
    tmp.cleanup()
    return {name: statistics.median(r) for name, r in rates.items()}


# --- parent: repeat in fresh processes, print medians --------------------------------------------------------

def _spawn(args: list[str], threads: int | None) -> tuple[dict, float]:
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "_child", *args], capture_output=True, text=True, env=env,
                         cwd=ROOT)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def bench_preset(preset: str, runs: int, seed: int, threads: int | None, target_acc: float, target_s: float,
                 target_rss_mb: float | None = None, precision: str = "") -> None:
    rows = []
    print(f"{preset}{' in ' + precision if precision else ''}: {runs} run(s), each in a fresh process; "
          f"target >= {target_acc:.1%} within {target_s:.0f} s")
    print(f"{'run':>3} {'seed':>4} {'test acc':>9} {'wall s':>7} {'import':>7} {'data':>6} {'train+eval':>10} "
          f"{'samples/s':>9} {'peak RSS':>9}  load before -> after")
    for i in range(runs):
        before = _load()
        r, wall = _spawn(["preset", preset, str(seed + i), precision], threads)
        r["wall_s"] = wall
        rows.append(r)
        print(f"{i + 1:>3} {r['seed']:>4} {r['test_acc']:>9.2%} {wall:>7.1f} {r['import_s']:>7.1f} {r['data_s']:>6.1f} "
              f"{r['train_eval_s']:>10.1f} {r['samples_per_s']:>9.0f} {r['peak_rss_mb']:>7.0f}MB  {before} -> {_load()}",
              flush=True)
    acc = statistics.median(r["test_acc"] for r in rows)
    wall = statistics.median(r["wall_s"] for r in rows)
    rss = max(r["peak_rss_mb"] for r in rows)
    ok = acc >= target_acc and wall <= target_s
    print(f"median: test acc {acc:.2%}, wall {wall:.1f} s (min {min(r['wall_s'] for r in rows):.1f}, "
          f"max {max(r['wall_s'] for r in rows):.1f}), peak RSS {rss:.0f} MB, threads {rows[0]['threads']} -> "
          f"{'MEETS' if ok else 'MISSES'} the target")
    if target_rss_mb:
        print(f"peak RSS {rss:.0f} MB vs target {target_rss_mb:.0f} MB -> {'MEETS' if rss <= target_rss_mb else 'MISSES'}")


def bench_throughput(runs: int, seed: int, threads: int | None, steps: int) -> None:
    print(f"throughput (samples/s) of the mnist-fast model: the loops take turns, 3 rounds of {steps} steps "
          f"each per process; {runs} process(es)")
    ratios, rows = [], []
    for i in range(runs):
        before = _load()
        r, _ = _spawn(["throughput", str(steps), "5", str(seed + i)], threads)
        rows.append(r)
        best_textbook = max(v for k, v in r.items() if k.startswith("textbook"))
        ratios.append({k: v / best_textbook for k, v in r.items()})
        print(f"process {i + 1} (load {before} -> {_load()}):")
        for k, v in r.items():
            print(f"  {k:<36} {v:>7.0f}   {ratios[-1][k]:.2f}x the best textbook loop")
    print("median over processes:")
    for k in rows[0]:
        print(f"  {k:<36} {statistics.median(r[k] for r in rows):>7.0f}   "
              f"{statistics.median(q[k] for q in ratios):.2f}x")
    app_ratio = statistics.median(q["app loop, as the preset runs it"] for q in ratios)
    print(f"app loop / textbook loop = {app_ratio:.2f}x -> {'MEETS' if app_ratio >= 2 else 'MISSES'} the 2x target")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        kind = sys.argv[2]
        if kind == "preset":
            result = child_preset(sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "")
        else:
            result = child_throughput(int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["mnist-fast", "throughput", "cifar", "cifar-default", "rss"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--steps", type=int, default=40, help="throughput: steps per loop and round")
    parser.add_argument("--preset", default=None)
    parser.add_argument("--fp32", action="store_true", help="train in float32 even where bf16 is fast (as on CPUs "
                        "without AVX-512 BF16)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {_load()}")
    precision = "fp32" if args.fp32 else ""
    if args.what == "throughput":
        bench_throughput(args.runs, args.seed, args.threads, args.steps)
    elif args.what in ("mnist-fast", "rss"):
        bench_preset(args.preset or "mnist-fast", args.runs, args.seed, args.threads, 0.99, 45, 1536, precision)
    elif args.what == "cifar-default":
        bench_preset(args.preset or "cifar-default", args.runs, args.seed, args.threads, 0.70, 180, None, precision)
    else:
        bench_preset(args.preset or "cifar-80", args.runs, args.seed, args.threads, 0.80, 600, None, precision)


if __name__ == "__main__":
    main()
